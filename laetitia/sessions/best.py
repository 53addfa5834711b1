"""The best emoticon of a session, said honestly: never the luckiest of noisy readings.

One reading is ten noisy frames of a face: the highest of a few hundred readings is mostly
luck (a demo's printed best was 0.90 for an emoticon whose noise-free happiness is 0.82). So
the best emoticon is the agent's own best guess when it has one (the hill-climber's incumbent,
CMA-ES's mean, the Bayesian optimiser's posterior mean), otherwise the emoticon with the
highest mean over its readings; and what is said of it is the mean of *its* readings with how
many there were, and, where the caller knows the viewer's noise-free happiness (a simulated
viewer: `laetitia.app.truth`), that too.

A run writes it into the session folder as `best.json` (`write_best`), so `laetitia plot` and
an agent starting from a session's best (Q-learning's `start_from`) use the best the run said:
`session_best` is the one way to ask for a session's best.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.errors import SessionError
from laetitia.files import write_json_atomic
from laetitia.records import from_dict, parse_json
from laetitia.sessions.paths import exists_inside, read_inside
from laetitia.sessions.reader import Session

BEST_FILE = "best.json"
BEST_LIMIT = 1 << 20
"""The largest `best.json` read (1 MiB); a run's own is a few hundred bytes."""
SAME_EMOTICON = 1e-5
"""Emoticons this close in every normalised parameter are the same one (float32 rounding)."""


@dataclass(frozen=True)
class BestEmoticon:
    """The best emoticon of a session and what its readings say of it."""

    params: tuple[float, ...]
    """Its raw parameters."""
    chosen_by: str
    """"the agent's best guess" or "the highest mean reading"."""
    first_step: int | None
    """The first step that showed it; None when no step did (an agent's guess, not shown)."""
    readings: int
    """Steps with a face that showed this emoticon."""
    mean_reading: float | None
    """The mean P(happy) over those readings; None when there was none."""
    true_happiness: float | None = None
    """Its noise-free happiness, for a simulated viewer; None for a person."""
    responds: bool | None = None
    """The agent's verdict (`BaseAgent.responds`): False is "no reliable reaction" (no
    emoticon lifted the person's reading beyond what their face does anyway: this emoticon is
    no favourite), True that the person reacts, None that the agent gave none."""

    def describe(self, signal: str = "P(happy)") -> str:
        """One line: its readings of `signal` (a figure's label), its noise-free happiness."""
        if self.responds is False:
            return f"no reliable reaction: {self._readings(signal)}"
        return self._readings(signal)

    def _readings(self, signal: str) -> str:
        if self.readings:
            read = f"{signal} {self.mean_reading:.3f} over {self.readings} reading"
            read += "" if self.readings == 1 else "s"
        else:
            read = "not shown during the session"
        if self.true_happiness is not None:
            read += f"; noise-free {self.true_happiness:.3f}"
        return f"{read} ({self.chosen_by})"


Truth = Callable[[np.ndarray], float]
"""A viewer's noise-free happiness for raw parameters (a simulated viewer's `true_happiness`)."""


def best_by_readings(
    session: Session,
    guess: np.ndarray | None = None,
    truth: Truth | None = None,
    responds: bool | None = None,
) -> BestEmoticon | None:
    """The session's best emoticon: `guess` (the agent's), else the highest mean reading.

    Repeated showings of the same emoticon pool their readings.

    Args:
        session: The session.
        guess: The agent's best guess (raw parameters), if it has one.
        truth: The viewer's noise-free happiness, where it is known: said of the best.
        responds: The agent's verdict on whether the person reacts (`BaseAgent.responds`).

    Returns:
        None when no step saw a face and there is no guess.
    """
    params = session.params()
    scored = session.scored()
    rewards = session.steps["reward"]
    space = session.meta.space()
    unit = np.array([space.normalize(space.clip(p)) for p in params]).reshape(len(params), -1)
    if guess is not None:
        chosen = np.asarray(guess, dtype=np.float64)
        by = "the agent's best guess"
    elif not scored.any():
        return None
    else:
        keys = np.round(unit / SAME_EMOTICON).astype(np.int64)
        means: dict[bytes, list[float]] = {}
        for key, reward in zip(keys[scored], rewards[scored], strict=True):
            means.setdefault(key.tobytes(), []).append(float(reward))
        top = max(means, key=lambda k: float(np.mean(means[k])))
        chosen = params[scored][[k.tobytes() == top for k in keys[scored]].index(True)]
        by = "the highest mean reading"
    same = np.all(np.abs(unit - space.normalize(space.clip(chosen))) < SAME_EMOTICON, axis=1)
    shown = np.flatnonzero(same)
    read = same & scored
    return BestEmoticon(
        params=tuple(float(v) for v in chosen),
        chosen_by=by,
        first_step=int(shown[0]) if shown.size else None,
        readings=int(read.sum()),
        mean_reading=float(rewards[read].mean()) if read.any() else None,
        true_happiness=None if truth is None else float(truth(chosen)),
        responds=responds,
    )


def write_best(folder: Path, best: BestEmoticon) -> Path:
    """Write the best emoticon into a session folder (`best.json`), atomically."""
    path = Path(folder) / BEST_FILE
    write_json_atomic(path, dataclasses.asdict(best), allow_nan=False)
    return path


def read_best(session: Session) -> BestEmoticon | None:
    """The best emoticon a run wrote into its session folder, if it wrote one.

    Raises:
        SessionError: If `best.json` is there but not a best emoticon's record.
    """
    path = session.folder / BEST_FILE
    if not exists_inside(session.folder, BEST_FILE):
        return None
    try:
        text = read_inside(session.folder, BEST_FILE, str(path), limit=BEST_LIMIT)
    except OSError as error:
        raise SessionError(
            f"{path} cannot be read ({error}); delete it to recompute it."
        ) from error
    data: Any = parse_json(text, f"{path} (delete it to recompute it)", SessionError)
    best = from_dict(BestEmoticon, data, str(path), SessionError)
    if best.mean_reading is not None and not math.isfinite(best.mean_reading):
        raise SessionError(f"{path}: mean_reading is not a finite number.")
    return best


def session_best(session: Session, truth: Truth | None = None) -> BestEmoticon | None:
    """The session's best emoticon: the one its run wrote, else the one its readings give.

    Args:
        session: The session.
        truth: The viewer's noise-free happiness, where it is known, said of a best computed
            here (a best the run wrote says it already, when the run knew it).

    Raises:
        SessionError: If `best.json` is there but not a best emoticon's record.
    """
    return read_best(session) or best_by_readings(session, truth=truth)

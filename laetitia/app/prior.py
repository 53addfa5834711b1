"""A prior over emoticons learned from other people's sessions: where people tend to smile.

A lab running laetitia has the sessions of its earlier participants. What they smiled at says
something about the next person: `learn_prior` reads their readings (the `steps.csv` files
`laetitia train` wrote, nothing else), and an agent that takes a prior (`bayes-opt`) starts
from the emoticons people liked and uses the prior as its model's prior mean, with a weight it
fits, so a prior that does not fit the person is discounted as their readings come in.

The model: each earlier person's favourite is estimated from their own session (the agent's
recommendation at the session's end, where the session records one: its honest best guess;
else the mean emoticon of their best-read tenth of steps), and the prior is a density of those
favourites (a Gaussian kernel of width `bandwidth` around each) scaled into P(happy). A session
whose agent said the person gives no reliable reaction says nothing of where people smile and is
left out:

    prior(x) = level + offset + height · mean_j exp(-|x - favourite_j|² / 2 bandwidth²)

`height` and `offset` are fitted by least squares to every reading about its session's own
mean (a person who reads higher or lower overall does not move them), each session's
readings against the favourites of *other people's* sessions only: `height` says how far other
people's favourites predict a person's smiles, and is near zero when people are unrelated. The
bandwidth is the one that predicts best this way (leaving one person out at a time: each
session is a person of its own unless `people` says whose it is, as a study's sessions do; a
person's second session would otherwise vouch for their first). People
whose favourites lie around one emoticon give a bump there; people with two tastes, two bumps.

    prior = learn_prior(load_sessions("runs/earlier-participants"))
    save_prior(prior, folder / "prior")
    prior.mean(points)            # (k, 8) normalised emoticons -> (k,) expected P(happy)
    prior.warm_start(4)           # the 4 emoticons to show first, spread apart
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.emoticon.params import ParamSpace
from laetitia.errors import ConfigError, SessionError
from laetitia.files import write_bytes_atomic, write_json_atomic
from laetitia.records import JSON_LIMIT, from_dict, parse_json
from laetitia.sessions import Session
from laetitia.sessions.layout import RESPONDS_COLUMN
from laetitia.sessions.meta import space_from_description
from laetitia.sessions.paths import read_inside

PRIOR_FILE = "prior.json"
ARRAYS_FILE = "prior.safetensors"
PRIOR_FORMAT = 1
"""Version of the prior's files."""
BANDWIDTHS = (0.2, 0.3, 0.45, 0.7, 1.0, 1.5)
"""Kernel widths tried, in normalised units (each parameter's range is 2 wide)."""
TOP_SHARE = 0.1
"""A session's favourite is the mean emoticon of this share of its best readings."""
MIN_TOP = 3
"""... and of at least this many."""
PER_SESSION = 400
"""At most this many readings of one session count (evenly spaced), so no session dominates."""


@dataclass(frozen=True)
class PriorSource:
    """A session a prior was learned from."""

    folder: str
    readings: int


@dataclass(frozen=True)
class PriorRecord:
    """The contents of `prior.json` (the favourites are in `prior.safetensors`)."""

    parameter_space: tuple[dict[str, object], ...]
    bandwidth: float
    level: float
    """Mean reading over all the sessions, in P(happy)."""
    offset: float
    height: float
    sources: tuple[PriorSource, ...] = ()
    cv_error: dict[str, float] = field(default_factory=dict)
    """Leave-one-session-out mean squared error of each bandwidth tried."""
    format_version: int = PRIOR_FORMAT


@dataclass(frozen=True, eq=False)
class PopulationPrior:
    """Where people tend to smile: expected P(happy) over normalised emoticons."""

    space: ParamSpace
    favourites: np.ndarray
    """float64 (m, d): each earlier person's estimated favourite, normalised."""
    bandwidth: float
    level: float
    offset: float
    height: float
    """P(happy) a person reads more at other people's favourites (fitted; 0: unrelated)."""
    sources: tuple[PriorSource, ...] = ()
    cv_error: dict[str, float] = field(default_factory=dict)

    def mean(self, points: np.ndarray) -> np.ndarray:
        """Expected P(happy) at normalised emoticons, (k, d) -> (k,)."""
        at = np.atleast_2d(np.asarray(points, dtype=np.float64))
        density = _density(at, self.favourites, self.bandwidth)
        return self.level + self.offset + self.height * density

    __call__ = mean

    def agent_arguments(self, start: bool = True) -> dict[str, Any]:
        """What an agent that takes a prior is built (`start`) or loaded with.

        The prior is its model's mean and, to start, the `WARM_START` emoticons it shows first.
        """
        if not start:
            return {"prior_mean": self.mean}
        return {"prior_mean": self.mean, "warm_start": self.warm_start(WARM_START)}

    def warm_start(self, k: int) -> np.ndarray:
        """The `k` emoticons the prior rates best, spread apart.

        Each favourite is climbed (a mean shift over the favourites) to the middle of where
        people smiled, which lies between the emoticons any one of them liked; the modes and
        the favourites are then taken best first (by the density of favourites), skipping any
        within a bandwidth of one taken, or within half that, a quarter, ... when too few lie
        a bandwidth apart (people who all liked much the same emoticon).

        Returns:
            float64 (k', d) normalised emoticons; k' < k only when fewer distinct ones exist.
        """
        climbed = np.stack([self._climb(f) for f in self.favourites])
        candidates = np.vstack([climbed, self.favourites])
        order = np.argsort(-_density(candidates, self.favourites, self.bandwidth), kind="stable")
        spacing = self.bandwidth
        while True:
            chosen: list[np.ndarray] = []
            for point in candidates[order]:
                if all(np.linalg.norm(point - c) >= spacing for c in chosen):
                    chosen.append(point)
                if len(chosen) == k:
                    break
            if len(chosen) == k or spacing < 1e-3:
                return np.array(chosen).reshape(len(chosen), self.favourites.shape[1])
            spacing /= 2

    def _climb(self, start: np.ndarray, iterations: int = 100) -> np.ndarray:
        """A mean shift from `start` over the favourites: the mode of their density nearby."""
        x = start.copy()
        for _ in range(iterations):
            weights = np.exp(-0.5 * ((self.favourites - x) ** 2).sum(axis=1) / self.bandwidth**2)
            moved = weights @ self.favourites / weights.sum()
            if np.abs(moved - x).max() < 1e-6:
                break
            x = moved
        return np.clip(x, -1.0, 1.0)


def _density(at: np.ndarray, favourites: np.ndarray, bandwidth: float) -> np.ndarray:
    """Mean Gaussian kernel (peak 1) of each row of `at` to the favourites, (k, d) -> (k,)."""
    d2 = ((at[:, None, :] - favourites[None, :, :]) ** 2).sum(axis=-1)
    return np.exp(-0.5 * d2 / bandwidth**2).mean(axis=1)


def _favourite(
    session: Session, space: ParamSpace, points: np.ndarray, readings: np.ndarray
) -> np.ndarray:
    """A session's favourite: its agent's last recommendation, else its best-read emoticons.

    The recommendation is the agent's honest best guess (`Session.recommended`); without one,
    the mean emoticon of the best `TOP_SHARE` of readings.
    """
    recommended = session.recommended()
    if recommended is not None and np.isfinite(recommended[-1]).all():
        return space.normalize(space.clip(recommended[-1]))
    top = max(MIN_TOP, int(np.ceil(TOP_SHARE * readings.size)))
    best = np.argsort(-readings, kind="stable")[:top]
    return points[best].mean(axis=0)


def informs(session: Session) -> bool:
    """Whether a session may say where its person smiled: the sessions a prior learns from.

    It has readings (steps with a face), and its agent did not say, at its end, that the
    person gives no reliable reaction (`responds` 0 in its last row; saying nothing counts as
    reacting).
    """
    if not session.scored().any():
        return False
    if RESPONDS_COLUMN not in session.columns:
        return True
    return bool(session.steps[RESPONDS_COLUMN][-1] != 0.0)


def _readings(session: Session, space: ParamSpace) -> tuple[np.ndarray, np.ndarray]:
    """A session's read emoticons (normalised) and readings, at most `PER_SESSION` of them."""
    recorded = session.meta.space()
    if not recorded.same_bounds(space):
        raise SessionError(
            f"session {session.folder} was recorded over another parameter space "
            f"({list(recorded.names)}); a prior is learned over one space."
        )
    scored = np.flatnonzero(session.scored())
    if scored.size > PER_SESSION:
        scored = scored[np.linspace(0, scored.size - 1, PER_SESSION).round().astype(int)]
    readings = session.steps["reward"][scored]
    if not scored.size:
        return np.empty((0, len(space))), readings
    points = np.stack([space.normalize(space.clip(p)) for p in session.params()[scored]])
    return points, readings


def learn_prior(
    sessions: Sequence[Session],
    space: ParamSpace | None = None,
    people: Sequence[str] | None = None,
) -> PopulationPrior:
    """Learn where people smile from their sessions (steps with a face; see the module).

    Args:
        sessions: Sessions of other people (of at least two, so the bandwidth can be checked
            on a person left out).
        space: The parameter space; by default the first session's.
        people: Whose each session is, where one person may have several (a study's
            participants); None: each session a person of its own. A session's readings are
            checked against the favourites of other people only: a person's second session
            would otherwise vouch for the first, and the narrowest bandwidth would win.

    Raises:
        ConfigError: If fewer than two people's sessions have readings, or `people` does not
            name one person per session.
        SessionError: If the sessions were recorded over different parameter spaces.
    """
    if not sessions:
        raise ConfigError("prior: no session given to learn from.", field="prior")
    if people is not None and len(people) != len(sessions):
        raise ConfigError(
            f"prior: {len(people)} people named for {len(sessions)} sessions; name one per "
            "session.",
            field="prior",
        )
    whose = list(people) if people is not None else [str(i) for i in range(len(sessions))]
    space = space or sessions[0].meta.space()
    pairs = [_readings(s, space) for s in sessions]
    used = [
        (s, x, y, who) for s, (x, y), who in zip(sessions, pairs, whose, strict=True) if informs(s)
    ]
    if len({who for *_, who in used}) < 2:
        raise ConfigError(
            f"prior: {len(used)} of the sessions given has readings (steps with a face) of a "
            "person who reacts, of fewer than two people; a prior needs at least two people's "
            "sessions.",
            field="prior",
        )
    favourites = np.stack([_favourite(s, space, x, y) for s, x, y, _ in used])
    points = np.concatenate([x for _, x, _, _ in used])
    residuals = np.concatenate([y - y.mean() for _, _, y, _ in used])
    groups = np.concatenate([np.full(y.size, i) for i, (_, _, y, _) in enumerate(used)])
    person = np.unique([who for *_, who in used], return_inverse=True)[1]
    fits = {h: _fit_left_out(favourites, person, points, residuals, groups, h) for h in BANDWIDTHS}
    bandwidth = min(fits, key=lambda h: fits[h][2])
    offset, height, _ = fits[bandwidth]
    return PopulationPrior(
        space=space,
        favourites=favourites,
        bandwidth=float(bandwidth),
        level=float(np.concatenate([y for _, _, y, _ in used]).mean()),
        offset=offset,
        height=height,
        sources=tuple(PriorSource(str(s.folder), int(y.size)) for s, _, y, _ in used),
        cv_error={str(h): fit[2] for h, fit in fits.items()},
    )


def _fit_left_out(
    favourites: np.ndarray,
    person: np.ndarray,
    points: np.ndarray,
    residuals: np.ndarray,
    groups: np.ndarray,
    bandwidth: float,
) -> tuple[float, float, float]:
    """Fit `offset` and `height` with each person left out of their own density.

    Each session's readings (about its mean) are regressed by least squares on the density
    of the favourites of the *other* people's sessions (`person`: whose each session is).

    Returns:
        (offset, height, mean over sessions of the mean squared error).
    """
    density = np.empty(residuals.size)
    for group in range(favourites.shape[0]):
        mine = groups == group
        others = favourites[person != person[group]]
        density[mine] = _density(points[mine], others, bandwidth)
    design = np.stack([np.ones_like(density), density], axis=1)
    (offset, height), *_ = np.linalg.lstsq(design, residuals, rcond=None)
    squared = (design @ np.array([offset, height]) - residuals) ** 2
    error = np.mean([squared[groups == g].mean() for g in range(favourites.shape[0])])
    return float(offset), float(height), float(error)


def save_prior(prior: PopulationPrior, folder: Path | str) -> Path:
    """Write a prior into `folder` (`prior.json` and `prior.safetensors`), atomically.

    Raises:
        DiskError: If a file cannot be written (naming it).
    """
    from safetensors.numpy import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"favourites": prior.favourites}
    # Serialised in memory, so a failed write is an OSError naming the file.
    write_bytes_atomic(
        folder / ARRAYS_FILE, save({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    )
    record = PriorRecord(
        parameter_space=tuple(dict(p) for p in prior.space.describe()),
        bandwidth=prior.bandwidth,
        level=prior.level,
        offset=prior.offset,
        height=prior.height,
        sources=prior.sources,
        cv_error=prior.cv_error,
    )
    write_json_atomic(folder / PRIOR_FILE, dataclasses.asdict(record), allow_nan=False)
    return folder


def load_prior(folder: Path | str, space: ParamSpace) -> PopulationPrior:
    """Read a prior `save_prior` wrote, for an agent working in `space`.

    Raises:
        ConfigError: If the folder holds no prior, the files are damaged, or the prior was
            learned over another parameter space.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    folder = Path(folder)
    path = folder / PRIOR_FILE
    try:
        # Files of the folder itself, through no link: a prior may be part of a session.
        text = read_inside(folder, PRIOR_FILE, str(path), JSON_LIMIT, ConfigError)
        data = read_inside(folder, ARRAYS_FILE, str(folder / ARRAYS_FILE), error=ConfigError)
    except FileNotFoundError as error:
        raise ConfigError(
            f"prior: no prior in {folder} ({error.filename or 'a file'} is missing; a prior "
            f"folder holds {PRIOR_FILE} and {ARRAYS_FILE})."
        ) from error
    except OSError as error:
        raise ConfigError(f"prior: {folder} cannot be read ({error.strerror or error}).") from error
    record = from_dict(PriorRecord, parse_json(text, str(path), ConfigError), str(path))
    try:
        arrays = load(data)
    except (ValueError, SafetensorError) as error:
        raise ConfigError(f"prior: {folder} holds a damaged prior ({error}).") from error
    if record.format_version > PRIOR_FORMAT:
        raise ConfigError(
            f"prior: {path} is of format version {record.format_version}, newer than this "
            f"laetitia reads ({PRIOR_FORMAT}); upgrade laetitia."
        )
    learned = space_from_description(list(record.parameter_space), str(path), ConfigError)
    if not learned.same_bounds(space):
        raise ConfigError(
            f"prior: {path} was learned over another parameter space ({list(learned.names)}, "
            f"not {list(space.names)}); learn one from sessions recorded over this space."
        )
    favourites = arrays.get("favourites")
    if favourites is None or favourites.ndim != 2 or favourites.shape[1] != len(space):
        raise ConfigError(f"prior: {folder / ARRAYS_FILE} does not hold a prior's favourites.")
    numbers = (record.bandwidth, record.level, record.offset, record.height)
    if favourites.shape[0] != len(record.sources):
        raise ConfigError(
            f"prior: {folder / ARRAYS_FILE} holds {favourites.shape[0]} favourites and {path} "
            f"names {len(record.sources)} sessions, one favourite each: the two files are not "
            "of one prior."
        )
    if not np.isfinite(favourites).all() or not all(map(math.isfinite, numbers)):
        raise ConfigError(f"prior: {folder} holds values that are not finite numbers.")
    if record.bandwidth <= 0:
        raise ConfigError(f"prior: {path} has a bandwidth of {record.bandwidth}; it must be > 0.")
    return PopulationPrior(
        space=learned,
        favourites=favourites.astype(np.float64),
        bandwidth=record.bandwidth,
        level=record.level,
        offset=record.offset,
        height=record.height,
        sources=record.sources,
        cv_error=record.cv_error,
    )


SHIPPED_PRIOR = Path(__file__).resolve().parents[1] / "priors" / "people-v3"
"""The prior laetitia ships: learned from the sessions of people-v3's prior split
(`benchmarks/prior_v3.sh`; `laetitia/priors/README.md`), what `laetitia demo` starts from."""
WARM_START = 8
"""Emoticons an agent with a prior shows first: the prior's best, spread apart. As many as
`bayes-opt`'s `initial_points`, which it then shows instead of a space-filling design (on
people-v2's held-out people, 1 seed x 200 steps: a median of 25 steps to 90% against 45 with
3 of them before 8 design points; BENCHMARKS.md)."""


def read_prior(
    paths: Sequence[Path | str],
    space: ParamSpace | None = None,
    person_of: Callable[[Path], str] | None = None,
) -> PopulationPrior:
    """The prior `paths` name, as `laetitia train --prior` reads it.

    Learned from sessions (folders, or folders of them), or read from the one prior folder
    `save_prior` wrote.

    Args:
        paths: Session folders, folders of them, or one prior folder.
        space: The parameter space the agent works in; by default the emoticon's.
        person_of: Whose the session in a folder is (`learn_prior`'s `people`); None: each
            session a person of its own.

    Raises:
        ConfigError: If a path does not exist, or the prior cannot be learned or read.
    """
    from laetitia.emoticon.params import PARAM_SPACE
    from laetitia.sessions import load_sessions

    space = space or PARAM_SPACE
    folders = [Path(p) for p in paths]
    missing = [str(p) for p in folders if not p.exists()]
    if missing or not folders:
        raise ConfigError(f"prior: {', '.join(missing) or 'nothing'} does not exist.", "prior")
    if len(folders) == 1 and (folders[0] / PRIOR_FILE).is_file():
        return load_prior(folders[0], space)
    sessions = load_sessions(folders)
    people = None if person_of is None else [person_of(s.folder) for s in sessions]
    return learn_prior(sessions, space, people)

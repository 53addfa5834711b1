"""A prior over emoticons learned from other people's sessions: where people tend to smile.

A lab running laetitia has the sessions of its earlier participants. What they smiled at says
something about the next person: `learn_prior` pools their readings (the `steps.csv` files
`laetitia train` wrote, nothing else) into a smooth surface over the normalised emoticon, and
an agent that takes a prior (`bayes-opt`) starts from its best emoticons and uses it as its
model's prior mean, with a weight it fits, so a prior that does not fit the person is
discounted as their readings come in.

The surface is a kernel regression (Nadaraya-Watson with a Gaussian kernel) of each session's
readings about that session's own mean, shrunk towards zero where few readings lie near, plus
the pooled mean: a person who reads higher or lower overall does not move it, the shape of
what people liked does. Its bandwidth is chosen by leaving one session out at a time.

    prior = learn_prior(load_sessions("runs/earlier-participants"))
    save_prior(prior, folder / "prior")
    prior.mean(points)            # (k, 8) normalised emoticons -> (k,) expected P(happy)
    prior.warm_start(4)           # the 4 emoticons to show first, spread apart
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from laetitia.emoticon.params import ParamSpace
from laetitia.errors import ConfigError, SessionError
from laetitia.files import atomic_path, write_json_atomic
from laetitia.records import from_dict
from laetitia.sessions import Session

PRIOR_FILE = "prior.json"
ARRAYS_FILE = "prior.safetensors"
PRIOR_FORMAT = 1
"""Version of the prior's files."""
BANDWIDTHS = (0.1, 0.15, 0.2, 0.3, 0.45, 0.7, 1.0)
"""Kernel widths tried, in normalised units (each parameter's range is 2 wide)."""
SHRINKAGE = 1.0
"""Pseudo-readings of "nothing special here" added at every emoticon (the shrinkage)."""
PER_SESSION = 400
"""At most this many readings of one session count (evenly spaced), so no session dominates."""


@dataclass(frozen=True)
class PriorSource:
    """A session a prior was learned from."""

    folder: str
    readings: int


@dataclass(frozen=True)
class PriorRecord:
    """The contents of `prior.json` (the arrays are in `prior.safetensors`)."""

    parameter_space: tuple[dict[str, object], ...]
    bandwidth: float
    level: float
    """Mean reading over all the sessions, in P(happy)."""
    shrinkage: float = SHRINKAGE
    sources: tuple[PriorSource, ...] = ()
    cv_error: dict[str, float] = field(default_factory=dict)
    """Leave-one-session-out mean squared error of each bandwidth tried."""
    format_version: int = PRIOR_FORMAT


@dataclass(frozen=True, eq=False)
class PopulationPrior:
    """Where people tend to smile: expected P(happy) over normalised emoticons."""

    space: ParamSpace
    points: np.ndarray
    """float64 (n, d): the normalised emoticons read."""
    residuals: np.ndarray
    """float64 (n,): each reading minus its session's mean."""
    groups: np.ndarray
    """int64 (n,): the session each reading came from."""
    bandwidth: float
    level: float
    shrinkage: float = SHRINKAGE
    sources: tuple[PriorSource, ...] = ()
    cv_error: dict[str, float] = field(default_factory=dict)

    def mean(self, points: np.ndarray) -> np.ndarray:
        """Expected P(happy) at normalised emoticons, (k, d) -> (k,)."""
        return self.level + _smooth(
            np.atleast_2d(np.asarray(points, dtype=np.float64)),
            self.points,
            self.residuals,
            self.bandwidth,
            self.shrinkage,
        )

    __call__ = mean

    def agent_arguments(self, start: bool = True) -> dict[str, object]:
        """What an agent that takes a prior is built (`start`) or loaded with.

        The prior is its model's mean and, to start, the `WARM_START` emoticons it shows first.
        """
        if not start:
            return {"prior_mean": self.mean}
        return {"prior_mean": self.mean, "warm_start": self.warm_start(WARM_START)}

    def warm_start(self, k: int) -> np.ndarray:
        """The `k` emoticons the prior rates best, at least a bandwidth apart.

        The readings people liked best are climbed (a mean shift over the readings above their
        session's mean, weighted by how far above) to the middle of where people smiled, which
        lies between the emoticons any one of them was shown.

        Returns:
            float64 (k', d) normalised emoticons, k' <= k (fewer when fewer lie apart).
        """
        scores = self.mean(self.points)
        starts = self.points[np.argsort(-scores, kind="stable")[: max(4 * k, 16)]]
        candidates = np.vstack([np.stack([self._climb(s) for s in starts]), starts])
        values = self.mean(candidates)
        chosen: list[np.ndarray] = []
        for index in np.argsort(-values, kind="stable"):
            point = candidates[index]
            if all(np.linalg.norm(point - c) >= self.bandwidth for c in chosen):
                chosen.append(point)
            if len(chosen) == k:
                break
        return np.array(chosen).reshape(len(chosen), self.points.shape[1])

    def _climb(self, start: np.ndarray, iterations: int = 50) -> np.ndarray:
        """A mean shift from `start` over the readings above their session's mean."""
        above = np.maximum(self.residuals, 0.0)
        x = start.copy()
        for _ in range(iterations):
            weights = np.exp(-0.5 * ((self.points - x) ** 2).sum(axis=1) / self.bandwidth**2)
            weights *= above
            total = weights.sum()
            if total <= 0:
                break
            moved = weights @ self.points / total
            if np.abs(moved - x).max() < 1e-5:
                return moved
            x = moved
        return np.clip(x, -1.0, 1.0)


def _smooth(
    at: np.ndarray, points: np.ndarray, values: np.ndarray, bandwidth: float, shrinkage: float
) -> np.ndarray:
    """The shrunk Nadaraya-Watson mean of `values` at each row of `at`."""
    out = np.empty(at.shape[0])
    for start in range(0, at.shape[0], 256):  # bounded memory
        chunk = at[start : start + 256]
        d2 = ((chunk[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
        weights = np.exp(-0.5 * d2 / bandwidth**2)
        out[start : start + 256] = weights @ values / (weights.sum(axis=1) + shrinkage)
    return out


def _readings(session: Session, space: ParamSpace) -> tuple[np.ndarray, np.ndarray]:
    """A session's read emoticons (normalised) and readings, at most `PER_SESSION` of them."""
    if not session.meta.space().same_bounds(space):
        raise SessionError(
            f"session {session.folder} was recorded over another parameter space "
            f"({list(session.meta.space().names)}); a prior is learned over one space."
        )
    scored = np.flatnonzero(session.scored())
    if scored.size > PER_SESSION:
        scored = scored[np.linspace(0, scored.size - 1, PER_SESSION).round().astype(int)]
    params = session.params()[scored]
    points = np.stack([space.normalize(space.clip(p)) for p in params]) if scored.size else None
    return (points if points is not None else np.empty((0, len(space)))), session.steps["reward"][
        scored
    ]


def learn_prior(sessions: Sequence[Session], space: ParamSpace | None = None) -> PopulationPrior:
    """Learn where people smile from their sessions' readings (steps with a face).

    Args:
        sessions: Sessions of other people (at least two, so the bandwidth can be checked on
            a session left out).
        space: The parameter space; by default the first session's.

    Raises:
        ConfigError: If fewer than two sessions have readings.
        SessionError: If the sessions were recorded over different parameter spaces.
    """
    if not sessions:
        raise ConfigError("prior: no session given to learn from.", field="prior")
    space = space or sessions[0].meta.space()
    pairs = [_readings(s, space) for s in sessions]
    used = [(s, x, y) for s, (x, y) in zip(sessions, pairs, strict=True) if y.size]
    if len(used) < 2:
        raise ConfigError(
            f"prior: {len(used)} of the sessions given has readings (steps with a face); a "
            "prior needs at least two people's sessions.",
            field="prior",
        )
    points = np.concatenate([x for _, x, _ in used])
    residuals = np.concatenate([y - y.mean() for _, _, y in used])
    groups = np.concatenate([np.full(y.size, i) for i, (_, _, y) in enumerate(used)])
    level = float(np.concatenate([y for _, _, y in used]).mean())
    errors = {str(h): _left_out_error(points, residuals, groups, h) for h in BANDWIDTHS}
    bandwidth = float(min(errors, key=lambda h: errors[h]))
    return PopulationPrior(
        space=space,
        points=points,
        residuals=residuals,
        groups=groups.astype(np.int64),
        bandwidth=bandwidth,
        level=level,
        sources=tuple(PriorSource(str(s.folder), int(y.size)) for s, _, y in used),
        cv_error=errors,
    )


def _left_out_error(
    points: np.ndarray, residuals: np.ndarray, groups: np.ndarray, bandwidth: float
) -> float:
    """Mean squared error predicting each session's readings from the others'."""
    squared = []
    for group in np.unique(groups):
        out = groups == group
        predicted = _smooth(points[out], points[~out], residuals[~out], bandwidth, SHRINKAGE)
        squared.append(np.mean((predicted - residuals[out]) ** 2))
    return float(np.mean(squared))


def save_prior(prior: PopulationPrior, folder: Path | str) -> Path:
    """Write a prior into `folder` (`prior.json` and `prior.safetensors`), atomically."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"points": prior.points, "residuals": prior.residuals, "groups": prior.groups}
    with atomic_path(folder / ARRAYS_FILE) as tmp:
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, tmp)
    record = PriorRecord(
        parameter_space=tuple(dict(p) for p in prior.space.describe()),
        bandwidth=prior.bandwidth,
        level=prior.level,
        shrinkage=prior.shrinkage,
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
    import json

    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = Path(folder)
    path = folder / PRIOR_FILE
    try:
        record = from_dict(PriorRecord, json.loads(path.read_text(encoding="utf-8")), str(path))
        arrays = load_file(folder / ARRAYS_FILE)
    except FileNotFoundError as error:
        raise ConfigError(f"prior: no prior in {folder} ({error.filename} is missing).") from error
    except (OSError, ValueError, SafetensorError) as error:
        raise ConfigError(f"prior: {folder} holds a damaged prior ({error}).") from error
    if record.format_version > PRIOR_FORMAT:
        raise ConfigError(
            f"prior: {path} is of format version {record.format_version}, newer than this "
            f"laetitia reads ({PRIOR_FORMAT}); upgrade laetitia."
        )
    learned = ParamSpace.from_description(list(record.parameter_space), str(path), ConfigError)
    if not learned.same_bounds(space):
        raise ConfigError(
            f"prior: {path} was learned over another parameter space ({list(learned.names)}, "
            f"not {list(space.names)}); learn one from sessions recorded over this space."
        )
    points, residuals = arrays.get("points"), arrays.get("residuals")
    groups = arrays.get("groups")
    if (
        points is None
        or residuals is None
        or groups is None
        or points.shape
        != (
            residuals.size,
            len(space),
        )
    ):
        raise ConfigError(f"prior: {folder / ARRAYS_FILE} does not hold a prior's arrays.")
    if not (np.isfinite(points).all() and np.isfinite(residuals).all()) or not (
        math.isfinite(record.bandwidth) and record.bandwidth > 0
    ):
        raise ConfigError(f"prior: {folder} holds values that are not finite numbers.")
    return PopulationPrior(
        space=learned,
        points=points.astype(np.float64),
        residuals=residuals.astype(np.float64),
        groups=groups.astype(np.int64),
        bandwidth=record.bandwidth,
        level=record.level,
        shrinkage=record.shrinkage,
        sources=record.sources,
        cv_error=record.cv_error,
    )


WARM_START = 3
"""Emoticons an agent with a prior shows first: the prior's best, spread apart."""


def read_prior(paths: Sequence[Path | str], space: ParamSpace | None = None) -> PopulationPrior:
    """The prior `paths` name, as `laetitia train --prior` reads it.

    Learned from sessions (folders, or folders of them), or read from the one prior folder
    `save_prior` wrote.

    Args:
        paths: Session folders, folders of them, or one prior folder.
        space: The parameter space the agent works in; by default the emoticon's.

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
    return learn_prior(load_sessions(folders), space)

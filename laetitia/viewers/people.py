"""Simulated people: viewers whose reactions lag, tire, wander and look away, as people's do.

`SimulatedViewer` (in `simulated.py`) is a hidden favourite plus noise. A `PersonViewer` adds
what makes a real viewer hard to optimise for, each from a seed:

- **Taste shapes.** Happiness is a function of the normalised parameters with a broad foothill
  and a narrower top: one sharp favourite, a broad plateau, two separate favourites (the second
  one lower, a trap), or a favourite that only three parameters decide.
- **Lag.** Within a reaction the happiness read from each frame moves from where it was
  towards the new emoticon's response with a time constant of `lag_frames` frames, so the first
  frames after a change still show the previous emoticon's response.
- **Habituation.** Emoticons shown before (or near ones) amuse less; the effect fades with a
  half-life of `recovery_steps` shown emoticons.
- **Looking away.** Frames with no face (NaN probabilities) come in runs, a fraction
  `away_rate` of frames on average.
- **Mood.** A slowly drifting offset to every frame's happiness.

The *true happiness* of an emoticon, `true_happiness(params)`, is the taste alone: noise-free,
before lag, habituation and mood. It is what benchmarks score; `attainable_max()` and
`optimum()` say where its top is.

## The suites
Benchmark figures stay comparable across changes because the people are named by suite and
index (`suite_viewer(index, seed, suite=...)`); a change to any member is a new suite version.

- **people-v1** (`SUITE_VERSION`, 24 people): each favourite drawn uniformly over the
  parameter box, so favourites are frowns and merged eyes as often as smiles.
- **people-v2** (48 people): drawn from a population. Favourites scatter around an emoticon
  that smiles (`POPULATION_FAVOURITE`) with a spread (`POPULATION_SPREAD`) wide enough that
  the population's own favourite reaches 90% of the way for fewer than one member in five:
  every person still needs a search of their own. Behaviours as in v1. Members 0-23 are the
  people to learn a prior from (`V2_TRAINING`), 24-47 the held-out people scored on
  (`V2_HELD_OUT`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

import numpy as np

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.types import FER_HAPPY, Reaction
from laetitia.viewers.simulated import frame_probs

SUITE_VERSION = "people-v1"
"""Name of the first suite, the benchmark's default; change it whenever a member would change."""
SUITE_SIZE = 24
"""Number of people in people-v1."""
SUITE_V2 = "people-v2"
"""The suite drawn from a population (see the module)."""
SUITES: dict[str, int] = {SUITE_VERSION: SUITE_SIZE, SUITE_V2: 48}
"""Every suite, with its number of people."""
V2_TRAINING: tuple[int, ...] = tuple(range(24))
"""people-v2 members whose sessions a prior may be learned from."""
V2_HELD_OUT: tuple[int, ...] = tuple(range(24, 48))
"""people-v2 members scored on, never seen while learning a prior."""
_PROFILES: dict[str, dict[str, float]] = {
    "sharp": {"broad_width": 1.0, "top_width": 0.3, "top_share": 0.5, "top_power": 2.0},
    "plateau": {"broad_width": 1.3, "top_width": 0.6, "top_share": 0.7, "top_power": 6.0},
    "two": {"broad_width": 0.8, "top_width": 0.35, "top_share": 0.5, "top_power": 2.0},
    "irrelevant": {"broad_width": 1.0, "top_width": 0.3, "top_share": 0.5, "top_power": 2.0},
}
"""Foothill and top of each taste shape."""
SHAPES: tuple[str, ...] = tuple(_PROFILES)
"""Taste shapes; suite member i has shape `SHAPES[i % len(SHAPES)]`."""
_SUITE_ROOT = 20260822
"""Root of people-v1's seeds: member i's taste and behaviour come from `[_SUITE_ROOT, i]`."""
_V2_ROOT = 20261201
"""Root of people-v2's seeds."""
POPULATION_FAVOURITE = (0.5, 0.8, 0.12, 0.0, 1.0, 0.0, 0.18, 0.3)
"""Raw parameters of people-v2's population favourite: the original eyes, a broad grin, brows
a little raised at their inner ends."""
POPULATION_SPREAD = 0.2
"""Standard deviation, in normalised units per parameter, of people-v2's favourites around the
population's: with it the population favourite reaches 90% for 8 of 48 members."""


@dataclass(frozen=True, eq=False)
class Taste:
    """A viewer's noise-free happiness over normalised emoticon parameters.

    Each favourite contributes a bump, a broad foothill (Gaussian of width `broad_width`)
    plus a top (`top_share` of the height, width `top_width`, flat when `top_power` > 2);
    the happiness is the floor plus the highest bump scaled to `peak`.
    """

    shape: str
    """One of `SHAPES`."""
    favourites: np.ndarray
    """float64 (k, n): normalised parameters of each favourite emoticon."""
    heights: np.ndarray
    """float64 (k,): relative height of each favourite; the highest is 1."""
    relevance: np.ndarray
    """float64 (n,): how much a change of each parameter matters (0: not at all)."""
    broad_width: float
    """Width of the foothill, in relevance-weighted normalised units."""
    top_width: float
    """Width of the top."""
    top_share: float
    """Share of the height in the top, in [0, 1]."""
    top_power: float
    """Exponent of the top's profile: 2 is a Gaussian, larger is flatter with steeper edges."""
    floor: float
    """Happiness far from every favourite."""
    peak: float
    """Happiness at the best favourite."""

    def appeal(self, unit: np.ndarray) -> np.ndarray:
        """Relative appeal in [0, 1] of normalised parameters, shape (..., n) -> (...)."""
        diff = (np.asarray(unit, dtype=np.float64)[..., None, :] - self.favourites) * self.relevance
        d2 = np.sum(diff**2, axis=-1)
        foothill = np.exp(-0.5 * d2 / self.broad_width**2)
        top = np.exp(-0.5 * (d2 / self.top_width**2) ** (self.top_power / 2.0))
        bumps = self.heights * ((1.0 - self.top_share) * foothill + self.top_share * top)
        return bumps.max(axis=-1)

    def happiness(self, unit: np.ndarray) -> np.ndarray:
        """Noise-free happiness of normalised parameters, shape (..., n) -> (...)."""
        return self.floor + (self.peak - self.floor) * self.appeal(unit)

    def describe(self) -> dict[str, object]:
        """The taste as plain data."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class Behaviour:
    """How a viewer's reactions unfold over frames and steps, apart from the taste."""

    lag_frames: float = 2.0
    """Time constant, in frames, of the approach from the previous response to the new one."""
    habituation_depth: float = 0.35
    """Largest fraction of the appeal that repeated showings take away, in [0, 1)."""
    habituation_width: float = 0.25
    """How near (normalised Euclidean distance) an emoticon must be to count as the same."""
    recovery_steps: float = 10.0
    """Half-life of habituation, in shown emoticons."""
    away_rate: float = 0.1
    """Average fraction of frames with no face."""
    away_frames: float = 8.0
    """Average length of a run of frames with no face."""
    mood_sd: float = 0.04
    """Standard deviation of the mood offset to happiness."""
    mood_steps: float = 50.0
    """Correlation time of the mood, in shown emoticons."""
    noise: float = 0.08
    """Standard deviation of each frame's P(happy) around the viewer's response."""

    def __post_init__(self) -> None:
        assert self.lag_frames > 0 and self.recovery_steps > 0 and self.mood_steps > 0
        assert 0.0 <= self.habituation_depth < 1.0 and 0.0 <= self.away_rate < 1.0
        assert self.away_frames >= 1.0


class PersonViewer:
    """A simulated person: a taste, read through lagging, tiring, wandering, noisy frames.

    The person's state (mood, habituation, where the response stands, whether they are
    looking) carries over from one episode to the next: an episode is the agent's notion, and
    the same person is still sitting there. `reset(seed)` only reseeds the noise.

    Args:
        taste: The hidden taste.
        behaviour: Lag, habituation, looking away, mood and noise.
        frames: Frames read per shown emoticon.
        seed: Seeds the noise (the person is the taste and behaviour).
        space: The parameter space the emoticons come from.
        name: A name for `describe()`.
    """

    nondeterministic = False
    needs_image = False
    signal = FER_HAPPY
    """It simulates the FER model's P(happy): its reactions' "happy" column."""

    def __init__(
        self,
        taste: Taste,
        behaviour: Behaviour | None = None,
        frames: int = RUN_DEFAULTS.frames,
        seed: int = 0,
        space: ParamSpace = PARAM_SPACE,
        name: str = "person",
    ) -> None:
        if frames < 1:
            raise ValueError(f"a viewer must read at least one frame per step, got {frames}.")
        self.taste = taste
        self.behaviour = behaviour or Behaviour()
        self.frames = frames
        self.seed = seed
        self.space = space
        self.name = name
        b = self.behaviour
        self._lag_decay = float(np.exp(-1.0 / b.lag_frames))
        self._recovery = float(0.5 ** (1.0 / b.recovery_steps))
        self._mood_rho = float(np.exp(-1.0 / b.mood_steps))
        self._p_return = 1.0 / b.away_frames
        self._p_leave = b.away_rate * self._p_return / (1.0 - b.away_rate)
        self._rng = np.random.default_rng([seed, 7])
        self._mood = b.mood_sd * float(self._rng.standard_normal())
        self._level = float(np.clip(taste.floor + self._mood, 0.0, 1.0))
        self._away = bool(self._rng.random() < b.away_rate)
        self._seen = np.empty((0, len(space)))
        self._seen_weight = np.empty(0)

    def reset(self, seed: int | None = None) -> None:
        """Reseed the noise; the person (taste, mood, habituation) carries on."""
        if seed is not None:
            self._rng = np.random.default_rng([self.seed, 7, seed])

    def true_happiness(self, params: np.ndarray) -> float:
        """Noise-free happiness for raw `params`: the taste alone (no lag, habituation, mood)."""
        return float(self.taste.happiness(self.space.normalize(self.space.clip(params))))

    def floor(self) -> float:
        """The true happiness far from every favourite: the least any emoticon gets."""
        return float(self.taste.floor)

    def attainable_max(self) -> float:
        """The largest true happiness any emoticon in the bounds can reach."""
        return float(self.taste.peak)

    def optimum(self) -> np.ndarray:
        """Raw parameters of an emoticon with the largest true happiness."""
        best = int(np.argmax(self.taste.heights))
        return self.space.denormalize(self.taste.favourites[best])

    def habituation(self, unit: np.ndarray) -> float:
        """Fraction of the appeal of normalised parameters that past showings take away now."""
        if self._seen_weight.size == 0:
            return 0.0
        d2 = np.sum((self._seen - unit) ** 2, axis=1)
        load = float(
            np.dot(self._seen_weight, np.exp(-0.5 * d2 / self.behaviour.habituation_width**2))
        )
        return self.behaviour.habituation_depth * load / (load + 3.0)

    def react(self, image: np.ndarray | None, params: np.ndarray) -> Reaction:
        """Read `frames` frames of the person's reaction to `params` (the image is unused)."""
        b = self.behaviour
        unit = self.space.normalize(self.space.clip(params))
        appeal = float(self.taste.appeal(unit))
        habituation = self.habituation(unit)
        felt = self.taste.floor + (self.taste.peak - self.taste.floor) * appeal * (1 - habituation)
        target = float(np.clip(felt + self._mood, 0.0, 1.0))
        decay = self._lag_decay ** np.arange(1, self.frames + 1)
        level = target + (self._level - target) * decay
        self._level = float(level[-1])
        has_face = self._looking()
        happy = np.clip(level + b.noise * self._rng.standard_normal(self.frames), 0.0, 1.0)
        probs = frame_probs(happy, self._rng)
        probs[~has_face] = np.nan
        self._remember(unit)
        self._mood = self._mood_rho * self._mood + b.mood_sd * float(
            np.sqrt(1.0 - self._mood_rho**2) * self._rng.standard_normal()
        )
        return Reaction(
            probs=probs,
            has_face=has_face,
            extras={
                "true_happiness": self.taste.floor + (self.taste.peak - self.taste.floor) * appeal,
                "felt_happiness": target,
                "habituation": habituation,
                "mood": self._mood,
            },
        )

    def _looking(self) -> np.ndarray:
        """Per frame, whether the face is there: a two-state Markov chain over frames."""
        draws = self._rng.random(self.frames)
        has_face = np.empty(self.frames, dtype=bool)
        for i, u in enumerate(draws):
            self._away = u >= self._p_return if self._away else u < self._p_leave
            has_face[i] = not self._away
        return has_face

    def _remember(self, unit: np.ndarray) -> None:
        keep = self._seen_weight * self._recovery > 1e-3
        self._seen = np.vstack([self._seen[keep], unit])
        self._seen_weight = np.append(self._seen_weight[keep] * self._recovery, 1.0)

    def show_reward(self, reward: float, scored: bool) -> None:
        """Nothing to show: the viewer has no window."""

    def describe(self) -> dict[str, object]:
        """The viewer's settings for meta.json (the taste included: it is simulated)."""
        return {
            "kind": "person",
            "name": self.name,
            "seed": self.seed,
            "frames": self.frames,
            "behaviour": asdict(self.behaviour),
            "taste": self.taste.describe(),
        }

    def close(self) -> None:
        """Nothing to release."""


def random_taste(rng: np.random.Generator, shape: str, n_params: int) -> Taste:
    """A taste of the given shape with favourites drawn from `rng`, away from the bounds.

    Raises:
        ValueError: If `shape` is not one of `SHAPES`.
    """
    if shape not in _PROFILES:
        raise ValueError(f"unknown taste shape {shape!r}; use one of {SHAPES}.")
    favourite = rng.uniform(-0.7, 0.7, size=n_params)
    floor = float(rng.uniform(0.03, 0.15))
    peak = float(rng.uniform(0.75, 0.95))
    favourites, heights = favourite[None], np.ones(1)
    if shape == "two":  # a second, lower favourite well apart from the first: a trap
        second = rng.uniform(-0.7, 0.7, size=n_params)
        while np.linalg.norm(second - favourite) < 1.2:
            second = rng.uniform(-0.7, 0.7, size=n_params)
        favourites = np.stack([favourite, second])
        heights = np.array([1.0, rng.uniform(0.7, 0.8)])
    if shape == "irrelevant":  # three parameters decide, the others do not matter
        relevance = np.zeros(n_params)
        relevant = rng.choice(n_params, size=min(3, n_params), replace=False)
        relevance[relevant] = rng.uniform(0.8, 1.4, relevant.size)
    else:
        relevance = rng.uniform(0.6, 1.4, n_params)
    return Taste(
        shape=shape,
        favourites=favourites,
        heights=heights,
        relevance=relevance,
        floor=floor,
        peak=peak,
        **_PROFILES[shape],
    )


def random_behaviour(rng: np.random.Generator) -> Behaviour:
    """Lag, habituation, looking away, mood and noise drawn from ranges seen in people."""
    return Behaviour(
        lag_frames=float(rng.uniform(1.0, 3.0)),
        habituation_depth=float(rng.uniform(0.2, 0.45)),
        recovery_steps=float(rng.uniform(5.0, 20.0)),
        away_rate=float(rng.uniform(0.03, 0.2)),
        away_frames=float(rng.uniform(3.0, 20.0)),
        mood_sd=float(rng.uniform(0.02, 0.06)),
        mood_steps=float(rng.uniform(20.0, 100.0)),
        noise=float(rng.uniform(0.05, 0.12)),
    )


def suite_shape(index: int) -> str:
    """The taste shape of suite member `index`."""
    return SHAPES[index % len(SHAPES)]


def suite_viewer(
    index: int,
    seed: int = 0,
    frames: int = RUN_DEFAULTS.frames,
    space: ParamSpace = PARAM_SPACE,
    suite: str = SUITE_VERSION,
) -> PersonViewer:
    """Member `index` of a suite: the same person for the same index, noise from `seed`.

    Raises:
        ValueError: If the suite is unknown or has no member `index`.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; the suites are {list(SUITES)}.")
    if not 0 <= index < SUITES[suite]:
        raise ValueError(f"{suite} has no member {index}; use 0 to {SUITES[suite] - 1}.")
    if suite == SUITE_VERSION:
        rng = np.random.default_rng([_SUITE_ROOT, index])
        taste = random_taste(rng, suite_shape(index), len(space))
    else:
        rng = np.random.default_rng([_V2_ROOT, index])
        taste = random_taste(rng, suite_shape(index), len(space))
        taste = _around_the_population(taste, rng, space)
    behaviour = random_behaviour(rng)
    return PersonViewer(
        taste, behaviour, frames=frames, seed=seed, space=space, name=f"{suite}/{index}"
    )


def _around_the_population(taste: Taste, rng: np.random.Generator, space: ParamSpace) -> Taste:
    """The taste with its (first) favourite drawn around the population's, not uniformly."""
    centre = space.normalize(space.clip(np.array(POPULATION_FAVOURITE)))
    favourites = taste.favourites.copy()
    favourites[0] = np.clip(
        centre + POPULATION_SPREAD * rng.standard_normal(centre.size), -0.9, 0.9
    )
    return dataclasses.replace(taste, favourites=favourites)


SUITE: tuple[int, ...] = tuple(range(SUITE_SIZE))
"""Indices of the suite's people; build one with `suite_viewer(index, seed)`."""

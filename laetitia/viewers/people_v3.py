"""people-v3: simulated people whose faces read as the smile signal reads real faces.

people-v1 and v2 (`laetitia.viewers.people`) answer on a scale of their own: floors of
0.03-0.15 and peaks of 0.75-0.95, ten frames a step and no notion of time. people-v3 answer on
the scale of the `smile` signal (the mean of MediaPipe's mouthSmileLeft/Right blendshapes, issue
26), as it reads real faces, and in seconds: each frame is read at its time after the emoticon
appeared, at the camera's frame rate, after the run's settle time. Each person is drawn from a
seed, as in v1 and v2, and is the same person for every seed of a run.

## What a person is
- **A resting level and a lift.** The signal of a person at rest (their *floor*) and how far
  their best emoticon lifts it. A *faint reactor*'s best emoticon lifts it by at most a quarter
  of the median neutral-to-smile gap of real faces; a *clear reactor*'s by more; a
  *non-responder*'s not at all (their taste is flat: the floor everywhere).
- **A taste** (`laetitia.viewers.people.Taste`): the four shapes of v1, the first favourite
  drawn around a smiling emoticon as in v2 (`people.POPULATION_FAVOURITE`). Between floor and
  peak, a taste's appeal lifts the signal linearly: floors and peaks are on the signal's scale.
- **A taste that moves**, for some: their favourites drift along a straight line (folded back
  at the edges of the box) as emoticons are shown.
- **Timing in seconds.** A change of emoticon starts to show on the face `latency_s` after it
  appeared; from then the face moves towards its new level exponentially, 90% of the way
  `readable_s` after the emoticon appeared. The same holds on the way back down.
- **Frame noise in log-odds.** A frame reads `sigmoid(logit(level) + mood + wander + jitter)`:
  `jitter` is new on each frame, `wander` drifts with a correlation time in seconds. The signal
  is a blendshape score, a sigmoid's output: a resting face that reads 0.00002 reads 0.00002
  on every frame, a faint smile of 0.1 wavers by a few hundredths, as measured (below).
- **Mood, habituation, looking away** as in v1, mood in log-odds, looking away in seconds.

## Where each range comes from
Recomputed by `benchmarks/people_v3_ranges.py` (its docstring has the commands) into
`benchmarks/results/people_v3_ranges.json`, from the research for issue 26: the London set's
shared half (54 people, a neutral and a smiling photo each, the `bs_yunet_refine` reading) and
the three fixture videos with a face (`yunet_tracked_smoothed`, per frame).

Measured:
- **floor**: drawn from the London neutral readings' distribution (`NEUTRAL_QUANTILES`, one
  photo per person): median 0.0019, 75% below 0.038, 90% below 0.27, at most 0.47.
- **faint lift** 0.048-0.146 (`FAINT_LIFT`): from the 10th percentile of the people's
  neutral-to-smile gaps (0.048, the faintest posed smiles) to a quarter of their median gap
  (0.585 / 4, issue 27's bound).
- **clear lift** 0.146-0.585 (`CLEAR_LIFT`), a peak of at most 0.924 (`PEAK_MAX`): up to the
  median posed gap (an emoticon draws no more than a posed smile); 0.924 is the highest
  smiling reading.
- **the fastest rise** 0.1 s from latency to readable (`RISE_MIN_S`): the fixture's posed smile
  goes from 10% to 90% of the way in 3 frames (0.10-0.11 s).

From issue 27:
- **latency** 0.3-0.7 s (`LATENCY_S`): a smile starts 0.3-0.7 s after a face is seen;
- **readable** 0.5-1.0 s (`READABLE_S`): and is readable about 0.5-1 s after;
- **taste drift** 0.3-0.6 normalised units over 300 shown emoticons (`DRIFT_UNITS`).

Assumed, and why:
- **jitter** 0.1-0.3 log-odds per frame (`JITTER_LOGIT`): the fixture's frame-to-frame change
  on a held smile is 0.03 log-odds; a still photo's reading moves by 0.06-0.39 log-odds (0.15
  from a faint to a broad smile) between two reasonable crops, and a head moving at a webcam
  moves the tracked crop by as much from one frame to the next.
- **wander** 0.15-0.4 log-odds with a correlation time of 0.5-2 s (`WANDER_LOGIT`,
  `WANDER_S`): the fixture's held smile wanders by 0.14 log-odds with a lag-1 correlation of
  0.95 at 30 fps (0.65 s); a viewer's face moves more than one man's holding a posed smile for
  two seconds.
- **mood** 0.1-0.3 log-odds, correlated over 20-100 shown emoticons (`MOOD_LOGIT`,
  `MOOD_STEPS`): v1's 0.02-0.06 P(happy) around levels of 0.1-0.9, carried into log-odds.
- **habituation** as in v1 (`HABITUATION_DEPTH`, `RECOVERY_STEPS`).
- **looking away** 3-20% of the time in spells of 0.1-1 s on average (`AWAY_SHARE`,
  `AWAY_SPELL_S`): v1's 3-20% of frames in runs of 3-20 frames, read at 30 fps.

The frame noise of a person at a webcam is larger than on the fixture's steady stretches (a
man holding a posed smile, lit evenly, a camera on a stand): the jitter is drawn at 3-10 times
the fixture's frame-to-frame change, the size of the crop-to-crop spread measured on the London
photos, and the wander at 1-3 times the fixture's.

## The suite
`V3_SIZE` people in blocks of 20, each block with 2 non-responders (positions 0-1), 9 faint
reactors (2-10: 45% of everyone) and 9 clear ones (11-19); 5 of each 20 have a taste that moves
(positions `DRIFTING`, of the sharp and plateau shapes, where a favourite that moves is one
place). Three splits: `V3_PRIOR` (the people whose sessions a prior is learned from),
`V3_VALIDATION` (every design choice is measured here) and `V3_TEST` (sealed: the figures a
release reports, scored once). Member i comes from the seed `[_V3_ROOT, i]`.

The readings are the smile signal's (a viewer's `signal`): a reaction carries them as its
`values`, and its probabilities hold the same reading in the "happy" column (`smile_frames`, the
one place a people-v3 frame is made), so its session's class columns read as a face's would.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.logistic import logit
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.types import SMILE, Reaction
from laetitia.viewers.people import (
    Habituation,
    Taste,
    around_the_population,
    random_taste,
    suite_shape,
)
from laetitia.viewers.simulated import frame_probs

SUITE_V3 = "people-v3"
"""The suite's name; a change to any member is a new suite version."""
V3_SIZE = 180
"""People in people-v3."""
BLOCK = 20
"""People-v3 is made of blocks of this many people with the same mix of kinds."""
NON_RESPONDERS = (0, 1)
"""Positions in a block of the people who do not react to any emoticon."""
FAINT = tuple(range(2, 11))
"""Positions in a block of the faint reactors (45% of everyone)."""
DRIFTING = (4, 5, 8, 12, 17)
"""Positions in a block of the people whose taste moves (sharp and plateau shapes)."""
V3_PRIOR: tuple[int, ...] = tuple(range(0, 40))
"""Members whose sessions a prior may be learned from."""
V3_VALIDATION: tuple[int, ...] = tuple(range(40, 100))
"""Members every design choice is measured on."""
V3_TEST: tuple[int, ...] = tuple(range(100, 180))
"""The sealed test split: scored once, for the figures a release reports."""
V3_SPLITS: dict[str, tuple[int, ...]] = {
    "prior": V3_PRIOR,
    "validation": V3_VALIDATION,
    "test": V3_TEST,
}
"""The three splits by name."""
_V3_ROOT = 20261215
"""Root of people-v3's seeds."""

NEUTRAL_QUANTILES: tuple[tuple[float, float], ...] = (
    (0.0, 1.7e-5),
    (0.1, 9.57e-5),
    (0.25, 3.705e-4),
    (0.5, 1.868e-3),
    (0.75, 3.838e-2),
    (0.9, 2.706e-1),
    (1.0, 4.714e-1),
)
"""(quantile, reading) of the London neutral photos: a floor is drawn by interpolating these."""
MEDIAN_GAP = 0.5846
"""Median neutral-to-smile gap of the London people."""
FAINT_LIFT = (0.0484, 0.25 * MEDIAN_GAP)
"""A faint reactor's lift, from the gaps' 10th percentile to a quarter of their median."""
CLEAR_LIFT = (0.25 * MEDIAN_GAP, MEDIAN_GAP)
"""A clear reactor's lift, up to the median gap."""
PEAK_MAX = 0.924
"""The highest reading a best emoticon gives (the highest smiling photo's)."""
LATENCY_S = (0.3, 0.7)
"""Seconds from an emoticon's appearance to the first change on the face."""
READABLE_S = (0.5, 1.0)
"""Seconds from an emoticon's appearance to 90% of the change."""
RISE_MIN_S = 0.1
"""The fastest rise from latency to readable (the fixture's posed smile: 10% to 90% in 0.1 s)."""
JITTER_LOGIT = (0.1, 0.3)
"""Standard deviation of each frame's own noise, log-odds."""
WANDER_LOGIT = (0.15, 0.4)
"""Standard deviation of the slowly wandering noise, log-odds."""
WANDER_S = (0.5, 2.0)
"""Correlation time of the wander, seconds."""
MOOD_LOGIT = (0.1, 0.3)
"""Standard deviation of the mood, log-odds."""
MOOD_STEPS = (20.0, 100.0)
"""Correlation time of the mood, shown emoticons."""
HABITUATION_DEPTH = (0.2, 0.45)
"""Largest share of an emoticon's appeal habituation takes away."""
HABITUATION_WIDTH = 0.25
"""Normalised distance within which emoticons count as the same one."""
RECOVERY_STEPS = (5.0, 20.0)
"""Half-life of habituation, shown emoticons."""
AWAY_SHARE = (0.03, 0.2)
"""Share of the time without a face."""
AWAY_SPELL_S = (0.1, 1.0)
"""Mean length of a spell without a face, seconds."""
DRIFT_UNITS = (0.3, 0.6)
"""How far a moving favourite travels over `DRIFT_OVER` shown emoticons, normalised units."""
DRIFT_OVER = 300
"""Shown emoticons `DRIFT_UNITS` is measured over."""
DRIFT_BOUND = 0.9
"""A moving favourite is folded back at this distance from the middle of each range."""
KINDS = ("none", "faint", "clear")
"""How a person reacts: not at all, faintly, clearly."""


def _approached(level: float, target: float, elapsed_s: float, tau_s: float) -> float:
    """The face's level `elapsed_s` after it was `level`, approaching `target` exponentially."""
    return target + (level - target) * math.exp(-elapsed_s / tau_s)


def smile_frames(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-frame probabilities carrying the smile signal's readings: the one place they are made.

    The reading sits in the "happy" column, where the reward reads it, the other classes
    sharing the rest (`laetitia.viewers.simulated.frame_probs`).

    Args:
        values: float (n_frames,) readings of the smile signal, in [0, 1].
        rng: Draws how the rest of the mass splits between the other classes.
    """
    return frame_probs(values, rng)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function as the suite's frames were drawn with it.

    Not `laetitia.logistic.sigmoid`: that one differs in the last bits, and the suite's frames
    are its definition (`SUITE_V3`), reproduced figure for figure by the committed results.
    """
    return 1.0 / (1.0 + np.exp(-x))


LOGIT_FLOOR = 1e-6
"""A level is clipped to [LOGIT_FLOOR, 1 - LOGIT_FLOOR] before its log-odds are taken."""


def _fold(x: np.ndarray, bound: float) -> np.ndarray:
    """`x` folded back into [-bound, bound] at its edges, as a ball between two walls."""
    span = 2.0 * bound
    z = np.mod(x + bound, 2.0 * span)
    return np.where(z <= span, z, 2.0 * span - z) - bound


@dataclass(frozen=True, eq=False)
class V3Person:
    """A people-v3 person: a taste on the signal's scale and how the face shows it."""

    kind: str
    """One of `KINDS`."""
    taste: Taste
    """The taste at the start (floor and peak in the signal's units; flat for "none")."""
    drift: np.ndarray
    """float64 (n,): how far the favourites move per shown emoticon, normalised units."""
    latency_s: float
    """Seconds from an emoticon's appearance to the first change on the face."""
    readable_s: float
    """Seconds from an emoticon's appearance to 90% of the change."""
    jitter: float
    """Standard deviation of each frame's own noise, log-odds."""
    wander: float
    """Standard deviation of the wandering noise, log-odds."""
    wander_s: float
    """Correlation time of the wander, seconds."""
    mood_sd: float
    """Standard deviation of the mood, log-odds."""
    mood_steps: float
    """Correlation time of the mood, shown emoticons."""
    habituation_depth: float
    """Largest share of the appeal habituation takes away."""
    recovery_steps: float
    """Half-life of habituation, shown emoticons."""
    away_share: float
    """Share of the time without a face."""
    away_spell_s: float
    """Mean length of a spell without a face, seconds."""

    @property
    def rise_s(self) -> float:
        """Time constant of the face's approach to a new level, seconds."""
        return (self.readable_s - self.latency_s) / math.log(10.0)

    @property
    def responds(self) -> bool:
        """Whether any emoticon lifts the signal."""
        return self.kind != "none"

    @property
    def drifts(self) -> bool:
        """Whether the taste moves as emoticons are shown."""
        return bool(np.any(self.drift))

    def taste_at(self, shown: int) -> Taste:
        """The taste after `shown` emoticons have been shown."""
        if not self.drifts or shown == 0:
            return self.taste
        moved = _fold(self.taste.favourites + shown * self.drift, DRIFT_BOUND)
        return dataclasses.replace(self.taste, favourites=moved)


def v3_kind(index: int) -> str:
    """How member `index` of people-v3 reacts (`KINDS`)."""
    position = index % BLOCK
    if position in NON_RESPONDERS:
        return "none"
    return "faint" if position in FAINT else "clear"


def v3_person(index: int, space: ParamSpace = PARAM_SPACE) -> V3Person:
    """Member `index` of people-v3, drawn from its seed (see the module for the ranges).

    Raises:
        ValueError: If people-v3 has no member `index`.
    """
    if not 0 <= index < V3_SIZE:
        raise ValueError(f"{SUITE_V3} has no member {index}; use 0 to {V3_SIZE - 1}.")
    rng = np.random.default_rng([_V3_ROOT, index])
    kind = v3_kind(index)
    taste = around_the_population(random_taste(rng, suite_shape(index), len(space)), rng, space)
    quantiles, levels = zip(*NEUTRAL_QUANTILES, strict=True)
    floor = float(np.interp(rng.uniform(), quantiles, levels))
    lift = {"none": 0.0, "faint": rng.uniform(*FAINT_LIFT), "clear": rng.uniform(*CLEAR_LIFT)}
    peak = min(floor + float(lift[kind]), PEAK_MAX)
    taste = dataclasses.replace(taste, floor=floor, peak=peak)
    drift = np.zeros(len(space))
    if index % BLOCK in DRIFTING:
        direction = rng.standard_normal(len(space))
        distance = rng.uniform(*DRIFT_UNITS)
        drift = direction / np.linalg.norm(direction) * distance / DRIFT_OVER
    latency = float(rng.uniform(*LATENCY_S))
    readable = float(rng.uniform(max(READABLE_S[0], latency + RISE_MIN_S), READABLE_S[1]))
    return V3Person(
        kind=kind,
        taste=taste,
        drift=drift,
        latency_s=latency,
        readable_s=readable,
        jitter=float(rng.uniform(*JITTER_LOGIT)),
        wander=float(rng.uniform(*WANDER_LOGIT)),
        wander_s=float(rng.uniform(*WANDER_S)),
        mood_sd=float(rng.uniform(*MOOD_LOGIT)),
        mood_steps=float(rng.uniform(*MOOD_STEPS)),
        habituation_depth=float(rng.uniform(*HABITUATION_DEPTH)),
        recovery_steps=float(rng.uniform(*RECOVERY_STEPS)),
        away_share=float(rng.uniform(*AWAY_SHARE)),
        away_spell_s=float(rng.uniform(*AWAY_SPELL_S)),
    )


class PersonV3Viewer:
    """A people-v3 person at a camera: frames at the camera's rate after a settle, in seconds.

    The person's state (the face's level, mood, habituation, the wander, whether they look)
    carries over from one episode to the next; `reset(seed)` only reseeds the noise. The
    person's clock advances by the settle and the frames read at each step (the person's time
    the agent spends; its own computing is not counted here).

    Args:
        person: Who it is (`v3_person`).
        frames: Frames read per shown emoticon.
        settle_s: Seconds from showing an emoticon to reading its first frame.
        camera_fps: Frames per second the camera delivers.
        seed: Seeds the noise.
        space: The parameter space the emoticons come from.
        name: A name for `describe()`.
    """

    nondeterministic = False
    needs_image = False
    signal = SMILE
    """It simulates the smile signal (issue 26's landmark smile intensity): its reactions'
    `values`."""

    def __init__(
        self,
        person: V3Person,
        frames: int = RUN_DEFAULTS.frames,
        settle_s: float = RUN_DEFAULTS.settle_s,
        camera_fps: float = RUN_DEFAULTS.camera_fps,
        seed: int = 0,
        space: ParamSpace = PARAM_SPACE,
        name: str = SUITE_V3,
    ) -> None:
        if frames < 1:
            raise ValueError(f"a viewer must read at least one frame per step, got {frames}.")
        self.person = person
        self.frames = frames
        self.settle_s = float(settle_s)
        self.camera_fps = float(camera_fps)
        self.seed = seed
        self.space = space
        self.name = name
        self.shown = 0
        """Emoticons shown so far (the taste's clock)."""
        self.clock_s = 0.0
        """The person's time so far, seconds: every settle and every frame read."""
        self._rng = np.random.default_rng([seed, 11])
        floor = person.taste.floor
        # The face's level: known at `_anchor` = (time, level, target it is moving to), then
        # changed by each pending switch (time the face starts to move, new target).
        self._anchor = (0.0, floor, floor)
        self._switches: list[tuple[float, float]] = []
        self._mood = person.mood_sd * float(self._rng.standard_normal())
        self._mood_rho = float(np.exp(-1.0 / person.mood_steps))
        self._wander = (0.0, person.wander * float(self._rng.standard_normal()))
        self._away = (0.0, bool(self._rng.random() < person.away_share))
        self._memory = Habituation(
            person.habituation_depth, HABITUATION_WIDTH, person.recovery_steps, len(space)
        )

    # ----- the truth: for benchmarks and plots, never in a reaction ----------------------------
    def true_happiness(self, params: np.ndarray, shown: int | None = None) -> float:
        """The noise-free reading of raw `params` after `shown` emoticons (default: now).

        The taste alone: before the timing, habituation, mood and noise of a reaction.
        """
        taste = self.person.taste_at(self.shown if shown is None else shown)
        return float(taste.happiness(self.space.normalize(self.space.clip(params))))

    def floor(self) -> float:
        """The person's resting reading: the least any emoticon gets."""
        return float(self.person.taste.floor)

    def attainable_max(self) -> float:
        """The largest noise-free reading any emoticon gets (the floor for a non-responder)."""
        return float(self.person.taste.peak)

    def optimum(self, shown: int | None = None) -> np.ndarray:
        """Raw parameters of an emoticon with the largest noise-free reading, after `shown`."""
        taste = self.person.taste_at(self.shown if shown is None else shown)
        return self.space.denormalize(taste.favourites[int(np.argmax(taste.heights))])

    @property
    def responds(self) -> bool:
        """Whether any emoticon lifts this person's signal."""
        return self.person.responds

    # ----- the viewer ---------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Reseed the noise; the person (taste, face, mood, habituation) carries on."""
        if seed is not None:
            self._rng = np.random.default_rng([self.seed, 11, seed])

    def react(self, image: np.ndarray | None, params: np.ndarray) -> Reaction:
        """Show `params` now; read `frames` frames from `settle_s` on (the image is unused)."""
        person = self.person
        unit = self.space.normalize(self.space.clip(params))
        taste = person.taste_at(self.shown)
        appeal = float(taste.appeal(unit)) * (1.0 - self._memory.fraction(unit))
        target = taste.floor + (taste.peak - taste.floor) * appeal
        start = self.clock_s
        self._switches.append((start + person.latency_s, target))
        times = start + self.settle_s + np.arange(self.frames) / self.camera_fps
        values = self._read(times)
        has_face = self._looking(times)
        probs = smile_frames(values, self._rng)
        probs[~has_face] = np.nan
        readings = np.where(has_face, values, np.nan).astype(np.float32)
        self.clock_s = float(times[-1] + 1.0 / self.camera_fps)
        self._settle_anchor(self.clock_s)
        self._memory.remember(unit)
        self._mood = self._mood_rho * self._mood + person.mood_sd * math.sqrt(
            1.0 - self._mood_rho**2
        ) * float(self._rng.standard_normal())
        self.shown += 1
        return Reaction(
            probs=probs, has_face=has_face, times_s=times, signal=SMILE, values=readings
        )

    def _levels(self, times: np.ndarray) -> np.ndarray:
        """The face's noise-free level at each of `times` (sorted, from the anchor on)."""
        tau = self.person.rise_s
        out = np.empty(times.size)
        for i, now in enumerate(times):
            t, level, target = self._anchor
            for switch, new in self._switches:
                if switch > now:
                    break
                level = _approached(level, target, switch - t, tau)
                t, target = switch, new
            out[i] = _approached(level, target, now - t, tau)
        return out

    def _settle_anchor(self, now: float) -> None:
        """Move the anchor to `now`, taking in every switch that has happened by then."""
        t, level, target = self._anchor
        tau = self.person.rise_s
        while self._switches and self._switches[0][0] <= now:
            switch, new = self._switches.pop(0)
            level = _approached(level, target, switch - t, tau)
            t, target = switch, new
        self._anchor = (now, _approached(level, target, now - t, tau), target)

    def _read(self, times: np.ndarray) -> np.ndarray:
        """Readings at `times`: the level in log-odds, plus mood, wander and jitter."""
        person = self.person
        wander = np.empty(times.size)
        t, w = self._wander
        for i, now in enumerate(times):
            rho = math.exp(-(now - t) / person.wander_s)
            w = rho * w + person.wander * math.sqrt(1.0 - rho**2) * float(
                self._rng.standard_normal()
            )
            t = now
            wander[i] = w
        self._wander = (t, w)
        jitter = person.jitter * self._rng.standard_normal(times.size)
        return _sigmoid(logit(self._levels(times), LOGIT_FLOOR) + self._mood + wander + jitter)

    def _looking(self, times: np.ndarray) -> np.ndarray:
        """Whether the face is there at each of `times`: a two-state Markov chain in time."""
        person = self.person
        back = 1.0 / person.away_spell_s
        leave = person.away_share * back / (1.0 - person.away_share)
        has_face = np.empty(times.size, dtype=bool)
        t, away = self._away
        for i, now in enumerate(times):
            fade = math.exp(-(leave + back) * (now - t))
            p_away = person.away_share + ((1.0 if away else 0.0) - person.away_share) * fade
            away = bool(self._rng.random() < p_away)
            t = now
            has_face[i] = not away
        self._away = (t, away)
        return has_face

    def show_reward(self, reward: float, scored: bool) -> None:
        """Nothing to show: the viewer has no window."""

    def describe(self) -> dict[str, object]:
        """The viewer for meta.json: who (by suite and index) and how it is read, no taste."""
        return {
            "kind": "person",
            "name": self.name,
            "seed": self.seed,
            "frames": self.frames,
            "settle_s": self.settle_s,
            "camera_fps": self.camera_fps,
        }

    def close(self) -> None:
        """Nothing to release."""


def v3_viewer(
    index: int,
    seed: int = 0,
    frames: int = RUN_DEFAULTS.frames,
    settle_s: float = RUN_DEFAULTS.settle_s,
    camera_fps: float = RUN_DEFAULTS.camera_fps,
    space: ParamSpace = PARAM_SPACE,
) -> PersonV3Viewer:
    """Member `index` of people-v3 at a camera: the same person for the same index.

    Raises:
        ValueError: If people-v3 has no member `index`.
    """
    return PersonV3Viewer(
        v3_person(index, space),
        frames=frames,
        settle_s=settle_s,
        camera_fps=camera_fps,
        seed=seed,
        space=space,
        name=f"{SUITE_V3}/{index}",
    )

"""The figures of one bench run: what the agent showed, and what it recommends in a person's time.

Both are scored on the viewer's noise-free happiness (`laetitia.types.KnownTruth`), as a
fraction of the way from the person's floor (their happiness far from every favourite) to the
best any emoticon gets, so 1 is the best emoticon there is.

## What it recommends (the headline)
A user takes home the agent's recommendation (`best_params()`: its honest best guess, never
its luckiest reading), not the emoticons it tried on the way. After each step the bench asks
the agent for it and scores it on the taste of that moment (a taste may move).

- **steps to 90% and stays**: the first step from which the recommendation is at least 90% of
  the way at every later step of the run. A run whose recommendation is below 90% at its last
  step never got there (censored: infinite, shown as "at least the budget").
- **person-time to 90% and stays**: the person's seconds up to the end of that step. A step
  takes its settle plus its frames at the camera's rate (`RunSettings.settle_s`,
  `camera_fps`): the time a person sits in front of the screen, whatever the machine. The
  agent's own computing, which depends on the machine, is measured and reported beside it
  (`wait_s_to_90`), never added.
- **quality at fixed times**: the recommendation's fraction after so many of the person's
  seconds (`AT_SECONDS`) and so many steps (`AT_STEPS`).

## What it showed (as before, issue 8)
- **steps to 90%**: the first step (from 1) whose *shown* emoticon reaches 90% of the way; a
  Thompson draw or any other exploration counts. Censored at the budget.
- **mean happiness over the first 100 steps** and the **best** shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from laetitia.types import KnownTruth

BOOTSTRAP = 4000
"""Resamples behind every interval of a bench (of its people, and of each one's seeds)."""
CONFIDENCE = 0.95
"""Coverage of a bench's intervals."""

THRESHOLD = 0.9
"""Fraction of the way from a viewer's floor to its maximum that counts as found."""
FIRST_STEPS = 100
"""Steps whose mean happiness is reported."""
AT_SECONDS = (15.0, 30.0, 45.0, 60.0, 120.0)
"""Person-times (seconds) the recommendation's quality is reported at."""
AT_STEPS = (50, 100, 200, 300)
"""Steps the recommendation's quality is reported at (those within the run)."""


@dataclass(frozen=True)
class RunMetrics:
    """The shown-emoticon figures of one agent × viewer × seed run."""

    steps_to_90: int
    """First step (from 1) reaching the threshold; `steps` when never (censored)."""
    reached: bool
    """Whether the threshold was reached (False: `steps_to_90` is censored)."""
    mean_first_100: float
    """Mean true happiness over the first 100 shown emoticons."""
    best: float
    """Largest true happiness shown."""
    best_fraction: float
    """`best` as a fraction of the way from the viewer's floor to its maximum."""


def run_metrics(shown: np.ndarray, viewer: KnownTruth) -> RunMetrics:
    """Score a run from the true happiness of each shown emoticon, in order.

    Args:
        shown: float (steps,) true happiness of the emoticon shown at each step.
        viewer: The viewer of the run (its floor and attainable maximum).
    """
    floor, top = viewer.floor(), viewer.attainable_max()
    hits = np.flatnonzero(shown >= floor + THRESHOLD * (top - floor))
    best = float(shown.max())
    return RunMetrics(
        steps_to_90=int(hits[0]) + 1 if hits.size else int(shown.size),
        reached=bool(hits.size),
        mean_first_100=float(shown[:FIRST_STEPS].mean()),
        best=best,
        best_fraction=(best - floor) / (top - floor) if top > floor else math.nan,
    )


@dataclass(frozen=True)
class RecommendationMetrics:
    """What the agent recommends along one run, in steps and in the person's seconds."""

    steps_to_90: float
    """First step (from 1) from which the recommendation stays at 90% or more to the end;
    infinite when it is below 90% at the last step (censored)."""
    person_s_to_90: float
    """The person's seconds up to the end of that step; infinite when censored."""
    wait_s_to_90: float
    """The agent's measured computing up to then, seconds (machine-dependent); infinite when
    censored."""
    at_seconds: dict[str, float]
    """The recommendation's fraction of the way after each of `AT_SECONDS` of the person's
    time (NaN before the first recommendation or beyond the run)."""
    at_steps: dict[str, float]
    """Its fraction after each of `AT_STEPS` steps within the run, and at the `end`."""

    @property
    def reached(self) -> bool:
        """Whether the recommendation reached 90% and stayed."""
        return math.isfinite(self.steps_to_90)


def recommendation_metrics(
    fraction: np.ndarray, person_s: np.ndarray, wait_s: np.ndarray
) -> RecommendationMetrics:
    """Score what an agent recommended after each step of a run.

    Args:
        fraction: float (steps,) the recommendation's fraction of the way after each step
            (NaN where the agent had none yet).
        person_s: float (steps,) the person's seconds each step took (settle and frames).
        wait_s: float (steps,) the agent's measured computing at each step, seconds.
    """
    steps = fraction.size
    below = np.flatnonzero(~(fraction >= THRESHOLD))  # NaN counts as below
    first = 0 if below.size == 0 else int(below[-1]) + 1
    reached = first < steps
    clock, waited = np.cumsum(person_s), np.cumsum(wait_s)

    def at_time(seconds: float) -> float:
        done = np.flatnonzero(clock <= seconds)
        return float(fraction[done[-1]]) if done.size and clock[-1] >= seconds else math.nan

    at_steps = {str(s): float(fraction[s - 1]) for s in AT_STEPS if s <= steps}
    at_steps["end"] = float(fraction[-1])
    return RecommendationMetrics(
        steps_to_90=float(first + 1) if reached else math.inf,
        person_s_to_90=float(clock[first]) if reached else math.inf,
        wait_s_to_90=float(waited[first]) if reached else math.inf,
        at_seconds={f"{s:g}": at_time(s) for s in AT_SECONDS},
        at_steps=at_steps,
    )

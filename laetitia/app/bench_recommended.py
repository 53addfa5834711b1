"""The bench's headline across a suite: what the agents recommend, in a person's time.

Per agent, over the runs of people who react (`laetitia.app.bench_metrics` scores each run):
the median person-time and steps until the recommendation reaches 90% of the way and stays,
the share of runs where it never does, the recommendation's quality at fixed person-times and
steps, the agent's measured wait beside them, the same by kind of person (faint and clear
reactors), for tastes that move (the recommendation at step 100 and at the end), and how often
the agent says "no reliable reaction", of people who do not react and of those who do.

Every interval is a 95% percentile interval of a bootstrap over the people and, within each
person drawn, over their seeds (`BOOTSTRAP` resamples): it says how far another draw of people
from the same suite, and other noise, could move the figure. Ratios and differences between
two agents are paired: both computed on the same resampled runs.

A censored run (never at 90% and staying) counts as infinitely long, so a median is exact
while fewer than half the runs are censored and infinite (written `null` in JSON, "never" in
tables) otherwise.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from laetitia.app.bench_metrics import (
    AT_SECONDS,
    AT_STEPS,
    BOOTSTRAP,
    CONFIDENCE,
    THRESHOLD,
    RecommendationMetrics,
)

if TYPE_CHECKING:
    from laetitia.app.bench_agents import Run

KINDS = ("faint", "clear")
"""The kinds of people who react, reported apart."""
DRIFT_EARLY = 100
"""The step a moving taste's recommendation is compared at with the end of the run."""

Table = np.ndarray
"""float64 (people, seeds) of one figure per run; NaN where a run is missing or left out."""


def resamples(people: int, seeds: int, count: int = BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """Run indices of `count` bootstrap resamples over people and then each one's seeds.

    Returns:
        int (count, people * seeds): indices into a (people, seeds) table, flattened.
    """
    rng = np.random.default_rng(seed)
    who = rng.integers(0, people, size=(count, people))
    which = rng.integers(0, seeds, size=(count, people, seeds))
    return (who[:, :, None] * seeds + which).reshape(count, people * seeds)


def interval(values: np.ndarray) -> list[float | None]:
    """The central `CONFIDENCE` interval of resampled figures (NaNs left out; inf kept)."""
    tail = (1 - CONFIDENCE) / 2
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return [None, None]
    low, high = np.quantile(finite, [tail, 1 - tail], method="inverted_cdf")
    return [_json(low), _json(high)]


def _json(value: float) -> float | None:
    """A figure for JSON: infinite or NaN as None."""
    return float(value) if math.isfinite(value) else None


def _median(rows: np.ndarray) -> np.ndarray:
    """The median of each row, NaNs left out (a row of NaNs gives NaN, quietly)."""
    out = np.full(rows.shape[0], np.nan)
    for i, row in enumerate(rows):
        kept = row[~np.isnan(row)]
        if kept.size:
            out[i] = np.median(kept)
    return out


def _share(rows: np.ndarray) -> np.ndarray:
    """The mean of each row of 0/1 figures, NaNs left out (a row of NaNs gives NaN, quietly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(rows, axis=1)


class Figures:
    """The runs of a grid as (people, seeds) tables per agent, and their bootstrap.

    Args:
        runs: The finished runs.
        agents: The agents, in order.
        people: The suite members, in order.
        seeds: Seeds per person.
    """

    def __init__(
        self, runs: Sequence[Run], agents: Sequence[str], people: Sequence[int], seeds: int
    ) -> None:
        self.agents = tuple(agents)
        self.people = tuple(people)
        self.seeds = seeds
        self.runs = {(r.agent, r.viewer, r.seed): r for r in runs}
        first = {r.viewer: r for r in runs}
        self.kind = {p: first[p].kind if p in first else "" for p in self.people}
        self.drifts = {p: first[p].drifts if p in first else False for p in self.people}

    def table(self, agent: str, figure: Callable[[Run], float], who: Sequence[int]) -> Table:
        """One figure of each run of `agent` on the people `who`, NaN where missing."""
        out = np.full((len(who), self.seeds), np.nan)
        for i, person in enumerate(who):
            for seed in range(self.seeds):
                run = self.runs.get((agent, person, seed))
                if run is not None:
                    out[i, seed] = figure(run)
        return out

    def who(self, kinds: Sequence[str], drifting: bool | None = None) -> list[int]:
        """The people of these kinds (and, when given, whose taste moves or not)."""
        return [
            p
            for p in self.people
            if self.kind[p] in kinds and (drifting is None or self.drifts[p] == drifting)
        ]


def _stat(
    tables: dict[str, Table], statistic: Callable[[np.ndarray], np.ndarray]
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """A statistic of each agent's table, and of `BOOTSTRAP` paired resamples of it."""
    people, seeds = next(iter(tables.values())).shape
    picks = resamples(people, seeds)
    point = {a: float(statistic(t.reshape(1, -1))[0]) for a, t in tables.items()}
    resampled = {a: statistic(t.reshape(-1)[picks]) for a, t in tables.items()}
    return point, resampled


def _figure(point: float, resampled: np.ndarray) -> dict[str, Any]:
    return {"value": _json(point), "ci95": interval(resampled)}


def _paired(
    point: dict[str, float],
    resampled: dict[str, np.ndarray],
    agent: str,
    other: str,
    ratio: bool,
) -> dict[str, Any]:
    """`agent`'s figure over (ratio) or minus (difference) `other`'s, paired."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if ratio:
            value = point[agent] / point[other] if point[other] else math.nan
            spread = resampled[agent] / resampled[other]
        else:
            value = point[agent] - point[other]
            spread = resampled[agent] - resampled[other]
    return {"to": other, "value": _json(value), "ci95": interval(spread)}


def _time_block(figures: Figures, who: list[int]) -> dict[str, Any]:
    """Person-time and steps to 90% and staying, and the never share, of every agent."""
    if not who:
        return {}
    out: dict[str, Any] = {a: {"runs": 0} for a in figures.agents}
    names: dict[str, Callable[[RecommendationMetrics], float]] = {
        "person_s_to_90": lambda m: m.person_s_to_90,
        "steps_to_90": lambda m: m.steps_to_90,
        "wait_s_to_90": lambda m: m.wait_s_to_90,
    }
    for name, get in names.items():
        tables = {a: figures.table(a, _scored(get), who) for a in figures.agents}
        point, resampled = _stat(tables, _median)
        for agent in figures.agents:
            out[agent]["runs"] = int(np.sum(~np.isnan(tables[agent])))
            out[agent][f"median_{name}"] = _figure(point[agent], resampled[agent])
            if name != "wait_s_to_90" and agent != "cma-es" and "cma-es" in figures.agents:
                out[agent][f"{name}_vs_cma_es"] = _paired(point, resampled, agent, "cma-es", True)
    never = {
        a: figures.table(a, _scored(lambda m: float(not m.reached)), who) for a in figures.agents
    }
    point, resampled = _stat(never, _share)
    for agent in figures.agents:
        out[agent]["never_share"] = _figure(point[agent], resampled[agent])
    return out


def _scored(get: Callable[[RecommendationMetrics], float]) -> Callable[[Run], float]:
    """A figure of a run's recommendation; NaN for a run without one (left out)."""
    return lambda r: math.nan if r.recommendation is None else float(get(r.recommendation))


def _quality_block(figures: Figures, who: list[int]) -> dict[str, Any]:
    """The recommendation's median fraction of the way at fixed person-times and steps."""
    out: dict[str, Any] = {a: {"at_seconds": {}, "at_steps": {}} for a in figures.agents}
    marks = [("at_seconds", f"{s:g}") for s in AT_SECONDS]
    marks += [("at_steps", str(s)) for s in AT_STEPS] + [("at_steps", "end")]
    for group, key in marks:
        mark = _mark(group, key)
        tables = {a: figures.table(a, _scored(mark), who) for a in figures.agents}
        point, resampled = _stat(tables, _median)
        for agent in figures.agents:
            out[agent][group][key] = _figure(point[agent], resampled[agent])
    return out


def _mark(group: str, key: str) -> Callable[[RecommendationMetrics], float]:
    """The recommendation's fraction at one of its `at_seconds` or `at_steps` marks."""

    def get(metrics: RecommendationMetrics) -> float:
        marks: dict[str, float] = getattr(metrics, group)
        return marks.get(key, math.nan)

    return get


def _drift_block(figures: Figures) -> dict[str, Any]:
    """For tastes that move: the recommendation at step `DRIFT_EARLY` and at the end."""
    who = figures.who(KINDS, drifting=True)
    if not who:
        return {}
    out: dict[str, Any] = {a: {} for a in figures.agents}
    early = _mark("at_steps", str(DRIFT_EARLY))
    getters: dict[str, Callable[[RecommendationMetrics], float]] = {
        "at_step_100": early,
        "at_end": lambda m: m.at_steps["end"],
        "end_minus_100": lambda m: m.at_steps["end"] - early(m),
    }
    for name, get in getters.items():
        tables = {a: figures.table(a, _scored(get), who) for a in figures.agents}
        point, resampled = _stat(tables, _median)
        for agent in figures.agents:
            out[agent][f"median_{name}"] = _figure(point[agent], resampled[agent])
    at_end = {
        a: figures.table(a, _scored(lambda m: float(m.at_steps["end"] >= THRESHOLD)), who)
        for a in figures.agents
    }
    point, resampled = _stat(at_end, _share)
    for agent in figures.agents:
        out[agent]["share_at_90_at_end"] = _figure(point[agent], resampled[agent])
        out[agent]["runs"] = int(np.sum(~np.isnan(at_end[agent])))
    return out


def _verdict_block(figures: Figures) -> dict[str, Any]:
    """How often each agent says "no reliable reaction", of non-responders and of the rest."""
    out: dict[str, Any] = {a: {} for a in figures.agents}
    groups = {"non_responders_said": ("none",), "responders_said": KINDS}
    for name, kinds in groups.items():
        who = figures.who(kinds)
        if not who:
            continue
        tables = {
            a: figures.table(
                a, lambda r: math.nan if r.responds is None else float(not r.responds), who
            )
            for a in figures.agents
        }
        point, resampled = _stat(tables, _share)
        for agent in figures.agents:
            said = int(np.sum(~np.isnan(tables[agent])))
            out[agent][name] = _figure(point[agent], resampled[agent]) | {"runs_with_verdict": said}
    return out


def recommended_summary(
    runs: Sequence[Run], agents: Sequence[str], people: Sequence[int], seeds: int
) -> dict[str, Any]:
    """The headline of a grid, per agent (see the module)."""
    figures = Figures(runs, agents, people, seeds)
    responders = figures.who(KINDS)
    summary: dict[str, Any] = {
        "responders": _time_block(figures, responders),
        "quality": _quality_block(figures, responders) if responders else {},
        "by_kind": {kind: _time_block(figures, figures.who((kind,))) for kind in KINDS},
        "drifting": _drift_block(figures),
        "verdict": _verdict_block(figures),
        "people": {kind: len(figures.who((kind,))) for kind in ("none", *KINDS)}
        | {"drifting": len(figures.who(KINDS, drifting=True))},
    }
    return summary

"""Sample efficiency of every agent on the suite of simulated people (`laetitia bench agents`).

Each run is one agent learning for `steps` steps against one suite member (`suite_viewer`)
with one seed, through the agent's registered environment and the same frames per step for
every agent. A callback reads the raw parameters of each shown emoticon, and the viewer's
`true_happiness` scores them: noise-free, before lag, habituation and mood.

## The metrics, per run
- **steps to 90%**: the number of the first step (counting from 1) whose shown emoticon has a
  true happiness of at least `floor + 0.9 · (max − floor)`, where `floor` is the viewer's
  happiness far from every favourite and `max` its attainable maximum: 90% of the way from
  indifference to the best emoticon there is. A run that never gets there is *censored*: it
  counts as `steps`, so a median stays exact while at most half the runs are censored, and a
  median equal to `steps` reads "not within `steps`" (the summary gives the censored fraction).
- **mean happiness over the first 100 steps**: the mean true happiness of the emoticons shown
  in steps 1 to 100 (fewer when `steps` < 100), absolute, in P(happy).
- **best**: the largest true happiness among the shown emoticons, absolute; `best_fraction`
  is the same as a fraction of the way from floor to max.

Across the suite: medians and interquartile ranges over all viewer × seed runs.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import AGENTS, agent_class
from laetitia.app.prior import PopulationPrior, read_prior
from laetitia.app.sweep import SweepError, SweepResult, check_sweep_settings, run_sweep
from laetitia.envs.make import make_env
from laetitia.errors import ConfigError
from laetitia.run_settings import RUN_DEFAULTS, RunSettings
from laetitia.viewers.people import (
    SUITE_SIZE,
    SUITE_V2,
    SUITE_VERSION,
    SUITES,
    V2_HELD_OUT,
    V2_TRAINING,
    PersonViewer,
    suite_shape,
    suite_viewer,
)

MAX_SEEDS = 1_000
"""The most seeds per person a bench runs (the grid is held whole, run by run)."""
MAX_STEPS = 10_000_000
"""The most steps per run a bench takes (its curves are held whole)."""
THRESHOLD = 0.9
"""Fraction of the way from a viewer's floor to its maximum that counts as found."""
FIRST_STEPS = 100
"""Steps whose mean happiness is reported."""


@dataclass(frozen=True)
class RunMetrics:
    """The metrics of one agent × viewer × seed run."""

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


def run_metrics(shown: np.ndarray, viewer: PersonViewer) -> RunMetrics:
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
        best_fraction=(best - floor) / (top - floor),
    )


BASELINES = ("hill-climb", "hill-climb:remeasure_every=10")
"""The original hill-climber and the one that re-measures its incumbent: ratios are stated
against the stronger of the two (the fewer median steps to 90%)."""
DEFAULT_AGENTS: tuple[str, ...] = (*AGENTS, BASELINES[1])
"""What `laetitia bench agents` runs when no agent is named."""


def parse_agent_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """An agent spec, `NAME` or `NAME:KEY=VALUE,KEY=VALUE` (values read as JSON when they parse).

    Raises:
        ConfigError: If the name is unknown or a setting is not KEY=VALUE.
    """
    import json

    name, _, rest = spec.partition(":")
    if name not in AGENTS:
        raise ConfigError(
            f"agents: unknown agent {name!r}; choose from {sorted(AGENTS)}.", "agents"
        )
    settings: dict[str, Any] = {}
    for pair in filter(None, rest.split(",")):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"agents: {spec!r}: a setting is KEY=VALUE, got {pair!r}.", "agents")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return name, settings


def parse_people(text: str, suite: str) -> tuple[int, ...]:
    """Suite members by name: `all`, `training`, `held-out`, or indices such as `0-5,9`.

    `training` and `held-out` are people-v2's halves (see `laetitia.viewers.people`).

    Raises:
        ConfigError: If the text names no members this way.
    """
    if text == "all":
        return tuple(range(SUITES.get(suite, SUITE_SIZE)))
    groups = {"training": V2_TRAINING, "held-out": V2_HELD_OUT}
    if text in groups:
        if suite != SUITE_V2:
            raise ConfigError(f"people: {text} is a half of {SUITE_V2}, not of {suite}.", "people")
        return groups[text]
    people: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            people.extend(range(int(first), int(last or first) + 1))
    except ValueError:
        raise ConfigError(
            f"people: {text!r} is not all, training, held-out or indices such as 0-5,9.",
            "people",
        ) from None
    return tuple(people)


@dataclass(frozen=True)
class BenchConfig:
    """What `laetitia bench agents` runs."""

    agents: tuple[str, ...]
    """Agent specs: names from `laetitia.agents.AGENTS`, with settings after a colon
    (`hill-climb:remeasure_every=10`, see `parse_agent_spec`)."""
    viewers: int = SUITE_SIZE
    """The first this many suite members (when `people` names none)."""
    seeds: int = 3
    """Seeds per agent and viewer (0 .. seeds-1)."""
    steps: int = 1000
    """Steps per run; steps-to-90% is censored here."""
    frames: int = RUN_DEFAULTS.frames
    """Frames read per shown emoticon, the same for every agent (`RunSettings.frames`)."""
    max_episode_steps: int = RUN_DEFAULTS.max_episode_steps
    """Steps per episode, as in `laetitia train` (`RunSettings.max_episode_steps`)."""
    workers: int = 2
    """Runs at once, each a Ray task (1 with no `address`: one after another in this process)."""
    step_sizes: dict[str, float] = field(default_factory=dict)
    """Env step size per agent name, where it should differ from the agent's preference."""
    address: str | None = None
    """Ray cluster to run on ("auto" or "HOST:PORT"); None: a local runtime started for the
    bench (see `laetitia.app.sweep`)."""
    retries: int = 3
    """How often a run whose worker process died is tried again."""
    suite: str = SUITE_VERSION
    """The suite of simulated people (`laetitia.viewers.people.SUITES`)."""
    people: tuple[int, ...] = ()
    """The suite members to run on; empty: the first `viewers`."""
    prior: Path | None = None
    """Sessions of other people (a folder of them) to learn a prior from, for the agents that
    take one (`laetitia.app.prior`); None: no prior."""
    stop_at_90: bool = False
    """End a run once it has reached 90% and shown `FIRST_STEPS` emoticons: its steps to 90%
    and happiness over the first 100 steps are exact, its best is over the steps it ran."""

    @property
    def members(self) -> tuple[int, ...]:
        """The suite members run on."""
        return self.people or tuple(range(self.viewers))

    def _check_people(self, size: int) -> None:
        object.__setattr__(self, "people", tuple(int(p) for p in self.people))
        outside = [p for p in self.people if not 0 <= p < size]
        if outside:
            raise ConfigError(f"people {outside} are not members of {self.suite}.", "people")
        if self.prior is not None:
            object.__setattr__(self, "prior", Path(self.prior))

    def __post_init__(self) -> None:
        if not self.agents:
            raise ConfigError("agents: name at least one agent.", field="agents")
        for spec in self.agents:
            parse_agent_spec(spec)
        if self.suite not in SUITES:
            raise ConfigError(f"suite {self.suite!r} is not one of {list(SUITES)}.", field="suite")
        size = SUITES[self.suite]
        if not 1 <= self.viewers <= size:
            raise ConfigError(
                f"viewers must be between 1 and {size}, got {self.viewers}.", field="viewers"
            )
        self._check_people(size)
        for name, most in (("seeds", MAX_SEEDS), ("steps", MAX_STEPS)):
            if not 1 <= getattr(self, name) <= most:
                raise ConfigError(
                    f"{name} must be from 1 to {most}, got {getattr(self, name)}.", field=name
                )
        RunSettings(frames=self.frames, max_episode_steps=self.max_episode_steps)  # checks them
        check_sweep_settings(self.workers, self.address, self.retries)
        for name, step_size in self.step_sizes.items():
            if name not in self.agents or not 0.0 < step_size <= 1.0:
                raise ConfigError(
                    f"step size {name}={step_size}: name one of the agents benched ({self.agents}) "
                    "and a fraction of each range in (0, 1]."
                )


@dataclass(frozen=True)
class Run:
    """One finished run."""

    agent: str
    viewer: int
    seed: int
    metrics: RunMetrics
    shown: np.ndarray = field(repr=False)
    """True happiness of each shown emoticon, as a fraction of the way from floor to max."""
    seconds: float


class _ShownRecorder(BaseCallback):
    """Keeps the raw parameters of every shown emoticon (from each step's `info`).

    Args:
        viewer: The run's person.
        stop_at: A true happiness that ends the run once reached and `FIRST_STEPS` emoticons
            have been shown; None runs every step.
    """

    def __init__(self, viewer: PersonViewer, stop_at: float | None = None) -> None:
        super().__init__()
        self.viewer = viewer
        self.stop_at = stop_at
        self.params: list[np.ndarray] = []
        self.reached = False
        self.stopped = False

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            params = np.asarray(info["params"])
            self.params.append(params)
            if self.stop_at is not None and not self.reached:
                self.reached = self.viewer.true_happiness(params) >= self.stop_at
        self.stopped = self.reached and len(self.params) >= FIRST_STEPS
        return not self.stopped


def step_size_for(agent: str, config: BenchConfig) -> float:
    """The env step size an agent (spec) runs with: the config's, or its `preferred_step_size`."""
    if agent in config.step_sizes:
        return float(config.step_sizes[agent])
    return float(agent_class(parse_agent_spec(agent)[0]).preferred_step_size)


def run_settings(agent: str, config: BenchConfig) -> RunSettings:
    """The run settings of an agent's (spec's) runs.

    The bench's frames and episode length, and the agent's step size (`step_size_for`);
    simulated people read no face and need no settle.
    """
    return RunSettings(
        frames=config.frames,
        max_episode_steps=config.max_episode_steps,
        step_size=step_size_for(agent, config),
    )


def run_once(
    agent: str,
    viewer_index: int,
    seed: int,
    config: BenchConfig,
    settings: dict[str, Any] | None = None,
    prior: PopulationPrior | None = None,
) -> Run:
    """Let one agent learn against one suite member for `config.steps` steps, and score it.

    Args:
        agent: An agent spec (`parse_agent_spec`): a name from `AGENTS`, maybe with settings.
        viewer_index: The suite member.
        seed: Seeds the agent, the env and the viewer's noise.
        config: Steps, frames, episode length, suite, and whether to stop at 90%.
        settings: Agent settings other than its defaults and the spec's (for experiments).
        prior: A prior for an agent that takes one (`laetitia.app.prior`).
    """
    name, spec_settings = parse_agent_spec(agent)
    run = run_settings(agent, config)
    viewer = suite_viewer(viewer_index, seed=seed, frames=run.frames, suite=config.suite)
    env = make_env(AGENTS[name].env_id, viewer, run)
    chosen = agent_class(name)
    extra = prior.agent_arguments() if prior is not None and chosen.takes_prior else {}
    threshold = viewer.floor() + THRESHOLD * (viewer.attainable_max() - viewer.floor())
    recorder = _ShownRecorder(viewer, threshold if config.stop_at_90 else None)
    start = time.perf_counter()
    try:
        chosen(env, seed=seed, **spec_settings, **(settings or {}), **extra).learn(
            config.steps, callback=[recorder]
        )
    finally:
        env.close()
    seconds = time.perf_counter() - start
    if len(recorder.params) < config.steps and not recorder.stopped:
        raise ConfigError(
            f"agent {agent!r} stopped after {len(recorder.params)} of {config.steps} steps; "
            "the bench needs every agent to take the steps it is given."
        )
    shown = np.array([viewer.true_happiness(p) for p in recorder.params[: config.steps]])
    floor, top = viewer.floor(), viewer.attainable_max()
    return Run(
        agent,
        viewer_index,
        seed,
        run_metrics(shown, viewer),
        (shown - floor) / (top - floor),
        seconds,
    )


RunKey = tuple[str, int, int]
"""A run's `(agent, viewer, seed)`."""


def describe_run(key: RunKey) -> str:
    """A run's name in messages: `cma-es person 3 seed 1`."""
    agent, viewer, seed = key
    return f"{agent} person {viewer} seed {seed}"


def run_grid(config: BenchConfig, progress: bool = True) -> SweepResult[RunKey, Run]:
    """Run every agent × viewer × seed of `config` (`laetitia.app.sweep.run_sweep`).

    Returns:
        The runs that finished and those that failed, by `(agent, viewer, seed)`, in that
        order (agent, then viewer, then seed) whatever the workers.
    """
    prior = read_prior([config.prior]) if config.prior is not None else None
    jobs = {
        (agent, index, seed): (agent, index, seed, config, None, prior)
        for agent in config.agents
        for index in config.members
        for seed in range(config.seeds)
    }
    return run_sweep(
        run_once,
        jobs,
        workers=config.workers,
        address=config.address,
        retries=config.retries,
        progress=progress,
    )


def run_bench(config: BenchConfig, progress: bool = True) -> list[Run]:
    """Run every agent × viewer × seed of `config`; runs come back in job order.

    Raises:
        SweepError: If a run failed; its `result` holds the runs that finished.
    """
    outcome = run_grid(config, progress)
    if outcome.failures:
        raise SweepError(outcome, describe_run)
    return list(outcome.results.values())


def bench_document(outcome: SweepResult[RunKey, Run], config: BenchConfig) -> dict[str, Any]:
    """`summarize` of the runs that finished, with the failed runs listed under `failed`."""
    document = summarize(list(outcome.results.values()), config)
    if outcome.failures:
        document["failed"] = [
            {
                "agent": agent,
                "viewer": viewer,
                "seed": seed,
                "error": failure.error,
                "worker_died": failure.worker_died,
            }
            for (agent, viewer, seed), failure in outcome.failures.items()
        ]
    return document


def _quartiles(values: np.ndarray) -> dict[str, float]:
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3)}


BOOTSTRAP = 4000
"""Resamples of the suite's people behind every interval."""
CONFIDENCE = 0.95
"""Coverage of the intervals."""


def steps_table(runs: list[Run], config: BenchConfig) -> dict[str, np.ndarray]:
    """Steps to 90% per agent as a (people, seeds) array, NaN where a run failed."""
    row = {person: i for i, person in enumerate(config.members)}
    tables = {name: np.full((len(config.members), config.seeds), np.nan) for name in config.agents}
    for r in runs:
        tables[r.agent][row[r.viewer], r.seed] = r.metrics.steps_to_90
    return tables


def bootstrap_medians(
    tables: dict[str, np.ndarray], resamples: int = BOOTSTRAP, seed: int = 0
) -> dict[str, np.ndarray]:
    """Median steps to 90% of each agent over `resamples` resamples of the people.

    People are resampled with replacement, each with all their seeds (the runs of one person
    are not independent), and every agent gets the same resample, so the ratio of two agents'
    medians on a resample is paired: its spread is that of the difference between the agents,
    not the people's.

    Returns:
        Per agent, float64 (resamples,) medians.
    """
    people = next(iter(tables.values())).shape[0]
    picks = np.random.default_rng(seed).integers(0, people, size=(resamples, people))
    return {
        name: np.nanmedian(table[picks].reshape(resamples, -1), axis=1)
        for name, table in tables.items()
    }


def interval95(values: np.ndarray) -> list[float]:
    """The central `CONFIDENCE` interval of bootstrap resamples (NaNs left out)."""
    tail = (1 - CONFIDENCE) / 2
    low, high = np.nanquantile(values, [tail, 1 - tail])
    return [float(low), float(high)]


def strongest_baseline(medians: dict[str, float]) -> str | None:
    """Of the `BASELINES` benched, the one with the fewer median steps to 90%."""
    benched = [b for b in BASELINES if b in medians]
    return min(benched, key=lambda b: medians[b]) if benched else None


def _ratios(
    name: str, medians: dict[str, float], resampled: dict[str, np.ndarray]
) -> dict[str, Any]:
    """An agent's median steps as a fraction of the strongest baseline's and of cma-es's."""
    baseline = strongest_baseline(medians)
    ratios: dict[str, Any] = {}
    for label, other in (("baseline", baseline), ("cma-es", "cma-es")):
        if other is None or other not in medians or other == name:
            continue
        ratios[label] = {
            "to": other,
            "ratio": medians[name] / medians[other],
            "ci95": interval95(resampled[name] / resampled[other]),
        }
    return ratios


def summarize(runs: list[Run], config: BenchConfig) -> dict[str, Any]:
    """The bench's JSON document, per agent: figures over the viewer × seed runs.

    Medians with 95% intervals over the people, IQRs over the runs, and ratios to the
    strongest baseline and to cma-es.
    """
    agents: dict[str, Any] = {}
    tables = steps_table(runs, config)
    resampled = bootstrap_medians(tables)
    medians = {
        name: float(np.nanmedian(table))
        for name, table in tables.items()
        if not np.isnan(table).all()
    }
    for name in config.agents:
        mine = [r for r in runs if r.agent == name]
        if not mine:  # every run of the agent failed (`bench_document` lists them)
            continue
        steps = np.array([r.metrics.steps_to_90 for r in mine], dtype=np.float64)
        first = np.array([r.metrics.mean_first_100 for r in mine])
        best = np.array([r.metrics.best for r in mine])
        fraction = np.array([r.metrics.best_fraction for r in mine])
        censored = float(np.mean([not r.metrics.reached for r in mine]))
        agents[name] = {
            "median_steps_to_90": medians[name],
            "median_steps_to_90_ci95": interval95(resampled[name]),
            # A run that never reached 90% counts as the budget; past half of them, the median
            # is only a lower bound, and says so.
            "median_censored": censored >= 0.5,
            "ratios": _ratios(name, medians, resampled),
            "mean_happiness_first_100": float(first.mean()),
            "median_best": float(np.median(best)),
            "steps_to_90": _quartiles(steps),
            "censored_fraction": censored,
            "steps_to_90_by_shape": {
                shape: _quartiles(
                    np.array(
                        [r.metrics.steps_to_90 for r in mine if suite_shape(r.viewer) == shape],
                        dtype=np.float64,
                    )
                )
                for shape in sorted({suite_shape(r.viewer) for r in mine})
            },
            "happiness_first_100": _quartiles(first),
            "best": _quartiles(best),
            "best_fraction": _quartiles(fraction),
            "step_size": step_size_for(name, config),
            "seconds_per_step": float(
                sum(r.seconds for r in mine) / sum(len(r.shown) for r in mine)
            ),
            "curves": _curves(mine, config),
        }
    return {
        "suite": config.suite,
        "people": list(config.members),
        "agents": agents,
        "config": asdict(config)
        | {
            "agents": list(config.agents),
            "people": list(config.members),
            "prior": None if config.prior is None else str(config.prior),
        },
        "machine": {
            "platform": platform.platform(),
            "cores": os.cpu_count(),
            "load_average_1m": os.getloadavg()[0],
        },
        "metric_notes": {
            "threshold": f"floor + {THRESHOLD} * (max - floor) of the viewer's true happiness",
            "censoring": "runs that never reach it count as `steps`",
            "ci95": f"{CONFIDENCE:.0%} percentile interval over {BOOTSTRAP} resamples of the "
            "people (each with all their seeds); ratios are paired on the same resamples",
            "ratios": "median steps to 90% over the strongest of "
            f"{list(BASELINES)} benched, and over cma-es",
            "curves": "fraction of the way from floor to max, per step, over all runs",
        },
        "runs": [
            {"agent": r.agent, "viewer": r.viewer, "seed": r.seed, **asdict(r.metrics)}
            for r in runs
        ],
    }


def _curves(runs: list[Run], config: BenchConfig) -> dict[str, list[float]]:
    """Mean shown and median best-so-far per step; a run stopped at 90% holds its last."""
    shown = np.stack([np.pad(r.shown, (0, config.steps - len(r.shown)), mode="edge") for r in runs])
    return {
        "shown_mean": np.round(shown.mean(axis=0), 4).tolist(),
        "best_so_far_median": np.round(
            np.median(np.maximum.accumulate(shown, axis=1), axis=0), 4
        ).tolist(),
    }


def format_table(document: dict[str, Any]) -> str:
    """A plain-text table of the summary, one row per agent."""
    steps = document["config"]["steps"]
    width = max(12, *(len(name) for name in document["agents"]))
    header = (
        f"{'agent':<{width}} {'steps to 90% [95% CI]':>22} {'IQR':>10} {'censored':>9} "
        f"{'vs baseline [95% CI]':>21} {'vs cma-es [95% CI]':>19} "
        f"{'happy 1-100':>11} {'best':>6} {'ms/step':>8}"
    )
    lines = [f"suite {document['suite']}", header, "-" * len(header)]
    for name, a in document["agents"].items():
        s = a["steps_to_90"]
        low, high = a["median_steps_to_90_ci95"]
        median = f"{s['median']:.0f}" if a["censored_fraction"] < 0.5 else f">={steps}"
        lines.append(
            f"{name:<{width}} {median:>8} [{low:.0f}, {high:.0f}]".ljust(width + 24)
            + f"{s['q1']:>4.0f}-{s['q3']:<5.0f} {a['censored_fraction']:>9.0%} "
            f"{_ratio_cell(a['ratios'].get('baseline')):>21} "
            f"{_ratio_cell(a['ratios'].get('cma-es')):>19} "
            f"{a['mean_happiness_first_100']:>11.3f} {a['best']['median']:>6.3f} "
            f"{1000 * a['seconds_per_step']:>8.1f}"
        )
    baseline = strongest_baseline(
        {name: a["median_steps_to_90"] for name, a in document["agents"].items()}
    )
    if baseline is not None:
        lines.append(f"baseline: {baseline} (the stronger of {', '.join(BASELINES)} benched)")
    return "\n".join(lines)


def _ratio_cell(ratio: dict[str, Any] | None) -> str:
    if ratio is None:
        return "-"
    low, high = ratio["ci95"]
    return f"{ratio['ratio']:.2f} [{low:.2f}, {high:.2f}]"

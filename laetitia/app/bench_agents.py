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
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import AGENTS, agent_class
from laetitia.app.sweep import SweepError, SweepResult, check_sweep_settings, run_sweep
from laetitia.errors import ConfigError
from laetitia.viewers.people import (
    SUITE_SIZE,
    SUITE_VERSION,
    PersonViewer,
    suite_shape,
    suite_viewer,
)

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


@dataclass(frozen=True)
class BenchConfig:
    """What `laetitia bench agents` runs."""

    agents: tuple[str, ...]
    """Names from `laetitia.agents.AGENTS`."""
    viewers: int = SUITE_SIZE
    """The first this many suite members."""
    seeds: int = 3
    """Seeds per agent and viewer (0 .. seeds-1)."""
    steps: int = 1000
    """Steps per run; steps-to-90% is censored here."""
    frames: int = 10
    """Frames read per shown emoticon, the same for every agent."""
    episode_steps: int = 50
    """Steps per episode (the env's horizon, as in `laetitia train`)."""
    workers: int = 2
    """Runs at once, each a Ray task (1 with no `address`: one after another in this process)."""
    step_sizes: dict[str, float] = field(default_factory=dict)
    """Env step size per agent name, where it should differ from the agent's preference."""
    address: str | None = None
    """Ray cluster to run on ("auto" or "HOST:PORT"); None: a local runtime started for the
    bench (see `laetitia.app.sweep`)."""
    retries: int = 3
    """How often a run whose worker process died is tried again."""

    def __post_init__(self) -> None:
        unknown = [a for a in self.agents if a not in AGENTS]
        if unknown or not self.agents:
            raise ConfigError(f"unknown agents {unknown}; choose from {sorted(AGENTS)}.")
        if not 1 <= self.viewers <= SUITE_SIZE:
            raise ConfigError(
                f"viewers must be between 1 and {SUITE_SIZE}, got {self.viewers}.", field="viewers"
            )
        for name in ("seeds", "steps", "frames", "episode_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}.")
        check_sweep_settings(self.workers, self.address, self.retries)
        for name, size in self.step_sizes.items():
            if name not in self.agents or not 0.0 < size <= 1.0:
                raise ConfigError(
                    f"step size {name}={size}: name one of the agents benched ({self.agents}) "
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
    """Keeps the raw parameters of every shown emoticon (from each step's `info`)."""

    def __init__(self) -> None:
        super().__init__()
        self.params: list[np.ndarray] = []

    def _on_step(self) -> bool:
        self.params.extend(np.asarray(info["params"]) for info in self.locals["infos"])
        return True


def step_size_for(agent: str, config: BenchConfig) -> float:
    """The env step size an agent runs with: the config's, or its `preferred_step_size`."""
    if agent in config.step_sizes:
        return float(config.step_sizes[agent])
    return float(agent_class(agent).preferred_step_size)


def run_once(
    agent: str,
    viewer_index: int,
    seed: int,
    config: BenchConfig,
    settings: dict[str, Any] | None = None,
) -> Run:
    """Let one agent learn against one suite member for `config.steps` steps, and score it.

    Args:
        agent: A name from `AGENTS`.
        viewer_index: The suite member.
        seed: Seeds the agent, the env and the viewer's noise.
        config: Steps, frames and episode length.
        settings: Agent settings other than its defaults (for experiments).
    """
    viewer = suite_viewer(viewer_index, seed=seed, frames=config.frames)
    env = gym.make(
        AGENTS[agent].env_id,
        viewer=viewer,
        step_size=step_size_for(agent, config),
        max_episode_steps=config.episode_steps,
    )
    recorder = _ShownRecorder()
    start = time.perf_counter()
    try:
        agent_class(agent)(env, seed=seed, **(settings or {})).learn(
            config.steps, callback=[recorder]
        )
    finally:
        env.close()
    seconds = time.perf_counter() - start
    if len(recorder.params) < config.steps:
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
    jobs = {
        (agent, index, seed): (agent, index, seed, config)
        for agent in config.agents
        for index in range(config.viewers)
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


def summarize(runs: list[Run], config: BenchConfig) -> dict[str, Any]:
    """The bench's JSON document: per agent, medians and IQRs over viewer × seed runs."""
    agents: dict[str, Any] = {}
    for name in config.agents:
        mine = [r for r in runs if r.agent == name]
        if not mine:  # every run of the agent failed (`bench_document` lists them)
            continue
        steps = np.array([r.metrics.steps_to_90 for r in mine], dtype=np.float64)
        first = np.array([r.metrics.mean_first_100 for r in mine])
        best = np.array([r.metrics.best for r in mine])
        fraction = np.array([r.metrics.best_fraction for r in mine])
        shown = np.stack([r.shown for r in mine])
        censored = float(np.mean([not r.metrics.reached for r in mine]))
        agents[name] = {
            "median_steps_to_90": float(np.median(steps)),
            # A run that never reached 90% counts as the budget; past half of them, the median
            # is only a lower bound, and says so.
            "median_censored": censored >= 0.5,
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
            "seconds_per_step": float(sum(r.seconds for r in mine) / (len(mine) * config.steps)),
            "curves": {
                "shown_mean": np.round(shown.mean(axis=0), 4).tolist(),
                "best_so_far_median": np.round(
                    np.median(np.maximum.accumulate(shown, axis=1), axis=0), 4
                ).tolist(),
            },
        }
    return {
        "suite": SUITE_VERSION,
        "agents": agents,
        "config": asdict(config) | {"agents": list(config.agents)},
        "machine": {
            "platform": platform.platform(),
            "cores": os.cpu_count(),
            "load_average_1m": os.getloadavg()[0],
        },
        "metric_notes": {
            "threshold": f"floor + {THRESHOLD} * (max - floor) of the viewer's true happiness",
            "censoring": "runs that never reach it count as `steps`",
            "curves": "fraction of the way from floor to max, per step, over all runs",
        },
        "runs": [
            {"agent": r.agent, "viewer": r.viewer, "seed": r.seed, **asdict(r.metrics)}
            for r in runs
        ],
    }


def format_table(document: dict[str, Any]) -> str:
    """A plain-text table of the summary, one row per agent."""
    steps = document["config"]["steps"]
    header = (
        f"{'agent':<12} {'steps to 90% (IQR)':>22} {'censored':>9} "
        f"{'happiness 1-100':>16} {'best (IQR)':>20} {'ms/step':>8}"
    )
    lines = [f"suite {document['suite']}", header, "-" * len(header)]
    for name, a in document["agents"].items():
        s = a["steps_to_90"]
        median = f"{s['median']:.0f}" if a["censored_fraction"] < 0.5 else f">={steps}"
        b = a["best"]
        lines.append(
            f"{name:<12} {median:>8} ({s['q1']:.0f}-{s['q3']:.0f}){'':>5} "
            f"{a['censored_fraction']:>9.0%} {a['mean_happiness_first_100']:>16.3f} "
            f"{b['median']:>7.3f} ({b['q1']:.3f}-{b['q3']:.3f}) "
            f"{1000 * a['seconds_per_step']:>8.1f}"
        )
    return "\n".join(lines)

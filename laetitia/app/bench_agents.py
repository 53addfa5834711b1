"""Sample efficiency of every agent on the suites of simulated people (`laetitia bench agents`).

Each run is one agent learning for `steps` steps against one suite member (`suite_viewer`)
with one seed, through the agent's registered environment and the same frames per step for
every agent. A callback reads the raw parameters of each shown emoticon and, after each step,
the agent's recommendation (`best_params()`), the frames the step read and the agent's own
computing time; the viewer's truth channel (`laetitia.types.KnownTruth`) scores them:
noise-free, before lag, habituation and mood, on the taste of that moment. The figures of a
run are `laetitia.app.bench_metrics`'s: what the agent recommends, in the person's time (the
headline), and what it showed.

Across the suite: medians with 95% intervals (bootstraps over the people and the seeds),
interquartile ranges over all viewer × seed runs, paired ratios between agents, and, for
people-v3, the figures by kind of person (faint, clear, a taste that moves) and how often the
agent says a person gives no reliable reaction (`BaseAgent.responds`).
"""

from __future__ import annotations

import math
import os
import platform
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import AGENTS, agent_class
from laetitia.agents.base import BaseAgent
from laetitia.app.bench_metrics import (
    BOOTSTRAP,
    CONFIDENCE,
    FIRST_STEPS,
    THRESHOLD,
    RecommendationMetrics,
    RunMetrics,
    recommendation_metrics,
    run_metrics,
)
from laetitia.app.bench_recommended import recommended_summary
from laetitia.app.prior import PopulationPrior, read_prior
from laetitia.app.sweep import SweepError, SweepResult, check_sweep_settings, run_sweep
from laetitia.envs.make import make_env
from laetitia.errors import ConfigError
from laetitia.run_settings import RUN_DEFAULTS, RunSettings
from laetitia.viewers.people import SUITE_SIZE, SUITE_VERSION, suite_shape
from laetitia.viewers.people_v3 import PersonV3Viewer
from laetitia.viewers.suites import SPLITS, SUITES, SuitePerson, suite_viewer

__all__ = ["FIRST_STEPS", "THRESHOLD", "RunMetrics", "run_metrics"]

MAX_SEEDS = 1_000
"""The most seeds per person a bench runs (the grid is held whole, run by run)."""
MAX_STEPS = 10_000_000
"""The most steps per run a bench takes (its curves are held whole)."""


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
    """Suite members by name: `all`, a split of the suite, or indices such as `0-5,9`.

    The splits (`laetitia.viewers.suites.SPLITS`): people-v2's `training` and `held-out`,
    people-v3's `prior`, `validation` and `test`.

    Raises:
        ConfigError: If the text names no members this way.
    """
    if text == "all":
        return tuple(range(SUITES.get(suite, SUITE_SIZE)))
    named = {split for splits in SPLITS.values() for split in splits}
    if text in named:
        splits = SPLITS.get(suite, {})
        if text not in splits:
            raise ConfigError(
                f"people: {suite} has no split {text!r}; its splits are {sorted(splits)}.",
                "people",
            )
        return splits[text]
    people: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            people.extend(range(int(first), int(last or first) + 1))
    except ValueError:
        raise ConfigError(
            f"people: {text!r} is not all, a split ({', '.join(sorted(named))}) or indices "
            "such as 0-5,9.",
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
    settle_s: float = RUN_DEFAULTS.settle_s
    """Seconds from showing an emoticon to its first frame (`RunSettings.settle_s`): when
    people-v3 are read, and part of every step's person-time."""
    camera_fps: float = RUN_DEFAULTS.camera_fps
    """Frames per second of the camera (`RunSettings.camera_fps`): when people-v3 are read,
    and what a step's frames take of the person's time."""
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
    and happiness over the first 100 steps are exact, its best is over the steps it ran. The
    recommendation's "reaches 90% and stays" needs the whole run: it is then left out."""

    def run_settings(self, step_size: float | None = None) -> RunSettings:
        """The bench's run settings, with an agent's step size."""
        return RunSettings(
            frames=self.frames,
            settle_s=self.settle_s,
            camera_fps=self.camera_fps,
            max_episode_steps=self.max_episode_steps,
            step_size=step_size,
        )

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
        self.run_settings()  # checks them
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
    recommended: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    """True happiness of the agent's recommendation after each step, as a fraction of the way
    (NaN before its first, and for a person who does not react)."""
    person_s: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    """The person's seconds each step took: its settle and its frames at the camera's rate."""
    wait_s: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    """The agent's own computing at each step, seconds (machine-dependent)."""
    recommendation: RecommendationMetrics | None = None
    """What it recommended, scored (None for a person who does not react)."""
    responds: bool | None = None
    """The agent's verdict at the end: does the person react reliably (None: no verdict)."""
    evidence: float | None = None
    """The statistic the verdict thresholds (`BaseAgent.reaction_evidence`), at the end."""
    kind: str = "clear"
    """How the person reacts: "faint", "clear" or "none" (people-v3; v1 and v2 are clear)."""
    drifts: bool = False
    """Whether the person's taste moves (people-v3)."""


class _StepClock(gym.Wrapper[np.ndarray, Any, np.ndarray, Any]):
    """Times the environment's steps, so the agent's own computing can be told apart."""

    def __init__(self, env: gym.Env[np.ndarray, Any]) -> None:
        super().__init__(env)
        self.seconds = 0.0

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        start = time.perf_counter()
        try:
            obs, reward, terminated, truncated, info = self.env.step(action)
        finally:
            self.seconds += time.perf_counter() - start
        return obs, float(reward), terminated, truncated, info


class _RunRecorder(BaseCallback):
    """Keeps, per step, what was shown and read, and what the agent recommends after it.

    The shown emoticon, the frames read, the agent's recommendation after the step and the
    agent's own computing time: the time since the previous step less the env's (the
    viewer's reaction) and this callback's own.

    Args:
        viewer: The run's person.
        clock: The env's step timer.
        stop_at: A true happiness that ends the run once reached and `FIRST_STEPS` emoticons
            have been shown; None runs every step.
    """

    def __init__(
        self, viewer: SuitePerson, clock: _StepClock, stop_at: float | None = None
    ) -> None:
        super().__init__()
        self.viewer = viewer
        self.clock = clock
        self.stop_at = stop_at
        self.params: list[np.ndarray] = []
        self.frames: list[int] = []
        self.recommended: list[np.ndarray | None] = []
        self.wait_s: list[float] = []
        self.agent: BaseAgent | None = None
        """The agent learning (a stable-baselines3 agent's callbacks see SB3's model)."""
        self.reached = False
        self.stopped = False
        self._last = 0.0
        self._env_s = 0.0

    def _on_training_start(self) -> None:
        self._last = time.perf_counter()

    def _on_step(self) -> bool:
        arrived = time.perf_counter()
        waited = arrived - self._last - (self.clock.seconds - self._env_s)
        for info in self.locals["infos"]:
            params = np.asarray(info["params"])
            self.params.append(params)
            self.frames.append(int(info["frames"]))
            if self.stop_at is not None and not self.reached:
                shown = len(self.params) - 1
                self.reached = self.viewer.true_happiness(params, shown=shown) >= self.stop_at
        guess = None if self.agent is None else self.agent.best_params()
        self.recommended.append(None if guess is None else np.asarray(guess, dtype=np.float64))
        self.wait_s.append(max(waited, 0.0))
        self.stopped = self.reached and len(self.params) >= FIRST_STEPS
        self._env_s = self.clock.seconds
        self._last = time.perf_counter()
        return not self.stopped


def step_size_for(agent: str, config: BenchConfig) -> float:
    """The env step size an agent (spec) runs with: the config's, or its `preferred_step_size`."""
    if agent in config.step_sizes:
        return float(config.step_sizes[agent])
    return float(agent_class(parse_agent_spec(agent)[0]).preferred_step_size)


def run_settings(agent: str, config: BenchConfig) -> RunSettings:
    """The run settings of an agent's (spec's) runs.

    The bench's frames, settle, camera rate and episode length, and the agent's step size
    (`step_size_for`). people-v1 and v2 read no face and take no settle or camera rate; a
    step's person-time is counted with them all the same.
    """
    return config.run_settings(step_size_for(agent, config))


def member_viewer(viewer_index: int, seed: int, run: RunSettings, suite: str) -> SuitePerson:
    """A suite member, seeded, reading at a bench run's frames, settle and camera rate."""
    return suite_viewer(
        viewer_index,
        seed=seed,
        frames=run.frames,
        settle_s=run.settle_s,
        camera_fps=run.camera_fps,
        suite=suite,
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
    viewer = member_viewer(viewer_index, seed, run, config.suite)
    env = _StepClock(make_env(AGENTS[name].env_id, viewer, run))
    chosen = agent_class(name)
    extra = prior.agent_arguments() if prior is not None and chosen.takes_prior else {}
    floor, top = viewer.floor(), viewer.attainable_max()
    threshold = floor + THRESHOLD * (top - floor)
    recorder = _RunRecorder(viewer, env, threshold if config.stop_at_90 and top > floor else None)
    start = time.perf_counter()
    learner = chosen(env, seed=seed, **spec_settings, **(settings or {}), **extra)
    recorder.agent = learner
    try:
        learner.learn(config.steps, callback=[recorder])
    finally:
        env.close()
    seconds = time.perf_counter() - start
    if len(recorder.params) < config.steps and not recorder.stopped:
        raise ConfigError(
            f"agent {agent!r} stopped after {len(recorder.params)} of {config.steps} steps; "
            "the bench needs every agent to take the steps it is given."
        )
    taken = min(len(recorder.params), config.steps)
    shown = np.array(
        [viewer.true_happiness(p, shown=k) for k, p in enumerate(recorder.params[:taken])]
    )
    responds = top > floor
    recommended = np.array(
        [
            math.nan if guess is None or not responds else viewer.true_happiness(guess, shown=k + 1)
            for k, guess in enumerate(recorder.recommended[:taken])
        ]
    )
    span = top - floor if responds else math.nan
    person_s = run.settle_s + np.array(recorder.frames[:taken], dtype=np.float64) / run.camera_fps
    wait_s = np.array(recorder.wait_s[:taken])
    whole = responds and not recorder.stopped
    person = viewer.person if isinstance(viewer, PersonV3Viewer) else None
    return Run(
        agent,
        viewer_index,
        seed,
        run_metrics(shown, viewer),
        (shown - floor) / span,
        seconds,
        recommended=(recommended - floor) / span,
        person_s=person_s,
        wait_s=wait_s,
        recommendation=(
            recommendation_metrics((recommended - floor) / span, person_s, wait_s)
            if whole
            else None
        ),
        responds=learner.responds(),
        evidence=learner.reaction_evidence(),
        kind="clear" if person is None else person.kind,
        drifts=person is not None and person.drifts,
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


def steps_table(runs: list[Run], config: BenchConfig) -> dict[str, np.ndarray]:
    """Steps to 90% per agent as a (people, seeds) array, NaN where a run failed.

    A person who does not react (people-v3) has no 90% to reach: their runs are left out.
    """
    row = {person: i for i, person in enumerate(config.members)}
    tables = {name: np.full((len(config.members), config.seeds), np.nan) for name in config.agents}
    for r in runs:
        if r.kind != "none":
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample of people left out only
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
    """The bench's JSON document: the headline, then the shown-emoticon figures per agent.

    `recommended`: what each agent recommends, in the person's time
    (`laetitia.app.bench_recommended`). `agents`: the emoticons shown, over the runs of
    people who react: medians with 95% intervals over the people, IQRs over the runs, and
    ratios to the strongest baseline and to cma-es.
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
        mine = [r for r in runs if r.agent == name and r.kind != "none"]
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
        "recommended": recommended_summary(runs, config.agents, config.members, config.seeds),
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
            "recommended": "the agent's best_params after each step, scored on the taste of "
            "the moment; time to 90% and staying in the person's seconds (settle + frames at "
            "the camera's rate), the agent's measured computing beside it; intervals over "
            f"{BOOTSTRAP} resamples of the people and of each one's seeds",
        },
        "runs": [_run_entry(r) for r in runs],
    }


def _run_entry(run: Run) -> dict[str, Any]:
    """One run as plain data: who, its shown figures, its recommendation's, its verdict."""
    entry: dict[str, Any] = {
        "agent": run.agent,
        "viewer": run.viewer,
        "seed": run.seed,
        "kind": run.kind,
        "drifts": run.drifts,
        "responds_verdict": run.responds,
        "reaction_evidence": None if run.evidence is None else _finite(run.evidence),
        **asdict(run.metrics),
        "person_s": float(run.person_s.sum()),
        "wait_s": float(run.wait_s.sum()),
    }
    if run.recommendation is not None:
        rec = asdict(run.recommendation)
        entry["recommendation"] = {
            key: (
                {k: _finite(v) for k, v in value.items()}
                if isinstance(value, dict)
                else _finite(value)
            )
            for key, value in rec.items()
        }
    return entry


def _finite(value: float) -> float | None:
    """A figure for JSON: None where it is infinite (never reached) or NaN."""
    return float(value) if math.isfinite(value) else None


def _curves(runs: list[Run], config: BenchConfig) -> dict[str, list[float | None]]:
    """Mean shown, median best-so-far and median recommendation per step.

    A run stopped at 90% holds its last; a step before any recommendation is left out of its
    median (None where no run had one).
    """
    shown = np.stack([np.pad(r.shown, (0, config.steps - len(r.shown)), mode="edge") for r in runs])
    recommended = np.stack(
        [
            np.pad(r.recommended, (0, config.steps - len(r.recommended)), mode="edge")
            if len(r.recommended)
            else np.full(config.steps, np.nan)
            for r in runs
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a step before any recommendation
        median = np.nanmedian(recommended, axis=0)
    return {
        "shown_mean": np.round(shown.mean(axis=0), 4).tolist(),
        "best_so_far_median": np.round(
            np.median(np.maximum.accumulate(shown, axis=1), axis=0), 4
        ).tolist(),
        "recommended_median": [None if np.isnan(v) else round(float(v), 4) for v in median],
    }


def format_headline(document: dict[str, Any]) -> str:
    """What the agents recommend, in the person's time: a plain-text table, one row per agent."""
    summary = document["recommended"]
    block = summary["responders"]
    if not block:
        return "no person who reacts was run"
    width = max(12, *(len(name) for name in block))
    header = (
        f"{'agent':<{width}} {'person-s to 90%, stays':>24} {'steps':>16} {'never':>6} "
        f"{'time vs cma-es':>19} {'wait s':>7} {'never faint/clear':>18} "
        f"{'drift 100/end':>14} {'said none: non/resp':>20}"
    )
    lines = [
        f"suite {document['suite']}: what each agent recommends (its best_params), people who "
        f"react; {summary['people']}",
        header,
        "-" * len(header),
    ]
    for name, a in block.items():
        kinds = summary["by_kind"]
        never = "/".join(
            _share_cell(kinds[k].get(name, {}).get("never_share")) for k in ("faint", "clear")
        )
        drift = summary["drifting"].get(name, {})
        drifted = "/".join(
            _value_cell(drift.get(k), ".2f") for k in ("median_at_step_100", "median_at_end")
        )
        verdict = summary["verdict"].get(name, {})
        said = "/".join(
            _share_cell(verdict.get(k)) for k in ("non_responders_said", "responders_said")
        )
        lines.append(
            f"{name:<{width}} {_interval_cell(a['median_person_s_to_90'], '.1f'):>24} "
            f"{_interval_cell(a['median_steps_to_90'], '.0f'):>16} "
            f"{_share_cell(a['never_share']):>6} "
            f"{_interval_cell(a.get('person_s_to_90_vs_cma_es'), '.2f'):>19} "
            f"{_value_cell(a['median_wait_s_to_90'], '.2f'):>7} {never:>18} {drifted:>14} "
            f"{said:>20}"
        )
    return "\n".join(lines)


def _value_cell(figure: dict[str, Any] | None, spec: str) -> str:
    if figure is None:
        return "-"
    value = figure["value"]
    return "never" if value is None else format(value, spec)


def _interval_cell(figure: dict[str, Any] | None, spec: str) -> str:
    if figure is None:
        return "-"
    low, high = (("never" if v is None else format(v, spec)) for v in figure["ci95"])
    return f"{_value_cell(figure, spec)} [{low}, {high}]"


def _share_cell(figure: dict[str, Any] | None) -> str:
    if figure is None or figure["value"] is None:
        return "-"
    return f"{figure['value']:.0%}"


def format_table(document: dict[str, Any]) -> str:
    """A plain-text table of the shown-emoticon figures, one row per agent."""
    steps = document["config"]["steps"]
    width = max([12, *(len(name) for name in document["agents"])])
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

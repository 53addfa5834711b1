"""Searching an agent's settings with Ray Tune (`laetitia tune`).

Each trial is one choice of settings, scored on a grid of the simulated people (`viewers` of
the suite x `seeds`, `steps` per run, as `laetitia bench agents` runs them), the same grid
for every trial. Its objective is the bench's headline figure, the **median steps to 90%**
over the trial's runs, with the **mean happiness over the first 100 steps** as the
tie-breaker: `objective = median - 0.49 x happiness`, to be minimised. A median of whole
step counts moves in halves and the happiness is below 1, so a lower median always wins and
the happiness only orders equal medians.

- **search**: Optuna's TPE sampler through Tune's `OptunaSearch`, seeded (`seed`). When the
  agent's defaults lie in the space, the first trial evaluates them, so the result is never
  worse than the defaults on this grid.
- **early stopping**: a trial reports after each person. Its runs still to come could at best
  reach 90% on their first step with a happiness of 1; when even that best case is worse than
  a trial that has finished, it is stopped (`CannotWin`). No trial that could still have won
  is stopped.
- **the experiment folder** (`out`) is Tune's own: a trial folder each, with its results as
  JSON, CSV and TensorBoard events (`tensorboard --logdir OUT`), and the experiment's state,
  so an interrupted search carries on with `resume(out)`. The search's own config is kept
  beside them (`laetitia_tune.json`). Resuming reads Tune's state files, which Tune writes
  with cloudpickle: resume only folders you made.
- **the best settings** (of the trials that scored every person) are written as an
  `AgentSettings` file (`best_settings.json` in `out` by default), which
  `laetitia train --agent NAME --agent-config FILE` reads.

    result = tune_agent(TuneConfig(agent="cma-es", space=("sigma=0.1:0.8:log",), out=Path("t")))
    result.best.settings           # {"sigma": 0.31}
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.agents import agent_class
from laetitia.agents.settings import Settings
from laetitia.app.agent_settings import AgentSettings, write_agent_settings
from laetitia.app.bench_agents import BenchConfig, run_once, step_size_for
from laetitia.app.sweep import check_sweep_settings, ray_runtime, torch_threads
from laetitia.errors import ConfigError
from laetitia.files import write_json_atomic
from laetitia.records import from_dict
from laetitia.run_settings import RUN_DEFAULTS

MAX_SAMPLES = 100_000
"""The most trials a search runs (Optuna keeps every trial in memory)."""
TIE_WEIGHT = 0.49
"""Weight of the happiness in the objective: below 0.5, the smallest step of a median."""
OBJECTIVE = "objective"
"""The metric Tune minimises."""
CONFIG_FILE = "laetitia_tune.json"
"""The search's `TuneConfig`, in the experiment folder (read back by `resume`)."""
BEST_FILE = "best_settings.json"
"""Where the best settings go in the experiment folder, unless `best` says otherwise."""
SPACE_FORMS = ("KEY=LOW:HIGH", "KEY=LOW:HIGH:log", "KEY=A,B,...", "KEY=VALUE")
"""How one dimension of the space is written."""


@dataclass(frozen=True)
class Dimension:
    """One setting of the search space: a range, a list of choices, or a fixed value."""

    name: str
    """The agent's setting."""
    low: float | None = None
    """Lower end of a range (inclusive)."""
    high: float | None = None
    """Upper end of a range (inclusive)."""
    log: bool = False
    """A range searched on a log scale."""
    integer: bool = False
    """A range of whole numbers."""
    choices: tuple[Any, ...] = ()
    """The values to choose from (one value: fixed, not searched)."""

    @property
    def fixed(self) -> bool:
        """Whether the setting takes one value only (it is passed, not searched)."""
        return len(self.choices) == 1

    def contains(self, value: Any) -> bool:
        """Whether `value` is one the dimension can take."""
        if self.choices:
            return value in self.choices
        assert self.low is not None and self.high is not None
        return isinstance(value, int | float) and self.low <= value <= self.high

    def distribution(self) -> Any:
        """The dimension as an Optuna distribution."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.choices:
            return CategoricalDistribution(self.choices)
        assert self.low is not None and self.high is not None
        if self.integer:
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(self.low, self.high, log=self.log)


def parse_dimension(agent: str, text: str) -> Dimension:
    """One dimension from its text: `KEY=LOW:HIGH[:log]`, `KEY=A,B,...` or `KEY=VALUE`.

    Values are read as JSON where they parse (`true`, `0.3`), as strings otherwise, and must be
    of the type of the setting's field in the agent's settings dataclass
    (`agent_class(agent).settings_class`). A range is of whole numbers for an `int` field, of
    numbers for a `float` field.

    Raises:
        ConfigError: With `field` "space", for text of none of these forms, a setting the agent
            does not have, a value not of the setting's type, or a value the agent refuses.
    """
    settings = agent_class(agent).settings_class
    name, sep, body = text.partition("=")
    if not sep or not name or not body:
        raise _space_error(f"{text!r} is not one of {', '.join(SPACE_FORMS)}.")
    if name not in settings.names():
        raise _space_error(
            f"{text!r}: agent {agent!r} has no setting {name!r}; its settings are "
            f"{settings.names()}."
        )
    parts = body.split(":")
    if len(parts) in (2, 3) and "," not in body:
        dimension = _range(settings, name, parts, text)
    else:
        values = tuple(_typed(settings, name, _value(part), text) for part in body.split(","))
        dimension = Dimension(name, choices=tuple(dict.fromkeys(values)))
    for value in _extremes(dimension):
        _check_agent_accepts(agent, name, value, text)
    return dimension


def _range(settings: type[Settings], name: str, parts: list[str], text: str) -> Dimension:
    kind = settings.hints()[name]
    if kind not in (int, float):
        raise _space_error(f"{text!r}: setting {name!r} is not a number; list its values (A,B).")
    if len(parts) == 3 and parts[2] != "log":
        raise _space_error(f"{text!r}: a range ends in ':log' or nothing, not {parts[2]!r}.")
    low, high = (_typed(settings, name, _value(p), text) for p in parts[:2])
    log = len(parts) == 3
    if not low < high or (log and low <= 0):
        raise _space_error(
            f"{text!r}: a range needs LOW < HIGH{' and LOW > 0 on a log scale' if log else ''}."
        )
    return Dimension(name, low=low, high=high, log=log, integer=kind is int)


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _typed(settings: type[Settings], name: str, value: Any, text: str) -> Any:
    """`value` as setting `name` holds it (a whole number as a float, a list as a tuple)."""
    try:
        return settings.value_of(name, value)
    except ConfigError as error:
        raise _space_error(f"{text!r}: {error}") from error


def _extremes(dimension: Dimension) -> Iterable[Any]:
    if dimension.choices:
        return dimension.choices
    return (dimension.low, dimension.high)


def _check_agent_accepts(agent: str, name: str, value: Any, text: str) -> None:
    try:
        agent_class(agent)(None, **{name: value})
    except ConfigError as error:
        raise _space_error(f"{text!r}: {error}") from error


def _space_error(message: str) -> ConfigError:
    return ConfigError(f"space {message}", field="space")


@dataclass(frozen=True)
class TuneConfig:
    """What `laetitia tune` searches, on which grid, and where it writes."""

    agent: str
    """The agent whose settings are searched (see `laetitia.agents.AGENTS`)."""
    space: tuple[str, ...]
    """The dimensions, each in one of `SPACE_FORMS` (`sigma=0.1:0.8:log`, `separable=true,false`,
    `population=4:12`); settings left out keep the agent's defaults."""
    out: Path
    """The experiment folder (Tune's own)."""
    samples: int = 16
    """Trials to run (settings tried); 1 with nothing to search scores the settings given (the
    fixed ones, the agent's defaults for the rest) on the grid."""
    viewers: int = 8
    """Each trial's grid: the first this many suite members..."""
    seeds: int = 1
    """... with this many seeds each (0 .. seeds-1) ..."""
    steps: int = 300
    """... and this many steps per run."""
    frames: int = RUN_DEFAULTS.frames
    """Frames read per shown emoticon (`RunSettings.frames`)."""
    max_episode_steps: int = RUN_DEFAULTS.max_episode_steps
    """Steps per episode (`RunSettings.max_episode_steps`)."""
    step_size: float | None = None
    """Env step size; None: the agent's `preferred_step_size`."""
    workers: int = 2
    """Trials at once (a local runtime gets this many CPUs)."""
    address: str | None = None
    """Ray cluster to run on ("auto" or "HOST:PORT"); None: a local runtime."""
    retries: int = 3
    """How often a trial whose worker died (or that failed) is tried again."""
    seed: int = 0
    """Seeds the search (Optuna's TPE sampler)."""
    early_stop: bool = True
    """Stop a trial once it can no longer beat a finished one (`CannotWin`)."""
    best: Path | None = None
    """Where to write the best settings; None: `best_settings.json` in `out`."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "space", tuple(self.space))
        if self.best is not None:
            object.__setattr__(self, "best", Path(self.best))
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise ConfigError(
                f"samples must be from 1 to {MAX_SAMPLES}, got {self.samples}.", field="samples"
            )
        check_sweep_settings(self.workers, self.address, self.retries)
        if not self.searched() and self.samples != 1:
            raise _space_error(
                "names no setting to search: give a range or a list of values "
                f"({', '.join(SPACE_FORMS[:3])}), or samples 1 to score the settings as given.",
            )
        self.bench()  # refuses an unknown agent, a grid out of range

    def dimensions(self) -> list[Dimension]:
        """The space, parsed; a setting named twice is an error."""
        dimensions = [parse_dimension(self.agent, text) for text in self.space]
        names = [d.name for d in dimensions]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise _space_error(f"names {twice} more than once.")
        return dimensions

    def searched(self) -> list[Dimension]:
        """The dimensions searched (not fixed)."""
        return [d for d in self.dimensions() if not d.fixed]

    def fixed(self) -> dict[str, Any]:
        """The settings given one value."""
        return {d.name: d.choices[0] for d in self.dimensions() if d.fixed}

    def bench(self) -> BenchConfig:
        """Each trial's grid, as the bench runs it (in the trial's own process)."""
        return BenchConfig(
            agents=(self.agent,),
            viewers=self.viewers,
            seeds=self.seeds,
            steps=self.steps,
            frames=self.frames,
            max_episode_steps=self.max_episode_steps,
            workers=1,
            step_sizes={} if self.step_size is None else {self.agent: self.step_size},
        )

    def best_path(self) -> Path:
        """Where the best settings are written."""
        return self.best if self.best is not None else self.out / BEST_FILE

    def to_json(self) -> dict[str, Any]:
        """The config as plain data."""
        data = dataclasses.asdict(self)
        data["out"], data["space"] = str(self.out), list(self.space)
        data["best"] = None if self.best is None else str(self.best)
        return data


def objective(median_steps_to_90: float, mean_happiness_first_100: float) -> float:
    """The figure Tune minimises: the median, the happiness ordering equal medians only."""
    return median_steps_to_90 - TIE_WEIGHT * mean_happiness_first_100


def trial_metrics(
    steps_to_90: list[int], happiness: list[float], runs: int, people: int
) -> dict[str, Any]:
    """What a trial reports after `people` of its people (`runs` runs in all).

    Args:
        steps_to_90: Steps to 90% of each run so far (censored runs at the budget).
        happiness: Mean happiness over the first 100 steps of each run so far.
        runs: The runs the trial will have made when it has scored every person.
        people: People scored so far.

    Returns:
        `median_steps_to_90`, `mean_happiness_first_100` and `objective` over the runs so
        far, `people`, and `objective_bound`: the best objective the trial could still end
        with, were every run to come to reach 90% on its first step with a happiness of 1.
    """
    done = np.asarray(steps_to_90, dtype=np.float64)
    median = float(np.median(done))
    mean = float(np.mean(happiness))
    left = runs - done.size
    best_median = float(np.median(np.concatenate([done, np.ones(left)])))
    best_mean = (float(np.sum(happiness)) + left) / runs
    return {
        "median_steps_to_90": median,
        "mean_happiness_first_100": mean,
        OBJECTIVE: objective(median, mean),
        "objective_bound": objective(best_median, best_mean),
        "people": people,
    }


def run_trial(
    params: dict[str, Any], agent: str, bench: BenchConfig, fixed: dict[str, Any]
) -> None:
    """One trial (Tune's function trainable): the grid with these settings, reported per person."""
    from ray import tune

    settings = {**fixed, **params}
    steps: list[int] = []
    happiness: list[float] = []
    with torch_threads(1):
        for viewer in range(bench.viewers):
            for seed in range(bench.seeds):
                metrics = run_once(agent, viewer, seed, bench, settings).metrics
                steps.append(metrics.steps_to_90)
                happiness.append(metrics.mean_first_100)
            tune.report(trial_metrics(steps, happiness, bench.viewers * bench.seeds, viewer + 1))


class CannotWin:
    """Tune stopper: ends a trial whose best possible objective is worse than a finished one's.

    A function stopper to Tune (a callable of `(trial_id, result)`, wrapped in its
    `FunctionStopper`), so this module needs no Ray at import.

    Args:
        people: The people of a whole trial (a trial that has scored them all has finished).
    """

    def __init__(self, people: int) -> None:
        self.people = people
        self.best_finished = math.inf

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        """Whether to stop the trial that reported `result`."""
        if result["people"] >= self.people:
            self.best_finished = min(self.best_finished, result[OBJECTIVE])
            return False
        return bool(result["objective_bound"] > self.best_finished)


@dataclass(frozen=True)
class Trial:
    """One trial of a search, as it ended."""

    settings: dict[str, Any]
    """The trial's settings: the fixed ones and those the search chose."""
    metrics: dict[str, Any]
    """Its last report (empty when it reported nothing)."""
    state: str
    """"finished" (it scored every person), "stopped" (early, as one that could not win),
    "failed" (`error` says why) or "unfinished" (the search was interrupted; resume it)."""
    error: str | None
    folder: Path | None

    @property
    def finished(self) -> bool:
        """Whether it scored every person."""
        return self.state == "finished"


@dataclass(frozen=True)
class TuneResult:
    """What a search found."""

    best: AgentSettings
    best_file: Path
    trials: list[Trial] = field(repr=False)
    """Every trial, best first (finished ones before the others)."""
    complete: bool = True
    """False when the search was interrupted before all its trials ended (resume it)."""


def tune_agent(config: TuneConfig, progress: bool = True) -> TuneResult:
    """Search the settings of `config.agent`, write the best, and return every trial.

    Raises:
        ConfigError: If `config.out` already holds an experiment (resume it instead), or no
            trial finished.
    """
    _refuse_existing(config.out)
    config.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(config.out / CONFIG_FILE, config.to_json())
    with ray_runtime(config.workers, config.address):
        from ray import tune

        tuner = tune.Tuner(
            _trainable(config),
            tune_config=tune.TuneConfig(
                metric=OBJECTIVE,
                mode="min",
                search_alg=_searcher(config) if config.searched() else None,
                num_samples=config.samples,
                max_concurrent_trials=config.workers,
                reuse_actors=True,  # a trial's process is kept for the next: torch loads once
            ),
            run_config=_run_config(config, progress),
        )
        grid = tuner.fit()
        return _finish(config, grid)


def resume(out: Path, progress: bool = True) -> TuneResult:
    """Carry on an interrupted search in the experiment folder `out`, then as `tune_agent`.

    Raises:
        ConfigError: If `out` holds no experiment `laetitia tune` started.
    """
    out = Path(out).resolve()
    config = read_config(out)
    with ray_runtime(config.workers, config.address):
        from ray import tune

        if not tune.Tuner.can_restore(str(out)):
            raise ConfigError(
                f"out {out} holds no Tune experiment state to resume; start the search again.",
                field="out",
            )
        tuner = tune.Tuner.restore(str(out), _trainable(config), resume_errored=True)
        return _finish(config, tuner.fit())


def read_config(out: Path) -> TuneConfig:
    """The `TuneConfig` a search in `out` was started with (its folder moved with it).

    Raises:
        ConfigError: If `out` has no readable config.
    """
    path = Path(out) / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(
            f"out {out} has no {CONFIG_FILE}: it is not a search `laetitia tune` started.",
            field="out",
        ) from error
    except json.JSONDecodeError as error:
        raise ConfigError(f"out {path} is not JSON: {error}.", field="out") from error
    if isinstance(data, dict):
        data = {**data, "out": str(Path(out).resolve())}
        if "episode_steps" in data:  # a search's saved settings may spell it so
            data["max_episode_steps"] = data.pop("episode_steps")
    return from_dict(TuneConfig, data, source=str(path))


def _refuse_existing(out: Path) -> None:
    if (out / CONFIG_FILE).exists():
        raise ConfigError(
            f"out {out} already holds a search; resume it (`resume`) or choose another folder.",
            field="out",
            mentions=("resume",),
        )


def _trainable(config: TuneConfig) -> Any:
    from ray import tune

    trainable = tune.with_parameters(
        run_trial, agent=config.agent, bench=config.bench(), fixed=config.fixed()
    )
    return tune.with_resources(trainable, {"cpu": 1})


def _searcher(config: TuneConfig) -> Any:
    from optuna.samplers import TPESampler
    from ray.tune.search.optuna import OptunaSearch

    searched = config.searched()
    settings = agent_class(config.agent).settings_class
    start = {d.name: settings.default(d.name) for d in searched}
    inside = all(d.contains(start[d.name]) for d in searched)
    return OptunaSearch(
        space={d.name: d.distribution() for d in searched},
        metric=OBJECTIVE,
        mode="min",
        points_to_evaluate=[start] if inside else None,
        sampler=TPESampler(seed=config.seed, n_startup_trials=max(2, min(10, config.samples // 3))),
    )


def _run_config(config: TuneConfig, progress: bool) -> Any:
    from ray import tune

    out = config.out.resolve()
    return tune.RunConfig(
        name=out.name,
        storage_path=str(out.parent),
        stop=CannotWin(config.viewers) if config.early_stop else None,
        failure_config=tune.FailureConfig(max_failures=config.retries),
        verbose=1 if progress else 0,
    )


def _finish(config: TuneConfig, grid: Any) -> TuneResult:
    trials = sorted((trial_from(config, result) for result in grid), key=_rank)
    finished = [t for t in trials if t.finished]
    if not finished:
        errors = "; ".join(sorted({t.error for t in trials if t.error})) or "none reported"
        raise ConfigError(
            f"space: no trial scored every person (errors: {errors}); see the trial folders "
            f"in {config.out}.",
            field="space",
        )
    top = finished[0]
    complete = len(trials) == config.samples and not any(t.state == "unfinished" for t in trials)
    best = AgentSettings(
        agent=config.agent,
        settings=top.settings,
        found_by={
            "command": "laetitia tune",
            "experiment": str(config.out.resolve()),
            "trial": str(top.folder) if top.folder else None,
            "objective": top.metrics[OBJECTIVE],
            "median_steps_to_90": top.metrics["median_steps_to_90"],
            "mean_happiness_first_100": top.metrics["mean_happiness_first_100"],
            "grid": {
                "viewers": config.viewers,
                "seeds": config.seeds,
                "steps": config.steps,
                "frames": config.frames,
                "step_size": step_size_for(config.agent, config.bench()),
            },
            "trials": len(trials),
            "finished_trials": len(finished),
        },
    )
    return TuneResult(best, write_agent_settings(config.best_path(), best), trials, complete)


def trial_from(config: TuneConfig, result: Any) -> Trial:
    """A Tune result (`ray.tune.Result`) as a `Trial` of this search."""
    metrics = dict(result.metrics or {})
    searched = {d.name for d in config.searched()}
    chosen = {k: v for k, v in (result.config or {}).items() if k in searched}
    settings = {**config.fixed(), **chosen}
    error = None if result.error is None else f"{type(result.error).__name__}: {result.error}"
    if error is not None:
        state = "failed"
    elif metrics.get("people") == config.viewers:
        state = "finished"
    else:  # Tune marks the last report of a trial its stopper ended as done
        state = "stopped" if metrics.get("done") else "unfinished"
    folder = Path(result.path) if result.path else None
    return Trial(settings, metrics, state, error, folder)


def _rank(trial: Trial) -> tuple[bool, float]:
    return (not trial.finished, trial.metrics.get(OBJECTIVE, math.inf))


def format_trials(result: TuneResult, limit: int = 10) -> str:
    """A plain-text table of the best trials, then the best settings and their file."""
    header = f"{'objective':>10} {'median steps to 90%':>20} {'happiness 1-100':>16} {'people':>7}"
    lines = [header + "  settings", "-" * (len(header) + 10)]
    for trial in result.trials[:limit]:
        m = trial.metrics
        state = "" if trial.finished else f"  ({trial.state})"
        lines.append(
            f"{m.get(OBJECTIVE, math.nan):>10.2f} {m.get('median_steps_to_90', math.nan):>20.1f} "
            f"{m.get('mean_happiness_first_100', math.nan):>16.3f} "
            f"{m.get('people', 0):>7}  {json.dumps(trial.settings)}{state}"
        )
    if len(result.trials) > limit:
        lines.append(f"... and {len(result.trials) - limit} more trials")
    if not result.complete:
        folder = result.best.found_by["experiment"]
        lines.append(
            f"the search was interrupted: the best so far follows; carry it on with "
            f"`laetitia tune --resume {folder}`"
        )
    lines.append(f"best settings of {result.best.agent}: {json.dumps(result.best.settings)}")
    lines.append(f"written to {result.best_file}")
    return "\n".join(lines)

"""Which black-box optimiser finds a simulated person's favourite emoticon in fewest steps?

Evidence for the choice behind the `bo` agent (issue 8). Every candidate drives the same loop:
ask for a point, show it (one emoticon, the suite's frames per step), read the reward by the
reward rule, tell it back (unscored steps tell nothing). The steps-to-90% metric is the bench's.

    .venv/bin/python benchmarks/sampler_choice.py --viewers 8 --seeds 2 --steps 200
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch

from laetitia.agents.benchmark import run_metrics
from laetitia.emoticon.params import PARAM_SPACE
from laetitia.reward import reward_from
from laetitia.viewers.people import suite_viewer

N = len(PARAM_SPACE)


class OptunaLoop:
    def __init__(self, sampler_name: str, seed: int, **kw: object) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        samplers = {
            "tpe": lambda: optuna.samplers.TPESampler(seed=seed, multivariate=True, **kw),
            "gp": lambda: optuna.samplers.GPSampler(seed=seed, **kw),
            "cmaes-optuna": lambda: optuna.samplers.CmaEsSampler(seed=seed, **kw),
            "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        }
        self.study = optuna.create_study(direction="maximize", sampler=samplers[sampler_name]())
        self.dists = {f"x{i}": optuna.distributions.FloatDistribution(-1.0, 1.0) for i in range(N)}
        self.trial = None

    def ask(self) -> np.ndarray:
        self.trial = self.study.ask(self.dists)
        return np.array([self.trial.params[f"x{i}"] for i in range(N)])

    def tell(self, value: float | None) -> None:
        import optuna

        if value is None:
            self.study.tell(self.trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(self.trial, value)


class CmaLoop:
    def __init__(self, seed: int, sigma0: float = 0.5, popsize: int | None = None) -> None:
        import cma

        opts = {"bounds": [-1.0, 1.0], "seed": seed + 1, "verbose": -9}
        if popsize:
            opts["popsize"] = popsize
        self.es = cma.CMAEvolutionStrategy(np.zeros(N), sigma0, opts)
        self.pending: list[np.ndarray] = []
        self.done: list[tuple[np.ndarray, float]] = []
        self.x = None

    def ask(self) -> np.ndarray:
        if not self.pending:
            self.pending = list(self.es.ask())
            self.batch = len(self.pending)
        self.x = self.pending.pop()
        return np.asarray(self.x)

    def tell(self, value: float | None) -> None:
        if value is None:
            self.pending.append(self.x)  # show it again later
            return
        self.done.append((self.x, -value))
        if len(self.done) == self.batch:
            xs, fs = zip(*self.done, strict=True)
            self.es.tell(list(xs), list(fs))
            self.done = []


class CmaesLoop:
    """The `cmaes` library directly; options from a name like `cmaes:pop=6,sigma=0.5,lra=1`."""

    def __init__(
        self,
        seed: int,
        pop: int = 6,
        sigma: float = 0.5,
        x0: str = "centre",
        lra: int = 0,
        mean: int = 0,
    ) -> None:
        import cmaes

        mean = np.zeros(N) if x0 == "centre" else PARAM_SPACE.normalize(PARAM_SPACE.defaults)
        bounds = np.tile([-1.0, 1.0], (N, 1))
        self.es = cmaes.CMA(
            mean, sigma, bounds=bounds, seed=seed + 1, population_size=pop, lr_adapt=bool(lra)
        )
        self.pending: list[np.ndarray] = []
        self.done: list[tuple[np.ndarray, float]] = []
        self.show_mean = bool(mean)
        self.is_mean = False

    def ask(self) -> np.ndarray:
        if not self.pending:
            self.pending = [self.es.ask() for _ in range(self.es.population_size)]
            if self.show_mean and self.es.generation > 0:
                self.pending.append(np.clip(self.es.mean, -1, 1))
        self.is_mean = self.show_mean and len(self.pending) == self.es.population_size + 1
        self.x = self.pending.pop()
        return self.x

    def tell(self, value: float | None) -> None:
        if value is None:
            self.pending.append(self.x)
            return
        if self.is_mean:
            return
        self.done.append((self.x, -value))
        if len(self.done) == self.es.population_size:
            self.es.tell(self.done)
            self.done = []


def late_frames_value(reaction, skip: int) -> float | None:
    """Mean P(happy) over face frames after the first `skip` frames (all faces if none left)."""
    happy = reaction.happiness()
    late = reaction.has_face.copy()
    late[:skip] = False
    use = late if late.any() else reaction.has_face
    return float(np.mean(happy[use])) if use.any() else None


def make_loop(name: str, seed: int):
    if name.startswith("cmaes"):
        _, _, opts = name.partition(":")
        kw = {}
        for pair in filter(None, opts.split(",")):
            k, _, v = pair.partition("=")
            if k != "skip":
                kw[k] = v if k == "x0" else float(v) if k == "sigma" else int(v)
        return CmaesLoop(seed, **kw)
    if name == "cma":
        return CmaLoop(seed)
    if name == "cma-pop6":
        return CmaLoop(seed, popsize=6)
    if name == "gp":
        return OptunaLoop("gp", seed, n_startup_trials=10)
    if name == "tpe":
        return OptunaLoop("tpe", seed, n_startup_trials=10)
    if name == "cmaes-optuna":
        return OptunaLoop("cmaes-optuna", seed, n_startup_trials=1, sigma0=0.5)
    return OptunaLoop(name, seed)


def run_one(name: str, index: int, seed: int, steps: int) -> tuple[np.ndarray, float]:
    viewer = suite_viewer(index, seed=seed)
    loop = make_loop(name, seed)
    skip = int(name.split("skip=")[1].split(",")[0]) if "skip=" in name else 0
    shown = np.empty(steps)
    previous = 0.0
    t0 = time.perf_counter()
    for t in range(steps):
        unit = loop.ask()
        params = PARAM_SPACE.denormalize(unit)
        reaction = viewer.react(None, params)
        terms = reward_from(reaction, previous)
        previous = terms.reward
        if skip:
            loop.tell(late_frames_value(reaction, skip))
        else:
            loop.tell(terms.reward if terms.scored else None)
        shown[t] = viewer.true_happiness(params)
    return shown, (time.perf_counter() - t0) / steps, viewer


def main() -> None:
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument(
        "--samplers", nargs="+", default=["random", "cma", "cma-pop6", "tpe", "cmaes-optuna", "gp"]
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    results = {}
    for name in args.samplers:
        rows, secs = [], []
        for index in range(args.viewers):
            for seed in range(args.seeds):
                shown, per_step, viewer = run_one(name, index, seed, args.steps)
                rows.append(run_metrics(shown, viewer))
                secs.append(per_step)
        s90 = np.array([r.steps_to_90 for r in rows])
        best = np.array([r.best for r in rows])
        results[name] = {
            "median_steps_to_90": float(np.median(s90)),
            "reached": float(np.mean([r.reached for r in rows])),
            "median_best_fraction": float(np.median(best)),
            "ms_per_step": 1000 * float(np.mean(secs)),
        }
        print(name, json.dumps(results[name]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()

"""Which black-box optimiser finds a simulated person's favourite emoticon in fewest steps?

Evidence for the library behind the `cma-es` agent (issue 8). Every candidate drives the same
loop: ask for a point, show it to a suite member (one emoticon, 10 frames), read the reward by
the reward rule, tell it back (a step with no face tells nothing and the point is shown again).
The metrics are the bench's (`laetitia.app.bench_agents.run_metrics`).

    .venv/bin/python benchmarks/sampler_choice.py --viewers 12 --seeds 1 --steps 200 \
        --json benchmarks/results/sampler_choice.json

Candidates: `random`; optuna's `tpe` (multivariate), `gp` (GPSampler) and `optuna-cmaes`
(CmaEsSampler, sigma0 0.4); pycma's `pycma` (default population 10) and `pycma-pop6`; and
`cmaes`, the `cmaes` library with the agent's defaults (population 6, sigma 0.4, starting from
the original emoticon). `--without habituation mood noise away lag` switches behaviours of the
people off, to see which one hurts a candidate. Needs the `bench` extra:
`pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import warnings

import numpy as np
import torch

from laetitia.app.bench_agents import run_metrics
from laetitia.emoticon.params import PARAM_SPACE
from laetitia.reward import reward_from
from laetitia.viewers.people import PersonViewer, suite_viewer

N = len(PARAM_SPACE)
START = PARAM_SPACE.normalize(PARAM_SPACE.defaults)
SIGMA = 0.4
WITHOUT = {
    "habituation": {"habituation_depth": 0.0},
    "mood": {"mood_sd": 0.0},
    "noise": {"noise": 0.0},
    "away": {"away_rate": 0.0},
    "lag": {"lag_frames": 0.01},
}
"""Behaviours `--without` can switch off, to see which one hurts a candidate."""


class OptunaLoop:
    def __init__(self, sampler_name: str, seed: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        samplers = {
            "random": lambda: optuna.samplers.RandomSampler(seed=seed),
            "tpe": lambda: optuna.samplers.TPESampler(
                seed=seed, multivariate=True, n_startup_trials=10
            ),
            "gp": lambda: optuna.samplers.GPSampler(seed=seed, n_startup_trials=10),
            "optuna-cmaes": lambda: optuna.samplers.CmaEsSampler(
                seed=seed, sigma0=SIGMA, n_startup_trials=1
            ),
        }
        self.study = optuna.create_study(direction="maximize", sampler=samplers[sampler_name]())
        self.dists = {f"x{i}": optuna.distributions.FloatDistribution(-1.0, 1.0) for i in range(N)}
        self.trial = None

    def ask(self) -> np.ndarray:
        if self.trial is None:
            self.trial = self.study.ask(self.dists)
        return np.array([self.trial.params[f"x{i}"] for i in range(N)])

    def tell(self, value: float | None) -> None:
        if value is not None:  # no face: the same trial is shown again
            self.study.tell(self.trial, value)
            self.trial = None


class BatchLoop:
    """pycma or cmaes: a generation is asked at once and told when every member is read."""

    def __init__(self, name: str, seed: int) -> None:
        if name == "cmaes":
            import cmaes

            self.es = cmaes.CMA(
                START, SIGMA, bounds=np.tile([-1.0, 1.0], (N, 1)), seed=seed + 1, population_size=6
            )
            self.size = 6
        else:
            import cma

            options = {"bounds": [-1.0, 1.0], "seed": seed + 1, "verbose": -9}
            if name == "pycma-pop6":
                options["popsize"] = 6
            self.es = cma.CMAEvolutionStrategy(START, SIGMA, options)
            self.size = self.es.popsize
        self.name = name
        self.queue: list[np.ndarray] = []
        self.read: list[tuple[np.ndarray, float]] = []

    def ask(self) -> np.ndarray:
        if not self.queue:
            if self.name == "cmaes":
                self.queue = [self.es.ask() for _ in range(self.size)]
            else:
                self.queue = [np.asarray(x) for x in self.es.ask()]
        return self.queue[-1]

    def tell(self, value: float | None) -> None:
        if value is None:
            return  # no face: shown again
        self.read.append((self.queue.pop(), -value))
        if len(self.read) == self.size:
            if self.name == "cmaes":
                self.es.tell(self.read)
            else:
                self.es.tell([x for x, _ in self.read], [f for _, f in self.read])
            self.read = []


def make_loop(name: str, seed: int) -> OptunaLoop | BatchLoop:
    if name in ("cmaes", "pycma", "pycma-pop6"):
        return BatchLoop(name, seed)
    return OptunaLoop(name, seed)


def run_one(
    name: str, index: int, seed: int, steps: int, without: tuple[str, ...] = ()
) -> tuple[np.ndarray, float, object]:
    viewer = suite_viewer(index, seed=seed)
    if without:
        changes = {k: v for part in without for k, v in WITHOUT[part].items()}
        behaviour = dataclasses.replace(viewer.behaviour, **changes)
        viewer = PersonViewer(viewer.taste, behaviour, seed=seed, name=viewer.name)
    loop = make_loop(name, seed)
    shown = np.empty(steps)
    previous = 0.0
    start = time.perf_counter()
    for t in range(steps):
        params = PARAM_SPACE.denormalize(loop.ask())
        terms = reward_from(viewer.react(None, params), previous)
        previous = terms.reward
        loop.tell(terms.reward if terms.scored else None)
        shown[t] = viewer.true_happiness(params)
    return shown, (time.perf_counter() - start) / steps, viewer


def main() -> None:
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument(
        "--samplers",
        nargs="+",
        default=["random", "tpe", "gp", "optuna-cmaes", "pycma", "pycma-pop6", "cmaes"],
    )
    parser.add_argument("--without", nargs="*", default=[], choices=sorted(WITHOUT))
    parser.add_argument("--first-viewer", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    results = {}
    for name in args.samplers:
        rows, seconds = [], []
        for index in range(args.first_viewer, args.first_viewer + args.viewers):
            for seed in range(args.seeds):
                shown, per_step, viewer = run_one(
                    name, index, seed, args.steps, tuple(args.without)
                )
                rows.append(run_metrics(shown, viewer))
                seconds.append(per_step)
        results[name] = {
            "median_steps_to_90": float(np.median([r.steps_to_90 for r in rows])),
            "reached": float(np.mean([r.reached for r in rows])),
            "median_best_fraction": float(np.median([r.best_fraction for r in rows])),
            "mean_happiness_first_100": float(np.mean([r.mean_first_100 for r in rows])),
            "ms_per_step": 1000 * float(np.mean(seconds)),
        }
        print(name, json.dumps(results[name]), flush=True)
    if args.json:
        document = {"config": vars(args), "samplers": results}
        with open(args.json, "w") as f:
            json.dump(document, f, indent=1)


if __name__ == "__main__":
    main()

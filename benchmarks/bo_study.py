"""How many steps does the `bayes-opt` agent need on people-v1, against `cma-es`? (issue 17)

Runs agents through the bench's own `run_once` (the same people, frames, step sizes and
scoring as `laetitia bench agents`), with agent settings to try, and reports per agent the
median steps to 90% with a bootstrap 95% interval over person x seed runs, and the censored
share. `--wait` instead times what a person waits for the agent: from the env returning a
reading to the next action being ready, per step.

    .venv/bin/python benchmarks/bo_study.py --agents cma-es bayes-opt --viewers 24 --seeds 1 \
        --steps 300 --json benchmarks/results/bo_quick.json
    .venv/bin/python benchmarks/bo_study.py --wait --steps 300 --viewers 2

`--cap NAME=STEPS` runs that agent for fewer steps than `--steps` and scores its runs as
censored at `--steps` when they did not reach 90% within the cap (exact for every run that
reached it: steps after the first hit do not change it; the median stays exact while fewer
than half are censored at the cap). `--stop-at-90` stops each run at its first emoticon at
90% (`run_once`'s run, cut where its metric is decided: the steps to 90% are the same), and
`best_fraction` is then that of the steps taken.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import AGENTS, agent_class
from laetitia.app.bench_agents import THRESHOLD, BenchConfig, run_metrics, run_once, run_settings
from laetitia.envs.make import make_env
from laetitia.run_settings import RunSettings
from laetitia.viewers.people import suite_viewer


def bootstrap_median(values: np.ndarray, draws: int = 10000, seed: int = 0) -> list[float]:
    """95% percentile-bootstrap interval of the median, resampling runs."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(values.size, size=(draws, values.size))
    medians = np.median(values[picks], axis=1)
    return [float(np.quantile(medians, 0.025)), float(np.quantile(medians, 0.975))]


class _StopAt90(BaseCallback):
    """Stops a run at its first shown emoticon at 90%: later steps cannot change the metric."""

    def __init__(self, viewer) -> None:
        super().__init__()
        self.viewer = viewer
        self.level = viewer.floor() + THRESHOLD * (viewer.attainable_max() - viewer.floor())
        self.shown: list[float] = []

    def _on_step(self) -> bool:
        self.shown += [self.viewer.true_happiness(i["params"]) for i in self.locals["infos"]]
        return self.shown[-1] < self.level


def run_until_90(agent: str, viewer_index: int, seed: int, steps: int, settings: dict):
    """`run_once`'s run (same person, env, seeds, step size), stopped at the first 90%.

    Returns the metrics of `run_metrics` on the steps taken (exact for steps to 90%; a run
    that never got there took all `steps`) and the seconds it took.
    """
    config = BenchConfig(agents=(agent,), steps=steps)
    run = run_settings(agent, config)
    viewer = suite_viewer(viewer_index, seed=seed, frames=run.frames)
    env = make_env(AGENTS[agent].env_id, viewer, run)
    stop = _StopAt90(viewer)
    start = time.perf_counter()
    try:
        agent_class(agent)(env, seed=seed, **settings).learn(steps, callback=[stop])
    finally:
        env.close()
    return run_metrics(np.array(stop.shown), viewer), time.perf_counter() - start


def _job(job: tuple) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    agent, viewer, seed, steps, cap, settings, early = job
    if early:
        m, seconds = run_until_90(agent, viewer, seed, cap, settings)
    else:
        run = run_once(agent, viewer, seed, BenchConfig(agents=(agent,), steps=cap), settings)
        m, seconds = run.metrics, run.seconds
    return {
        "agent": agent,
        "viewer": viewer,
        "seed": seed,
        "steps_to_90": m.steps_to_90 if m.reached else steps,
        "reached": m.reached,
        "best_fraction": m.best_fraction,
        "seconds": seconds,
        "steps_run": cap,
    }


def summarise(rows: list[dict], steps: int) -> dict:
    values = np.array([r["steps_to_90"] for r in rows], dtype=np.float64)
    return {
        "median_steps_to_90": float(np.median(values)),
        "ci95": bootstrap_median(values),
        "censored_fraction": float(np.mean([not r["reached"] for r in rows])),
        "runs": len(rows),
        "median_best_fraction": float(np.median([r["best_fraction"] for r in rows])),
        "seconds_per_run": float(np.mean([r["seconds"] for r in rows])),
        "steps": steps,
    }


def rescore(rows: list[dict], seeds: int, steps: int) -> list[dict]:
    """Runs of the first `seeds` seeds, censored at `steps` (exact: a run's first 90% within
    `steps` does not depend on the steps after it)."""
    out = []
    for r in rows:
        if r["seed"] < seeds:
            reached = r["reached"] and r["steps_to_90"] <= steps
            out.append(
                {**r, "reached": reached, "steps_to_90": r["steps_to_90"] if reached else steps}
            )
    return out


READ_WINDOWS = ((90, 110), (290, 310))
"""Steps (1-based, inclusive) around which `--reading-s` makes each reading take that long."""


def time_waits(
    viewer: int, seed: int, steps: int, settings: dict, reading_s: float = 0.0
) -> np.ndarray:
    """Seconds from each reading's end to the next action, per step (index 0: the first).

    With `reading_s`, the steps in `READ_WINDOWS` take that long to read, as a person's
    reading does (about 1.5 s live): work the agent does while a person is read runs then.
    """
    import torch

    torch.set_num_threads(1)
    env = make_env(
        AGENTS["bayes-opt"].env_id, suite_viewer(viewer, seed=seed), RunSettings(step_size=1.0)
    )
    step = env.step
    marks: list[tuple[float, float]] = []
    last = [time.perf_counter()]

    def timed(action):
        called = time.perf_counter()
        marks.append((last[0], called))
        if any(a <= len(marks) <= b for a, b in READ_WINDOWS):
            time.sleep(reading_s)
        out = step(action)
        last[0] = time.perf_counter()
        return out

    env.step = timed
    agent_class("bayes-opt")(env, seed=seed, **settings).learn(steps)
    return np.array([called - ended for ended, called in marks])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", nargs="+", default=["cma-es", "bayes-opt"])
    parser.add_argument("--viewers", type=int, default=8)
    parser.add_argument("--first-viewer", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--cap", nargs="*", default=[], help="NAME=STEPS")
    parser.add_argument("--set", nargs="*", default=[], help="bayes-opt setting KEY=JSON")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--reading-s", type=float, default=0.0, help="with --wait")
    parser.add_argument(
        "--stop-at-90", action="store_true", help="stop each run at its first 90%% (exact)"
    )
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--rescore", nargs="*", default=[], help="study JSONs to recensor at --seeds, --steps"
    )
    args = parser.parse_args()
    if args.rescore:
        rows = [r for path in args.rescore for r in json.load(open(path))["runs"]]
        rows = rescore(rows, args.seeds, args.steps)
        agents = sorted({r["agent"] for r in rows})
        document = {
            "rescored_from": args.rescore,
            "seeds": args.seeds,
            "steps": args.steps,
            "agents": {
                a: summarise([r for r in rows if r["agent"] == a], args.steps) for a in agents
            },
        }
        for a, summary in document["agents"].items():
            print(a, json.dumps(summary))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(document, f, indent=1)
        return
    settings = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    caps = {k: int(v) for k, v in (c.split("=", 1) for c in args.cap)}
    load = os.getloadavg()
    if args.wait:
        waits = [
            time_waits(v, 0, args.steps, settings, args.reading_s)
            for v in range(args.first_viewer, args.first_viewer + args.viewers)
        ]
        waits = np.stack(waits)
        document = {
            "load_before": load,
            "load_after": os.getloadavg(),
            "settings": settings,
            "reading_s": args.reading_s,
        }
        for at in (10, 50, 100, 200, 300, 500):
            if at <= args.steps:
                window = waits[:, max(0, at - 5) : at + 5]  # steps at-4 .. at+5 (1-based)
                document[f"step_{at}"] = {
                    "median_ms": 1000 * float(np.median(window)),
                    "max_ms": 1000 * float(window.max()),
                    "at_step_ms": (1000 * waits[:, at - 1]).round(1).tolist(),
                }
        print(json.dumps(document, indent=1))
    else:
        jobs = [
            (
                a,
                v,
                s,
                args.steps,
                caps.get(a, args.steps),
                settings if a == "bayes-opt" else {},
                args.stop_at_90,
            )
            for a in args.agents
            for v in range(args.first_viewer, args.first_viewer + args.viewers)
            for s in range(args.seeds)
        ]
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            rows = list(pool.map(_job, jobs, chunksize=1))
        document = {
            "config": vars(args),
            "settings": settings,
            "load_before": load,
            "load_after": os.getloadavg(),
            "wall_s": time.perf_counter() - start,
            "agents": {
                a: summarise([r for r in rows if r["agent"] == a], args.steps) for a in args.agents
            },
            "runs": rows,
        }
        for a, summary in document["agents"].items():
            print(a, json.dumps(summary))
        print(
            "steps by run:",
            {a: [r["steps_to_90"] for r in rows if r["agent"] == a] for a in args.agents},
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(document, f, indent=1)


if __name__ == "__main__":
    main()

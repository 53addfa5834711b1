"""Settings of the `cma-es` agent, measured through the real env and bench metrics (issue 8).

    .venv/bin/python benchmarks/cma_es_settings.py --viewers 24 --seeds 2 --steps 300 \
        '{}' '{"show_mean": false}' '{"population": 8}'
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from laetitia.app.bench_agents import BenchConfig, run_once


def one(job: tuple[str, int, int, BenchConfig, dict]) -> tuple[int, bool, float, float]:
    agent, index, seed, config, settings = job
    m = run_once(agent, index, seed, config, settings).metrics
    return m.steps_to_90, m.reached, m.best_fraction, m.mean_first_100


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("settings", nargs="+", help="JSON agent settings, one variant each")
    parser.add_argument("--agent", default="cma-es")
    parser.add_argument("--viewers", type=int, default=24)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = BenchConfig(
        agents=(args.agent,), viewers=args.viewers, seeds=args.seeds, steps=args.steps, workers=1
    )
    for text in args.settings:
        settings = json.loads(text)
        jobs = [
            (args.agent, i, s, config, settings)
            for i in range(args.viewers)
            for s in range(args.seeds)
        ]
        with ProcessPoolExecutor(args.workers) as pool:
            rows = list(pool.map(one, jobs))
        steps, reached, best, first = map(np.array, zip(*rows, strict=True))
        print(
            json.dumps(
                {
                    "agent": args.agent,
                    "settings": settings,
                    "median_steps_to_90": float(np.median(steps)),
                    "reached": float(reached.mean()),
                    "median_best_fraction": float(np.median(best)),
                    "mean_first_100": float(first.mean()),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Does each agent learn? Mean reward over its first and last 50 of 500 steps (issue 6).

Every agent in `laetitia.agents.AGENTS` trains on the simple simulated viewer `sim:SEED` (10
frames a step, episodes of 50 steps, the agent's own step size), one run per seed; the table
gives the means over seeds, and how many seeds ended better than they began.

    .venv/bin/python benchmarks/learning.py [--seeds 20] [--steps 500] [--agents ...]
"""

from __future__ import annotations

import argparse

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import AGENTS, agent_class
from laetitia.envs.make import make_env
from laetitia.run_settings import RunSettings

WINDOW = 50


class Rewards(BaseCallback):
    """Collects each step's reward through the callback contract every agent honours."""

    def __init__(self) -> None:
        super().__init__()
        self.rewards: list[float] = []

    def _on_step(self) -> bool:
        self.rewards.extend(info["reward"] for info in self.locals["infos"])
        return True


def first_and_last(name: str, seed: int, steps: int) -> tuple[float, float]:
    """Mean reward over the first and the last `WINDOW` steps of one run."""
    run = RunSettings(step_size=agent_class(name).preferred_step_size)
    env = make_env(AGENTS[name].env_id, f"sim:{seed}", run)
    log = Rewards()
    agent_class(name)(env, seed=seed).learn(steps, callback=log)
    return float(np.mean(log.rewards[:WINDOW])), float(np.mean(log.rewards[-WINDOW:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=list(AGENTS))
    args = parser.parse_args()
    print(f"| agent | first {WINDOW} | last {WINDOW} | seeds that improved |")
    print("|---|---:|---:|---:|")
    for name in args.agents:
        runs = np.array([first_and_last(name, s, args.steps) for s in range(args.seeds)])
        better = int((runs[:, 1] > runs[:, 0]).sum())
        first, last = runs.mean(axis=0)
        print(f"| `{name}` | {first:.3f} | {last:.3f} | {better}/{args.seeds} |", flush=True)


if __name__ == "__main__":
    main()

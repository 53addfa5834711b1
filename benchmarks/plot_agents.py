"""Figures for BENCHMARKS.md from a `laetitia bench agents --json` document.

    .venv/bin/python benchmarks/plot_agents.py benchmarks/results/agents.json \
        --out benchmarks/figures

writes `agents_steps_to_90.png` (every run's steps to 90%, censored runs at the budget) and
`agents_happiness_curves.png` (median best-so-far and mean shown true happiness per step, as
a fraction of the way from each person's floor to their maximum).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_steps(document: dict, out: Path) -> Path:
    steps = document["config"]["steps"]
    names = list(document["agents"])
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=100)
    rng = np.random.default_rng(0)
    for i, name in enumerate(names):
        runs = [r for r in document["runs"] if r["agent"] == name]
        values = np.array([r["steps_to_90"] for r in runs], dtype=float)
        reached = np.array([r["reached"] for r in runs])
        jitter = rng.uniform(-0.18, 0.18, values.size)
        ax.scatter(i + jitter[reached], values[reached], s=9, alpha=0.6, color="tab:blue")
        ax.scatter(
            i + jitter[~reached], values[~reached], s=9, alpha=0.6, color="tab:red", marker="x"
        )
        median = document["agents"][name]["median_steps_to_90"]
        ax.hlines(median, i - 0.3, i + 0.3, color="black", linewidth=2)
    ax.set_xticks(range(len(names)), names)
    ax.set_yscale("log")
    ax.set_ylabel("steps to 90% (log)")
    ax.set_title(
        f"{document['suite']}: steps until the shown emoticon reaches 90%\n"
        f"(black: median; red x: not within {steps} steps)",
        fontsize=9,
    )
    fig.tight_layout()
    path = out / "agents_steps_to_90.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_curves(document: dict, out: Path) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 3.2), dpi=100, sharey=True)
    for name, summary in document["agents"].items():
        curves = summary["curves"]
        steps = np.arange(1, len(curves["shown_mean"]) + 1)
        left.plot(steps, curves["best_so_far_median"], label=name, linewidth=1.2)
        right.plot(steps, curves["shown_mean"], label=name, linewidth=1.0)
    for ax, title in ((left, "best shown so far (median)"), (right, "shown emoticon (mean)")):
        ax.axhline(0.9, color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("step (log)")
        ax.set_title(title, fontsize=9)
    left.set_ylabel("true happiness, floor=0 .. max=1")
    right.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{document['suite']}: happiness of the emoticons shown", fontsize=9)
    fig.tight_layout()
    path = out / "agents_happiness_curves.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("json", type=Path)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/figures"))
    args = parser.parse_args()
    document = json.loads(args.json.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    for path in (plot_steps(document, args.out), plot_curves(document, args.out)):
        print(path)


if __name__ == "__main__":
    main()

"""How far apart two `laetitia bench agents` JSON files of the same grid come, agent by agent.

    .venv/bin/python benchmarks/same_steps.py A.json B.json

For each agent in both files: how many runs (person x seed) have the same steps to 90%, each
file's median with its 95% interval over the people (the bench's bootstrap, so the bench's
interval), the difference of the medians (B - A) and their ratio (B / A), each with a paired
95% interval (the same people resampled for both, as for the bench's ratios), and the largest
difference of a run's happiness figures. Made to compare the same command on two machines
(benchmarks/results/history.md, "Are the step counts reproducible?"), and an agent's two
runs of one grid (with and without a prior); `same_figures.py` says whether two files agree
bit for bit.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.app.bench_agents import bootstrap_medians, interval95

Key = tuple[int, int]


def runs_of(document: dict[str, Any], agent: str) -> dict[Key, dict[str, Any]]:
    """An agent's runs by (person, seed)."""
    return {(r["viewer"], r["seed"]): r for r in document["runs"] if r["agent"] == agent}


def steps_table(runs: dict[Key, dict[str, Any]], keys: list[Key]) -> np.ndarray:
    """Steps to 90% as a (people, seeds) array over `keys`, a full grid."""
    people = sorted({p for p, _ in keys})
    seeds = sorted({s for _, s in keys})
    table = np.full((len(people), len(seeds)), np.nan)
    for p, s in keys:
        table[people.index(p), seeds.index(s)] = runs[p, s]["steps_to_90"]
    return table


def compare(a: dict[str, Any], b: dict[str, Any], agent: str) -> str:
    """One agent's line: runs with the same steps, medians, paired difference."""
    runs_a, runs_b = runs_of(a, agent), runs_of(b, agent)
    keys = sorted(set(runs_a) & set(runs_b))
    same = sum(runs_a[k]["steps_to_90"] == runs_b[k]["steps_to_90"] for k in keys)
    happiness = max(
        abs(runs_a[k][name] - runs_b[k][name]) for k in keys for name in ("mean_first_100", "best")
    )
    tables = {"a": steps_table(runs_a, keys), "b": steps_table(runs_b, keys)}
    medians = {name: float(np.median(table)) for name, table in tables.items()}
    resampled = bootstrap_medians(tables)
    resampled["b - a"] = resampled["b"] - resampled["a"]
    medians["b - a"] = medians["b"] - medians["a"]
    resampled["b / a"] = resampled["b"] / resampled["a"]
    medians["b / a"] = medians["b"] / medians["a"]

    def median(name: str) -> str:
        low, high = interval95(resampled[name])
        return f"{medians[name]:.4g} [{low:.4g}, {high:.4g}]"

    return (
        f"{agent}: {same}/{len(keys)} runs with the same steps to 90%; median A {median('a')}, "
        f"B {median('b')}; B - A {median('b - a')}; B / A {median('b / a')}; happiness "
        f"figures differ by at most "
        f"{happiness:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    a, b = (json.loads(path.read_text(encoding="utf-8")) for path in (args.a, args.b))
    for agent in a["agents"]:
        if agent in b["agents"]:
            print(compare(a, b, agent))


if __name__ == "__main__":
    main()

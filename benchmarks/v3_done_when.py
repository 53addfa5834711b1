"""Issue 27's "Done when" figures from a people-v3 bench JSON (BENCHMARKS.md, people-v3).

Reads the `recommended` block `laetitia bench agents` writes (bootstrap 95% intervals over
people and seeds, paired between agents) and prints one Markdown row per figure, with the
target beside it and whether it is met.

Usage: .venv/bin/python benchmarks/v3_done_when.py RESULTS.json [AGENT]
    (AGENT: the bayes-opt spec benched; default: the first agent other than cma-es)
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _cell(figure: dict[str, Any] | None, spec: str, scale: float = 1.0) -> str:
    """A figure as `value [low, high]`; None (a censored median) as "never"."""
    if not figure:
        return "-"

    def one(v: float | None) -> str:
        return "never" if v is None else format(v * scale, spec)

    low, high = figure["ci95"]
    return f"{one(figure['value'])} [{one(low)}, {one(high)}]"


def _value(figure: dict[str, Any] | None) -> float:
    """A figure's value; a censored median (None) as infinity."""
    return float("inf") if not figure or figure["value"] is None else float(figure["value"])


def main(path: str, agent: str | None = None) -> None:
    """Print the rows."""
    document = json.loads(open(path, encoding="utf-8").read())
    summary = document["recommended"]
    responders = summary["responders"]
    agent = agent or next(a for a in responders if a != "cma-es")
    mine, cma = responders[agent], responders.get("cma-es", {})
    faint = summary["by_kind"]["faint"][agent]
    drift = summary["drifting"].get(agent, {})
    verdict = summary["verdict"][agent]
    ratio = mine.get("person_s_to_90_vs_cma_es")
    rows = [
        (
            "median person-time to 90% and staying (s)",
            "<= 45",
            _cell(mine["median_person_s_to_90"], ".0f"),
            _value(mine["median_person_s_to_90"]) <= 45,
        ),
        (
            "runs never at 90% and staying in 300 steps",
            "<= 10%",
            _cell(mine["never_share"], ".0f", 100),
            _value(mine["never_share"]) <= 0.10,
        ),
        (
            "its person-time over cma-es's, paired",
            "<= 0.5, intervals apart",
            _cell(ratio, ".2f") + f" (cma-es {_cell(cma.get('median_person_s_to_90'), '.0f')})",
            ratio is not None
            and ratio["ci95"][1] is not None
            and ratio["ci95"][1] <= 0.5
            and _value(mine["median_person_s_to_90"]) < float("inf"),
        ),
        (
            "faint reactors never at 90% and staying",
            "<= 20%",
            _cell(faint["never_share"], ".0f", 100),
            _value(faint["never_share"]) <= 0.20,
        ),
        (
            "moving tastes: recommendation at the end minus at step 100 (fraction of the way)",
            ">= 0",
            _cell(drift.get("median_end_minus_100"), "+.2f"),
            _value(drift.get("median_end_minus_100")) >= 0,
        ),
        (
            "moving tastes: recommendation at the end, median fraction of the way (runs there)",
            ">= 0.90",
            _cell(drift.get("median_at_end"), ".2f")
            + f" ({_cell(drift.get('share_at_90_at_end'), '.0f', 100)}%)",
            _value(drift.get("median_at_end")) >= 0.9,
        ),
        (
            "non-responders said to give no reliable reaction",
            ">= 80%",
            _cell(verdict.get("non_responders_said"), ".0f", 100),
            _value(verdict.get("non_responders_said")) >= 0.8,
        ),
        (
            "responders said to give no reliable reaction",
            "<= 5%",
            _cell(verdict.get("responders_said"), ".0f", 100),
            _value(verdict.get("responders_said")) <= 0.05,
        ),
    ]
    print(f"people: {summary['people']}; agent: {agent}")
    print("| figure | target | measured [95% CI] | met |")
    print("|---|---|---|---|")
    for name, target, cell, met in rows:
        said = "n/a" if cell.split(" ")[0] == "-" else "yes" if met else "**no**"
        print(f"| {name} | {target} | {cell} | {said} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])

"""Whether two `laetitia bench agents` JSON files hold the same figures, bit for bit.

    .venv/bin/python benchmarks/same_figures.py A.json B.json

Everything is compared except what depends on the machine and the timing: `machine`,
`config.workers` (and `config.address`), and each agent's `seconds_per_step`. Exit code 0 when
the figures are the same, 1 (listing what differs) otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def figures(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    document.pop("machine", None)
    for name in ("workers", "address", "retries"):
        document["config"].pop(name, None)
    if "episode_steps" in document["config"]:  # its name in results written before it had one
        document["config"]["max_episode_steps"] = document["config"].pop("episode_steps")
    for summary in document["agents"].values():
        summary.pop("seconds_per_step", None)
    return document


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in differences(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    found = differences(figures(args.a), figures(args.b))
    for line in found[:20]:
        print(line)
    runs = len(json.loads(args.a.read_text())["runs"])
    print(f"{len(found)} differences over {runs} runs" if found else f"same figures ({runs} runs)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

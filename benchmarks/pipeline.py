"""Face pipeline throughput (issue 3): fps per detector setting, model ms per face.

    .venv/bin/python benchmarks/pipeline.py [--video ../shared/fixtures/single_face.mp4]
        [--json OUT] [--repeats 3]

Prints a Markdown table for BENCHMARKS.md; the logic is `laetitia.app.bench_pipeline`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from laetitia.app.bench_pipeline import format_table, run_pipeline_bench

DEFAULT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "single_face.mp4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--json", type=Path, help="write all figures here as JSON")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per setting")
    args = parser.parse_args()
    figures = run_pipeline_bench(args.video, repeats=args.repeats)
    machine = figures["machine"]
    print(f"{machine['cpu']}, {machine['cores']} cores, load average {machine['load_average']}")
    print(
        f"{figures['video']['path']}: {figures['video']['frames']} frames, "
        f"{figures['video']['width']}x{figures['video']['height']}"
    )
    print(format_table(figures))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

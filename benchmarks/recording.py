"""Session recording cost (issue 5): bytes and milliseconds per step, with and without frames.

Records steps of real video frames (already measured, so only the recording is timed) into a
fresh session folder the way `laetitia train` does, each step fsync'ed, and reports per step:
the PNG bytes, the frames.csv and steps.csv bytes, and the time `SessionRecorder.record` takes.

    .venv/bin/python benchmarks/recording.py [--video ../shared/fixtures/single_face.mp4]
        [--frames 10] [--steps 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from laetitia.cameras import VideoFile
from laetitia.emoticon import PARAM_SPACE
from laetitia.meter import HappinessMeter
from laetitia.sessions import FRAMES_DIR, FRAMES_FILE, STEPS_FILE, SessionRecorder

DEFAULT_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "single_face.mp4"


def measure(reactions: list, keep_frames: bool) -> dict[str, float]:
    """Record the reactions into a temporary session; bytes and ms per step."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "s"
        times = []
        with SessionRecorder(folder, {"bench": True}, keep_frames=keep_frames) as recorder:
            for reaction in reactions:
                start = time.perf_counter()
                recorder.record(0, 0.5, PARAM_SPACE.defaults, reaction)
                times.append(time.perf_counter() - start)
        frames_dir = folder / FRAMES_DIR
        png = sum(p.stat().st_size for p in frames_dir.iterdir()) if frames_dir.is_dir() else 0
        n = len(reactions)
        return {
            "png_kb": png / n / 1e3,
            "frames_csv_kb": (folder / FRAMES_FILE).stat().st_size / n / 1e3,
            "steps_csv_kb": (folder / STEPS_FILE).stat().st_size / n / 1e3,
            "ms_median": 1e3 * float(np.median(times)),
            "ms_max": 1e3 * float(np.max(times)),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--frames", type=int, default=10, help="frames per step")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    with VideoFile(args.video) as video:
        frames = list(video)
    meter = HappinessMeter.default("haar")
    picks = [
        [frames[(s * args.frames + k) % len(frames)] for k in range(args.frames)]
        for s in range(args.steps)
    ]
    reactions = [meter.read(step) for step in picks]
    height, width = frames[0].shape[:2]
    print(f"{args.video.name}: {width}x{height}, {args.frames} frames per step, {args.steps} steps")
    print(
        "| recording | PNG KB/step | frames.csv KB/step | steps.csv KB/step "
        "| ms/step median | max |"
    )
    print("|---|---|---|---|---|---|")
    for keep in (True, False):
        m = measure(reactions, keep)
        label = "frames kept" if keep else "--no-frames"
        print(
            f"| {label} | {m['png_kb']:.0f} | {m['frames_csv_kb']:.2f} | {m['steps_csv_kb']:.2f} "
            f"| {m['ms_median']:.0f} | {m['ms_max']:.0f} |"
        )


if __name__ == "__main__":
    main()

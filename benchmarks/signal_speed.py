"""The smile signal's cost, one thread: our landmarker alone against MediaPipe's own pipeline.

    taskset -c 1 .venv/bin/python benchmarks/signal_speed.py ../shared/fixtures
    taskset -c 1 /tmp/venv-mp/bin/python benchmarks/mediapipe_reference.py ../shared/fixtures

Per video, process CPU time and wall time per frame, best and median of five passes:

- `landmarker`: `laetitia.landmarks.FaceLandmarker` over the whole video in VIDEO mode (YuNet
  finds the face, the landmarks follow it): the same work as MediaPipe's `FaceLandmarker` in
  VIDEO mode, which benchmarks/mediapipe_reference.py times on the same frames;
- `meter smile`, `meter fer-happy`: the live pipeline (`HappinessMeter.live`) in calls of 10
  frames, as a live step reads them (each starting afresh), with each signal.

Frames are decoded before timing. Run both scripts one after the other on the same core.
"""

import sys
import time
from pathlib import Path

import numpy as np

from laetitia.cameras import VideoFile
from laetitia.landmarks import FaceLandmarker
from laetitia.meter import HappinessMeter
from laetitia.threads import use_threads

VIDEOS = ("single_face.mp4", "noface_face.mov", "face_noface.mov", "no_face.mp4")
PASSES = 5
STEP = 10


def timed(run, frames):
    walls, cpus = [], []
    for _ in range(PASSES):
        wall, cpu = time.perf_counter(), time.process_time()
        run(frames)
        walls.append((time.perf_counter() - wall) / len(frames))
        cpus.append((time.process_time() - cpu) / len(frames))
    return 1000 * min(cpus), 1000 * float(np.median(cpus)), 1000 * min(walls)


def main():
    use_threads(1)
    fixtures = Path(sys.argv[1])
    landmarker = FaceLandmarker()
    meters = {name: HappinessMeter.live(signal=name) for name in ("smile", "fer-happy")}

    def follow(frames):
        landmarker.reset()
        for frame in frames:
            landmarker.read(frame, follow=True)

    def stepwise(meter):
        def run(frames):
            for start in range(0, len(frames), STEP):
                meter.read(frames[start : start + STEP])

        return run

    print("| video | pipeline | CPU ms/frame best / median | wall ms best | fps |")
    print("|---|---|---|---|---|")
    for name in VIDEOS:
        with VideoFile(fixtures / name) as video:
            frames = list(video)
        runs = {"landmarker (VIDEO mode)": follow}
        runs.update(
            {f"meter {signal}, steps of {STEP}": stepwise(m) for signal, m in meters.items()}
        )
        for label, run in runs.items():
            run(frames[:STEP])  # warm-up: the networks' first call
            best, median, wall = timed(run, frames)
            print(
                f"| {name} | {label} | {best:.2f} / {median:.2f} | {wall:.2f} | {1000 / wall:.0f} |"
            )


if __name__ == "__main__":
    main()

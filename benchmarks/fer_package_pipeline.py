"""The `fer` package's own pipeline on a video, for a side-by-side with benchmarks/pipeline.py.

Superseded for BENCHMARKS.md by `laetitia bench pipeline`, which runs fer's pipelines in the
same process and the same rounds as ours when fer is installed (pyproject.toml's `compare`
extra); this script times them alone, in an environment of their own.

fer 25.10.3 imports TensorFlow at module level, so this runs in a throwaway environment, never
the project's (see BENCHMARKS.md for the exact commands):

    python3 -m venv /tmp/fervenv
    /tmp/fervenv/bin/pip install tensorflow-cpu==2.21.0 requests pillow "setuptools<81"
    /tmp/fervenv/bin/pip install --no-deps fer==25.10.3
    # torch, facenet-pytorch and OpenCV from the project's environment:
    SITE=/tmp/fervenv/lib/python3.11/site-packages
    echo "$PWD/.venv/lib/python3.11/site-packages" > $SITE/zz_project.pth
    /tmp/fervenv/bin/python benchmarks/fer_package_pipeline.py --video VIDEO [--torch-threads 1]

Times `FER(mtcnn=...).detect_emotions(frame)` over every frame (decoding included), best of
`--repeats` passes, for fer's MTCNN and Haar settings.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2


def read(path: Path) -> list:
    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def one_pass(detector, path: Path) -> tuple[float, int, int]:
    start, frames, faces = time.perf_counter(), 0, 0
    capture = cv2.VideoCapture(str(path))
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames += 1
        faces += bool(detector.detect_emotions(frame))
    return time.perf_counter() - start, frames, faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--torch-threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import numpy as np
    import torch
    from facenet_pytorch import MTCNN

    # Run torch's MTCNN once before TensorFlow loads: the other order segfaults here.
    MTCNN(keep_all=True).detect(np.zeros((64, 64, 3), np.uint8))
    from fer.fer import FER  # fer 25.10.3 exports nothing from its package root

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    results = {"torch_threads": torch.get_num_threads()}
    for label, mtcnn in (("fer mtcnn", True), ("fer haar", False)):
        detector = FER(mtcnn=mtcnn)
        detector.detect_emotions(read(args.video)[0])  # warm-up: model loading
        runs = [one_pass(detector, args.video) for _ in range(args.repeats)]
        best, frames, faces = min(runs)
        results[label] = {"fps": frames / best, "frames": frames, "frames_with_face": faces}
        print(f"{label}: {frames / best:.1f} fps ({faces}/{frames} frames with a face)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""MediaPipe's own FaceLandmarker on the fixtures: the reference values and the speed to beat.

Runs in a side environment with the `mediapipe` wheel, never in laetitia's: that wheel requires
opencv-contrib-python, a second `cv2` (OpenCV 5, without CascadeClassifier) that would replace
ours. For example:

    python3.11 -m venv /tmp/venv-mp && /tmp/venv-mp/bin/pip install mediapipe   # 1.2.3 measured
    taskset -c 1 /tmp/venv-mp/bin/python benchmarks/mediapipe_reference.py ../shared/fixtures

It reads laetitia's own model file (laetitia/weights/face_landmarker.task) and writes
tests/landmarks/mediapipe_reference.json: MediaPipe's two smile blendshapes (mouthSmileLeft,
mouthSmileRight) for every frame of single_face.mp4 (VIDEO mode, frame i at round(i * 1000 /
fps) ms) and for the London photos (IMAGE mode), which tests/landmarks/test_parity.py compares
laetitia's landmarker with. It also prints VIDEO mode's speed on each video (one thread: wall
and process CPU time per frame, best and median of three passes), the figures in BENCHMARKS.md.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import mediapipe as mp  # noqa: E402
import numpy as np  # noqa: E402
from mediapipe.tasks.python import vision  # noqa: E402
from mediapipe.tasks.python.core.base_options import BaseOptions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TASK = ROOT / "laetitia" / "weights" / "face_landmarker.task"
OUT = ROOT / "tests" / "landmarks" / "mediapipe_reference.json"
VIDEOS = ("single_face.mp4", "noface_face.mov", "face_noface.mov", "no_face.mp4")
SMILES = ("mouthSmileLeft", "mouthSmileRight")


def landmarker(mode):
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(TASK)),
        running_mode=mode,
        num_faces=1,
        output_face_blendshapes=True,
    )
    return vision.FaceLandmarker.create_from_options(options)


def smiles(result):
    """The two smile blendshapes of the first face, or None."""
    if not result.face_blendshapes:
        return None
    scores = {c.category_name: c.score for c in result.face_blendshapes[0]}
    return [round(float(scores[name]), 6) for name in SMILES]


def video(path, passes=3):
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    rgbs = []
    while (read := capture.read())[0]:
        rgbs.append(cv2.cvtColor(read[1], cv2.COLOR_BGR2RGB))
    walls, cpus, found = [], [], []
    for _ in range(passes):
        detector = landmarker(vision.RunningMode.VIDEO)
        found = []
        wall, cpu = time.perf_counter(), time.process_time()
        for i, rgb in enumerate(rgbs):
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            found.append(smiles(detector.detect_for_video(image, round(i * 1000 / fps))))
        walls.append((time.perf_counter() - wall) / len(rgbs))
        cpus.append((time.process_time() - cpu) / len(rgbs))
        detector.close()
    faces = sum(f is not None for f in found)
    print(
        f"| {path.name} | {len(rgbs)} | {faces} | {1000 * min(cpus):.2f} / "
        f"{1000 * np.median(cpus):.2f} | {1000 * min(walls):.2f} / {1000 * np.median(walls):.2f} "
        f"| {1 / min(walls):.0f} |"
    )
    return found


def images(folder):
    detector = landmarker(vision.RunningMode.IMAGE)
    found = {}
    for kind in ("neutral", "smiling"):
        for path in sorted((folder / kind).glob("*.jpg")):
            rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            found[f"{kind}/{path.name}"] = smiles(detector.detect(image))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixtures", type=Path, help="the real-face media (../shared/fixtures)")
    args = parser.parse_args()
    print(f"mediapipe {mp.__version__}, python {sys.version.split()[0]}, VIDEO mode, one thread")
    print("| video | frames | faces | CPU ms/frame best / median | wall ms best / median | fps |")
    print("|---|---|---|---|---|---|")
    per_video = {name: video(args.fixtures / name) for name in VIDEOS}
    reference = {
        "source": f"mediapipe {mp.__version__} FaceLandmarker, {TASK.name}",
        "blendshapes": list(SMILES),
        "video": {"single_face.mp4": per_video["single_face.mp4"]},
        "images": {"london": images(args.fixtures / "london")},
    }
    OUT.write_text(json.dumps(reference, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

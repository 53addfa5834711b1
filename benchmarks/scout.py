"""What YuNet's scout sees (issue 18): the frames it agrees on, and the smallest face it finds.

    .venv/bin/python benchmarks/scout.py [--fixtures ../shared/fixtures] [--json OUT]

`FaceTracker` looks with a scout while it follows no face: YuNet at `SCOUT_SIDE_PX["yunet"]`
(160 px) instead of the detector's 320. Two questions decide whether that is safe:

- agreement: on every frame of the fixture videos, does the scout see a face exactly where
  YuNet at 320 finds one (a frame where it does not would be a face found late, or a false
  alarm that costs one detection)?
- the smallest face: frames of single_face.mp4 (every 12th), shrunk step by step and centred on
  a plain grey frame of a common camera size, until a detector no longer finds the face; the
  last size found is its floor, given as the side of the Haar-like box in frame pixels.

Accuracy only, no timing: the figures are the same on any machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from laetitia.cameras import VideoFile
from laetitia.faces import SCOUT_SIDE_PX, YunetDetector
from laetitia.faces.shrink import scaled

VIDEOS = ("single_face.mp4", "noface_face.mov", "face_noface.mov", "no_face.mp4")
FRAME_SIZES = ((640, 480), (960, 540), (1280, 720))
DETECTOR_SIDE = 320
GREY = 110
STEP_PX = 4


def read(path: Path) -> list[np.ndarray]:
    with VideoFile(path) as video:
        return list(video)


def agreement_per_video(
    fixtures: Path, scout: YunetDetector, detector: YunetDetector
) -> dict[str, dict[str, int]]:
    """Per video: frames, frames with a face for each, frames where they differ."""
    out = {}
    for name in VIDEOS:
        frames = read(fixtures / name)
        sees = np.array([scout.detect(f) is not None for f in frames])
        finds = np.array([detector.detect(f) is not None for f in frames])
        out[name] = {
            "frames": len(frames),
            "scout_sees": int(sees.sum()),
            "detector_finds": int(finds.sum()),
            "differ": int((sees != finds).sum()),
        }
    return out


def placed(frame: np.ndarray, face_px: float, target_px: int, size: tuple[int, int]) -> np.ndarray:
    """`frame` shrunk so its face is `target_px` wide, centred on a grey frame of `size`."""
    width, height = size
    scale = target_px / face_px
    small = scaled(frame, scale)[:height, :width]
    canvas = np.full((height, width, 3), GREY, dtype=np.uint8)
    h, w = small.shape[:2]
    top, left = (height - h) // 2, (width - w) // 2
    canvas[top : top + h, left : left + w] = small
    return canvas


def smallest_face(
    frames: list[np.ndarray], reference: YunetDetector, detector: YunetDetector
) -> dict[str, list[int | None]]:
    """Per frame size, the smallest face side (px) `detector` finds, one figure per frame."""
    out: dict[str, list[int | None]] = {}
    for size in FRAME_SIZES:
        floors: list[int | None] = []
        for frame in frames:
            box = reference.detect(frame)
            assert box is not None, "every sampled frame of single_face.mp4 has a face"
            floor = None
            for target in range(160, 8, -STEP_PX):
                if detector.detect(placed(frame, float(box[2]), target, size)) is None:
                    break
                floor = target
            floors.append(floor)
        out[f"{size[0]}x{size[1]}"] = floors
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, default=Path("../shared/fixtures"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    side = SCOUT_SIDE_PX["yunet"]
    scout, detector = YunetDetector(long_side_px=side), YunetDetector(long_side_px=DETECTOR_SIDE)
    agreed = agreement_per_video(args.fixtures, scout, detector)
    samples = read(args.fixtures / "single_face.mp4")[::12]
    floors = {
        "scout": smallest_face(samples, detector, scout),
        "detector": smallest_face(samples, detector, detector),
    }
    print(
        f"| video | frames | scout ({side} px) sees a face | YuNet ({DETECTOR_SIDE} px) finds one "
        "| differ |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, row in agreed.items():
        print(
            f"| {name} | {row['frames']} | {row['scout_sees']} | {row['detector_finds']} "
            f"| {row['differ']} |"
        )
    print()
    print("| frame size | scout: smallest face (px), median [range] | detector |")
    print("|---|---|---|")
    for size in floors["scout"]:
        cells = []
        for who in ("scout", "detector"):
            found = [f for f in floors[who][size] if f is not None]
            cells.append(f"{int(np.median(found))} [{min(found)}-{max(found)}]")
        print(f"| {size} | {cells[0]} | {cells[1]} |")
    if args.json is not None:
        figures = {
            "scout_side_px": side,
            "detector_side_px": DETECTOR_SIDE,
            "agreement": agreed,
            "smallest_face_px": floors,
        }
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()

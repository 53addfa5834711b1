"""Synthetic media for tests that need a video but no face in it."""

from pathlib import Path

import cv2
import numpy as np


def noise_video(path: Path, frames: int) -> Path:
    """An MJPG video of `frames` 64x48 frames of seeded noise (the same bytes on every call)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    return path

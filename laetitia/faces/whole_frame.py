"""The detector for frames that already are face crops: nothing to find, the box is the frame."""

from __future__ import annotations

import numpy as np


class WholeFrame:
    """No detection: every frame already is a face crop (FER2013 style), its box the frame."""

    name = "none"
    whole_frame = True

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray:
        """The whole frame as the face box (0, 0, W, H)."""
        height, width = frame_bgr.shape[:2]
        return np.array([0, 0, width, height], dtype=np.float32)

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def describe(self) -> dict[str, object]:
        """Just the name."""
        return {"name": self.name}

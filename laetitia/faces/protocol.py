"""What a face detector is: the `FaceDetector` protocol every detector and the tracker follow."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cv2
import numpy as np


@runtime_checkable
class FaceDetector(Protocol):
    """Finds the largest face in a frame."""

    name: str
    """Short name (one of `laetitia.faces.DETECTOR_NAMES`)."""

    whole_frame: bool
    """True when frames already are face crops (the box is the whole frame, nothing is found)."""

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray | None:
        """The largest face as a Haar-like box.

        Args:
            frame_bgr: uint8 frame (H, W, 3), BGR as OpenCV decodes.
            gray: The same frame in grayscale, if the caller has it already (saves a
                conversion); computed when None.

        Returns:
            float32 (4,) box x, y, w, h in frame pixels, or None when there is no face.
        """

    def reset(self) -> None:
        """Forget what earlier frames showed; the next frame is unrelated to them."""

    def describe(self) -> dict[str, object]:
        """Name and options, plain data for a session's meta.json."""


def gray_of(frame_bgr: np.ndarray, gray: np.ndarray | None) -> np.ndarray:
    """The frame in grayscale: `gray` when the caller has it already, else converted."""
    return gray if gray is not None else cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)

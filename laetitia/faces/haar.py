"""OpenCV's Haar cascade: the detector whose boxes the FER model's crop rule was written for."""

from __future__ import annotations

from pathlib import Path

import cv2
import cv2.data
import numpy as np

from laetitia.errors import ConfigError
from laetitia.faces.protocol import gray_of


class HaarDetector:
    """OpenCV's frontal-face Haar cascade, with the settings of the `fer` package.

    The cascade file ships in opencv-python-headless (< 5). These boxes are the ones the FER
    model's crop rule was written for, so no mapping is needed.

    Args:
        scale_factor: Step between the cascade's scales.
        min_neighbors: Overlapping hits a face needs to count.
        min_size_px: Smallest face side searched, in frame pixels.

    Raises:
        ConfigError: If OpenCV's cascade file is missing.
    """

    name = "haar"
    whole_frame = False
    CASCADE = "haarcascade_frontalface_default.xml"

    def __init__(
        self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size_px: int = 50
    ) -> None:
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size_px = int(min_size_px)
        path = Path(cv2.data.haarcascades) / self.CASCADE
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise ConfigError(
                f"OpenCV's Haar cascade {path} is missing or unreadable; reinstall "
                "opencv-python-headless<5 (OpenCV 5 ships no cascades), or use the mtcnn detector."
            )

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray | None:
        """The largest face the cascade finds, or None (see `FaceDetector.detect`)."""
        found = self._cascade.detectMultiScale(
            gray_of(frame_bgr, gray),
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            flags=cv2.CASCADE_SCALE_IMAGE,
            minSize=(self.min_size_px, self.min_size_px),
        )
        return _largest(np.asarray(found)) if len(found) else None

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def describe(self) -> dict[str, object]:
        """Name and cascade settings."""
        return {
            "name": self.name,
            "scale_factor": self.scale_factor,
            "min_neighbors": self.min_neighbors,
            "min_size_px": self.min_size_px,
        }


def _largest(boxes_xywh: np.ndarray) -> np.ndarray:
    """The box of largest area among (N, 4) x, y, w, h boxes, as float32 (4,)."""
    areas = boxes_xywh[:, 2] * boxes_xywh[:, 3]
    return np.asarray(boxes_xywh[int(np.argmax(areas))], dtype=np.float32)

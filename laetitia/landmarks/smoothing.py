"""The one-euro filter MediaPipe's face landmarker smooths a video's landmarks with.

In VIDEO mode MediaPipe computes the blendshapes from smoothed landmarks
(LandmarksSmoothingCalculator, as face_landmarker_graph.cc configures it: min_cutoff 0.05,
beta 80, derivate_cutoff 1, values scaled by 1 / the face's size). The smoothing is needed for
the readings to be MediaPipe's in a video (research R1: 0.006 from MediaPipe's smile with it,
0.25 without), and it takes a third of the frame-to-frame noise off a steady smile.

The filter's clock is the frame count, as MediaPipe sees a 30 fps video (`FRAME_RATE_HZ`, frame
i at round(i * 1000 / 30) ms): a reading then depends on the frames alone, never on when a
camera delivered them, so a session re-scored from its kept frames reads the same values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Final

import numpy as np

FRAME_RATE_HZ: Final = 30.0
"""The frame rate the filter takes frames to come at (a 30 fps camera)."""


@dataclass(frozen=True)
class OneEuroSettings:
    """The filter's settings (MediaPipe's face landmarker's)."""

    min_cutoff: float = 0.05
    """Cut-off frequency at rest, Hz."""
    beta: float = 80.0
    """How much the cut-off rises with the landmarks' speed."""
    derivate_cutoff: float = 1.0
    """Cut-off frequency of the speed estimate, Hz."""
    frame_rate_hz: float = FRAME_RATE_HZ
    """The frame rate frames are taken to come at."""

    def describe(self) -> dict[str, float]:
        """The settings, for a session's record of the signal."""
        return asdict(self)


class OneEuroFilter:
    """Smooths one face's landmarks from frame to frame; `reset` when the face is lost."""

    def __init__(self, settings: OneEuroSettings | None = None) -> None:
        self.settings = settings or OneEuroSettings()
        self.reset()

    def reset(self) -> None:
        """Forget the face: the next frame starts the filter afresh."""
        self._frame = 0
        self._last_ms: int | None = None
        self._rate = self.settings.frame_rate_hz
        self._value: np.ndarray | None = None
        self._raw: np.ndarray | None = None
        self._speed: np.ndarray | None = None

    def _alpha(self, cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * self._rate)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """The smoothed landmarks, float64 (N, 3), of this frame's (frame pixels)."""
        points = points.astype(np.float64)
        now_ms = round(self._frame * 1000 / self.settings.frame_rate_hz)
        self._frame += 1
        if self._last_ms is not None:
            self._rate = 1000.0 / (now_ms - self._last_ms)
        self._last_ms = now_ms
        size = (np.ptp(points[:, 0]) + np.ptp(points[:, 1])) / 2
        scale = 1.0 / max(float(size), 1e-6)
        if self._raw is None:
            change = np.zeros_like(points)
        else:
            change = (points - self._raw) * scale * self._rate
        a = self._alpha(self.settings.derivate_cutoff)
        self._speed = change if self._speed is None else a * change + (1 - a) * self._speed
        alpha = self._alpha(self.settings.min_cutoff + self.settings.beta * np.abs(self._speed))
        self._value = points if self._value is None else alpha * points + (1 - alpha) * self._value
        self._raw = points
        return self._value

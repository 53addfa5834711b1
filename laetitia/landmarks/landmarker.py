"""The face landmarker: a frame in, the face's 478 landmarks and 52 blendshapes out.

    landmarker = FaceLandmarker()
    reading = landmarker.read(frame_bgr, follow=True)   # None: no face
    reading.blendshape("mouthSmileLeft")

A new face is found by YuNet (`laetitia.faces.YunetDetector`, its largest face): its box and eye
keypoints give the first region (`roi_from_yunet`), the landmark network reads the face there,
and reads it once more in the region of those landmarks (one refinement: the YuNet region is
close to, but not, the one the network was trained on). Then:

- in a video (`follow=True`) the face is followed as MediaPipe's VIDEO mode follows it: each
  frame is read in the region of the previous frame's landmarks, no detector runs, and the
  blendshapes are computed from landmarks smoothed by the one-euro filter
  (`laetitia.landmarks.smoothing`). When the network's presence score falls below
  `MIN_PRESENCE`, the face is lost and the next frame searches again.
- for unrelated images (`follow=False`) every image is searched afresh, without smoothing.

A caller that knows there is no face in a frame (the FER pipeline's detector found none) passes
`search=False`: a face being followed is still read, but none is searched for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from laetitia.landmarks.bundle import (
    BLENDSHAPE_LANDMARKS,
    BLENDSHAPE_NAMES,
    LANDMARK_SIDE,
    LANDMARKER_MODEL,
    LANDMARKER_SHA256,
    LandmarkNetworks,
)
from laetitia.landmarks.geometry import (
    TRACKING_SCALE,
    YUNET_ROI,
    Roi,
    YunetRoiRule,
    crop,
    project,
    roi_from_landmarks,
    roi_from_yunet,
)
from laetitia.landmarks.smoothing import OneEuroFilter, OneEuroSettings

if TYPE_CHECKING:
    from laetitia.faces import YunetDetector

MIN_PRESENCE: Final = 0.5
"""Lowest presence score (sigmoid of the network's logit) at which a face counts as there."""


@dataclass(frozen=True, eq=False)
class Reading:
    """The landmark network's reading of one face in one frame."""

    roi: Roi
    """The region the network read."""
    landmarks: np.ndarray
    """float32 (478, 3): x, y in frame pixels, z scaled like x (smoothed in a video)."""
    presence: float
    """How sure the network is that a face is there, in [0, 1]."""
    blendshapes: np.ndarray
    """float32 (52,): scores in [0, 1], in the order of `BLENDSHAPE_NAMES`."""

    def blendshape(self, name: str) -> float:
        """One blendshape's score by name (`BLENDSHAPE_NAMES`)."""
        return float(self.blendshapes[BLENDSHAPE_NAMES.index(name)])


class FaceLandmarker:
    """MediaPipe's face landmarker with YuNet finding the face; see the module.

    Nothing loads in the constructor but what is given; the networks and YuNet load on the
    first `read`.

    Args:
        networks: The landmark and blendshape networks; None for the shipped bundle on LiteRT.
        finder: The YuNet detector that finds a new face; None for the shipped YuNet at its
            default settings.
        rule: How YuNet's box and eyes give the first region.
        smoothing: The one-euro filter's settings (used when following a face in a video).
    """

    def __init__(
        self,
        networks: LandmarkNetworks | None = None,
        finder: YunetDetector | None = None,
        rule: YunetRoiRule = YUNET_ROI,
        smoothing: OneEuroSettings | None = None,
    ) -> None:
        self._networks = networks
        self._finder = finder
        self.rule = rule
        self.filter = OneEuroFilter(smoothing)
        self._roi: Roi | None = None

    @property
    def networks(self) -> LandmarkNetworks:
        """The networks (loaded on first use)."""
        if self._networks is None:
            self._networks = LandmarkNetworks()
        return self._networks

    @property
    def finder(self) -> YunetDetector:
        """The YuNet detector that finds a new face (loaded on first use)."""
        if self._finder is None:
            from laetitia.faces import YunetDetector

            self._finder = YunetDetector()
        return self._finder

    def reset(self) -> None:
        """Forget the face being followed: the next frame searches afresh."""
        self._roi = None
        self.filter.reset()

    def read(
        self, frame_bgr: np.ndarray, follow: bool = True, search: bool = True
    ) -> Reading | None:
        """The face in a frame, or None when there is none.

        Args:
            frame_bgr: uint8 (H, W, 3) BGR (or (H, W) grayscale).
            follow: True for the frames of a video, read in order: follow the face from the
                previous frame and smooth its landmarks. False for an unrelated image.
            search: False when the frame is known to hold no face: a face being followed is
                still read, but none is searched for.
        """
        if not follow:
            self.reset()
        if self._roi is not None:
            found = self._landmarks(frame_bgr, self._roi)
        elif search:
            found = self._search(frame_bgr)
        else:
            found = None
        if found is None:
            self.reset()
            return None
        points, roi, presence = found
        if follow:
            self._roi = roi_from_landmarks(points)
            points = self.filter(points)
        scores = self.networks.blendshapes(
            points[BLENDSHAPE_LANDMARKS, :2].astype(np.float32)[None]
        )
        return Reading(roi, points.astype(np.float32), presence, scores.copy())

    def _search(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, Roi, float] | None:
        """Find a new face with YuNet, read it, and read it again in its landmarks' region."""
        boxes, keypoints = self.finder.detect_all_with_keypoints(frame_bgr)
        if len(boxes) == 0:
            return None
        largest = int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
        first = self._landmarks(frame_bgr, roi_from_yunet(boxes[largest], keypoints[largest, :2]))
        if first is None:
            return None
        return self._landmarks(frame_bgr, roi_from_landmarks(first[0]))

    def _landmarks(self, frame_bgr: np.ndarray, roi: Roi) -> tuple[np.ndarray, Roi, float] | None:
        """The landmarks (frame pixels) read in `roi`, the roi and the presence; None if no face."""
        tensor = _rgb(crop(frame_bgr, roi, LANDMARK_SIDE)).astype(np.float32)[None] / 255.0
        raw, logit = self.networks.landmarks(tensor)
        presence = 1.0 / (1.0 + math.exp(-logit))
        if presence < MIN_PRESENCE:
            return None
        return project(raw / LANDMARK_SIDE, roi), roi, presence

    def describe(self) -> dict[str, Any]:
        """What the readings depend on, for a session's record of its signal."""
        return {
            "model": LANDMARKER_MODEL,
            "model_sha256": LANDMARKER_SHA256,
            "runtime": "ai-edge-litert",
            "finder": self.finder.describe(),
            "first_region": {"from": "yunet", **self.rule.describe(), "refinements": 1},
            "tracking": {"from": "previous landmarks", "scale": TRACKING_SCALE},
            "min_presence": MIN_PRESENCE,
            "smoothing": {"filter": "one-euro", **self.filter.settings.describe()},
        }


def _rgb(patch_bgr: np.ndarray) -> np.ndarray:
    """A crop in the network's channel order: RGB (a grayscale crop repeated).

    The crop is warped from the BGR frame and its channels swapped after: the same pixels as
    warping an RGB copy of the frame, without copying the frame.
    """
    if patch_bgr.ndim == 2:
        return np.repeat(patch_bgr[:, :, None], 3, axis=2)
    return patch_bgr[:, :, ::-1]

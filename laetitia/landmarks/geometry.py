"""Where the landmark network looks: rotated regions of a frame, the crop, and the way back.

Following MediaPipe's face landmarker graph (google-ai-edge/mediapipe, tasks/cc/vision/
face_landmarker/, and the calculators it uses), in numpy and OpenCV:

- a region (`Roi`) is a rotated rectangle in frame pixels: its centre, size and rotation;
- the crop is OpenCV's perspective warp of the region's corners onto the 256 x 256 input,
  bilinear, the border replicated (`crop`);
- the landmarks come back in crop pixels and are projected into the frame (`project`);
- the next frame's region is the box of this frame's landmarks with the eye line level, squared
  on its long side and scaled by 1.5 (`roi_from_landmarks`, MediaPipe's tracking rule).

The first region of a new face comes from YuNet's box and eye keypoints (`roi_from_yunet`):
MediaPipe's own face detector is not used. The rule (`YUNET_ROI`) was fitted without labels on
real faces so that YuNet's region matches the one MediaPipe's detector gives (research R1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Final

import cv2
import numpy as np

EYE_OUTER: Final = (33, 263)
"""The landmarks whose line sets the tracked region's rotation: the outer eye corners."""
TRACKING_SCALE: Final = 1.5
"""How much larger than the landmarks' box the next frame's region is (MediaPipe's)."""


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle in frame pixels."""

    cx: float
    """Centre, x."""
    cy: float
    """Centre, y."""
    width: float
    height: float
    rotation: float
    """Radians, MediaPipe's sign (positive turns the image's x axis towards its y axis)."""


@dataclass(frozen=True)
class YunetRoiRule:
    """A square region from YuNet's face box and eye keypoints.

    The side is `scale` box heights; the centre is the box's centre moved by (`dx`, `dy`) box
    heights in the face's own frame (x along the eye line, y down the face); the rotation makes
    the eye line level.
    """

    scale: float
    dx: float
    dy: float

    def describe(self) -> dict[str, float]:
        """The rule's constants, for a session's record of the signal."""
        return asdict(self)


YUNET_ROI: Final = YunetRoiRule(scale=1.315, dx=0.0, dy=0.040)
"""The rule the smile signal uses, fitted on 108 photos and 216 video frames of real faces
(research R1, `fit_yunet_roi.py`: scale 1.3152, dx 0.0018, dy 0.0403, rounded here)."""


def normalize_radians(angle: float) -> float:
    """`angle` brought into [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rotation_of(x0: float, y0: float, x1: float, y1: float) -> float:
    """The rotation that makes the line from (x0, y0) to (x1, y1) level, in frame pixels."""
    return normalize_radians(-math.atan2(-(y1 - y0), x1 - x0))


def roi_from_yunet(box: np.ndarray, eyes: np.ndarray, rule: YunetRoiRule = YUNET_ROI) -> Roi:
    """The first region of a face YuNet found.

    Args:
        box: YuNet's box x1, y1, x2, y2 (`YunetDetector.detect_all_with_keypoints`), frame px.
        eyes: float (2, 2): YuNet's right eye then left eye (the person's), x, y in frame px.
        rule: The region's size and offset (`YUNET_ROI`).
    """
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    height = y2 - y1
    rotation = rotation_of(
        float(eyes[0, 0]), float(eyes[0, 1]), float(eyes[1, 0]), float(eyes[1, 1])
    )
    c, s = math.cos(rotation), math.sin(rotation)
    ox, oy = rule.dx * height, rule.dy * height
    side = rule.scale * height
    cx = (x1 + x2) / 2 + c * ox - s * oy
    cy = (y1 + y2) / 2 + s * ox + c * oy
    return Roi(cx, cy, side, side, rotation)


def roi_from_landmarks(points: np.ndarray) -> Roi:
    """The next frame's region from this frame's landmarks (frame pixels, (478, 2 or 3))."""
    x0, y0 = float(points[:, 0].min()), float(points[:, 1].min())
    x1, y1 = float(points[:, 0].max()), float(points[:, 1].max())
    a, b = points[EYE_OUTER[0]], points[EYE_OUTER[1]]
    rotation = rotation_of(float(a[0]), float(a[1]), float(b[0]), float(b[1]))
    side = max(x1 - x0, y1 - y0) * TRACKING_SCALE
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, side, side, rotation)


def crop(frame: np.ndarray, roi: Roi, side: int) -> np.ndarray:
    """The region as a uint8 side x side crop, in the frame's own channel order.

    MediaPipe's ImageToTensor with OpenCV: the rectangle's corners (`cv2.boxPoints`) warped onto
    the square, bilinear, the border replicated.
    """
    box = ((roi.cx, roi.cy), (roi.width, roi.height), math.degrees(roi.rotation))
    corners = np.asarray(
        cv2.boxPoints(box), dtype=np.float32
    )  # bottom-left, top-left, top-right, ...
    square = np.array([[0, side], [0, 0], [side, 0], [side, side]], np.float32)
    warp = cv2.getPerspectiveTransform(corners, square)
    return cv2.warpPerspective(
        frame, warp, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def project(points: np.ndarray, roi: Roi) -> np.ndarray:
    """Landmarks in crop fractions (N, 3) projected into frame pixels (x, y; z scaled by width)."""
    x = points[:, 0] - 0.5
    y = points[:, 1] - 0.5
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    out = np.empty_like(points)
    out[:, 0] = (c * x - s * y) * roi.width + roi.cx
    out[:, 1] = (s * x + c * y) * roi.height + roi.cy
    out[:, 2] = points[:, 2] * roi.width
    return out

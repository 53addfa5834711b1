"""Shrinking an image before a detector or the tracker looks at it: one helper, one rule.

The rule: an image is resized by a scale factor with area interpolation (`cv2.INTER_AREA`, which
averages the pixels each output pixel covers, so a shrunk frame does not alias), each side
becoming the input side times the scale, rounded to the nearest pixel (Python's `round`) and at
least 1 px. The detectors (`MtcnnDetector`, `YunetDetector`) choose the scale that brings one
side of the frame down to their working size (`shrunk_to_side`) and divide the boxes they find
by the same scale; the tracker scales the face to its template size (`scaled`).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np


def scaled(image: np.ndarray, scale: float) -> np.ndarray:
    """`image` resized by `scale` by the module's rule (area interpolation, at least 1 x 1).

    Args:
        image: uint8 image (H, W) or (H, W, C).
        scale: Output size per input size; below 1 shrinks. Above 1 the image grows (the
            tracker's template, for a face under its 32 px).

    Returns:
        The resized image, round(W * scale) x round(H * scale), each side at least 1.
    """
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def shrunk_to_side(
    image: np.ndarray, side_px: int, side: Literal["shorter", "longer"]
) -> tuple[np.ndarray, float]:
    """`image` shrunk so its shorter (or longer) side is `side_px`, and the scale it took.

    Args:
        image: uint8 image (H, W) or (H, W, C).
        side_px: Largest size of that side, in px; 0 leaves every image at full size.
        side: Which side `side_px` limits.

    Returns:
        The image and the scale (output pixels per input pixel): `image` itself and 1.0 when
        `side_px` is 0 or that side is at most `side_px` already (an image is never enlarged),
        otherwise `scaled(image, side_px / that side)`.
    """
    height, width = image.shape[:2]
    current = min(height, width) if side == "shorter" else max(height, width)
    if not side_px or current <= side_px:
        return image, 1.0
    scale = side_px / current
    return scaled(image, scale), scale

"""Turn camera frames and face boxes into the model's input, as the model card says.

Three pure steps, each named: `to_gray` (BGR frame to grayscale), `crop_face` (one face box to
the square crop the model was trained on) and `normalize` (uint8 crops to the float tensor the
network takes). The input size, scaling and crop rule come from the `ModelCard`; none of them is
restated here.

The one crop rule so far, "fer_square_pad10", is the `fer` package's own (fer 25.10.3,
`FER.detect_emotions`): pad the grayscale frame by 40 px with the mean of its two bottom rows,
make the box square by growing its shorter side, widen it by 10 px on each side, clamp its
top-left corner to the padded frame and resize the slice bilinearly to S x S.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch

from laetitia.errors import ConfigError
from laetitia.fer.card import ModelCard

FER_FRAME_PAD_PX = 40
"""Border the `fer` package adds around the whole grayscale frame before cropping."""

FER_BOX_MARGIN_PX = 10
"""Margin the `fer` package adds on each side of the squared face box."""

Box = Sequence[float] | np.ndarray
"""A face box (x, y, w, h) in frame pixels: a sequence, or a float32 array as detectors give."""
CropRule = Callable[[np.ndarray, Box, int], np.ndarray]
"""(grayscale frame, box x/y/w/h, output side S) -> uint8 crop (S, S)."""


def to_gray(frame_bgr: np.ndarray) -> np.ndarray:
    """Convert an OpenCV frame to grayscale with `cv2.COLOR_BGR2GRAY`.

    Args:
        frame_bgr: uint8 image (H, W, 3) in BGR order, (H, W, 4) BGRA, or (H, W) /
            (H, W, 1) already grayscale.

    Returns:
        uint8 array (H, W). A 2-D input is returned as is (no copy).

    Raises:
        ValueError: If the array is not a uint8 image of one of those shapes.
    """
    if frame_bgr.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {frame_bgr.dtype}.")
    if frame_bgr.ndim == 2:
        return frame_bgr
    if frame_bgr.ndim == 3:
        channels = frame_bgr.shape[2]
        if channels == 1:
            return frame_bgr[:, :, 0]
        if channels == 3:
            return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        if channels == 4:
            return cv2.cvtColor(frame_bgr, cv2.COLOR_BGRA2GRAY)
    raise ValueError(
        f"expected an image (H, W), (H, W, 1), (H, W, 3) BGR or (H, W, 4) BGRA, "
        f"got shape {frame_bgr.shape}."
    )


def crop_fer_square_pad10(gray: np.ndarray, box_xywh: Box, size: int) -> np.ndarray:
    """The `fer` package's face crop, output identical to its pad-then-slice code.

    Only the window is padded, not the whole frame: the padded frame is constant outside the
    image, so bordering the visible part of the window with the same value gives the same
    pixels without copying the frame.

    Args:
        gray: uint8 grayscale frame (H, W).
        box_xywh: Face box (x, y, w, h) in frame pixels, as a Haar cascade gives it.
        size: Output side S.

    Returns:
        uint8 crop (S, S).

    Raises:
        ValueError: If the widened box does not overlap the padded frame.
    """
    height, width = gray.shape
    x, y, w, h = _square_box(box_xywh)
    pad, margin = FER_FRAME_PAD_PX, FER_BOX_MARGIN_PX
    # Window in padded-frame coordinates; fer clamps only the top-left corner, and numpy
    # slicing clips the bottom-right one at the padded frame's edge.
    x1, y1 = max(0, x - margin + pad), max(0, y - margin + pad)
    x2 = min(x + w + margin + pad, width + 2 * pad)
    y2 = min(y + h + margin + pad, height + 2 * pad)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(
            f"face box {tuple(box_xywh)} lies outside the {width}x{height} frame; "
            "pass boxes found in this frame."
        )
    # The same window in frame coordinates, and the part of it that shows the frame.
    fx1, fx2, fy1, fy2 = x1 - pad, x2 - pad, y1 - pad, y2 - pad
    vx1, vx2 = min(max(fx1, 0), width), min(max(fx2, 0), width)
    vy1, vy2 = min(max(fy1, 0), height), min(max(fy2, 0), height)
    visible = gray[vy1:vy2, vx1:vx2]
    borders = (vy1 - fy1, fy2 - vy2, vx1 - fx1, fx2 - vx2)  # top, bottom, left, right
    if not any(borders):  # the usual case, a face well inside the frame: no copy at all
        window = visible
    elif visible.size:
        fill = _bottom_rows_mean(gray)
        window = cv2.copyMakeBorder(visible, *borders, cv2.BORDER_CONSTANT, value=fill)
    else:  # the window shows only padding
        window = np.full((fy2 - fy1, fx2 - fx1), _as_uint8(_bottom_rows_mean(gray)), np.uint8)
    return cv2.resize(window, (size, size), interpolation=cv2.INTER_LINEAR)


CROP_RULES: dict[str, CropRule] = {"fer_square_pad10": crop_fer_square_pad10}
"""Crop rules by the name a `ModelCard.crop` gives."""


def crop_face(gray: np.ndarray, box_xywh: Box, card: ModelCard) -> np.ndarray:
    """Cut one face out of a grayscale frame the way the card's model was trained.

    Nothing here handles "no face": call it only for boxes a detector returned.

    Args:
        gray: uint8 grayscale frame (H, W) (see `to_gray`).
        box_xywh: Face box (x, y, w, h) in frame pixels, Haar-cascade style; non-integer
            values are rounded to the nearest pixel.
        card: The model card; its `crop` names the rule and `input_size` the output side.

    Returns:
        uint8 crop (S, S) with S = card.input_size.

    Raises:
        ConfigError: If the card names a crop rule this version does not know.
        ValueError: If `gray` is not a 2-D uint8 image or the box misses the frame.
    """
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(
            f"expected a uint8 grayscale frame (H, W), got {gray.dtype} {gray.shape}; "
            "convert it with laetitia.fer.preprocess.to_gray."
        )
    return crop_rule(card.crop)(gray, box_xywh, card.input_size)


def crop_rule(name: str) -> CropRule:
    """The crop function a card's `crop` field names.

    Raises:
        ConfigError: If no rule has that name.
    """
    try:
        return CROP_RULES[name]
    except KeyError:
        raise ConfigError(
            f"unknown face-crop rule {name!r}; this version of laetitia knows "
            f"{sorted(CROP_RULES)}. Upgrade laetitia or use a model made for one of these."
        ) from None


def normalize(crops_uint8: np.ndarray, card: ModelCard) -> torch.Tensor:
    """Scale uint8 crops into the network's input: (x / 255 - mean) / std, per the card.

    Args:
        crops_uint8: uint8 crops (N, S, S) for a grayscale card, (N, S, S, 3) RGB otherwise.
        card: The model card (input size, channels, mean, std).

    Returns:
        float32 tensor (N, C, S, S) on the CPU.

    Raises:
        ValueError: If the crops have the wrong dtype or shape for the card.
    """
    size = card.input_size
    expected = (size, size) if card.grayscale else (size, size, 3)
    if (
        crops_uint8.dtype != np.uint8
        or crops_uint8.ndim != 3 + (not card.grayscale)
        or (crops_uint8.shape[1:] != expected)
    ):
        raise ValueError(
            f"expected uint8 crops of shape (N, {', '.join(map(str, expected))}), got "
            f"{crops_uint8.dtype} {crops_uint8.shape}; make them with crop_face."
        )
    # A 256-entry table per channel: one gather per pixel, same float32 values as the formula.
    table = _scale_table(card)
    if card.grayscale:
        return torch.from_numpy(table[0][crops_uint8]).unsqueeze(1)
    channels = [table[c][crops_uint8[..., c]] for c in range(3)]
    return torch.from_numpy(np.stack(channels, axis=1))


@functools.lru_cache(maxsize=8)
def _scale_table(card: ModelCard) -> np.ndarray:
    """float32 (C, 256): the network input for each uint8 value of each channel (read-only)."""
    levels = np.arange(256, dtype=np.float32) / np.float32(255.0)
    mean = np.asarray(card.mean, dtype=np.float32)[:, None]
    std = np.asarray(card.std, dtype=np.float32)[:, None]
    table = (levels[None, :] - mean) / std
    table.flags.writeable = False
    return table


def _square_box(box_xywh: Box) -> tuple[int, int, int, int]:
    """The `fer` package's `tosquare`: grow the shorter side, centred with integer halves."""
    if len(box_xywh) != 4:
        raise ValueError(f"a face box is (x, y, w, h), got {box_xywh!r}.")
    x, y, w, h = (int(round(float(v))) for v in box_xywh)
    if w <= 0 or h <= 0:
        raise ValueError(f"a face box needs positive width and height, got {tuple(box_xywh)}.")
    if h > w:
        x -= (h - w) // 2
        w = h
    elif w > h:
        y -= (w - h) // 2
        h = w
    return x, y, w, h


def _bottom_rows_mean(gray: np.ndarray) -> float:
    """The value fer pads the frame with: the mean of its two bottom rows."""
    return cv2.mean(gray[gray.shape[0] - 2 :, :])[0]


def _as_uint8(value: float) -> int:
    """OpenCV's saturate_cast<uchar> of a double: round half to even, clip to [0, 255]."""
    return int(min(max(round(value), 0), 255))

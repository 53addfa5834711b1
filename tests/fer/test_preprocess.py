"""Preprocessing: grayscale, the fer package's crop rule, and scaling read from the card."""

import dataclasses

import cv2
import numpy as np
import pytest

from laetitia.errors import ConfigError
from laetitia.fer import crop_face, normalize, read_card, to_gray


@pytest.fixture(scope="module")
def card():
    return read_card(None)


def fer_package_crop(gray: np.ndarray, box, size: int) -> np.ndarray:
    """fer 25.10.3's `detect_emotions` crop, transcribed: pad the frame, square, offset, slice."""
    pad = 40
    row, col = gray.shape
    mean = cv2.mean(gray[row - 2 : row, 0:col])[0]
    padded = cv2.copyMakeBorder(
        gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=[mean, mean, mean]
    )
    x, y, w, h = box
    if h > w:
        x -= (h - w) // 2
        w = h
    elif w > h:
        y -= (w - h) // 2
        h = w
    x1, x2, y1, y2 = x - 10 + pad, x + w + 10 + pad, y - 10 + pad, y + h + 10 + pad
    return cv2.resize(padded[max(0, y1) : y2, max(0, x1) : x2], (size, size))


def test_crop_matches_fer_package_for_boxes_inside_across_and_beyond_the_edges(card):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, size=(90, 120), dtype=np.uint8)
    gray[-2:] = 101  # bottom rows whose mean is an exact integer ...
    gray[-1, :60] = 102  # ... and then one ending in .25, to check the fill's rounding
    boxes = [(10, 10, 40, 40), (0, 0, 30, 50), (-5, -8, 50, 30), (100, 70, 40, 40)]
    boxes += [(-45, 20, 20, 20), (80, -45, 30, 20), (110, 80, 60, 70), (30, 20, 1, 60)]
    boxes += [tuple(rng.integers(-30, 110, 2)) + tuple(rng.integers(1, 90, 2)) for _ in range(40)]
    for box in boxes:
        expected = fer_package_crop(gray, box, card.input_size)
        ours = crop_face(gray, box, card)
        assert ours.dtype == np.uint8 and ours.shape == (card.input_size, card.input_size)
        np.testing.assert_array_equal(ours, expected, err_msg=f"box {box}")


def test_fill_rounds_like_opencv(card):
    # Bottom-row mean 100.5: OpenCV rounds half to even, so the padding is 100.
    gray = np.full((60, 60), 200, np.uint8)
    gray[-2:] = np.tile([100, 101], 30)
    np.testing.assert_array_equal(
        crop_face(gray, (-30, -30, 10, 10), card), fer_package_crop(gray, (-30, -30, 10, 10), 64)
    )


def test_crop_refuses_a_box_outside_the_frame_and_bad_frames(card):
    gray = np.zeros((50, 50), np.uint8)
    with pytest.raises(ValueError, match="outside"):
        crop_face(gray, (500, 500, 20, 20), card)
    with pytest.raises(ValueError, match="positive"):
        crop_face(gray, (5, 5, 0, 20), card)
    with pytest.raises(ValueError, match="to_gray"):
        crop_face(np.zeros((50, 50, 3), np.uint8), (5, 5, 20, 20), card)


def test_crop_rule_and_size_come_from_the_card(card):
    gray = np.zeros((80, 80), np.uint8)
    small = dataclasses.replace(card, input_size=48)
    assert crop_face(gray, (10, 10, 30, 30), small).shape == (48, 48)
    with pytest.raises(ConfigError, match="fer_square_pad10"):
        crop_face(gray, (10, 10, 30, 30), dataclasses.replace(card, crop="mtcnn_tight"))


def test_to_gray_converts_bgr_and_passes_gray_through():
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 0] = 255  # pure blue
    gray = to_gray(bgr)
    assert gray.shape == (4, 5) and gray.dtype == np.uint8
    assert int(gray[0, 0]) == int(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)[0, 0]) == 29
    already = np.arange(20, dtype=np.uint8).reshape(4, 5)
    assert to_gray(already) is already
    np.testing.assert_array_equal(to_gray(already[..., None]), already)
    assert to_gray(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5)
    with pytest.raises(ValueError, match="uint8"):
        to_gray(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        to_gray(np.zeros((4, 5, 2), np.uint8))


def test_normalize_scales_as_the_fer_package(card):
    crops = np.array([[[0, 255], [128, 64]]], np.uint8).repeat(32, 1).repeat(32, 2)
    x = normalize(crops, card)
    assert x.shape == (1, 1, 64, 64) and x.dtype.is_floating_point
    fer = (crops.astype(np.float32) / 255.0 - 0.5) * 2.0
    np.testing.assert_array_equal(x[:, 0].numpy(), fer)
    assert x.min().item() == -1.0 and x.max().item() == 1.0


def test_normalize_reads_mean_and_std_from_the_card(card):
    plain = dataclasses.replace(card, mean=(0.0,), std=(1.0,))
    crops = np.full((2, 64, 64), 51, np.uint8)
    np.testing.assert_allclose(normalize(crops, plain).numpy(), 0.2, rtol=1e-6)


def test_normalize_refuses_wrong_crops(card):
    with pytest.raises(ValueError, match="crop_face"):
        normalize(np.zeros((2, 48, 48), np.uint8), card)
    with pytest.raises(ValueError, match="crop_face"):
        normalize(np.zeros((2, 64, 64), np.float32), card)
    assert normalize(np.zeros((0, 64, 64), np.uint8), card).shape == (0, 1, 64, 64)

"""Synthetic FER datasets with learnable classes, in both layouts the trainer reads.

Each class is a shape on a noisy face-sized background (a horizontal bar, a vertical bar, a
ring, an X, ...). The shapes survive the training augmentation (the mirror image of each is
the same shape), vary in place, size, thickness and brightness, and are easy for a CNN to tell
apart, so a few epochs of training beat chance by a wide margin. The training fixtures use
four classes; `SHAPES` has one shape for each of the seven, for whole-label-map files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

SHAPES: dict[str, str] = {
    "angry": "hbar",
    "disgust": "plus",
    "fear": "disk",
    "happy": "ring",
    "sad": "vbar",
    "surprise": "x",
    "neutral": "square",
}
"""Class name (label map) -> shape drawn for it."""

FOUR = ("angry", "happy", "sad", "surprise")
"""The classes of the training fixtures, in label-map order."""


def draw_face(shape: str, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """One uint8 (size, size) image of `shape` on a noisy background."""
    image = np.full((size, size), rng.uniform(60, 100), np.float64)
    canvas = np.zeros((size, size), np.uint8)
    c = size // 2 + rng.integers(-4, 5, size=2)
    r = int(size * rng.uniform(0.25, 0.35))
    t = int(rng.integers(3, 6))
    if shape == "hbar":
        cv2.line(canvas, (int(c[0] - r), int(c[1])), (int(c[0] + r), int(c[1])), 255, t)
    elif shape == "vbar":
        cv2.line(canvas, (int(c[0]), int(c[1] - r)), (int(c[0]), int(c[1] + r)), 255, t)
    elif shape == "ring":
        cv2.circle(canvas, (int(c[0]), int(c[1])), r, 255, t)
    elif shape == "x":
        for sign in (-1, 1):
            start, end = (c[0] - r, c[1] - sign * r), (c[0] + r, c[1] + sign * r)
            cv2.line(canvas, tuple(map(int, start)), tuple(map(int, end)), 255, t)
    elif shape == "plus":
        cv2.line(canvas, (int(c[0] - r), int(c[1])), (int(c[0] + r), int(c[1])), 255, t)
        cv2.line(canvas, (int(c[0]), int(c[1] - r)), (int(c[0]), int(c[1] + r)), 255, t)
    elif shape == "disk":
        cv2.circle(canvas, (int(c[0]), int(c[1])), r, 255, -1)
    elif shape == "square":
        cv2.rectangle(
            canvas, (int(c[0] - r), int(c[1] - r)), (int(c[0] + r), int(c[1] + r)), 255, t
        )
    else:
        raise ValueError(shape)
    image += (canvas > 0) * rng.uniform(90, 140)
    image += rng.normal(0, 12, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def make_faces(per_class: int, seed: int, classes=FOUR) -> tuple[np.ndarray, list[str]]:
    """(images uint8 (N, 48, 48), class names), classes interleaved."""
    rng = np.random.default_rng(seed)
    images, names = [], []
    for _ in range(per_class):
        for name in classes:
            images.append(draw_face(SHAPES[name], rng))
            names.append(name)
    return np.stack(images), names


def write_fer2013_csv(
    path: Path, per_class: int, seed: int = 0, usage: bool = True, classes=FOUR
) -> Path:
    """A FER2013-format CSV; with `usage`, 80/10/10 % Training/PublicTest/PrivateTest per class."""
    from laetitia.labels import INDEX

    images, names = make_faces(per_class, seed, classes)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["emotion", "pixels", "Usage"] if usage else ["emotion", "pixels"])
        for i, (image, name) in enumerate(zip(images, names, strict=True)):
            row = [INDEX[name], " ".join(map(str, image.ravel()))]
            if usage:
                k = i // len(classes) % 10
                row.append("PublicTest" if k == 8 else "PrivateTest" if k == 9 else "Training")
            writer.writerow(row)
    return path


def write_folders(
    root: Path, per_class: int, seed: int = 0, splits: bool = False, classes=FOUR
) -> Path:
    """Class folders of PNGs, flat (`happy/...`) or under train/, val/, test/ (80/10/10 %)."""
    images, names = make_faces(per_class, seed, classes)
    for i, (image, name) in enumerate(zip(images, names, strict=True)):
        k = i // len(classes) % 10
        split = ("val" if k == 8 else "test" if k == 9 else "train") if splits else ""
        folder = root / split / name
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    return root


@pytest.fixture(scope="session")
def fer_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FER2013 CSV with Usage: 4 classes x 40 images (48x48)."""
    return write_fer2013_csv(tmp_path_factory.mktemp("fer_csv") / "fer2013.csv", per_class=40)


@pytest.fixture(scope="session")
def fer_folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Flat class folders: 4 classes x 40 PNGs (48x48)."""
    return write_folders(tmp_path_factory.mktemp("fer_folders"), per_class=40)


QUICK = dict(input_size=32, batch_size=8, lr=5e-3, lr_min=2.5e-4, device="cpu")
"""Training settings that learn the synthetic shapes in a few epochs of seconds each."""


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, fer_csv: Path):
    """One real mini-Xception run on the synthetic CSV (4 classes, 4 epochs): a TrainResult."""
    from laetitia.fer.train import TrainConfig, train

    out = tmp_path_factory.mktemp("trained") / "run"
    config = TrainConfig(data=str(fer_csv), out=str(out), classes=FOUR, epochs=4, **QUICK)
    return train(config, progress=False, log=lambda line: None)


def fer_cli(argv: list[str]) -> int:
    """Run `laetitia fer ARGV` through the real argument parser; the command's exit code."""
    from laetitia.cli import main

    return main(["fer", *argv])

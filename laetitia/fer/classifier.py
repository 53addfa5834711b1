"""`FerModel`: a FER network with its card and identity, from uint8 face crops to probabilities."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from laetitia.fer.card import ModelCard
from laetitia.fer.model import MiniXception
from laetitia.fer.preprocess import normalize

DEFAULT_BATCH_SIZE = 64
"""Crops per forward pass; larger inputs are split into chunks of this size."""


class FerModel:
    """A loaded FER model: network, card and identity; crops in, logits or probabilities out.

    Made by `laetitia.fer.load_model`. Inference runs on a channels-last copy of the network
    with its BatchNorms folded into the convolutions (same outputs to ~1e-6, about twice as
    fast on CPU); `module` stays the unfused network, the one `save_model` writes. The copy is
    made once: changes to `module` after construction do not reach the predictions.

    Args:
        module: The network in eval mode, of the architecture the card names.
        card: The model's identity (classes, input size, scaling, crop rule).
        identity: sha256 of the weights file (see `model_identity`).
        device: Torch device the module is on.
        batch_size: Crops per forward pass.
    """

    def __init__(
        self,
        module: nn.Module,
        card: ModelCard,
        identity: str,
        device: str | torch.device = "cpu",
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self._module = module.eval()
        self._card = card
        self._identity = identity
        self._device = torch.device(device)
        self._batch_size = batch_size
        inference = copy.deepcopy(module)
        if isinstance(inference, MiniXception):  # the one architecture with a fusion
            inference.fuse_batchnorm()
        # Channels-last runs the depthwise convs and max pools several times faster on CPU.
        self._inference = inference.to(memory_format=torch.channels_last)

    @property
    def card(self) -> ModelCard:
        """The model card: classes, input size, scaling, crop rule, source, licence."""
        return self._card

    @property
    def class_names(self) -> tuple[str, ...]:
        """Output classes in column order of `predict_logits` / `predict_proba`."""
        return self._card.class_names

    @property
    def identity(self) -> str:
        """sha256 of the weights file this model was loaded from."""
        return self._identity

    @property
    def module(self) -> nn.Module:
        """The unfused network (eval mode)."""
        return self._module

    @property
    def device(self) -> torch.device:
        """Torch device the network runs on."""
        return self._device

    def predict_logits(self, crops: np.ndarray) -> np.ndarray:
        """Class logits for a batch of face crops.

        Args:
            crops: uint8 grayscale face crops (N, S, S), S = card.input_size, as `crop_face`
                makes them. N may be 0.

        Returns:
            float32 array (N, C), C = len(class_names); (0, C) for no crops.

        Raises:
            ValueError: If the crops have the wrong dtype or shape for the card.
        """
        num_classes = len(self._card.class_names)
        if crops.ndim >= 1 and crops.shape[0] == 0:
            normalize(crops, self._card)  # still refuse a wrongly shaped empty batch
            return np.zeros((0, num_classes), np.float32)
        chunks = []
        with torch.inference_mode():
            for start in range(0, crops.shape[0], self._batch_size):
                batch = normalize(crops[start : start + self._batch_size], self._card)
                batch = batch.to(self._device, memory_format=torch.channels_last)
                logits = self._inference(batch)
                chunks.append(logits.to("cpu", torch.float32).numpy())
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        """Class probabilities (softmax of `predict_logits`), float32 (N, C); rows sum to 1."""
        logits = torch.from_numpy(self.predict_logits(crops))
        return torch.softmax(logits, dim=1).numpy()

    def __repr__(self) -> str:
        return (
            f"FerModel(name={self._card.name!r}, classes={len(self.class_names)}, "
            f"input={self._card.input_size}, identity={self._identity[:12]}, "
            f"device={self._device})"
        )

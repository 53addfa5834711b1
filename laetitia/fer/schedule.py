"""What each epoch of a FER training run follows: its learning rate, image order and loss weights.

All three are pure functions of the config, the epoch and a seeded generator, so a resumed run
draws what an uninterrupted one would have.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from laetitia.fer.train_config import TrainConfig


def cosine_lr(epoch: int, epochs: int, lr: float, lr_min: float) -> float:
    """Learning rate of epoch `epoch` (0-based): a cosine from `lr` (first) to `lr_min` (last)."""
    if epochs <= 1:
        return lr
    return (
        lr_min + (lr - lr_min) * (1 + math.cos(math.pi * min(epoch, epochs - 1) / (epochs - 1))) / 2
    )


def sample_order(
    labels: torch.Tensor, class_weights: Sequence[float], generator: torch.Generator
) -> torch.Tensor:
    """Positions of one epoch's training images, in training order.

    Equal weights: every image once, shuffled. Otherwise len(labels) draws with replacement,
    each image drawn with probability proportional to its class's weight.
    """
    if len(set(class_weights)) == 1:
        return torch.randperm(len(labels), generator=generator)
    per_image = torch.tensor(class_weights, dtype=torch.float64)[labels]
    return torch.multinomial(per_image, len(labels), replacement=True, generator=generator)


def loss_weight_vector(config: TrainConfig, train_counts: Mapping[str, int]) -> list[float]:
    """Per-class cross-entropy weights: `loss_weights`, times inverse frequency if balanced."""
    weights = np.array([config.loss_weights[c] for c in config.classes], np.float64)
    if config.balanced_loss:
        counts = np.array([train_counts[c] for c in config.classes], np.float64)
        inverse = counts.sum() / (len(counts) * counts)
        weights = weights * inverse / inverse.mean()
    return [float(w) for w in weights]

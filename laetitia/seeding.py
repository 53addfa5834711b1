"""The one seeding helper, called once per run by the training entry point."""

from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's and torch's global generators; return a numpy Generator for the run.

    numpy's global generator is left alone: laetitia code takes a Generator explicitly.
    """
    random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency; kept for a light import
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)

"""Habituation as the agents model it: how tired of an emoticon the emoticons shown make a person.

`bayes-opt` gives its GP the tiredness as an input; `particle` takes a share of the appeal away
by it. Kept apart from both so that an agent without torch imports none.
"""

from __future__ import annotations

import numpy as np


def tiredness(loads: np.ndarray) -> np.ndarray:
    """The habituation input `u = load / (1 + load)` in [0, 1) of habituation loads."""
    return loads / (1.0 + loads)


def habituation_load(point: np.ndarray, shown: np.ndarray, width: float, half_life: float) -> float:
    """How tired of `point` a person is after the emoticons `shown` (oldest first).

    Each shown emoticon counts `exp(-d² / 2 width²)` (d: the normalised distance), halved
    every `half_life` emoticons shown since.
    """
    if shown.size == 0:
        return 0.0
    age = np.arange(shown.shape[0] - 1, -1, -1, dtype=np.float64)
    d2 = np.sum((shown - point) ** 2, axis=1)
    return float(np.sum(0.5 ** (age / half_life) * np.exp(-0.5 * d2 / width**2)))

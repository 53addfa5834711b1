"""Logistic regression in numpy: the map a profile applies, and how it is fitted.

    fit = fit_logistic(features, labels, penalty=np.full(8, 0.01))
    p = fit.predict(features)                # P(label 1) per row

The fit is L2-regularised and class-balanced (the two classes weigh the same whatever their
counts), on features standardised with the fitted rows' mean and deviation, by Newton's method
with a backtracking line search: a few dozen rows and eight features need no extra dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow warnings for large |z|; NaN stays NaN."""
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.exp(-np.logaddexp(0.0, -z))


def logit(p: np.ndarray, floor: float) -> np.ndarray:
    """Log-odds of probabilities clipped to [floor, 1 - floor] (0 and 1 have none)."""
    clipped = np.clip(np.asarray(p, dtype=np.float64), floor, 1.0 - floor)
    return np.log(clipped / (1.0 - clipped))


@dataclass(frozen=True)
class LogisticFit:
    """A logistic regression on standardised features: sigmoid(bias + w . (x - mean) / scale)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    @classmethod
    def of(
        cls,
        mean: Sequence[float],
        scale: Sequence[float],
        weights: Sequence[float],
        bias: float,
    ) -> LogisticFit:
        """The fit from the plain numbers a JSON record holds (a profile, a population fit)."""
        return cls(np.asarray(mean), np.asarray(scale), np.asarray(weights), float(bias))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """P(label 1) per row of `features`."""
        return sigmoid(((features - self.mean) / self.scale) @ self.weights + self.bias)


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, penalty: np.ndarray, max_iter: int = 100
) -> LogisticFit:
    """L2-regularised, class-balanced logistic regression by Newton's method.

    Minimises sum_i(c_i * logloss_i) + 1/2 sum_j(penalty_j * w_j^2) over standardised
    features, with c_i = 1 / (2 n_class(i)) so each class weighs the same; the intercept is not
    penalised.

    Args:
        features: float (N, D).
        labels: (N,) of 0 and 1, both present.
        penalty: (D,) positive L2 penalty of each weight.
        max_iter: Newton steps at most.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    assert np.all(np.asarray(penalty) > 0) and set(np.unique(y)) == {0.0, 1.0}
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = np.column_stack([(x - mean) / scale, np.ones(len(x))])
    c = _class_weights(y)
    # The intercept goes unpenalised; a whisker keeps the Hessian invertible.
    pen = np.r_[np.asarray(penalty, dtype=np.float64), 1e-9]

    def loss(theta: np.ndarray) -> float:
        s = z @ theta
        return float(c @ (np.logaddexp(0, s) - y * s) + 0.5 * pen @ theta**2)

    theta = np.zeros(z.shape[1])
    current = loss(theta)
    for _ in range(max_iter):
        p = sigmoid(z @ theta)
        grad = z.T @ (c * (p - y)) + pen * theta
        hess = (z * (c * p * (1 - p))[:, None]).T @ z + np.diag(pen)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while (new := loss(theta - t * step)) > current and t > 1e-8:
            t /= 2
        theta, previous, current = theta - t * step, current, new
        if previous - current < 1e-12:
            break
    return LogisticFit(mean=mean, scale=scale, weights=theta[:-1], bias=float(theta[-1]))


def rescale(fit: LogisticFit, features: np.ndarray, labels: np.ndarray, l2: float) -> LogisticFit:
    """Refit the slope and offset of a fit's score by a 1-D logistic regression with penalty l2.

    The first fit chooses a direction in feature space; how steeply P(smile) rises along it,
    and so the resting value, should not depend on how hard that direction was regularised.
    The result is the same kind of map (its weights scaled, its bias moved).
    """
    score = ((features - fit.mean) / fit.scale) @ fit.weights
    line = fit_logistic(score[:, None], labels, np.array([l2]))
    slope = float(line.weights[0] / line.scale[0])
    return LogisticFit(
        mean=fit.mean,
        scale=fit.scale,
        weights=slope * fit.weights,
        bias=line.bias - slope * float(line.mean[0]),
    )


def _class_weights(y: np.ndarray) -> np.ndarray:
    """Per-row weights that give each class half the total (sum 1)."""
    n_pos = y.sum()
    return np.where(y == 1, 0.5 / n_pos, 0.5 / (len(y) - n_pos))

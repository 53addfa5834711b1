"""A parametric guess at a person's favourite emoticon, for the `bayes-opt` agent's GP mean.

A person likes emoticons less the further they are from a favourite: far from it the readings
still slope towards it. A Gaussian process with a stationary kernel forgets that slope a
length scale away from its data; a bump fitted to all the readings keeps it. The model is

    y = c + a · exp(-½ Σ_i ((x_i − μ_i) / w_i)²) · (1 − b · u)

over the normalised emoticon `x` and its habituation input `u` (`b`: how much of the appeal
habituation takes away), fitted by least squares (scipy's trust-region reflective, an
analytic Jacobian) from a few starts. Its centre `μ` is where the readings as a whole point;
the GP (`laetitia.agents.gp.TasteGP`) takes the bump as a mean feature with a fitted weight and
models what it misses (a narrow top, a flat one, a second favourite).

Parameters `theta = [c, log a, μ (n), log w (n), logit b]`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import least_squares

CENTRE_BOUND = 1.5
"""The centre stays within this of the middle of each normalised range."""
WIDTHS = (0.15, 4.0)
"""Smallest and largest width, normalised units."""
CENTRE_SD = 0.8
"""Ridge on the centre: a favourite is an emoticon of the box, not far outside it."""
RIDGE = 0.05
"""Weight of the ridge residuals against the readings' (in P(happy))."""


def n_theta(n: int) -> int:
    """Parameters of a bump over `n` emoticon parameters."""
    return 2 * n + 3


def initial_theta(centre: np.ndarray, values: np.ndarray, width: float = 0.7) -> np.ndarray:
    """A bump at `centre` as high as the readings' range, above their least."""
    height = max(float(values.max() - values.min()), 0.02)
    n = centre.size
    return np.concatenate(
        [[float(values.min()), math.log(height)], centre, np.full(n, math.log(width)), [0.0]]
    )


def predict(theta: np.ndarray, points: np.ndarray, tiring: np.ndarray | None = None) -> np.ndarray:
    """The bump at normalised emoticons (m, n), tired by habituation inputs `tiring` (m,)."""
    return _predict_and_jacobian(theta, points, tiring, jacobian=False)[0]


def _predict_and_jacobian(
    theta: np.ndarray, points: np.ndarray, tiring: np.ndarray | None, jacobian: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    n = points.shape[1]
    c, height = theta[0], math.exp(theta[1])
    centre, width = theta[2 : 2 + n], np.exp(theta[2 + n : 2 + 2 * n])
    share = 1.0 / (1.0 + math.exp(-theta[-1]))
    z = (points - centre) / width
    bump = np.exp(-0.5 * np.sum(z**2, axis=1))
    tired = np.ones(points.shape[0]) if tiring is None else 1.0 - share * tiring
    value = c + height * bump * tired
    if not jacobian:
        return value, None
    jac = np.empty((points.shape[0], theta.size))
    jac[:, 0] = 1.0
    jac[:, 1] = height * bump * tired
    jac[:, 2 : 2 + n] = (height * bump * tired)[:, None] * z / width
    jac[:, 2 + n : 2 + 2 * n] = (height * bump * tired)[:, None] * z**2
    jac[:, -1] = 0.0 if tiring is None else -height * bump * tiring * share * (1.0 - share)
    return value, jac


def _bounds(n: int) -> tuple[np.ndarray, np.ndarray]:
    lo = np.concatenate(
        [[-1.0, -6.0], np.full(n, -CENTRE_BOUND), np.full(n, math.log(WIDTHS[0])), [-6.0]]
    )
    hi = np.concatenate(
        [[1.0, 1.0], np.full(n, CENTRE_BOUND), np.full(n, math.log(WIDTHS[1])), [6.0]]
    )
    return lo, hi


def fit(
    points: np.ndarray,
    values: np.ndarray,
    tiring: np.ndarray | None,
    starts: list[np.ndarray],
    iterations: int = 50,
) -> np.ndarray:
    """The least-squares bump from the best of `starts` (each clipped into the bounds).

    Args:
        points: float (m, n) normalised emoticons read.
        values: float (m,) their readings.
        tiring: float (m,) their habituation inputs in [0, 1), or None.
        starts: Parameter vectors to start from (`initial_theta`, an earlier fit).
        iterations: Function evaluations per start, at most.
    """
    n = points.shape[1]
    lo, hi = _bounds(n)
    ridge = RIDGE / CENTRE_SD

    def residuals(theta: np.ndarray) -> np.ndarray:
        value = predict(theta, points, tiring)
        return np.concatenate([value - values, ridge * theta[2 : 2 + n]])

    def jacobian(theta: np.ndarray) -> np.ndarray:
        jac = _predict_and_jacobian(theta, points, tiring)[1]
        assert jac is not None
        extra = np.zeros((n, theta.size))
        extra[:, 2 : 2 + n] = ridge * np.eye(n)
        return np.vstack([jac, extra])

    best, best_cost = None, math.inf
    for start in starts:
        x0 = np.clip(start, lo + 1e-9, hi - 1e-9)
        result = least_squares(
            residuals, x0, jac=jacobian, bounds=(lo, hi), method="trf", max_nfev=iterations
        )
        if result.cost < best_cost:
            best, best_cost = result.x, float(result.cost)
    assert best is not None
    return best


def centre(theta: np.ndarray, n: int) -> np.ndarray:
    """The bump's centre, clipped into the emoticon box."""
    return np.clip(theta[2 : 2 + n], -1.0, 1.0)

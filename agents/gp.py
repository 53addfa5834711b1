"""A small exact Gaussian process for the `bayes-opt` agent: taste plus mood, noise learned.

A person's reading of an emoticon is modelled as

    y = m(x) + f(x, u) + d(t) + noise

- `m(x) = c + w · prior(x)`: a constant, plus a prior mean (`laetitia.app.prior`)
  whose weight `w` is fitted, so data can discount a wrong prior (w → 0);
- `f(x, u)`: the person's taste over the normalised emoticon `x`, and `u`, how tired the
  person is of emoticons like it (the habituation load, `bayes_opt.habituation_load`), under
  one Matérn-5/2 kernel with a length scale per input (ARD), plus (with `trend_dims`) a
  Bayesian quadratic trend in the emoticon, `s · φ(x)·φ(x')` with `φ = [x, x² − 1/3]`: far
  from the readings the posterior keeps their slope instead of falling back to the constant;
- `d(t)`: the mood, a slow drift over the step count `t` (an RBF kernel), shared by every
  emoticon shown at the same time, so it cancels when emoticons are compared;
- with `drift`, a taste that moves: the Matérn part of `f` is multiplied by an RBF kernel over
  `t` with a length scale of its own (learned, `Priors.drift`), so readings far in the past say
  less of the taste now; the posterior is asked at a time (`at_time`, by default the last
  reading's);
- with `previous` inputs (the emoticon on show before each reading's), a reading that carries
  over: the face still shows part of the previous emoticon's response when the frames are read
  (a person's reaction starts 0.3-0.7 s after a change), so a reading is
  `(1 - w) g(x) + w g(x_previous)`, with the carried share `w` learned (`Priors.carry`): the
  settle the person needs, learned from their readings;
- independent noise whose variance is fitted.

What the agent optimises is `g(x) = m(x) + f(x, 0)`: the taste of a rested person, without
the mood of the moment. Hyperparameters are maximum a posteriori (mild log-normal priors)
under scipy's L-BFGS-B, warm-started from the previous fit; between fits the posterior is
rebuilt exactly from the data with the hyperparameters fixed (one Cholesky factorisation).

Everything is float64 torch on the CPU and deterministic for the same data and start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

# At import, not at the first fit: the import takes seconds, a person should not wait for it.
from scipy.optimize import minimize

SQRT5 = math.sqrt(5.0)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
MIN_NOISE = 1e-4
"""Lower bound of the noise variance, in standardised units."""


@dataclass(frozen=True)
class Priors:
    """Log-normal priors (median, log standard deviation) on the hyperparameters.

    Length scales are in normalised emoticon units (each parameter's range is 2 wide); the
    variances are in units of the readings' variance (readings are standardised).
    """

    lengthscale: tuple[float, float] = (1.0, 1.0)
    """Per emoticon parameter and for the habituation load."""
    signal: tuple[float, float] = (1.0, 1.0)
    """Variance of the taste f."""
    mood_lengthscale: tuple[float, float] = (0.5, 0.75)
    """Of the mood, in hundreds of steps."""
    mood: tuple[float, float] = (0.05, 1.0)
    """Variance of the mood d."""
    noise: tuple[float, float] = (0.1, 1.0)
    """Variance of a reading's noise."""
    trend: tuple[float, float] = (0.3, 1.0)
    """Variance of each weight of the quadratic trend."""
    drift: tuple[float, float] = (3.0, 1.0)
    """Length scale of a moving taste (`TasteGP(drift=True)`), in hundreds of steps."""
    carry: tuple[float, float] = (0.2, 1.5)
    """Share of a reading carried over from the previous emoticon (`TasteGP(previous=...)`):
    its median, and the standard deviation of its log-odds."""


def _log_normal(value: torch.Tensor, prior: tuple[float, float]) -> torch.Tensor:
    median, scale = prior
    return -0.5 * ((torch.log(value) - math.log(median)) / scale) ** 2


def matern52(a: torch.Tensor, b: torch.Tensor, lengthscale: torch.Tensor) -> torch.Tensor:
    """Matérn-5/2 correlation between rows of `a` (m, k) and `b` (n, k): (m, n)."""
    d2 = torch.cdist(a / lengthscale, b / lengthscale).square()
    r = torch.sqrt(d2 + 1e-12)
    return (1.0 + SQRT5 * r + (5.0 / 3.0) * d2) * torch.exp(-SQRT5 * r)


def _features(inputs: torch.Tensor, dims: int) -> torch.Tensor:
    """The quadratic trend's features of the first `dims` inputs: x and x² − 1/3, per input."""
    x = inputs[:, :dims]
    return torch.cat([x, x.square() - 1.0 / 3.0], dim=1) / math.sqrt(2 * dims)


def log_h(z: torch.Tensor) -> torch.Tensor:
    """log(φ(z) + z Φ(z)), the log of expected improvement per unit of standard deviation.

    Stable for very negative z (as BoTorch's LogEI: Ament et al., 2023), where EI itself
    underflows and would give no gradient.
    """
    zp = z.clamp(min=-1.0)
    direct = torch.log(torch.exp(-0.5 * zp**2 - LOG_SQRT_2PI) + zp * torch.special.ndtr(zp))
    zn = z.clamp(max=-1.0)
    # h = φ(z)(1 + z Φ(z)/φ(z)) with Φ/φ = sqrt(π/2) erfcx(-z/√2): log1p keeps the digits.
    ratio = zn * math.sqrt(math.pi / 2.0) * torch.special.erfcx(-zn / math.sqrt(2.0))
    tail = -0.5 * zn**2 - LOG_SQRT_2PI + torch.log1p(ratio.clamp(min=-1.0 + 1e-15))
    far = -0.5 * zn**2 - LOG_SQRT_2PI - 2.0 * torch.log(-zn)  # 1 + z Φ/φ ≈ 1/z² there
    tail = torch.where(zn < -1e6, far, tail)
    return torch.where(z > -1.0, direct, tail)


class TasteGP:
    """The model above, for inputs `(x, u)` (n, k), times `t` (n,) and readings `y` (n,).

    Args:
        inputs: float64 (n, k): the normalised emoticon, then the habituation input(s).
        times: float64 (n,): the step of each reading, in hundreds of steps.
        readings: float64 (n,): the readings.
        prior: float64 (n,): the prior mean of each emoticon, in the readings' units; None
            without a prior (then `w` is not a hyperparameter).
        raw: Log-hyperparameters to start from (`raw` of an earlier fit); None: the priors'
            medians.
        priors: The hyperparameter priors.
        trend_dims: The first this many inputs (the emoticon) carry the quadratic trend;
            0: no trend.
        drift: Let the taste move over time (see the module).
        previous: float64 (n, k): the inputs of the emoticon on show before each reading's, to
            learn how much of it a reading carries over; None: nothing carries over.
        previous_prior: float64 (n,): their prior mean (with a prior and `previous` only).
    """

    def __init__(
        self,
        inputs: torch.Tensor,
        times: torch.Tensor,
        readings: torch.Tensor,
        prior: torch.Tensor | None = None,
        raw: torch.Tensor | None = None,
        priors: Priors = Priors(),  # noqa: B008 - frozen, shared safely
        trend_dims: int = 0,
        drift: bool = False,
        previous: torch.Tensor | None = None,
        previous_prior: torch.Tensor | None = None,
    ) -> None:
        self.trend_dims = trend_dims
        self.drift = drift
        self.previous = previous
        self.inputs = inputs
        self.times = times[:, None]
        self.offset = readings.mean()
        self.scale = (
            readings.std().clamp(min=1e-3) if readings.numel() > 1 else readings.new_ones(())
        )
        self.y = (readings - self.offset) / self.scale
        self.prior = None if prior is None else (prior - self.offset) / self.scale
        self.previous_prior = (
            None if previous_prior is None else (previous_prior - self.offset) / self.scale
        )
        self.priors = priors
        self.k = inputs.shape[1]
        self._drift_at = self.k + 7
        self._carry_at = self.k + 7 + int(drift)
        self.raw = self.initial_raw() if raw is None else raw.clone()
        self._factor()

    # ----- hyperparameters --------------------------------------------------------------------
    # raw = [log lengthscales (k), log signal, log mood lengthscale, log mood, log noise, c, w,
    #        log trend(, log drift lengthscale)]
    def initial_raw(self) -> torch.Tensor:
        """The priors' medians (and c = 0, w = 1)."""
        p = self.priors
        logs = [math.log(p.lengthscale[0])] * self.k + [
            math.log(p.signal[0]),
            math.log(p.mood_lengthscale[0]),
            math.log(p.mood[0]),
            math.log(p.noise[0]),
        ]
        tail = [math.log(p.trend[0])] + ([math.log(p.drift[0])] if self.drift else [])
        if self.previous is not None:
            tail.append(math.log(p.carry[0] / (1.0 - p.carry[0])))
        return torch.tensor([*logs, 0.0, 1.0, *tail], dtype=torch.float64)

    def carried(self, raw: torch.Tensor | None = None) -> torch.Tensor:
        """The share of a reading carried over from the previous emoticon (0 without one)."""
        if self.previous is None:
            return torch.zeros((), dtype=torch.float64)
        return torch.sigmoid((self.raw if raw is None else raw)[self._carry_at])

    def _unpack(self, raw: torch.Tensor) -> tuple[torch.Tensor, ...]:
        k = self.k
        lengthscale = torch.exp(raw[:k])
        signal, mood_ls, mood = torch.exp(raw[k]), torch.exp(raw[k + 1]), torch.exp(raw[k + 2])
        noise = MIN_NOISE + torch.exp(raw[k + 3])
        return lengthscale, signal, mood_ls, mood, noise, raw[k + 4], raw[k + 5]

    def _taste(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        raw: torch.Tensor,
        times: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Covariance of the taste f between input rows `a` (m, k) and `b` (n, k).

        With `drift`, `times` are the rows' times (m, 1) and (n, 1): the taste moves.
        """
        lengthscale, signal, *_ = self._unpack(raw)
        cov = signal * matern52(a, b, lengthscale)
        if self.drift and times is not None:
            apart = torch.cdist(times[0], times[1]).square()
            cov = cov * torch.exp(-0.5 * apart / torch.exp(raw[self._drift_at]) ** 2)
        if self.trend_dims:
            cov = cov + torch.exp(raw[self.k + 6]) * (
                _features(a, self.trend_dims) @ _features(b, self.trend_dims).T
            )
        return cov

    def _taste_var(self, a: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """Prior variance of the taste f at input rows `a` (m, k): (m,)."""
        var = self._unpack(raw)[1].expand(a.shape[0])
        if self.trend_dims:
            var = var + torch.exp(raw[self.k + 6]) * _features(a, self.trend_dims).square().sum(1)
        return var

    def _mean(self, raw: torch.Tensor, prior: torch.Tensor | None) -> torch.Tensor | float:
        *_, c, w = self._unpack(raw)
        return c if prior is None else c + w * prior

    def _reading_mean(self, raw: torch.Tensor) -> torch.Tensor | float:
        """The prior mean of each reading: of its emoticon's, and of the previous one's."""
        mean = self._mean(raw, self.prior)
        if self.previous is None or self.prior is None or self.previous_prior is None:
            return mean
        carry = self.carried(raw)
        return (1.0 - carry) * mean + carry * self._mean(raw, self.previous_prior)

    def _readings_taste(self, raw: torch.Tensor) -> torch.Tensor:
        """Covariance of the readings' taste part, the carried-over share included."""
        times = (self.times, self.times)
        now = self._taste(self.inputs, self.inputs, raw, times)
        if self.previous is None:
            return now
        carry = self.carried(raw)
        across = self._taste(self.inputs, self.previous, raw, times)
        before = self._taste(self.previous, self.previous, raw, times)
        return (
            (1.0 - carry) ** 2 * now
            + (1.0 - carry) * carry * (across + across.T)
            + carry**2 * before
        )

    def _covariance(self, raw: torch.Tensor) -> torch.Tensor:
        _, _, mood_ls, mood, noise, _, _ = self._unpack(raw)
        taste = self._readings_taste(raw)
        drift = mood * torch.exp(-0.5 * torch.cdist(self.times, self.times).square() / mood_ls**2)
        n = self.y.shape[0]
        return taste + drift + noise * torch.eye(n, dtype=torch.float64)

    def _log_prior(self, raw: torch.Tensor) -> torch.Tensor:
        lengthscale, signal, mood_ls, mood, noise, c, w = self._unpack(raw)
        p = self.priors
        total = _log_normal(lengthscale, p.lengthscale).sum()
        total = total + _log_normal(signal, p.signal) + _log_normal(mood_ls, p.mood_lengthscale)
        total = total + _log_normal(mood, p.mood) + _log_normal(noise, p.noise)
        total = total - 0.5 * c**2 + _log_normal(torch.exp(raw[self.k + 6]), p.trend)
        if self.drift:
            total = total + _log_normal(torch.exp(raw[self._drift_at]), p.drift)
        if self.previous is not None:
            median, spread = p.carry
            log_odds = math.log(median / (1.0 - median))
            total = total - 0.5 * ((raw[self._carry_at] - log_odds) / spread) ** 2
        if self.prior is not None:
            total = total - 0.5 * ((w - 1.0) / 0.5) ** 2
        return total

    def _loss(self, raw: torch.Tensor) -> torch.Tensor:
        """Negative log posterior of the hyperparameters, per reading."""
        resid = self.y - self._reading_mean(raw)
        chol = torch.linalg.cholesky(self._covariance(raw))
        alpha = torch.cholesky_solve(resid[:, None], chol)[:, 0]
        log_lik = -0.5 * resid @ alpha - torch.log(torch.diagonal(chol)).sum()
        return -(log_lik + self._log_prior(raw)) / self.y.shape[0]

    def fit(self, iterations: int) -> None:
        """Maximise the hyperparameters' posterior with L-BFGS-B from the current `raw`."""

        def loss_and_grad(flat: np.ndarray) -> tuple[float, np.ndarray]:
            raw = torch.as_tensor(flat, dtype=torch.float64).requires_grad_(True)
            with torch.enable_grad():  # also when asked for under no_grad
                try:
                    loss = self._loss(raw)
                # torch.linalg exports LinAlgError at run time but its stubs do not declare it.
                except torch.linalg.LinAlgError:  # type: ignore[attr-defined]
                    return math.inf, np.zeros_like(flat)  # an ill-conditioned trial step
                (grad,) = torch.autograd.grad(loss, raw)
            return float(loss.detach()), grad.numpy().copy()

        start = self.raw.numpy().copy()
        result = minimize(
            loss_and_grad,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-12.0, 12.0)] * start.size,
            options={"maxiter": iterations},
        )
        if np.isfinite(result.fun) and result.fun <= loss_and_grad(start)[0]:
            self.raw = torch.as_tensor(result.x, dtype=torch.float64)
        self._factor()

    def _factor(self) -> None:
        with torch.no_grad():
            self._chol = torch.linalg.cholesky(self._covariance(self.raw))
            resid = self.y - self._reading_mean(self.raw)
            self._alpha = torch.cholesky_solve(resid[:, None], self._chol)[:, 0]

    # ----- the posterior of g -----------------------------------------------------------------
    def _cross(self, inputs: torch.Tensor, at_time: float | None) -> torch.Tensor:
        """Covariance of the taste at `inputs` (now, or at `at_time`) with the readings'."""
        when = None
        if self.drift:
            now = float(self.times.max()) if at_time is None else at_time
            when = (torch.full((inputs.shape[0], 1), now, dtype=torch.float64), self.times)
        cross = self._taste(inputs, self.inputs, self.raw, when)
        if self.previous is None:
            return cross
        carry = self.carried()
        before = self._taste(inputs, self.previous, self.raw, when)
        return (1.0 - carry) * cross + carry * before

    def posterior(
        self, inputs: torch.Tensor, prior: torch.Tensor | None = None, at_time: float | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of g = m + f at `inputs` (m, k), in readings' units.

        Args:
            inputs: float64 (m, k) the emoticons with their habituation input(s).
            prior: float64 (m,) their prior mean in readings' units (with a prior only).
            at_time: When a moving taste is asked for (hundreds of steps); None: at the last
                reading's time.
        """
        cross = self._cross(inputs, at_time)
        scaled_prior = None if prior is None else (prior - self.offset) / self.scale
        mean = self._mean(self.raw, scaled_prior) + cross @ self._alpha
        v = torch.linalg.solve_triangular(self._chol, cross.T, upper=False)
        var = (self._taste_var(inputs, self.raw) - v.square().sum(0)).clamp(min=1e-12)
        return self.offset + self.scale * mean, self.scale * torch.sqrt(var)

    def sample(
        self,
        inputs: torch.Tensor,
        prior: torch.Tensor | None,
        generator: torch.Generator,
        at_time: float | None = None,
    ) -> torch.Tensor:
        """One draw of g jointly at `inputs` (m, k), all at one time, in readings' units: (m,)."""
        cross = self._cross(inputs, at_time)
        scaled_prior = None if prior is None else (prior - self.offset) / self.scale
        mean = self._mean(self.raw, scaled_prior) + cross @ self._alpha
        v = torch.linalg.solve_triangular(self._chol, cross.T, upper=False)
        cov = self._taste(inputs, inputs, self.raw) - v.T @ v
        jitter = 1e-6 * torch.eye(inputs.shape[0], dtype=torch.float64)
        chol = torch.linalg.cholesky(cov + jitter)
        normal = torch.randn(inputs.shape[0], dtype=torch.float64, generator=generator)
        return self.offset + self.scale * (mean + chol @ normal)

    def noise_sd(self) -> float:
        """The fitted standard deviation of a reading's noise, in readings' units."""
        return float(self.scale * torch.sqrt(self._unpack(self.raw)[4]))


def log_expected_improvement(
    mean: torch.Tensor, sd: torch.Tensor, best: torch.Tensor | float
) -> torch.Tensor:
    """Log E[max(g − best, 0)] for g ~ N(mean, sd²), elementwise."""
    z = (mean - best) / sd
    return torch.log(sd) + log_h(z)

"""Bayesian optimisation over the emoticon's parameters, built for people.

Every shown emoticon costs a person a second and a half and gives one noisy reading. A
Gaussian process (`laetitia.agents.gp.TasteGP`) models the readings as a taste over the
normalised emoticon (a Matérn kernel plus a quadratic trend), plus a slow mood drift over
time, plus noise whose level is learned. After a design (the emoticon on show at the start,
as `cma-es` starts from it, then space-filling points), the next emoticon is the best of one
joint posterior draw of the taste over candidates (Thompson sampling; LogEI and UCB are
settings: on people-v1's noisy readings they climb in tiny steps and reach 90% in fewer runs).
The recommendation is the emoticon read with the best *posterior mean*, never the best single
reading: a lucky reading is not taken for the best emoticon. Evidence for these choices is in
benchmarks/results/history.md ("The `bayes-opt` agent: how it was built, and what was
tried").

## Jumping to where the readings point
A GP with a stationary kernel forgets a slope a length scale away from its readings, and a
person's taste slopes gently towards a favourite from far off (the foothill of a plateau is
a fifth of its height). So with each refit the agent also fits a parametric *favourite*
(`laetitia.agents.favourite`: a Gaussian bump with a width per parameter, tired by
habituation) to all the readings by least squares, from several starts, and every
`favourite_every` readings it shows the bump's centre instead of the Thompson draw; the
draws also search around that centre. The GP decides everything else, and the readings at
the centre correct the bump at the next refit.

## What people do, and what the agent does about it
- **Noise**: ten frames per reading of a noisy classifier; the GP learns the noise variance.
- **Lag**: a person's face still shows the previous emoticon's response for the first frames
  of a reading. The agent reads P(happy) from the frames after the first `skip_frames` (all
  frames with a face when none is left).
- **Habituation**: an emoticon like those just shown amuses less. Each reading carries an
  input `u`, the habituation load: how many emoticons within `habituation_width` were shown,
  each counted with a half-life of `habituation_half_life` shown emoticons. The GP learns how
  much `u` matters; candidates and the recommendation are judged at `u = 0`, a rested person.
- **Mood**: an additive drift over the step count, shared by everything shown at the same
  time, so it does not count as taste.
- **Looking away**: a step with no face measures nothing and updates nothing; the same
  emoticon is shown again.

## Moving to the chosen emoticon
As `cma-es`, the agent prefers `step_size=1.0`, where one step reaches any emoticon. With a
smaller step size it walks there; every emoticon shown on the way is a reading too.

## A prior from other people
`prior_mean` (a function of normalised emoticons, in P(happy)) enters the GP's mean as
`c + w · prior(x)`, the weight `w` fitted, so a wrong prior is discounted as readings come in.
The `warm_start` emoticons (where other people smiled) are the first of the `initial_points`;
the design fills only the rest, so with a prior of `initial_points` emoticons every early
reading is spent where people smile (on people-v2 that took 40% off the median steps to 90%;
BENCHMARKS.md, "What does a prior learned from other people give?").

## Speed
A person waits for the agent between the end of one reading and the next emoticon.
Hyperparameters (and the favourite) are refitted every `refit_every` readings, warm-started
from the last fit, in a thread started once the next emoticon is chosen, so the fit runs while
the person is read; the next choice is the first to use it, in the background or not, so the
thread changes when the work is done, never what it gives. Otherwise the exact posterior is
rebuilt with the hyperparameters fixed (one Cholesky factorisation). Candidates are a Sobol
sample plus perturbations of the best emoticons. The GP sees the last `window` readings.

## Persistence
JSON holds the settings, the pending emoticon, the fit count and the favourite's seed; tensors
hold the design, the warm start, every reading (emoticon, habituation load, step, value, prior
mean), the current hyperparameters and the favourite. `load` rebuilds the GP from them, so a
loaded agent continues exactly like one that never stopped. Nothing is pickled.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import favourite
from laetitia.agents.base import Agent, emoticon_env
from laetitia.agents.gp import Priors, TasteGP, log_expected_improvement
from laetitia.agents.habituation import habituation_load, tiredness
from laetitia.agents.settings import Settings
from laetitia.errors import ConfigError
from laetitia.logistic import logit

if TYPE_CHECKING:
    from laetitia.types import Reaction

PriorMean = Callable[[np.ndarray], np.ndarray]
"""Prior mean reading of normalised emoticons, float (m, n) -> (m,), in P(happy)."""
LOCAL_SCALES = (0.02, 0.05, 0.1, 0.2, 0.4)
"""Standard deviations of the perturbations around the best emoticons, normalised units."""
Acquisition = Literal["thompson", "log-ei", "ucb"]
"""How the next emoticon is chosen: a posterior draw's best, LogEI, or an upper bound."""
Reading = Literal["mean", "logit"]
"""What a step's reading is: the mean of its frames' signal, or the mean of their log-odds."""
LOGIT_FLOOR = 1e-5
"""Frames are clipped to [LOGIT_FLOOR, 1 - LOGIT_FLOOR] before their log-odds are taken."""
VERDICT_RECENT = 10
"""Readings a verdict's prediction is anchored at (see `BayesOpt.responds`)."""
TOP_POINTS = 5
"""The best emoticons by posterior mean that local candidates are drawn around."""


def _mean_logit(reaction: Reaction | None, skip: int, reward: float) -> float:
    """The mean log-odds of a reaction's frames with a face after the first `skip`.

    All its frames with a face when none is left after `skip`; the reward's log-odds when the
    reaction is not known (a session recorded without frames).
    """
    if reaction is None:
        return float(logit(np.array([reward]), LOGIT_FLOOR)[0])
    happy = np.asarray(reaction.signal_values(), dtype=np.float64)
    face = np.asarray(reaction.has_face, dtype=bool)
    kept = face.copy()
    kept[:skip] = False
    frames = happy[kept] if kept.any() else happy[face]
    return (
        float(logit(frames, LOGIT_FLOOR).mean())
        if frames.size
        else float(logit(np.array([reward]), LOGIT_FLOOR)[0])
    )


@dataclass(frozen=True)
class BayesOptSettings(Settings):
    """Bayesian optimisation's settings."""

    agent: ClassVar[str] = "bayes-opt"
    limits: ClassVar[Mapping[str, tuple[int, int]]] = {
        "initial_points": (1, 1_000),
        "fit_iterations": (1, 10_000),
        "candidates": (1, 4_096),
        "local_candidates": (0, 4_096),
        "favourite_starts": (0, 1_000),
        "skip_frames": (0, 1_000),
        "window": (2, 5_000),
        "restarts": (1, 1_000),
        "ascent_iterations": (0, 10_000),
    }
    initial_points: int = 8
    """Emoticons shown before the GP chooses: the warm start's, then a design for the rest:
    the emoticon on show at the start (with `read_start`) and space-filling (scrambled
    Sobol) points. At least 1."""
    read_start: bool = True
    """Read the emoticon on show at the start first, as `cma-es` starts from it (the
    environment's start is a designer's guess; a design point costs one step wherever it
    is)."""
    refit_every: int = 5
    """Readings between two fits of the hyperparameters, at least 1."""
    fit_iterations: int = 30
    """L-BFGS-B iterations of a fit, at least 1."""
    candidates: int = 256
    """Sobol candidates for the acquisition, over the whole space; at least 1."""
    local_candidates: int = 256
    """Candidates drawn around the best emoticons."""
    quadratic_trend: bool = True
    """Add a Bayesian quadratic trend to the taste."""
    favourite_every: int = 5
    """Show the fitted favourite's centre when the readings' count is a multiple of this (0:
    never, and no favourite is fitted)."""
    favourite_starts: int = 8
    """Random centres the favourite's fit starts from, besides the best reading, the best
    posterior mean and the last fit."""
    trend_median: float = 0.3
    """Prior median of the trend's weight variance."""
    skip_frames: int = 3
    """Frames at the start of a reading left out (the face still shows the previous
    emoticon's response)."""
    habituation_width: float = 0.25
    """Normalised distance within which emoticons count as alike; positive."""
    habituation_half_life: float = 10.0
    """Shown emoticons after which a showing counts half; positive."""
    habituation_input: bool = True
    """Give the GP the habituation load as an input."""
    mood_input: bool = True
    """Model a mood drift over time."""
    window: int = 400
    """The most recent readings the GP is fitted to; at least twice `initial_points`."""
    restarts: int = 4
    """Candidates LogEI and UCB climb from."""
    ascent_iterations: int = 25
    """Adam steps of that climb."""
    ascent_step: float = 0.03
    """Adam's step size, in normalised units."""
    lengthscale_median: float = 1.0
    """Prior median of the length scales, normalised units."""
    lengthscale_spread: float = 1.0
    """Prior log standard deviation of the length scales."""
    noise_median: float = 0.1
    """Prior median of the noise variance, in the readings' variance."""
    background_fit: bool = True
    """Refit in a thread while the person is read (same choices)."""
    acquisition: Acquisition = "thompson"
    """"thompson" (the best of one joint posterior draw over the candidates), "log-ei" (LogEI
    over the best posterior mean) or "ucb" (mean + ucb_beta · sd); the last two climb from
    the `restarts` best candidates by `ascent_iterations` Adam steps of `ascent_step`."""
    ucb_beta: float = 2.0
    """The upper bound's multiple of the standard deviation."""
    reading: Reading = "mean"
    """A step's reading: "mean" (the mean of its frames' signal, the reward's scale) or
    "logit" (the mean of its frames' log-odds, clipped at `LOGIT_FLOOR`: the scale on which a
    blendshape signal's noise is even, from a resting face near 0 to a broad smile)."""
    taste_drift: bool = False
    """Let the taste move over time (`TasteGP(drift=True)`): old readings say less of now."""
    drift_median: float = 3.0
    """Prior median of a moving taste's time length scale, in hundreds of steps."""
    refit_share: float = 0.0
    """Refit once the readings since the last fit reach `refit_every` or this share of all
    readings, whichever is more (0: every `refit_every`)."""
    recommend_sd: float = 0.0
    """The recommendation is the emoticon read with the best posterior mean less this many
    posterior standard deviations (0: the best mean; more: an emoticon measured well enough
    to stay the recommendation as readings come)."""
    carry_over: bool = False
    """Model each reading as carrying over part of the previous emoticon's response (the face
    moves 0.3-1 s after a change), the carried share learned per person
    (`TasteGP(previous=...)`): a short settle costs the readings no accuracy."""
    carry_median: float = 0.2
    """Prior median of the carried-over share, in (0, 1)."""
    verdict_after: int = 40
    """Predicted readings before the agent says whether the person reacts (`responds`); 0:
    it never says."""
    verdict_z: float = 4.0
    """How sure the verdict must be that the model foresees the readings to say the person
    reacts: a threshold on `reaction_evidence`, which would be about a standard normal for a
    person who does not react if the readings were independent. They are not (a face's
    wander and mood run through consecutive readings): on people-v3's validation split the
    non-responders read 1.0-2.8 after 300 steps (above 1.64), the people who react 7.5 and up
    (BENCHMARKS.md, "Agents that find a faint smile")."""

    def _check(self) -> None:
        # The counts in `limits` are checked before this.
        if self.refit_every < 1:
            raise self._refused("refit_every", "must be at least 1")
        for key in ("favourite_every", "verdict_after", "recommend_sd"):
            if getattr(self, key) < 0:
                raise self._refused(key, "must be at least 0")
        for key in ("habituation_width", "habituation_half_life", "drift_median"):
            if getattr(self, key) <= 0:
                raise self._refused(key, "must be positive")
        ranges = {"refit_share": (0.0, 1.0, "[0, 1)"), "carry_median": (1e-9, 1.0, "(0, 1)")}
        for key, (low, high, shown) in ranges.items():
            if not low <= getattr(self, key) < high:
                raise self._refused(key, f"must be in {shown}")
        if self.window < 2 * self.initial_points:
            raise self._refused(
                "window", f"must hold at least twice the initial points ({self.initial_points})"
            )


class BayesOpt(Agent):
    """Gaussian-process Bayesian optimisation on `laetitia/Smile-v1`, one emoticon per step.

    Args:
        env: The environment (`laetitia/Smile-v1`).
        seed: Seeds the design and the candidates.
        prior_mean: A prior mean reading of normalised emoticons, its weight fitted.
        warm_start: float (k, n) normalised emoticons to show first.
        settings: `BayesOptSettings`; None: the defaults.
        **changes: Settings by name, over `settings`.
    """

    name = BayesOptSettings.agent
    takes_prior = True
    settings_class = BayesOptSettings
    settings: BayesOptSettings
    preferred_step_size = 1.0
    """The env step size the bench runs this agent with: one step reaches any emoticon."""

    def __init__(
        self,
        env: gym.Env | None,
        seed: int | None = None,
        prior_mean: PriorMean | None = None,
        warm_start: np.ndarray | None = None,
        settings: BayesOptSettings | None = None,
        **changes: Any,
    ) -> None:
        super().__init__(env, seed, settings, **changes)
        n = self._n_params()
        self.prior_mean = prior_mean
        self.warm_start = np.empty((0, n)) if warm_start is None else np.asarray(warm_start)
        if self.warm_start.ndim != 2 or self.warm_start.shape[1] != n:
            raise ConfigError(f"bayes-opt warm_start must be (k, {n}) emoticons.")
        self.warm_start = np.clip(self.warm_start.astype(np.float64), -1.0, 1.0)
        design = self._design_size()
        sobol = design - 1 if design and self.settings.read_start else design
        self.design = self._sobol(sobol, n)
        """The design, shown after the warm start: together `initial_points`. With
        `read_start`, the start emoticon is put first at the first step."""
        self.target: np.ndarray | None = None
        """The emoticon chosen and not yet read (shown again after a step with no face)."""
        self.points = np.empty((0, n))
        """The readings, oldest first (also what habituates the person): normalised emoticon,
        habituation load, step, value, prior mean."""
        self.loads = np.empty(0)
        self.times = np.empty(0)
        self.values = np.empty(0)
        self.priors = np.empty(0)
        self.before = np.empty((0, n))
        """Per reading, the emoticon on show before it (what the face may still show), with
        its habituation load when shown (`before_loads`) and prior mean (`before_priors`)."""
        self.before_loads = np.empty(0)
        self.before_priors = np.empty(0)
        self.raw: torch.Tensor | None = None
        """The GP's log-hyperparameters of the last fit (None before the first)."""
        self.fitted_at = 0
        """Readings there were at the last fit."""
        self.saved_with_prior = False
        """Whether the agent this one was loaded from had a prior mean."""
        self._gp: TasteGP | None = None
        self._best: np.ndarray | None = None
        self._fitting: threading.Thread | None = None
        self.favourite: np.ndarray | None = None
        """The favourite bump of the last fit (`laetitia.agents.favourite`; None before)."""
        self.favourite_seed = int(self.rng.integers(2**31 - 1))
        """Seeds the random starts of each fit of the favourite, with the readings' count."""
        self.expected: tuple[float, float] | None = None
        """For the pending target: the reading predicted without the emoticon mattering (the
        mean of the last readings) and with it (that, moved by the model's difference between
        the target and those readings' emoticons); None when not predicted."""
        self.foreseen = np.empty((0, 2))
        """Per predicted reading: the difference from the last readings' level the model
        predicted, and the one read (`responds`)."""
        self._fitted: tuple[torch.Tensor, np.ndarray | None, int] | None = None

    def _check_env(self, env: gym.Env) -> None:
        if not isinstance(env.action_space, gym.spaces.Box):
            raise ConfigError(
                "bayes-opt moves to chosen emoticons by continuous steps: use "
                f"laetitia/Smile-v1, not an env with a {type(env.action_space).__name__} "
                "action space."
            )
        step_size = float(emoticon_env(env).step_size)
        if step_size < self.preferred_step_size:
            warnings.warn(
                f"bayes-opt reaches the emoticon it chose in one step only with step_size "
                f"{self.preferred_step_size} (its default in laetitia train); with {step_size} "
                "it walks there, showing the emoticons on the way.",
                UserWarning,
                stacklevel=5,
            )

    def _n_params(self) -> int:
        if self.env is None:
            from laetitia.emoticon.params import PARAM_SPACE

            return len(PARAM_SPACE)
        return len(emoticon_env(self.env).space)

    def _design_size(self) -> int:
        """Emoticons of the design: the initial points the warm start leaves."""
        return max(0, self.settings.initial_points - self.warm_start.shape[0])

    def _sobol(self, count: int, n: int) -> np.ndarray:
        if count == 0:
            return np.empty((0, n))
        engine = torch.quasirandom.SobolEngine(
            n, scramble=True, seed=int(self.rng.integers(2**31 - 1))
        )
        return 2.0 * engine.draw(count, dtype=torch.float64).numpy() - 1.0

    def learn(
        self, total_timesteps: int, callback: BaseCallback | list[BaseCallback] | None = None
    ) -> Self:
        """As `Agent.learn`; a refit still in flight is waited for, so no thread outlives it."""
        try:
            return super().learn(total_timesteps, callback)
        finally:
            self._finish_fit()

    # ----- the hooks ------------------------------------------------------------------------
    def _act(self, obs: np.ndarray) -> np.ndarray:
        current = obs[:-1].astype(np.float64)
        if self.design.shape[0] < self._design_size():  # the first step, with read_start
            self.design = np.vstack([current, self.design])
        if self.target is None:
            self.target = self._next_point()
            self.expected = self._expected_reading(self.target, current)
            self._start_fit()
        return self._move(current, self.target)

    def _observe(
        self,
        obs: np.ndarray,
        action: Any,
        reward: float,
        next_obs: np.ndarray,
        info: dict[str, Any],
    ) -> None:
        if not info["scored"]:
            return  # no face: nothing measured; the same emoticon is shown again
        point = next_obs[:-1].astype(np.float64)
        self._add_before(obs[:-1].astype(np.float64))
        value = self._reading(info, reward)
        arrived = self.target is not None and np.allclose(point, self.target, atol=1e-4)
        if arrived and self.expected is not None:
            without, model = self.expected
            pair = np.array([[model - without, value - without]])
            self.foreseen = np.vstack([self.foreseen, pair])
        self._add_reading(point, value)
        if arrived:
            self.target, self.expected = None, None

    def _policy(self, obs: np.ndarray) -> np.ndarray:
        current = obs[:-1].astype(np.float64)
        best = self.best_point()
        return self._move(current, current if best is None else best)

    def _reading(self, info: dict[str, Any], reward: float) -> float:
        """The mean signal (or log-odds) of the frames with a face after the first `skip_frames`."""
        reaction = info.get("reaction")
        skip = self.settings.skip_frames
        if self.settings.reading == "logit":
            return _mean_logit(reaction, skip, reward)
        if reaction is None or skip == 0:
            return reward
        happy = np.asarray(reaction.signal_values(), dtype=np.float64)[skip:]
        face = np.asarray(reaction.has_face, dtype=bool)[skip:]
        return float(happy[face].mean()) if face.any() else reward

    def _add_before(self, shown: np.ndarray) -> None:
        """Keep the emoticon on show before the reading about to be added, with its load."""
        s = self.settings
        if self.values.size and np.allclose(self.points[-1], shown, atol=1e-6):
            load = float(self.loads[-1])  # the last reading's: its load when it was shown
        else:
            load = habituation_load(
                shown, self.points, s.habituation_width, s.habituation_half_life
            )
        self.before = np.vstack([self.before, shown])
        self.before_loads = np.append(self.before_loads, load)
        self.before_priors = np.append(self.before_priors, self._prior(shown[None])[0])

    def _add_reading(self, point: np.ndarray, value: float) -> None:
        s = self.settings
        load = habituation_load(point, self.points, s.habituation_width, s.habituation_half_life)
        self.points = np.vstack([self.points, point])
        self.loads = np.append(self.loads, load)
        self.times = np.append(self.times, float(self.num_timesteps))
        self.values = np.append(self.values, value)
        self.priors = np.append(self.priors, self._prior(point[None])[0])
        self._gp, self._best = None, None

    def _prior(self, points: np.ndarray) -> np.ndarray:
        if self.prior_mean is None:
            return np.zeros(points.shape[0])
        mean = np.asarray(self.prior_mean(points), dtype=np.float64).reshape(points.shape[0])
        return logit(mean, LOGIT_FLOOR) if self.settings.reading == "logit" else mean

    # ----- choosing ---------------------------------------------------------------------------
    def _next_point(self) -> np.ndarray:
        """The next emoticon: the warm start, then the design, then the GP's choice."""
        shown = self.values.size
        if shown < self.warm_start.shape[0]:
            return self.warm_start[shown].copy()
        design_index = shown - self.warm_start.shape[0]
        if design_index < self.design.shape[0]:
            return self.design[design_index].copy()
        return self._maximise_acquisition()

    def _inputs(self, points: np.ndarray, loads: np.ndarray | None = None) -> torch.Tensor:
        """GP inputs: the emoticons, then their habituation input (u = load / (1 + load))."""
        x = torch.as_tensor(points, dtype=torch.float64)
        if loads is None:
            return self._inputs_t(x)
        if not self.settings.habituation_input:
            return x
        u = torch.as_tensor(tiredness(loads), dtype=torch.float64)
        return torch.cat([x, u[:, None]], dim=1)

    def _inputs_t(self, x: torch.Tensor) -> torch.Tensor:
        """GP inputs of emoticons shown to a rested person (u = 0), differentiable in x."""
        if not self.settings.habituation_input:
            return x
        return torch.cat([x, x.new_zeros(x.shape[0], 1)], dim=1)

    def _prior_t(self, x: torch.Tensor) -> torch.Tensor | None:
        """The prior mean at emoticons x (constant in x as far as gradients go)."""
        if self.prior_mean is None:
            return None
        return torch.as_tensor(self._prior(x.detach().numpy()))

    def model(self) -> TasteGP:
        """The GP on the last `window` readings, with the hyperparameters of the last fit."""
        self._finish_fit()
        if self._gp is None:
            data = self._recent()
            self._gp = self._build_gp(data)
            if self.raw is None:  # the first fit: there is nothing to start from
                self._gp.fit(self.settings.fit_iterations)
                self.favourite = self._fit_favourite(data, self.values.size, None, None)
                self.raw, self.fitted_at = self._gp.raw.clone(), self.values.size
        return self._gp

    def _recent(self) -> dict[str, np.ndarray]:
        """The last `window` readings.

        The arrays are replaced as readings come, never changed in place, so a fit in a thread
        may read them.
        """
        recent = slice(max(0, self.values.size - self.settings.window), None)
        return {
            "points": self.points[recent],
            "loads": self.loads[recent],
            "times": self.times[recent],
            "values": self.values[recent],
            "priors": self.priors[recent],
            "before": self.before[recent],
            "before_loads": self.before_loads[recent],
            "before_priors": self.before_priors[recent],
        }

    def _build_gp(self, data: dict[str, np.ndarray]) -> TasteGP:
        s = self.settings
        times = data["times"] / 100.0 if s.mood_input else np.zeros(data["times"].size)
        return TasteGP(
            self._inputs(data["points"], data["loads"]),
            torch.as_tensor(times, dtype=torch.float64),
            torch.as_tensor(data["values"], dtype=torch.float64),
            prior=None if self.prior_mean is None else torch.as_tensor(data["priors"]),
            raw=self.raw,
            priors=Priors(
                lengthscale=(s.lengthscale_median, s.lengthscale_spread),
                noise=(s.noise_median, 1.0),
                trend=(s.trend_median, 1.0),
                drift=(s.drift_median, 1.0),
                carry=(s.carry_median, 1.5),
            ),
            trend_dims=self.points.shape[1] if s.quadratic_trend else 0,
            drift=s.taste_drift,
            previous=self._inputs(data["before"], data["before_loads"]) if s.carry_over else None,
            previous_prior=(
                torch.as_tensor(data["before_priors"])
                if s.carry_over and self.prior_mean is not None
                else None
            ),
        )

    def _fit_favourite(
        self,
        data: dict[str, np.ndarray],
        count: int,
        best: np.ndarray | None,
        last: np.ndarray | None,
    ) -> np.ndarray | None:
        """The favourite bump fitted to the readings `data` (None with `favourite_every` 0).

        Starts: the best reading, the best posterior mean `best`, the `last` fit, and
        `favourite_starts` random centres drawn from `count`, the readings there were (so the
        starts depend neither on when else the agent drew random numbers nor on when a fit in
        a thread runs).
        """
        s = self.settings
        if not s.favourite_every:
            return None
        points, values = data["points"], data["values"]
        centres = [points[int(np.argmax(values))]] + ([] if best is None else [best])
        draws = np.random.default_rng([self.favourite_seed, count])
        centres += list(draws.uniform(-0.7, 0.7, (s.favourite_starts, points.shape[1])))
        starts = [favourite.initial_theta(c, values) for c in centres]
        if last is not None:
            starts.append(last)
        tiring = tiredness(data["loads"]) if s.habituation_input else None
        return favourite.fit(points, values, tiring, starts)

    # ----- refitting while the person is being read ------------------------------------------
    def _start_fit(self) -> None:
        """Refit the hyperparameters on the readings so far, when `refit_every` came in.

        Called once the next emoticon is chosen: with `background_fit` the fit runs in a
        thread while the person looks at it; either way the next choice is the first to use
        it, so the thread changes when the work is done, never what it gives.
        """
        self._finish_fit()
        due = max(self.settings.refit_every, self.settings.refit_share * self.values.size)
        if self.raw is None or self.values.size - self.fitted_at < due:
            return
        data, count, last = self._recent(), self.values.size, self.favourite
        gp, best = self._build_gp(data), self.best_point()

        def fit() -> None:
            gp.fit(self.settings.fit_iterations)
            bump = self._fit_favourite(data, count, best, last)
            self._fitted = (gp.raw.clone(), bump, count)

        if self.settings.background_fit:
            self._fitting = threading.Thread(target=fit, name="bayes-opt-fit", daemon=True)
            self._fitting.start()
        else:
            fit()
            self._finish_fit()

    def _finish_fit(self) -> None:
        """Wait for a refit in flight, if any, and take its hyperparameters."""
        if self._fitting is not None:
            self._fitting.join()
            self._fitting = None
        if self._fitted is not None:
            (self.raw, self.favourite, self.fitted_at), self._fitted = self._fitted, None
            self._gp, self._best = None, None

    def _posterior(self, points: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The rested taste's posterior (mean, sd) at normalised emoticons (m, n)."""
        prior = None if self.prior_mean is None else torch.as_tensor(self._prior(points))
        return self.model().posterior(self._inputs(points), prior)

    def _in_sample(self) -> tuple[np.ndarray, torch.Tensor]:
        """The emoticons the GP sees, and the posterior mean of each."""
        points = self._recent()["points"]
        return points, self._posterior(points)[0]

    def _maximise_acquisition(self) -> np.ndarray:
        """The favourite's centre every `favourite_every` readings, else the acquisition's best.

        Candidates: a Sobol sample, and points around the best posterior means and the
        favourite's centre.
        """
        points, means = self._in_sample()
        incumbent = means.max()
        top = points[torch.argsort(means, descending=True)[:TOP_POINTS].numpy()]
        if self.favourite is not None:
            centre = favourite.centre(self.favourite, points.shape[1])
            if self.values.size % self.settings.favourite_every == 0:
                return centre
            top = np.vstack([top, centre])
        candidates = np.vstack(
            [
                self._sobol(self.settings.candidates, points.shape[1]),
                self._around(top, self.settings.local_candidates),
            ]
        )
        if self.settings.acquisition == "thompson":
            generator = torch.Generator().manual_seed(int(self.rng.integers(2**31 - 1)))
            with torch.no_grad():
                draw = self.model().sample(
                    self._inputs(candidates), self._prior_t(torch.as_tensor(candidates)), generator
                )
            return candidates[int(torch.argmax(draw))].copy()
        starts = self._best_candidates(candidates, incumbent, self.settings.restarts)
        return self._ascend(starts, incumbent)

    def _around(self, centres: np.ndarray, count: int) -> np.ndarray:
        """`count` Gaussian perturbations of `centres`, of the sizes `LOCAL_SCALES`."""
        if count == 0:
            return np.empty((0, centres.shape[1]))
        which = self.rng.integers(centres.shape[0], size=count)
        scale = self.rng.choice(LOCAL_SCALES, size=(count, 1))
        noise = self.rng.standard_normal((count, centres.shape[1]))
        return np.clip(centres[which] + scale * noise, -1.0, 1.0)

    def _best_candidates(
        self, candidates: np.ndarray, incumbent: torch.Tensor, count: int
    ) -> np.ndarray:
        with torch.no_grad():
            mean, sd = self._posterior(candidates)
            score = self._score(mean, sd, incumbent)
        return candidates[torch.argsort(score, descending=True)[:count].numpy()]

    def _score(self, mean: torch.Tensor, sd: torch.Tensor, incumbent: torch.Tensor) -> torch.Tensor:
        if self.settings.acquisition == "ucb":
            return mean + self.settings.ucb_beta * sd
        return log_expected_improvement(mean, sd, incumbent)

    def _ascend(self, starts: np.ndarray, incumbent: torch.Tensor) -> np.ndarray:
        """Climb the acquisition from each start (Adam, in the box); the best end or start."""
        x = torch.as_tensor(starts, dtype=torch.float64).clone()
        step = self.settings.ascent_step
        first, second = torch.zeros_like(x), torch.zeros_like(x)
        gp = self.model()
        for i in range(1, self.settings.ascent_iterations + 1):
            x.requires_grad_(True)
            mean, sd = gp.posterior(self._inputs_t(x), self._prior_t(x))
            (grad,) = torch.autograd.grad(self._score(mean, sd, incumbent).sum(), x)
            with torch.no_grad():  # Adam (no torch.optim: its first use imports TorchDynamo)
                first = 0.9 * first + 0.1 * grad
                second = 0.999 * second + 0.001 * grad**2
                move = (first / (1 - 0.9**i)) / (torch.sqrt(second / (1 - 0.999**i)) + 1e-8)
                x = (x.detach() + step * move).clamp(-1.0, 1.0)
        ends = np.vstack([starts, x.detach().numpy()])
        return self._best_candidates(ends, incumbent, 1)[0].copy()

    def best_point(self) -> np.ndarray | None:
        """Normalised emoticon with the best posterior mean among those read (None before).

        Before the first fit of the hyperparameters (during the design) the posterior is the
        one of the priors' medians, and asking fits nothing: when the first fit happens, and so
        every choice, is the same whether or not the recommendation is asked for at each step.
        """
        if self.values.size == 0:
            return None
        if self.raw is None:
            data = self._recent()
            with torch.no_grad():
                gp = self._build_gp(data)
                prior = None if self.prior_mean is None else torch.as_tensor(data["priors"])
                mean, sd = gp.posterior(self._inputs(data["points"]), prior)
            return data["points"][self._recommended(mean, sd)].copy()
        if self._best is None:
            points = self._recent()["points"]
            with torch.no_grad():
                mean, sd = self._posterior(points)
            self._best = points[self._recommended(mean, sd)].copy()
        return self._best

    def _recommended(self, mean: torch.Tensor, sd: torch.Tensor) -> int:
        """The index of the recommendation among emoticons with this posterior."""
        score = mean - self.settings.recommend_sd * sd if self.settings.recommend_sd else mean
        return int(torch.argmax(score))

    # ----- does the person react? ------------------------------------------------------------
    def _expected_reading(
        self, target: np.ndarray, shown: np.ndarray
    ) -> tuple[float, float] | None:
        """The next reading predicted without the emoticon mattering, and with the model.

        Without: the mean of the last `VERDICT_RECENT` readings (the person's level now, mood
        and all). With: that, moved by the model's difference between the target's reading and
        those readings (each emoticon with its habituation load, and with `carry_over` the
        share the emoticon on show before it carries: `shown` now). None before the first fit
        (asking must not fit: the fit's time would change) or while the readings are too few.
        """
        if not self.settings.verdict_after or self.raw is None:
            return None
        if self.values.size < VERDICT_RECENT:
            return None
        s = self.settings
        recent = slice(self.values.size - VERDICT_RECENT, None)
        width, half = s.habituation_width, s.habituation_half_life
        load = habituation_load(target, self.points, width, half)
        points = np.vstack([self.points[recent], target])
        loads = np.append(self.loads[recent], load)
        before = np.vstack([self.before[recent], shown])
        before_loads = np.append(
            self.before_loads[recent], habituation_load(shown, self.points, width, half)
        )
        gp = self.model()
        with torch.no_grad():
            now = self._posterior_at(gp, points, loads)
            carry = float(gp.carried())
            means = (1.0 - carry) * now + carry * self._posterior_at(gp, before, before_loads)
        without = float(self.values[recent].mean())
        return without, without + float(means[-1] - means[:-1].mean())

    def _posterior_at(self, gp: TasteGP, points: np.ndarray, loads: np.ndarray) -> np.ndarray:
        """The posterior mean of g at emoticons with their habituation loads."""
        prior = None if self.prior_mean is None else torch.as_tensor(self._prior(points))
        return gp.posterior(self._inputs(points, loads), prior)[0].numpy()

    def responds(self) -> bool | None:
        """Whether the person's face answers the emoticons (`BaseAgent.responds`).

        Before each reading the agent predicts how far it will differ from the last readings
        (`expected`: what the model says the emoticon adds to their level). For a person who
        reacts, the readings follow the predictions; for a person who does not, the model only
        fits noise, and its predictions foresee nothing. After `verdict_after` predictions,
        True when their correlation is significant (`reaction_evidence` above `verdict_z`),
        else False ("no reliable reaction"); None before.
        """
        count = self.foreseen.shape[0]
        if not self.settings.verdict_after or count < self.settings.verdict_after:
            return None
        evidence = self.reaction_evidence()  # NaN while a difference never varies: no verdict
        return None if math.isnan(evidence) else evidence > self.settings.verdict_z

    def reaction_evidence(self) -> float:
        """The verdict's statistic: how well the model foresees the readings' differences.

        Fisher's z of the correlation between the differences the model predicted (each
        reading against the last ones) and those read: about normal with mean 0 and standard
        deviation 1 when the emoticons do not matter, positive and growing with the readings
        when they do. NaN before four predictions or while either difference never varies.
        """
        n = self.foreseen.shape[0]
        if n < 4:
            return math.nan
        predicted, read = self.foreseen[:, 0], self.foreseen[:, 1]
        if predicted.std() == 0.0 or read.std() == 0.0:
            return math.nan
        r = float(np.clip(np.corrcoef(predicted, read)[0, 1], -0.999999, 0.999999))
        return math.atanh(r) * math.sqrt(n - 3)

    def best_params(self) -> np.ndarray | None:
        """Raw parameters of the best guess so far (None before the first reading)."""
        best = self.best_point()
        if best is None or self.env is None:
            return None
        return emoticon_env(self.env).space.denormalize(best)

    # ----- persistence -------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._finish_fit()
        data = {
            "target": None if self.target is None else self.target.tolist(),
            "fitted_at": self.fitted_at,
            "has_prior_mean": self.prior_mean is not None,
            "favourite_seed": self.favourite_seed,
            "expected": None if self.expected is None else list(self.expected),
        }
        arrays = {
            "design": self.design,
            "warm_start": self.warm_start,
            "points": self.points,
            "loads": self.loads,
            "times": self.times,
            "values": self.values,
            "priors": self.priors,
            "foreseen": self.foreseen,
            "before": self.before,
            "before_loads": self.before_loads,
            "before_priors": self.before_priors,
        }
        if self.raw is not None:
            arrays["raw"] = self.raw.numpy()
        if self.favourite is not None:
            arrays["favourite"] = self.favourite
        return data, arrays

    def _set_state(self, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.saved_with_prior = bool(data["has_prior_mean"])
        for key in ("design", "warm_start", "points", "loads", "times", "values"):
            setattr(self, key, np.asarray(arrays[key], dtype=np.float64))
        self.priors = np.asarray(arrays["priors"], dtype=np.float64)
        # Agents saved before the verdict have no predictions to go on: they start counting;
        # before the carry-over, no emoticon on show before each reading: its own stands in.
        self.foreseen = np.asarray(arrays.get("foreseen", np.empty((0, 2))), dtype=np.float64)
        self.before = np.asarray(arrays.get("before", self.points), dtype=np.float64)
        self.before_loads = np.asarray(arrays.get("before_loads", self.loads), dtype=np.float64)
        self.before_priors = np.asarray(arrays.get("before_priors", self.priors), dtype=np.float64)
        expected = data.get("expected")
        self.expected = None if expected is None else (float(expected[0]), float(expected[1]))
        self.raw = torch.as_tensor(arrays["raw"]).clone() if "raw" in arrays else None
        self.favourite = (
            np.asarray(arrays["favourite"], np.float64) if "favourite" in arrays else None
        )
        self.favourite_seed = int(data["favourite_seed"])
        self.fitted_at = int(data["fitted_at"])
        self.target = None if data["target"] is None else np.asarray(data["target"], np.float64)
        self._gp, self._best = None, None

    @classmethod
    def load(
        cls, path: str | Path, env: gym.Env | None = None, prior_mean: PriorMean | None = None
    ) -> Self:
        """Rebuild a saved agent; pass the `prior_mean` it was trained with, if any.

        Raises:
            SessionError: If the folder holds no agent, or an agent of another kind.
            ConfigError: If it was saved with a prior mean and none is given.
        """
        agent = super().load(path, env)
        if agent.saved_with_prior and prior_mean is None:
            raise ConfigError(
                f"the bayes-opt agent in {path} was trained with a prior mean; load it with "
                "prior_mean=..."
            )
        agent.prior_mean = prior_mean
        return agent

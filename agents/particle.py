"""A particle filter over the person: where their favourite lies, and how their face shows it.

`bayes-opt` models the step's mean reading. This agent models the person behind the frames,
and infers everything it does not know about them from the frames themselves:

- **a taste**: a favourite emoticon, a bump around it with a width per parameter (how much
  each parameter matters) made of a broad foothill and a narrower top; with `favourites=2`, a
  second, lower bump elsewhere (a person who likes two kinds of emoticon; the appeal is the
  higher of the two);
- **a face**: a resting level and how far the favourite lifts it (from barely to fully), on
  the signal's own scale, so a faint smile over a still face counts as much as a broad one;
- **timing**: a change of emoticon shows on the face after a latency and rises towards its new
  level exponentially (issue 27's figures: a smile starts 0.3-0.7 s after the emoticon
  appeared and is readable 0.5-1 s after), so frames read early in a step still carry the last
  emoticon's response and count as such, not as noise;
- **noise**, in log-odds: a mood that changes over steps, a wander over seconds, a jitter per
  frame, of fixed sizes (settings; by default at the top of people-v3's ranges: a filter that
  underrates the noise is surer than the readings warrant), integrated by a Kalman filter;
  frames with no face are skipped; habituation: an emoticon like those just shown amuses less.

The belief over those unknowns is a cloud of particles (sequential Monte Carlo): each step's
frames reweight them by their likelihood, and when the weights degenerate the cloud is
resampled and moved by Metropolis steps that re-read the whole history (random walks scaled
to the cloud, and favourites drawn afresh from the prior), so no hypothesis is fixed by what
the first steps suggested.

- **What it shows**: Thompson sampling, the favourite of one particle drawn by weight.
- **What it recommends** (`best_params`): the emoticon with the highest expected appeal under
  the whole cloud: the best of the heaviest particles' favourites and their weighted mean,
  carried up to the summit by mean shift (`refine` steps).
- **No reliable reaction** (`responds`): False when the posterior puts the person's lift below
  `responds_above` (the favourite lifts the reading by less than that) with probability 0.5
  or more; `reaction_evidence` is the posterior probability of a lift above it.

The defaults were chosen on people-v3's validation split, each against the others on the
same runs (benchmarks/results/people_v3.md, "The particle filter"): more particles and moves,
the top-range noise and a moving taste for a quarter of the hypotheses paid; a second
favourite, a tempered likelihood and forgetting old steps did not.

## A taste that moves
With `drift_sd` above 0, a share `drift_share` of the hypotheses have favourites that move
along a straight line, a velocity of their own (`drift_sd` per shown emoticon along each
parameter, a priori); the rest stay. Whether the person's taste moves is inferred like the
rest: a reversible jump switches a hypothesis between still and moving, its new velocity drawn
near those of the moving hypotheses, and its favourite placed so that it passes where the
still one sits at the middle of the history (the place the history pins down best); the
velocities take random-walk steps about the same pivot. A `forget` below 1 instead discounts
old steps' evidence.

## A prior from other people
With a prior (`--prior`), the favourite is drawn around the prior's `warm_start` emoticons
(where earlier people smiled; `prior_spread` wide) with `prior_elsewhere` of the mass anywhere
in the box; without one, anywhere. The prior's mean reading is not used.

## Time
The agent keeps a person's clock of its own: an emoticon appears, the env's `settle_s` later
its frames are read at the env's `camera_fps`, and the next emoticon appears after the last
frame. It is people-v3's clock, and the time a person's time is counted in; live, the frames'
own times differ by the agent's wait between steps and the camera's jitter, which only
loosens how the wander links one step to the next. (A session records frame times on its own
clock, so a resumed agent takes the missed steps in exactly as it took them live.)

## Persistence
JSON holds the settings and the filter's seed; tensors hold every step's emoticon, frame
times and readings, and the warm start. `load` replays the steps through a fresh filter with
the same seed, which rebuilds its state exactly (it costs the session's computation again).
Nothing is pickled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import gymnasium as gym
import numpy as np

from laetitia.agents.base import Agent, StepInfo, emoticon_env
from laetitia.agents.habituation import habituation_load, tiredness
from laetitia.agents.settings import Settings
from laetitia.errors import ConfigError
from laetitia.logistic import logit, sigmoid
from laetitia.run_settings import RUN_DEFAULTS

LATENCY_S = (0.3, 0.7)
"""Seconds from an emoticon's appearance to the first change on the face (issue 27)."""
READABLE_S = (0.5, 1.0)
"""Seconds from an emoticon's appearance to 90% of the change (issue 27)."""
RISE_MIN_S = 0.1
"""The fastest rise from the first change to 90% of it."""
FLOOR_LOGIT = (-12.0, 1.0)
"""Range of the resting level, log-odds (a face at rest reads 6e-6 to 0.73)."""
LIFT = (0.005, 0.95)
"""Range of the lift, the share of the way from the resting level to 1 that the favourite
takes the reading (log-uniform)."""
RELEVANCE = (0.0, 1.5)
"""Range of a parameter's weight in the distance to the favourite."""
BROAD = (0.25, 2.0)
"""Range of the foothill's width, normalised units (log-uniform)."""
TOP = (0.05, 0.6)
"""Range of the top's width (log-uniform)."""
LOGIT_FLOOR = 1e-5
"""Readings are clipped to [LOGIT_FLOOR, 1 - LOGIT_FLOOR] before their log-odds are taken."""
BOX = 1.0 + 1e-9
"""Where a favourite may start, normalised (the box, and the rounding of a moved one)."""
CANDIDATES = 256
"""The heaviest particles whose favourites are candidates for the recommendation."""
PriorMean = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ParticleSettings(Settings):
    """The particle filter's settings."""

    agent: ClassVar[str] = "particle"
    limits: ClassVar[Mapping[str, tuple[int, int]]] = {
        "particles": (50, 200_000),
        "moves": (0, 100),
        "refine": (0, 1000),
    }
    particles: int = 2000
    """Hypotheses about the person."""
    favourites: int = 1
    """Bumps in the taste (1 or 2): the best favourite, and maybe a second, lower one."""
    moves: int = 8
    """Random-walk Metropolis sweeps after each resampling."""
    prior_spread: float = 0.2
    """Standard deviation of the favourite around each warm-start emoticon, normalised units."""
    prior_elsewhere: float = 0.2
    """Prior probability that the favourite is anywhere in the box, not near a warm start."""
    forget: float = 1.0
    """Weight of a step's evidence one step later (1: nothing is forgotten)."""
    drift_sd: float = 0.0007
    """Prior standard deviation of how far a moving taste's favourites move per shown emoticon
    along each parameter, normalised units (0: no taste moves)."""
    drift_share: float = 0.25
    """Prior probability that the person's taste moves (with `drift_sd` above 0)."""
    temper: float = 1.0
    """Power the likelihood is raised to, in (0, 1]: below 1, evidence counts for less, a
    guard against a model that is surer than the person's readings warrant."""
    jitter: float = 0.3
    """Standard deviation of each frame's own noise, log-odds."""
    wander: float = 0.4
    """Standard deviation of the noise that wanders over seconds, log-odds."""
    wander_s: float = 1.25
    """Correlation time of the wander, seconds."""
    mood: float = 0.3
    """Standard deviation of the mood, log-odds."""
    mood_steps: float = 60.0
    """Correlation time of the mood, shown emoticons."""
    habituation_depth: float = 0.3
    """Largest share of an emoticon's appeal that showing like ones takes away, in [0, 1)."""
    habituation_width: float = 0.25
    """How near an emoticon must be to count as the same one (normalised distance)."""
    habituation_half_life: float = 10.0
    """Half-life of a showing, in shown emoticons."""
    responds_above: float = 0.03
    """The lift below which the person is said not to react."""
    refine: int = 30
    """Mean-shift steps that carry the recommendation up the expected appeal (0: none)."""

    def _check(self) -> None:
        positive = ("prior_spread", "jitter", "wander", "wander_s", "mood_steps")
        for name in positive + ("habituation_width", "habituation_half_life"):
            if not getattr(self, name) > 0.0:
                raise self._refused(name, "must be positive")
        if self.favourites not in (1, 2):
            raise self._refused("favourites", "must be 1 or 2")
        closed = {
            "mood": (0.0, math.inf),
            "prior_elsewhere": (0.0, 1.0),
            "forget": (0.5, 1.0),
            "drift_sd": (0.0, 0.1),
            "drift_share": (0.0, 1.0),
        }
        for name, (low, high) in closed.items():
            if not low <= getattr(self, name) <= high:
                raise self._refused(name, f"must be in [{low}, {high}]")
        if not 0.0 < self.temper <= 1.0:
            raise self._refused("temper", "must be in (0, 1]")
        if not 0.0 <= self.habituation_depth < 1.0:
            raise self._refused("habituation_depth", "must be in [0, 1)")
        if not LIFT[0] < self.responds_above < LIFT[1]:
            raise self._refused("responds_above", f"must be in ({LIFT[0]}, {LIFT[1]})")


Theta = dict[str, np.ndarray]
"""A batch of hypotheses, by name: "centre" and "relevance" (P, n); "log_broad",
"log_top", "share", "floor" (log-odds), "log_lift", "latency", "readable" (P,); with two
favourites, "second" (P, n) and its relative "height" (P,), in [0, 1]; with a taste that may
move, "velocity" (P, n) and "moves" (P,), 1 or 0."""


@dataclass(frozen=True)
class FrameNoise:
    """What moves a person's frames around their face's level, in log-odds."""

    jitter: float
    """Standard deviation of each frame's own noise."""
    wander: float
    """Standard deviation of the noise that wanders over seconds."""
    wander_s: float
    """Correlation time of the wander, seconds."""
    mood: float
    """Standard deviation of the mood."""
    mood_steps: float
    """Correlation time of the mood, shown emoticons."""


@dataclass(frozen=True)
class StepMaps:
    """One step's Kalman filter as affine maps, the same for every hypothesis.

    Of the (mood, wander) mean before the step and the frames' residuals (their log-odds less
    the face's level): the covariance does not depend on the level.
    """

    G: np.ndarray
    """(frames, 2): the innovations' dependence on the mean before the step."""
    D: np.ndarray
    """(frames, frames): the innovations' dependence on the step's residuals."""
    A: np.ndarray
    """(2, 2): the mean after the step from the mean before."""
    B: np.ndarray
    """(2, frames): the mean after the step from the residuals."""
    S: np.ndarray
    """(frames,): the innovations' variances."""

    def read(self, mean: np.ndarray, residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each hypothesis's log-likelihood of the frames, and its mean after them.

        Args:
            mean: (P, 2) each hypothesis's (mood, wander) mean before the step.
            residual: (P, frames) each hypothesis's residuals.
        """
        innovation = mean @ self.G.T + residual @ self.D.T
        after = mean @ self.A.T + residual @ self.B.T
        loglik = -0.5 * np.sum(innovation**2 / self.S + np.log(2 * np.pi * self.S), axis=1)
        return loglik, after


class FrameFilter:
    """The Kalman filter of a person's frame noise, its covariance carried once for all.

    A mood, an AR(1) over shown emoticons; a wander, an Ornstein-Uhlenbeck process in seconds;
    a jitter per frame.
    """

    def __init__(self, noise: FrameNoise) -> None:
        self.noise = noise
        self.cov = np.diag([noise.mood**2, noise.wander**2])
        self.last_time = 0.0

    def maps(self, times: np.ndarray, first: bool) -> StepMaps:
        """The maps of a step whose frames with a face were read at `times` (sorted)."""
        noise = self.noise
        cov = self.cov
        m_m = np.eye(2)
        m_y = np.zeros((2, times.size))
        if not first:
            rho = math.exp(-1.0 / noise.mood_steps)
            f = np.diag([rho, 1.0])
            cov = f @ cov @ f.T + np.diag([noise.mood**2 * (1 - rho**2), 0.0])
            m_m = f @ m_m
        h = np.array([1.0, 1.0])
        G = np.zeros((times.size, 2))
        D = np.zeros((times.size, times.size))
        S = np.zeros(times.size)
        for j, now in enumerate(times):
            rho = math.exp(-max(now - self.last_time, 0.0) / noise.wander_s)
            f = np.diag([1.0, rho])
            cov = f @ cov @ f.T + np.diag([0.0, noise.wander**2 * (1 - rho**2)])
            m_m, m_y = f @ m_m, f @ m_y
            self.last_time = float(now)
            v = float(h @ cov @ h) + noise.jitter**2
            gain = cov @ h / v
            G[j] = -(h @ m_m)
            D[j] = -(h @ m_y)
            D[j, j] += 1.0
            S[j] = v
            m_m = m_m + np.outer(gain, G[j])
            m_y = m_y + np.outer(gain, D[j])
            cov = cov - np.outer(gain, gain) * v
        self.cov = cov
        return StepMaps(G=G, D=D, A=m_m, B=m_y, S=S)


def fresh_state(floor: np.ndarray) -> dict[str, np.ndarray]:
    """Hypotheses' filter states before the first step, given their (P,) resting levels.

    The noise's mean at 0, and the face at rest since time 0 (its level, the time of the last
    switch, the level it moves to).
    """
    count = floor.shape[0]
    return {
        "mean": np.zeros((count, 2)),
        "level": floor.copy(),
        "at": np.zeros(count),
        "target": floor.copy(),
    }


def metropolis(
    rng: np.random.Generator,
    theta: Theta,
    loglik: np.ndarray,
    state: dict[str, np.ndarray],
    proposal: Theta,
    extra: np.ndarray,
    history: Callable[[Theta], tuple[np.ndarray, dict[str, np.ndarray]]],
) -> float:
    """Accept each hypothesis's proposal by its likelihood ratio times `exp(extra)`, in place.

    Args:
        rng: Draws the acceptances.
        theta: The hypotheses; the accepted ones are replaced.
        loglik: Their log-likelihoods, replaced likewise.
        state: Their filter states after the history, replaced likewise.
        proposal: A proposal for each hypothesis.
        extra: The log prior (and proposal) ratio; -inf refuses a proposal unread.
        history: The log-likelihood of the whole history and the filter state after it, of
            a batch of hypotheses.

    Returns:
        The share accepted.
    """
    count = loglik.size
    ok = np.isfinite(extra)
    lik_new = np.full(count, -np.inf)
    state_new = {key: value.copy() for key, value in state.items()}
    if ok.any():
        lik_ok, state_ok = history({k: v[ok] for k, v in proposal.items()})
        lik_new[ok] = lik_ok
        for key in state_new:
            state_new[key][ok] = state_ok[key]
    with np.errstate(invalid="ignore"):
        ratio = lik_new - loglik + extra
    accept = np.log(rng.random(count)) < np.nan_to_num(ratio, nan=-np.inf)
    for key in theta:
        theta[key][accept] = proposal[key][accept]
    loglik[accept] = lik_new[accept]
    for key in state:
        state[key][accept] = state_new[key][accept]
    return float(accept.mean())


@dataclass
class _Step:
    """One shown emoticon and its frames with a face, with the Kalman filter's maps."""

    unit: np.ndarray
    """Normalised parameters shown."""
    index: int
    """Emoticons shown before it."""
    kept: float
    """Share of the appeal habituation leaves."""
    start: float
    """Session time the emoticon appeared, seconds."""
    times: np.ndarray
    """Session time of each frame with a face."""
    logits: np.ndarray
    """Log-odds of each such frame's reading."""
    maps: StepMaps
    """How the frames' residuals update the noise's estimate (the Kalman filter's)."""


def _logs(pair: tuple[float, float]) -> tuple[float, float]:
    """The natural logarithms of a range's ends."""
    low, high = np.log(pair)
    return float(low), float(high)


def _log_normal(x: np.ndarray, mean: np.ndarray | float, sd: np.ndarray | float) -> np.ndarray:
    """Log density (P,) of independent Gaussians along each parameter of `x` (P, n)."""
    z = (x - mean) / sd
    return np.sum(-0.5 * z**2 - np.log(sd * math.sqrt(2 * math.pi)), axis=-1)


def _velocity(theta: Theta) -> np.ndarray:
    """(P, n): how far each hypothesis's favourites move per shown emoticon (0 where still)."""
    return theta["velocity"] * theta["moves"][:, None]


class ParticleFilter(Agent):
    """A particle filter over the person's taste, face and timing (see the module).

    Settings: `ParticleSettings`.

    Args:
        prior_mean: Taken, and unused, so the agent is built like any that takes a prior.
        warm_start: float (k, n) normalised emoticons earlier people smiled at; the favourite's
            prior is centred on them.
    """

    name = ParticleSettings.agent
    settings_class = ParticleSettings
    settings: ParticleSettings
    preferred_step_size = 1.0
    """The env step size the bench runs this agent with: one step reaches any emoticon."""
    takes_prior = True

    def __init__(
        self,
        env: gym.Env | None,
        seed: int | None = None,
        settings: ParticleSettings | None = None,
        prior_mean: PriorMean | None = None,
        warm_start: np.ndarray | None = None,
        **changes: Any,
    ) -> None:
        super().__init__(env, seed, settings, **changes)
        n = self._n_params()
        self.n = n
        self.warm_start = np.empty((0, n)) if warm_start is None else np.asarray(warm_start)
        if self.warm_start.ndim != 2 or self.warm_start.shape[1] != n:
            raise ConfigError(f"particle warm_start must be (k, {n}) emoticons.")
        self.warm_start = np.clip(self.warm_start.astype(np.float64), -1.0, 1.0)
        self._filter_seed = int(self.rng.integers(2**31 - 1))
        self._start_filter()

    def _start_filter(self) -> None:
        """A filter that has seen nothing, its random numbers from `_filter_seed`."""
        s = self.settings
        self._rng = np.random.default_rng(self._filter_seed)
        self.P = s.particles
        self.theta = self._prior_draw(self.P)
        self.logw = np.zeros(self.P)
        self.loglik = np.zeros(self.P)
        self.steps: list[_Step] = []
        self.frames = FrameFilter(FrameNoise(s.jitter, s.wander, s.wander_s, s.mood, s.mood_steps))
        self.scale = 0.5
        self.vscale = 0.3
        self.state = self._fresh_state(self.theta)
        self.target: np.ndarray | None = None
        self.clock = 0.0
        # What the steps were, for persistence: each step's emoticon, start, frames.
        self.record_units = np.empty((0, self.n))
        self.record_starts = np.empty(0)
        self.record_counts = np.empty(0, dtype=np.int64)
        self.record_times = np.empty(0)
        self.record_values = np.empty(0)

    def _check_env(self, env: gym.Env) -> None:
        if not isinstance(env.action_space, gym.spaces.Box):
            raise ConfigError(
                "particle moves to chosen emoticons by continuous steps: use laetitia/Smile-v1, "
                f"not an env with a {type(env.action_space).__name__} action space."
            )

    def _n_params(self) -> int:
        if self.env is None:
            from laetitia.emoticon.params import PARAM_SPACE

            return len(PARAM_SPACE)
        return len(emoticon_env(self.env).space)

    def _timing_of_env(self) -> tuple[float, float]:
        """The env's settle time and camera rate (the run's defaults without an env)."""
        env = None if self.env is None else emoticon_env(self.env)
        settle = getattr(env, "settle_s", RUN_DEFAULTS.settle_s)
        fps = getattr(env, "camera_fps", RUN_DEFAULTS.camera_fps)
        return float(settle), float(fps)

    # ----- the hooks ------------------------------------------------------------------------
    def _act(self, obs: np.ndarray) -> np.ndarray:
        current = obs[:-1].astype(np.float64)
        self.target = self.choose()
        return self._move(current, self.target)

    def _observe(
        self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray, info: StepInfo
    ) -> None:
        reaction = info.get("reaction")
        if reaction is None:
            return  # nothing was shown: the recording is over
        values = np.asarray(reaction.signal_values(), dtype=np.float64).copy()
        values[~np.asarray(reaction.has_face, dtype=bool)] = np.nan
        settle, fps = self._timing_of_env()
        start = self.clock
        times = start + settle + np.arange(values.size) / fps
        self.clock = float(times[-1]) + 1.0 / fps if times.size else start + settle
        self.take(next_obs[:-1].astype(np.float64), start, times, values)

    def _policy(self, obs: np.ndarray) -> np.ndarray:
        current = obs[:-1].astype(np.float64)
        best = self.best_point()
        return self._move(current, current if best is None else best)

    # ----- the prior ----------------------------------------------------------------------------
    def _prior_draw(self, count: int) -> Theta:
        rng = self._rng
        return {
            "centre": self._centre_draw(count),
            "relevance": rng.uniform(*RELEVANCE, size=(count, self.n)),
            "log_broad": rng.uniform(*_logs(BROAD), size=count),
            "log_top": rng.uniform(*_logs(TOP), size=count),
            "share": rng.uniform(0.0, 1.0, size=count),
            "floor": rng.uniform(*FLOOR_LOGIT, size=count),
            "log_lift": rng.uniform(*_logs(LIFT), size=count),
            **self._timing_draw(count),
            **self._second_draw(count),
            **self._velocity_draw(count),
        }

    def _travelled(self, theta: Theta) -> np.ndarray | float:
        """How far each hypothesis's favourites have moved since the first step."""
        return _velocity(theta) * len(self.steps) if "velocity" in theta else 0.0

    def _velocity_draw(self, count: int) -> Theta:
        if self.settings.drift_sd == 0.0:
            return {}
        s = self.settings
        return {
            "velocity": s.drift_sd * self._rng.standard_normal((count, self.n)),
            "moves": (self._rng.random(count) < s.drift_share).astype(np.float64),
        }

    def _second_draw(self, count: int) -> Theta:
        if self.settings.favourites == 1:
            return {}
        return {
            "second": self._rng.uniform(-1.0, 1.0, size=(count, self.n)),
            "height": self._rng.uniform(0.0, 1.0, size=count),
        }

    def _centre_draw(self, count: int) -> np.ndarray:
        rng = self._rng
        anywhere = rng.uniform(-1.0, 1.0, size=(count, self.n))
        if self.warm_start.shape[0] == 0:
            return anywhere
        pick = rng.integers(self.warm_start.shape[0], size=count)
        near = self.warm_start[pick] + self.settings.prior_spread * rng.standard_normal(
            (count, self.n)
        )
        elsewhere = rng.random(count) < self.settings.prior_elsewhere
        return np.clip(np.where(elsewhere[:, None], anywhere, near), -1.0, 1.0)

    def _timing_draw(self, count: int) -> Theta:
        latency = self._rng.uniform(*LATENCY_S, size=count)
        low = np.maximum(READABLE_S[0], latency + RISE_MIN_S)
        return {"latency": latency, "readable": self._rng.uniform(low, READABLE_S[1])}

    def _log_centre(self, centre: np.ndarray) -> np.ndarray:
        """Log prior density of favourites (P, n) -> (P,), up to a constant."""
        inside = np.all(np.abs(centre) <= BOX, axis=1)
        uniform = -self.n * math.log(2.0)
        if self.warm_start.shape[0] == 0:
            return np.where(inside, uniform, -np.inf)
        s = self.settings.prior_spread
        d2 = np.sum((centre[:, None, :] - self.warm_start[None]) ** 2, axis=2)
        near = -0.5 * d2 / s**2 - self.n * math.log(s * math.sqrt(2 * math.pi))
        near = np.logaddexp.reduce(near, axis=1) - math.log(self.warm_start.shape[0])
        e = self.settings.prior_elsewhere
        mixed = np.logaddexp(
            math.log(max(1.0 - e, 1e-300)) + near, math.log(max(e, 1e-300)) + uniform
        )
        return np.where(inside, mixed, -np.inf)

    def _log_prior(self, theta: Theta) -> np.ndarray:
        """Log prior density of hypotheses, up to a constant (the favourites' at the start)."""
        back = self._travelled(theta)
        out = self._log_centre(theta["centre"] - back)
        inside = np.all(
            (theta["relevance"] >= RELEVANCE[0]) & (theta["relevance"] <= RELEVANCE[1]), axis=1
        )
        for key, (low, high) in (
            ("log_broad", np.log(BROAD)),
            ("log_top", np.log(TOP)),
            ("share", (0.0, 1.0)),
            ("floor", FLOOR_LOGIT),
            ("log_lift", np.log(LIFT)),
            ("latency", LATENCY_S),
        ):
            inside &= (theta[key] >= low) & (theta[key] <= high)
        if "velocity" in theta:
            s = self.settings
            out = out + self._log_velocity_prior(theta["velocity"])
            share = np.where(theta["moves"] > 0.5, s.drift_share, 1.0 - s.drift_share)
            out = out + np.log(np.maximum(share, 1e-300))
        if "second" in theta:
            inside &= np.all(np.abs(theta["second"] - back) <= BOX, axis=1)
            inside &= (theta["height"] >= 0.0) & (theta["height"] <= 1.0)
        low = np.maximum(READABLE_S[0], theta["latency"] + RISE_MIN_S)
        inside &= (theta["readable"] >= low) & (theta["readable"] <= READABLE_S[1])
        out = out - np.log(np.maximum(READABLE_S[1] - low, 1e-9))
        return np.where(inside, out, -np.inf)

    # ----- the model ------------------------------------------------------------------------------
    @staticmethod
    def _bump(theta: Theta, unit: np.ndarray, centre: np.ndarray) -> np.ndarray:
        d2 = np.sum((theta["relevance"] * (unit - centre)) ** 2, axis=-1)
        broad = np.exp(-0.5 * d2 * np.exp(-2.0 * theta["log_broad"]))
        top = np.exp(-0.5 * d2 * np.exp(-2.0 * theta["log_top"]))
        return (1.0 - theta["share"]) * broad + theta["share"] * top

    @classmethod
    def _appeal(cls, theta: Theta, unit: np.ndarray, ago: int = 0) -> np.ndarray:
        """Each hypothesis's relative appeal of normalised parameters `unit` (n,), in [0, 1].

        `ago` steps before the next one: a moving favourite was that much further back.
        """
        back = _velocity(theta) * ago if "velocity" in theta and ago else 0.0
        appeal = cls._bump(theta, unit, theta["centre"] - back)
        if "second" not in theta:
            return appeal
        second = cls._bump(theta, unit, theta["second"] - back)
        return np.maximum(appeal, theta["height"] * second)

    @staticmethod
    def _scale(theta: Theta) -> tuple[np.ndarray, np.ndarray]:
        """Resting level and the favourite's level of each hypothesis, on the signal's scale."""
        floor = sigmoid(theta["floor"])
        return floor, floor + (1.0 - floor) * np.exp(theta["log_lift"])

    def _fresh_state(self, theta: Theta) -> dict[str, np.ndarray]:
        return fresh_state(self._scale(theta)[0])

    def _advance(self, theta: Theta, state: dict[str, np.ndarray], step: _Step) -> np.ndarray:
        """Take one step into `state` (in place); return each hypothesis's log-likelihood."""
        tau = (theta["readable"] - theta["latency"]) / math.log(10.0)
        switch = step.start + theta["latency"]
        floor, peak = self._scale(theta)
        appeal = self._appeal(theta, step.unit, ago=len(self.steps) - step.index)
        target = floor + (peak - floor) * appeal * step.kept
        level, at, old = state["level"], state["at"], state["target"]
        times = step.times[None, :]
        # Each frame's level: on the way to the old target before the switch, to the new one
        # after it (the elapsed times clamped at 0 for the branch a frame does not take).
        on_old = old[:, None] + (level - old)[:, None] * np.exp(
            -np.maximum(times - at[:, None], 0.0) / tau[:, None]
        )
        at_switch = old + (level - old) * np.exp(-np.maximum(switch - at, 0.0) / tau)
        on_new = target[:, None] + (at_switch - target)[:, None] * np.exp(
            -np.maximum(times - switch[:, None], 0.0) / tau[:, None]
        )
        levels = np.where(times < switch[:, None], on_old, on_new)
        state["level"], state["at"], state["target"] = at_switch, switch, target
        residual = step.logits[None, :] - logit(levels, LOGIT_FLOOR)
        loglik, state["mean"] = step.maps.read(state["mean"], residual)
        return loglik

    def _history_loglik(self, theta: Theta) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        state = self._fresh_state(theta)
        total = np.zeros(theta["centre"].shape[0])
        forget = self.settings.forget
        temper = self.settings.temper
        for step in self.steps:
            total = forget * total + temper * self._advance(theta, state, step)
        return total, state

    # ----- belief -----------------------------------------------------------------------------
    def take(self, unit: np.ndarray, start: float, times: np.ndarray, values: np.ndarray) -> None:
        """Take in one shown emoticon (normalised) and its frames (values NaN: no face)."""
        s = self.settings
        shown = self.record_units
        load = habituation_load(unit, shown, s.habituation_width, s.habituation_half_life)
        self.record_units = np.vstack([shown, unit])
        self.record_starts = np.append(self.record_starts, start)
        self.record_counts = np.append(self.record_counts, times.size)
        self.record_times = np.append(self.record_times, times)
        self.record_values = np.append(self.record_values, values)
        seen = ~np.isnan(values)
        step = _Step(
            unit=unit,
            index=len(self.steps),
            kept=1.0 - s.habituation_depth * float(tiredness(np.array(load))),
            start=start,
            times=times[seen],
            logits=logit(values[seen], LOGIT_FLOOR),
            maps=self.frames.maps(times[seen], first=not self.steps),
        )
        gain = self._advance(self.theta, self.state, step)
        self.steps.append(step)
        if "velocity" in self.theta:  # the favourites, as they are at the next step
            self.theta["centre"] = self.theta["centre"] + _velocity(self.theta)
            if "second" in self.theta:
                self.theta["second"] = self.theta["second"] + _velocity(self.theta)
        # The target's evidence is the discounted sum of the steps' (`forget`): the weight of a
        # hypothesis moves by what its total changed.
        total = s.forget * self.loglik + s.temper * gain
        self.logw += total - self.loglik
        self.loglik = total
        w = self._weights()
        if 1.0 / np.sum(w**2) < self.P / 2:
            self._resample_move(w)

    def _weights(self) -> np.ndarray:
        w = np.exp(self.logw - self.logw.max())
        return w / w.sum()

    def _resample_move(self, w: np.ndarray) -> None:
        rng = self._rng
        positions = (rng.random() + np.arange(self.P)) / self.P
        index = np.minimum(np.searchsorted(np.cumsum(w), positions), self.P - 1)
        self.theta = {key: value[index] for key, value in self.theta.items()}
        self.loglik = self.loglik[index]
        self.state = {key: value[index] for key, value in self.state.items()}
        self.logw = np.zeros(self.P)
        for _ in range(self.settings.moves):
            proposal = {
                key: value
                if key == "moves"
                else value
                + self.scale * (value.std(axis=0) + 1e-3) * rng.standard_normal(value.shape)
                for key, value in self.theta.items()
            }
            rate = self._metropolis(proposal, self._prior_ratio(proposal))
            self.scale *= 1.1 if rate > 0.3 else 0.9
        # A favourite drawn afresh from its prior: an independence proposal (the priors cancel),
        # so a mode the cloud has not found can still be reached.
        proposal = {key: value.copy() for key, value in self.theta.items()}
        proposal["centre"] = self._centre_draw(self.P) + self._travelled(self.theta)
        self._metropolis(proposal, np.zeros(self.P))
        if "moves" in self.theta:
            self._flip_moving()
            for _ in range(self.settings.moves):
                self._shift_velocity()
        if "second" in self.theta:
            proposal = {key: value.copy() for key, value in self.theta.items()}
            proposal["second"] = self._rng.uniform(-1.0, 1.0, size=(self.P, self.n))
            proposal["second"] += self._travelled(self.theta)
            self._metropolis(proposal, np.zeros(self.P))
            # The two favourites trade places (an involution: the priors' ratio decides).
            swapped = {key: value.copy() for key, value in self.theta.items()}
            swapped["centre"], swapped["second"] = swapped["second"], swapped["centre"]
            self._metropolis(swapped, self._prior_ratio(swapped))

    def _pivot(self) -> float:
        """Steps from the middle of the history to the next step.

        A moving favourite's position there is what the history pins down best: moves that
        change a velocity keep it, so they are not refused for moving the whole history.
        """
        return len(self.steps) / 2.0

    def _shifted(self, theta: Theta, shift: np.ndarray) -> Theta:
        """`theta` with its favourites moved by `shift` (P, n)."""
        moved = {key: value.copy() for key, value in theta.items()}
        moved["centre"] = moved["centre"] + shift
        if "second" in moved:
            moved["second"] = moved["second"] + shift
        return moved

    def _velocity_proposal(self) -> tuple[np.ndarray, np.ndarray]:
        """Where a taste newly thought to move draws its velocity: (mean, sd) per parameter.

        Half the time from the moving hypotheses' weighted velocities (widened), half from
        the prior, so a drift found by some hypotheses is offered to the rest.
        """
        s = self.settings
        w = self._weights() * self.theta["moves"]
        if w.sum() <= 0.0:
            return np.zeros(self.n), np.full(self.n, s.drift_sd)
        w = w / w.sum()
        mean = w @ self.theta["velocity"]
        sd = np.sqrt(w @ (self.theta["velocity"] - mean) ** 2) + 0.1 * s.drift_sd
        return mean, sd

    def _log_velocity_q(self, velocity: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """Log density (P,) of the velocity proposal: half the fitted Gaussian, half the prior."""
        fitted = _log_normal(velocity, mean, sd)
        return np.logaddexp(fitted, self._log_velocity_prior(velocity)) - math.log(2.0)

    def _log_velocity_prior(self, velocity: np.ndarray) -> np.ndarray:
        """Log prior density (P,) of velocities (P, n): `drift_sd` along each parameter."""
        return _log_normal(velocity, 0.0, self.settings.drift_sd)

    def _flip_moving(self) -> None:
        """A reversible jump between a taste that stays and one that moves, about the pivot.

        A still hypothesis becomes a moving one with a velocity drawn from
        `_velocity_proposal`, its favourite placed so it passes where the still one sits at
        the middle of the history; a moving one becomes still there, its (unused) velocity
        drawn from the prior. The priors and the proposals' densities decide with the
        likelihood.
        """
        mean, sd = self._velocity_proposal()
        moving = self.theta["moves"] > 0.5
        drawn = mean + sd * self._rng.standard_normal((self.P, self.n))
        use = self._rng.random(self.P) < 0.5
        drawn[use] = self.settings.drift_sd * self._rng.standard_normal((int(use.sum()), self.n))
        forgotten = self.settings.drift_sd * self._rng.standard_normal((self.P, self.n))
        velocity = np.where(moving[:, None], forgotten, drawn)
        h = self._pivot()
        shift = np.where(moving[:, None], -self.theta["velocity"] * h, velocity * h)
        proposal = self._shifted(self.theta, shift)
        proposal["velocity"] = velocity
        proposal["moves"] = 1.0 - self.theta["moves"]
        q_moving = self._log_velocity_q(
            np.where(moving[:, None], self.theta["velocity"], velocity), mean, sd
        )
        prior_still = self._log_velocity_prior(
            np.where(moving[:, None], velocity, self.theta["velocity"])
        )
        correction = np.where(moving, q_moving - prior_still, prior_still - q_moving)
        self._metropolis(proposal, self._prior_ratio(proposal) + correction)

    def _shift_velocity(self) -> None:
        """A random-walk step of the moving hypotheses' velocities about the pivot."""
        s = self.settings
        moving = self.theta["moves"] > 0.5
        step = self.vscale * s.drift_sd * self._rng.standard_normal((self.P, self.n))
        proposal = self._shifted(self.theta, step * self._pivot())
        proposal["velocity"] = proposal["velocity"] + step
        extra = np.where(moving, self._prior_ratio(proposal), -np.inf)
        rate = self._metropolis(proposal, extra)
        if moving.any():
            accepted = rate * self.P / moving.sum()
            self.vscale *= 1.1 if accepted > 0.3 else 0.9

    def _prior_ratio(self, proposal: Theta) -> np.ndarray:
        """Log prior ratio of proposals to the current hypotheses (-inf: outside the prior)."""
        with np.errstate(invalid="ignore"):
            ratio = self._log_prior(proposal) - self._log_prior(self.theta)
        return np.where(np.isnan(ratio), -np.inf, ratio)

    def _metropolis(self, proposal: Theta, extra: np.ndarray) -> float:
        return metropolis(
            self._rng, self.theta, self.loglik, self.state, proposal, extra, self._history_loglik
        )

    # ----- what it does with the belief ---------------------------------------------------------
    def choose(self) -> np.ndarray:
        """Thompson sampling: the favourite of one particle drawn by weight."""
        pick = int(self._rng.choice(self.P, p=self._weights()))
        return np.clip(self.theta["centre"][pick], -1.0, 1.0)

    def best_point(self) -> np.ndarray | None:
        """The normalised emoticon of highest expected appeal (None before the first step).

        Candidates: the favourites of the `CANDIDATES` heaviest particles and their weighted
        mean. Deterministic: asking does not change what the agent does next.
        """
        if not self.steps:
            return None
        w = self._weights()
        centres = self.theta["centre"]
        heaviest = np.argsort(-w, kind="stable")[:CANDIDATES]
        candidates = np.vstack([centres[heaviest], w @ centres])
        scores = np.array([w @ self._appeal(self.theta, c) for c in candidates])
        best = np.clip(candidates[int(np.argmax(scores))], -1.0, 1.0)
        return self._climb(best, w)

    def _climb(self, start: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The expected appeal's summit near `start`, by mean shift (`refine` iterations).

        The expected appeal is a weighted sum of Gaussian bumps (each hypothesis's foothill
        and top); the mean-shift step, the bumps' centres averaged with weights of their
        height at the point times their precision, never lowers it (it is an EM step). A step
        that leaves the box is clipped back; a clipped step that lowers the appeal ends the
        climb. With a second favourite the appeal is the higher of two bumps, not a sum, and
        `start` is kept.
        """
        theta = self.theta
        if "second" in theta or self.settings.refine == 0:
            return start
        centres = theta["centre"]
        r2 = theta["relevance"] ** 2
        broad = np.exp(-2.0 * theta["log_broad"])
        top = np.exp(-2.0 * theta["log_top"])
        point = start
        value = float(w @ self._appeal(theta, point))
        for _ in range(self.settings.refine):
            d2 = np.sum(r2 * (point - centres) ** 2, axis=1)
            pull = w * (
                (1.0 - theta["share"]) * broad * np.exp(-0.5 * d2 * broad)
                + theta["share"] * top * np.exp(-0.5 * d2 * top)
            )
            precision = pull @ r2 + 1e-12
            moved = np.clip((pull @ (r2 * centres)) / precision, -1.0, 1.0)
            new_value = float(w @ self._appeal(theta, moved))
            if new_value <= value:
                break
            point, value = moved, new_value
        return point

    def best_params(self) -> np.ndarray | None:
        """Raw parameters of the best guess so far (None before the first step)."""
        best = self.best_point()
        if best is None or self.env is None:
            return None
        return emoticon_env(self.env).space.denormalize(best)

    def reaction_evidence(self) -> float:
        """The posterior probability of a lift of `responds_above` or more (NaN before a step)."""
        if not self.steps:
            return math.nan
        lifted = self.theta["log_lift"] >= math.log(self.settings.responds_above)
        return float(self._weights() @ lifted)

    def responds(self) -> bool | None:
        """Whether the person's face answers the emoticons (`BaseAgent.responds`).

        True when a lift of `responds_above` or more is the likelier; None before a step.
        """
        evidence = self.reaction_evidence()
        return None if math.isnan(evidence) else evidence >= 0.5

    # ----- persistence -------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        data = {"filter_seed": self._filter_seed, "clock": self.clock}
        arrays = {
            "warm_start": self.warm_start,
            "units": self.record_units,
            "starts": self.record_starts,
            "counts": self.record_counts,
            "times": self.record_times,
            "values": self.record_values,
        }
        return data, arrays

    def _set_state(self, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._filter_seed = int(data["filter_seed"])
        self.warm_start = np.asarray(arrays["warm_start"], dtype=np.float64).reshape(-1, self.n)
        units = np.asarray(arrays["units"], dtype=np.float64).reshape(-1, self.n)
        starts = np.asarray(arrays["starts"], dtype=np.float64)
        counts = np.asarray(arrays["counts"], dtype=np.int64)
        times = np.asarray(arrays["times"], dtype=np.float64)
        values = np.asarray(arrays["values"], dtype=np.float64)
        if not (units.shape[0] == starts.size == counts.size) or counts.sum() != times.size:
            raise ValueError("the saved steps disagree in length")
        self._start_filter()
        edges = np.concatenate([[0], np.cumsum(counts)])
        for k in range(units.shape[0]):
            self.target = self.choose()  # as it was chosen, to draw the same random numbers
            frames = slice(edges[k], edges[k + 1])
            self.take(units[k], float(starts[k]), times[frames], values[frames])
        self.clock = float(data["clock"])

    @classmethod
    def load(
        cls, path: str | Path, env: gym.Env | None = None, prior_mean: PriorMean | None = None
    ) -> Self:
        """Rebuild a saved agent (its warm start is saved with it; `prior_mean` is unused)."""
        return super().load(path, env=env)

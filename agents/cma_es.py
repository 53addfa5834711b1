"""CMA-ES over the emoticon's parameters: a population of emoticons per generation, no gradient.

Every shown emoticon is an expensive, noisy evaluation (seconds of a person's time, a few
frames of a noisy classifier). CMA-ES (the `cmaes` library, the one optuna's CmaEsSampler
uses) ranks a small population of emoticons drawn around a mean, moves the mean towards the
better ones and adapts the spread and the correlations between parameters: ranking makes it
indifferent to a mood that shifts all readings alike, and it costs a millisecond per step.
Evidence for this choice over Gaussian-process Bayesian optimisation, TPE and random search
is in benchmarks/results/history.md ("Choosing the optimiser").

## Runs that agree across CPUs
`cmaes.CMA` draws a point through an eigenbasis of the covariance that is not unique (equal
eigenvalues after the first generation) and that the CPU's BLAS kernels then pick, so one
seed gave other runs on other machines. The agent uses `SymmetricRootCMA`, which draws
through the covariance's symmetric square root: the same distribution, and runs that differ
between CPUs by rounding only (`separable` draws from a diagonal covariance, which has no
eigenbasis to choose).

## Moving to the chosen emoticon
On `laetitia/Smile-v1` an action moves each normalised parameter by at most `2 · step_size`.
The agent prefers `step_size=1.0` (`preferred_step_size`), where one step reaches any
emoticon: one step is still one shown emoticon, read over the same frames as for every other
agent. With a smaller step size it walks there; only the emoticon it chose is told to CMA-ES.
A step with no face measures nothing: the same emoticon is shown again.

## Persistence
JSON holds the start point, the seed and the generation in progress; tensors hold every
reading told to CMA-ES. `load` rebuilds the optimiser by replaying those generations through
a fresh optimiser with the same seed, which restores its state exactly. Nothing is pickled.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from laetitia.agents.base import Agent, StepInfo, emoticon_env
from laetitia.agents.settings import Settings
from laetitia.errors import ConfigError


@dataclass(frozen=True)
class CmaEsSettings(Settings):
    """CMA-ES's settings."""

    agent: ClassVar[str] = "cma-es"
    limits: ClassVar[Mapping[str, tuple[int, int]]] = {"population": (2, 10_000)}
    population: int = 6
    """Emoticons per generation, at least 2."""
    sigma: float = 0.4
    """Initial spread, in normalised units (each range is 2 wide), in (0, 2]."""
    separable: bool = False
    """Adapt a diagonal covariance only (sep-CMA-ES: faster per parameter, blind to
    correlations between parameters)."""

    def _check(self) -> None:
        if not 0.0 < self.sigma <= 2.0:
            raise self._refused("sigma", "must be in (0, 2]")


class CmaEs(Agent):
    """CMA-ES (the `cmaes` library) on `laetitia/Smile-v1`, one emoticon per step.

    Settings: `CmaEsSettings`.
    """

    name = CmaEsSettings.agent
    settings_class = CmaEsSettings
    settings: CmaEsSettings
    preferred_step_size = 1.0
    """The env step size the bench runs this agent with: one step reaches any emoticon."""

    def __init__(
        self,
        env: gym.Env | None,
        seed: int | None = None,
        settings: CmaEsSettings | None = None,
        **changes: Any,
    ) -> None:
        super().__init__(env, seed, settings, **changes)
        self._cma_seed = int(self.rng.integers(2**31 - 1))
        self._cma: Any = None
        self.start: np.ndarray | None = None
        """Normalised parameters the search started from (the emoticon on show then)."""
        self.queue: list[np.ndarray] = []
        """Emoticons of this generation still to be shown, the next one last."""
        self.target: np.ndarray | None = None
        """The emoticon being shown, until a reading with a face is taken."""
        self.told: list[tuple[np.ndarray, float]] = []
        """Readings of this generation, as (point, reward)."""
        self.history_points = np.empty((0, self._n_params()))
        """Every reading told to CMA-ES, generation after generation."""
        self.history_values = np.empty(0)

    def _check_env(self, env: gym.Env) -> None:
        if not isinstance(env.action_space, gym.spaces.Box):
            raise ConfigError(
                "cma-es moves to chosen emoticons by continuous steps: use laetitia/Smile-v1, "
                f"not an env with a {type(env.action_space).__name__} action space."
            )
        step_size = float(emoticon_env(env).step_size)
        if step_size < self.preferred_step_size:
            warnings.warn(
                f"cma-es reaches the emoticon it chose in one step only with step_size "
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

    # ----- the hooks ------------------------------------------------------------------------
    def _act(self, obs: np.ndarray) -> np.ndarray:
        current = obs[:-1].astype(np.float64)
        if self._cma is None:
            self.start = current.copy()
            self._cma = self._new_cma()
        if self.target is None:
            if not self.queue:
                self._next_generation()
            self.target = self.queue.pop()
        return self._move(current, self.target)

    def _observe(
        self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray, info: StepInfo
    ) -> None:
        if not info["scored"] or self.target is None:
            return  # no face: nothing measured; the same emoticon is shown again
        if not np.allclose(next_obs[:-1], self.target, atol=1e-4):
            return  # still on the way to the chosen emoticon
        self.told.append((self.target, reward))
        self.target = None
        if len(self.told) == self._pop():
            self._tell()

    def _policy(self, obs: np.ndarray) -> np.ndarray:
        current = obs[:-1].astype(np.float64)
        best = self.best_point()
        return self._move(current, current if best is None else best)

    # ----- CMA-ES -------------------------------------------------------------------------------
    def _pop(self) -> int:
        return self.settings.population

    def _new_cma(self) -> Any:
        import cmaes

        from laetitia.agents.symmetric_cma import SymmetricRootCMA

        assert self.start is not None
        bounds = np.tile([-1.0, 1.0], (self.start.size, 1))
        algorithm = cmaes.SepCMA if self.settings.separable else SymmetricRootCMA
        return algorithm(
            mean=self.start,
            sigma=self.settings.sigma,
            bounds=bounds,
            seed=self._cma_seed,
            population_size=self._pop(),
        )

    def _next_generation(self) -> None:
        self.queue = [self._cma.ask() for _ in range(self._pop())][::-1]

    def _tell(self) -> None:
        points = np.array([p for p, _ in self.told])
        values = np.array([v for _, v in self.told])
        self._cma.tell([(p, -v) for p, v in self.told])  # cmaes minimises
        self.history_points = np.vstack([self.history_points, points])
        self.history_values = np.append(self.history_values, values)
        self.told = []

    def best_point(self) -> np.ndarray | None:
        """Normalised parameters of the mean, the best guess so far (None before the start)."""
        if self._cma is None:
            return None
        return np.clip(self._cma.mean, -1.0, 1.0)

    def best_params(self) -> np.ndarray | None:
        """Raw parameters of the best guess so far (None before the start)."""
        best = self.best_point()
        if best is None or self.env is None:
            return None
        return emoticon_env(self.env).space.denormalize(best)

    # ----- persistence -------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        data = {
            "cma_seed": self._cma_seed,
            "start": None if self.start is None else self.start.tolist(),
            "queue": [p.tolist() for p in self.queue],
            "target": None if self.target is None else self.target.tolist(),
            "told": [[p.tolist(), v] for p, v in self.told],
        }
        return data, {"history_points": self.history_points, "history_values": self.history_values}

    def _set_state(self, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._cma_seed = int(data["cma_seed"])
        self.history_points = np.asarray(arrays["history_points"], dtype=np.float64)
        self.history_values = np.asarray(arrays["history_values"], dtype=np.float64)
        self.queue = [np.asarray(p, dtype=np.float64) for p in data["queue"]]
        self.target = None if data["target"] is None else np.asarray(data["target"], np.float64)
        self.told = [(np.asarray(p, dtype=np.float64), float(v)) for p, v in data["told"]]
        self.start = None if data["start"] is None else np.asarray(data["start"], np.float64)
        self._cma = None if self.start is None else self._replay()

    def _replay(self) -> Any:
        """A fresh optimiser fed the saved generations: the same state as the saved one."""
        cma = self._new_cma()
        pop = self._pop()
        for g in range(self.history_values.size // pop):
            for _ in range(pop):
                cma.ask()
            rows = slice(g * pop, (g + 1) * pop)
            cma.tell(
                [
                    (p, -v)
                    for p, v in zip(
                        self.history_points[rows], self.history_values[rows], strict=True
                    )
                ]
            )
        if self.queue or self.target is not None or self.told:
            for _ in range(pop):
                cma.ask()  # the generation in progress was asked already
        return cma

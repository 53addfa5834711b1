"""The Monte Carlo hill-climber of the original DeepLaetitia project.

Each step picks one parameter at random (every parameter, eyebrow slant included), moves it by
a uniform random step, clips it to its bounds, shows the emoticon and averages the happiness
over the viewer's frames. The change is kept if that happiness beats the best so far;
otherwise the old value is restored. Restoring and the next move share one env step: the
action goes straight from the rejected candidate to the next one, so every step measures a new
emoticon.

Noise can let one lucky reading hold the best forever. With `remeasure_every=k` the incumbent
is shown again every k steps and its best reading becomes the mean of all its readings;
`remeasure_every=0` (the default) reproduces the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from laetitia.agents.base import Agent, StepInfo, emoticon_env
from laetitia.agents.settings import Settings
from laetitia.errors import ConfigError


@dataclass(frozen=True)
class HillClimbSettings(Settings):
    """The hill-climber's settings."""

    agent: ClassVar[str] = "hill-climb"
    step: float = 1.0
    """Largest move of one parameter, as a fraction of the env's `step_size`, in (0, 1]."""
    remeasure_every: int = 0
    """Show the incumbent again every this many steps (0: never, as the original)."""

    def _check(self) -> None:
        if not 0.0 < self.step <= 1.0:
            raise self._refused("step", "must be in (0, 1]")
        if self.remeasure_every < 0:
            raise self._refused("remeasure_every", "must be 0 (off) or a positive count")


class HillClimber(Agent):
    """Monte Carlo hill-climbing over the emoticon's parameters on `laetitia/Smile-v1`.

    Settings: `HillClimbSettings`.
    """

    name = HillClimbSettings.agent
    settings_class = HillClimbSettings
    settings: HillClimbSettings

    def __init__(
        self,
        env: gym.Env | None,
        seed: int | None = None,
        settings: HillClimbSettings | None = None,
        **changes: Any,
    ) -> None:
        super().__init__(env, seed, settings, **changes)
        self.incumbent: np.ndarray | None = None
        """Normalised parameters of the best emoticon so far."""
        self.best_reward = -np.inf
        self.readings = 0
        """How many readings `best_reward` averages."""
        self._candidate: np.ndarray | None = None
        self._remeasuring = False

    def _check_env(self, env: gym.Env) -> None:
        if not isinstance(env.action_space, gym.spaces.Box):
            raise ConfigError(
                "the hill-climber moves parameters by continuous steps: use laetitia/Smile-v1, "
                f"not an env with a {type(env.action_space).__name__} action space."
            )

    def _act(self, obs: np.ndarray) -> np.ndarray:
        current = obs[:-1].astype(np.float64)
        if self.incumbent is None:
            self._candidate, self._remeasuring = current, True
        elif self._due_for_remeasure():
            self._candidate, self._remeasuring = self.incumbent, True
        else:
            self._candidate, self._remeasuring = self._propose(), False
        return self._move(current, self._candidate)

    def _due_for_remeasure(self) -> bool:
        every = self.settings.remeasure_every
        return every > 0 and self.num_timesteps % every == 0

    def _propose(self) -> np.ndarray:
        assert self.incumbent is not None
        candidate = self.incumbent.copy()
        index = self.rng.integers(candidate.size)
        reach = 2.0 * self.settings.step * self._step_size()
        candidate[index] = np.clip(candidate[index] + self.rng.uniform(-reach, reach), -1, 1)
        return candidate

    def _observe(
        self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray, info: StepInfo
    ) -> None:
        if not info["scored"]:
            return  # no face: nothing was measured, the incumbent stands
        shown = next_obs[:-1].astype(np.float64)
        if self._remeasuring and self.incumbent is not None:
            self.best_reward = (self.best_reward * self.readings + reward) / (self.readings + 1)
            self.readings += 1
        elif self.incumbent is None or reward > self.best_reward:
            self.incumbent, self.best_reward, self.readings = shown, reward, 1

    def _policy(self, obs: np.ndarray) -> np.ndarray:
        target = obs[:-1] if self.incumbent is None else self.incumbent
        return self._move(obs[:-1].astype(np.float64), target)

    def _step_size(self) -> float:
        if self.env is None:
            raise ConfigError("the hill-climber needs its env to turn moves into actions.")
        return float(emoticon_env(self.env).step_size)

    def reset_options(self) -> dict[str, Any] | None:
        """Start each episode at the incumbent, once there is one."""
        best = self.best_params()
        return None if best is None else {"params": best}

    def best_params(self) -> np.ndarray | None:
        """Raw parameters of the incumbent, or None before the first reading."""
        if self.incumbent is None or self.env is None:
            return None
        return emoticon_env(self.env).space.denormalize(self.incumbent)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        data = {"best_reward": self.best_reward, "readings": self.readings}
        arrays = {} if self.incumbent is None else {"incumbent": self.incumbent}
        return data, arrays

    def _set_state(self, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.best_reward = float(data["best_reward"])
        self.readings = int(data["readings"])
        self.incumbent = arrays.get("incumbent")

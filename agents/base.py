"""The base of laetitia's own agents: the training loop, callbacks, and persistence.

Every agent, ours or stable-baselines3's, answers `learn`, `predict`, `save` and `load`, so
`laetitia train` treats them all alike. An algorithm file implements only the hooks:
`_act` (choose an action while learning), `_observe` (learn from one transition), and the
state it persists (`_state`/`_set_state`, plain JSON plus optional tensors).

Persistence is a folder: `agent.json` (the agent's name, settings and JSON state) and, when
the agent has arrays, `tensors-<steps>.safetensors`, named in `agent.json`. The tensors are
written first and `agent.json` is replaced atomically last, so a process killed mid-save leaves
the previous complete save. Loading rebuilds the agent from JSON and sets the tensors; nothing
is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Self

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import Logger

from laetitia.errors import ConfigError, SessionError
from laetitia.sessions import write_json_atomic

AGENT_FILE = "agent.json"


class Agent:
    """Shared machinery of laetitia's own agents (not the stable-baselines3 ones).

    Args:
        env: The environment to learn on; may be None for an agent loaded only to predict.
        seed: Seeds the agent's own random generator.
        **settings: Algorithm settings; unknown names are errors.
    """

    name: ClassVar[str]
    """The name `laetitia train --agent` uses."""
    defaults: ClassVar[dict[str, Any]] = {}
    """Every setting the algorithm takes, with its default."""

    def __init__(self, env: gym.Env | None, seed: int | None = None, **settings: Any) -> None:
        unknown = sorted(set(settings) - set(self.defaults))
        if unknown:
            raise ConfigError(
                f"agent {self.name!r} has no setting(s) {unknown}; "
                f"its settings are {sorted(self.defaults)}."
            )
        self.settings = {**self.defaults, **settings}
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.env = env
        self.num_timesteps = 0
        self.episode = 0
        self.logger = Logger(folder=None, output_formats=[])
        self._obs: np.ndarray | None = None
        if env is not None:
            self._check_env(env)

    def _check_env(self, env: gym.Env) -> None:
        """Refuse an environment the algorithm cannot drive (override where it matters)."""

    def get_env(self) -> gym.Env | None:
        """The environment (stable-baselines3's callback contract asks for it)."""
        return self.env

    # ----- the hooks an algorithm implements -------------------------------------------------
    def _act(self, obs: np.ndarray) -> Any:
        """The action to take while learning."""
        raise NotImplementedError

    def _observe(
        self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray, info: dict
    ) -> None:
        """Learn from one transition."""

    def _policy(self, obs: np.ndarray) -> Any:
        """The greedy action (what `predict(deterministic=True)` returns)."""
        raise NotImplementedError

    def _reset_options(self) -> dict[str, Any] | None:
        """Options for `env.reset` at the start of each episode."""
        return None

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What the agent has learned: JSON-able data and named arrays."""
        return {}, {}

    def _set_state(self, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what `_state` returned."""

    # ----- the stable-baselines3-shaped interface --------------------------------------------
    def learn(
        self, total_timesteps: int, callback: BaseCallback | list[BaseCallback] | None = None
    ) -> Self:
        """Interact with the environment for `total_timesteps` steps, learning as it goes.

        A second call continues where the first stopped (same episode, same emoticon).

        Raises:
            ConfigError: If `total_timesteps` is not positive or the agent has no env.
        """
        if total_timesteps < 1:
            raise ConfigError(f"the number of steps must be at least 1, got {total_timesteps}.")
        if self.env is None:
            raise ConfigError(f"agent {self.name!r} has no environment; load it with env=...")
        callback = self._init_callback(callback)
        callback.on_training_start(locals(), globals())
        if self._obs is None:
            # A resumed agent must not replay the environment's random streams from the start.
            seed = self.seed if self.num_timesteps == 0 else _later_seed(self.seed, self)
            self._obs, _ = self.env.reset(seed=seed, options=self._reset_options())
        for _ in range(total_timesteps):
            obs = self._obs
            action = self._act(obs)
            next_obs, reward, terminated, truncated, info = self.env.step(action)
            self.num_timesteps += 1
            self._observe(obs, action, float(reward), next_obs, info)
            done = terminated or truncated
            callback.update_locals(
                {"infos": [info], "dones": np.array([done]), "rewards": np.array([reward])}
            )
            self._obs = next_obs
            if done:
                self.episode += 1
                self._obs, _ = self.env.reset(options=self._reset_options())
            if not callback.on_step():
                break
        callback.on_training_end()
        return self

    def predict(
        self,
        observation: np.ndarray,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[Any, tuple[np.ndarray, ...] | None]:
        """The action for an observation: greedy when deterministic, exploring otherwise."""
        obs = np.asarray(observation, dtype=np.float64)
        return (self._policy(obs) if deterministic else self._act(obs)), state

    def save(self, path: str | Path) -> None:
        """Write the agent to the folder `path` (settings and state as JSON, arrays as tensors)."""
        from safetensors.numpy import save_file

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        data, arrays = self._state()
        tensors = f"tensors-{self.num_timesteps}.safetensors" if arrays else None
        document = {
            "agent": self.name,
            "settings": self.settings,
            "seed": self.seed,
            "num_timesteps": self.num_timesteps,
            "episode": self.episode,
            "rng": self.rng.bit_generator.state,
            "state": data,
            "tensors": tensors,
        }
        if tensors is not None:
            save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, folder / tensors)
        write_json_atomic(folder / AGENT_FILE, document)
        for stale in folder.glob("tensors-*.safetensors"):
            if stale.name != tensors:
                stale.unlink()

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> Self:
        """Rebuild an agent saved with `save`, optionally attached to an environment.

        Raises:
            SessionError: If the folder holds no agent, or an agent of another kind.
        """
        from safetensors.numpy import load_file

        folder = Path(path)
        try:
            document = json.loads((folder / AGENT_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise SessionError(f"no saved agent in {folder}: {AGENT_FILE} is missing.") from error
        except json.JSONDecodeError as error:
            raise SessionError(f"{folder / AGENT_FILE} is corrupt: {error}.") from error
        if document.get("agent") != cls.name:
            raise SessionError(
                f"{folder} holds a {document.get('agent')!r} agent, not {cls.name!r}."
            )
        agent = cls(env, seed=document["seed"], **document["settings"])
        agent.num_timesteps = document["num_timesteps"]
        agent.episode = document["episode"]
        agent.rng.bit_generator.state = document["rng"]
        tensors = document["tensors"]
        agent._set_state(document["state"], load_file(folder / tensors) if tensors else {})
        return agent

    def _init_callback(self, callback: BaseCallback | list[BaseCallback] | None) -> BaseCallback:
        if callback is None:
            callback = []
        if isinstance(callback, list):
            callback = CallbackList(callback)
        callback.init_callback(self)  # type: ignore[arg-type]
        return callback


def _later_seed(seed: int | None, agent: Agent) -> int | None:
    """A seed for an environment reset part-way through a run, distinct from the first one."""
    if seed is None:
        return None
    return int(np.random.default_rng([seed, agent.num_timesteps]).integers(2**31 - 1))

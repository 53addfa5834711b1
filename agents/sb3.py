"""stable-baselines3's algorithms behind laetitia's agent interface, saved without pickle.

`SB3Agent` wraps one SB3 model so that it answers what every laetitia agent answers: the
constructor `(env, seed=None, settings=None, **changes)` with unknown settings refused,
`learn`, `predict`, `save` and `load`. An algorithm file (`ppo.py`, `dqn.py`) says only which
SB3 class it wraps, its settings (an `SB3Settings` dataclass, with defaults chosen for the
hundreds of steps a person can give), how they become the SB3 class's arguments
(`_model_arguments`), and any extra state it persists.

What differs from plain SB3:
- `learn(n)` takes exactly `n` more steps, continuing the step count (SB3's
  `reset_num_timesteps=False`). When `n` ends part-way through a PPO rollout, the steps of
  that unfinished rollout are shown and recorded but not learned from (PPO learns from whole
  rollouts only).
- Callbacks are bound to this wrapper, not to the SB3 model inside it: `self.model` in a
  callback is the laetitia agent, so `AgentCheckpoint` saves it in laetitia's format. The
  step's `infos` and `dones` come through SB3's `Monitor` and `DummyVecEnv` unchanged, so
  `SessionCallback` records PPO and DQN steps like any other.
- `history=K` (a setting of every SB3 agent, 0 by default) wraps the env the agent is given
  in `laetitia.envs.history.ShownHistory`: the policy sees the last K shown emoticons and
  their rewards beside the one on show, so it can see habituation. The wrapper passes infos
  through unchanged; a resume rebuilds its history from the session (`catch_up`).
- Persistence is `agent.json` plus safetensors (see `laetitia.agents.base`): the policy's
  `state_dict`, the optimizer's moments, and what the algorithm adds (DQN: its replay buffer).
  Loading rebuilds the model from the JSON settings and loads the tensors into it; SB3's
  `.zip` files, which unpickle parts of themselves, are never written or read.
- Stopping at an exact step, starting a rollout with recorded steps and restoring a replay
  buffer lean on SB3 internals; `laetitia.agents.sb3_contract` lists them and checks them
  before the first model is built.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from laetitia.agents.base import BaseAgent, RecordedSteps, emoticon_steps, later_seed
from laetitia.agents.sb3_contract import (
    require_model_internals,
    require_sb3_internals,
    step_locals,
)
from laetitia.agents.settings import Settings
from laetitia.envs.history import ShownHistory, history_rows, shown_observations
from laetitia.errors import ConfigError, SessionError, VideoEndedError
from laetitia.threads import ensure_threads

MAX_LAYERS = 16
"""The most hidden layers an SB3 agent's network (`net_arch`) may have."""
MAX_HISTORY = 100
"""The most shown steps `history` may carry. The slowest habituation the simulated people have
recovers with a half-life of 20 shown emoticons, so 100 steps back it has faded to 3%; DQN's
replay buffer holds two observations per transition (10,000 by default), which at K = 100 is
already 80 MB."""


@dataclass(frozen=True)
class SB3Settings(Settings):
    """What every stable-baselines3 agent's settings have beside its algorithm's arguments."""

    history: int = 0
    """How many shown emoticons (and their rewards) the observation carries beside the one on
    show, from 0 (none) to `MAX_HISTORY` (`laetitia.envs.history.ShownHistory`)."""

    def _check(self) -> None:
        layers = getattr(self, "net_arch", ())
        if len(layers) > MAX_LAYERS:
            raise self._refused("net_arch", f"has at most {MAX_LAYERS} hidden layers")
        if not 0 <= self.history <= MAX_HISTORY:
            raise self._refused(
                "history",
                "is how many shown emoticons the observation carries, from 0 (none) to "
                f"{MAX_HISTORY}",
            )


@dataclass(frozen=True)
class Transition:
    """One recorded step as stable-baselines3 stores it, for an agent catching up."""

    obs: np.ndarray
    """float32 (obs_dim,): the observation the step was chosen from."""
    action: np.ndarray
    """The action that moves `obs`'s emoticon to the one shown (the env's action space)."""
    reward: float
    next_obs: np.ndarray
    """float32 (obs_dim,): the observation after the step."""
    episode_start: bool
    """Whether the step is the first of its episode."""
    episode_end: bool
    """Whether the step is the last of its episode (a time limit, never a termination)."""


POLICY_PREFIX = "policy/"
OPTIMIZER_PREFIX = "optimizer/"


def require_tensorboard() -> None:
    """Check that TensorBoard logging can work.

    Raises:
        ConfigError: If the `tensorboard` package is not installed.
    """
    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "TensorBoard logging needs the tensorboard package, which laetitia depends on: "
            "reinstall laetitia (pip install tensorboard), or log nothing to TensorBoard.",
            field="tensorboard",
        )


class SB3Agent(BaseAgent):
    """A stable-baselines3 algorithm as a laetitia agent.

    Subclasses set `algorithm` (the SB3 class), `settings_class` (an `SB3Settings`) and
    `_model_arguments` (the SB3 class's arguments from the settings), and may extend
    `_state`/`_set_state`.

    Args:
        env: The environment to learn on; None for an agent loaded only to predict (the model
            then takes its spaces from the agent's registered environment). With `history`
            set, the agent's `env` is this one wrapped in `ShownHistory`.
        seed: Seeds SB3 (Python, numpy, torch, the action space and the env's first reset).
        settings: The algorithm's settings; None: the defaults.
        **changes: Settings by name, over `settings`.

    Raises:
        ConfigError: For settings the agent or SB3 refuses.
        DependencyError: If the installed SB3 changed an internal resume relies on
            (`laetitia.agents.sb3_contract`).
    """

    algorithm: ClassVar[type[BaseAlgorithm]]
    """The stable-baselines3 class this agent wraps."""
    settings_class: ClassVar[type[Settings]] = SB3Settings
    settings: SB3Settings
    model_attributes: ClassVar[tuple[tuple[str, type | None], ...]] = ()
    """Attributes of the SB3 model, beyond every model's, that the agent saves or sets
    (`laetitia.agents.sb3_contract.require_model_internals`), with their types."""
    action_spaces: ClassVar[tuple[type[gym.Space[Any]], ...]]
    """The action spaces the algorithm drives."""
    logs_tensorboard = True

    def __init__(
        self,
        env: gym.Env | None,
        seed: int | None = None,
        settings: SB3Settings | None = None,
        **changes: Any,
    ) -> None:
        super().__init__(env, seed, settings, **changes)
        require_sb3_internals()
        ensure_threads()  # torch's default spins on a busy small machine (laetitia.threads)
        self.history = self.settings.history
        """How many shown steps the observation carries beside the one on show (0: none)."""
        if env is not None:
            self.env = self.observed(env)
        model_env = self.env if self.env is not None else _SpacesOnly(self.name, self.history)
        try:
            self.model = self.algorithm(
                "MlpPolicy", model_env, seed=seed, verbose=0, **self._model_arguments()
            )
        except (TypeError, ValueError, AssertionError) as error:
            # SB3 checks its arguments as it builds the model; a value it refuses is a setting.
            default = self.settings_class().to_dict()
            given = ", ".join(
                f"{k}={v!r}" for k, v in self.settings.to_dict().items() if v != default[k]
            )
            given = given or "none (the defaults)"
            why = str(error) or type(error).__name__
            raise ConfigError(
                f"agent {self.name!r} cannot be built with the settings given ({given}): "
                f"stable-baselines3's {self.algorithm.__name__} says: {why}. "
                "Change or drop those settings.",
                field="agent_args",
            ) from error
        require_model_internals(self.model, self.model_attributes)
        self._tensorboard_run = self.name

    def _model_arguments(self) -> dict[str, Any]:
        """The SB3 class's arguments, besides the policy, env, seed and verbosity."""
        raise NotImplementedError

    def _check_env(self, env: gym.Env) -> None:
        if not isinstance(env.action_space, self.action_spaces):
            names = " or ".join(space.__name__ for space in self.action_spaces)
            raise ConfigError(
                f"agent {self.name!r} needs a {names} action space, not "
                f"{type(env.action_space).__name__}; use the env laetitia train picks for it."
            )

    def observed(self, env: gym.Env) -> gym.Env:
        """`env` as this agent observes it: in `ShownHistory` when `history` is set.

        An env that already carries the agent's history is returned as it is.

        Raises:
            ConfigError: If `env` already carries a history of another length.
        """
        if not self.history:
            return env
        carried = _shown_history(env)
        if carried is None:
            return ShownHistory(env, self.history)
        if carried.k != self.history:
            raise ConfigError(
                f"agent {self.name!r} observes a history of {self.history} shown steps; this "
                f"env already carries {carried.k}. Give it the env without ShownHistory.",
                field="agent_args",
            )
        return env

    @property
    def num_timesteps(self) -> int:
        """Environment steps taken so far (the SB3 model's count)."""
        return int(self.model.num_timesteps)

    @num_timesteps.setter
    def num_timesteps(self, value: int) -> None:
        self.model.num_timesteps = int(value)

    @property
    def logger(self) -> Any:
        """The SB3 model's logger (callbacks read it)."""
        return self.model.logger

    def log_to_tensorboard(self, folder: Path, run: str | None = None) -> None:
        """Write SB3's training statistics under `folder`, as the run `run`.

        `run` defaults to the agent's name; later `learn` calls, resumed ones included,
        continue the same run.

        Raises:
            ConfigError: If the `tensorboard` package is not installed.
        """
        require_tensorboard()
        self.model.tensorboard_log = str(folder)
        self._tensorboard_run = run or self.name

    def learn(
        self, total_timesteps: int, callback: BaseCallback | list[BaseCallback] | None = None
    ) -> Self:
        """Take exactly `total_timesteps` more steps, learning as SB3's algorithm does.

        Raises:
            ConfigError: If `total_timesteps` is not positive or the agent has no env.
        """
        self._check_learn(total_timesteps)
        callbacks = [] if callback is None else callback
        if isinstance(callbacks, BaseCallback):
            callbacks = [callbacks]
        stop = _StopAt(self, self.num_timesteps + total_timesteps)
        self.model.learn(
            total_timesteps,
            callback=_BoundCallbacks(self, [_NothingShown(), *callbacks, stop]),
            reset_num_timesteps=False,
            log_interval=1,
            tb_log_name=self._tensorboard_run,
        )
        if stop.last is not None:
            # SB3 returns before taking in the step it was stopped on; the env has moved on.
            # (An internal: `sb3_contract`, "a stopped step is not taken in".)
            self.model._last_obs, self.model._last_episode_starts = stop.last
        return self

    def catch_up(self, recorded: RecordedSteps) -> int:
        """Take in the recorded steps the agent missed (see `BaseAgent.catch_up`).

        The steps become transitions as the algorithm would have stored them (each action
        worked out from the emoticons before and after it, `action_between`) and the
        algorithm takes them in (`_take_in`); the step count goes on from the session's, and
        the random streams are reseeded so the agent does not replay its first choices. With
        `history` set, each transition's observations carry the recorded steps before it,
        and the env's history becomes the session's last steps, caught up on or not: a
        resumed run sees what the person saw.

        Raises:
            SessionError: If the agent is ahead of the session, or a recorded step is not a
                move the env can make.
        """
        start = self.num_timesteps
        if recorded.n_steps <= start:
            caught = super().catch_up(recorded)
            self._remember(recorded)
            return caught
        transitions = self._transitions(recorded, start)
        self._remember(recorded)
        self._take_in(transitions)
        self.num_timesteps = recorded.n_steps
        self.episode += sum(recorded.starts_episode(s) for s in range(start + 1, recorded.n_steps))
        self.model.set_random_seed(later_seed(self.seed, self.num_timesteps))
        # A resumed run starts a new episode: SB3 resets the env when _last_obs is None (an
        # internal: `sb3_contract`, "BaseAlgorithm._setup_learn").
        self.model._last_obs = None
        return len(transitions)

    def _transitions(self, recorded: RecordedSteps, start: int) -> list[Transition]:
        if self.env is None:
            raise ConfigError(f"agent {self.name!r} has no environment; load it with env=...")
        env = emoticon_steps(self.env)
        space = env.space
        units = np.stack([space.normalize(space.clip(p)) for p in recorded.params])
        shown = shown_observations(space, recorded.params, recorded.rewards)
        transitions = []
        for step in range(start, recorded.n_steps):
            begins = recorded.starts_episode(step)
            if begins:
                before = env.starting_unit(None)
                reward_before, earlier = 0.0, shown[:step]
            else:
                before, reward_before = units[step - 1], float(recorded.rewards[step - 1])
                earlier = shown[: step - 1]
            action = None if before is None else env.action_between(before, units[step])
            if before is None or action is None:
                raise SessionError(
                    f"step {step} of the session is not a move agent {self.name!r}'s env makes; "
                    "the session and the agent do not belong together."
                )
            # The last recorded step ends its episode too: a resumed run starts a new one.
            ends = step + 1 == recorded.n_steps or recorded.starts_episode(step + 1)
            transitions.append(
                Transition(
                    obs=self._observation(np.append(before, reward_before), earlier),
                    action=np.asarray(action),
                    reward=float(recorded.rewards[step]),
                    next_obs=self._observation(shown[step], shown[:step]),
                    episode_start=begins,
                    episode_end=ends,
                )
            )
        return transitions

    def _observation(self, own: np.ndarray, earlier: np.ndarray) -> np.ndarray:
        """The observation the agent's env gives: its own, then the history of `earlier`.

        Args:
            own: float (d,), the smile env's observation.
            earlier: (n, d), the env's observations of the steps shown before, oldest first.
        """
        own = np.asarray(own, dtype=np.float32)
        if not self.history:
            return own
        return np.concatenate([own, history_rows(earlier, self.history)])

    def _remember(self, recorded: RecordedSteps) -> None:
        """Set the env's history to the recorded steps (the person saw them)."""
        carried = None if self.env is None else _shown_history(self.env)
        if carried is None:
            return
        space = emoticon_steps(carried).space
        carried.remember(shown_observations(space, recorded.params, recorded.rewards))

    def _take_in(self, transitions: list[Transition]) -> None:
        """Store recorded transitions as the algorithm stores its own (subclasses say how)."""
        raise SessionError(f"agent {self.name!r} cannot learn from recorded steps.")

    def _completes_rollout(self) -> bool:
        """Whether the step SB3 is reporting to the callbacks completes a rollout."""
        return True

    def predict(
        self,
        observation: np.ndarray,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[Any, tuple[np.ndarray, ...] | None]:
        """The action for an observation: the policy's mode when deterministic."""
        action, state = self.model.predict(
            np.asarray(observation, dtype=np.float32), state, episode_start, deterministic
        )
        return action, state

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        policy = self.model.policy
        arrays = {POLICY_PREFIX + k: _numpy(v) for k, v in policy.state_dict().items()}
        groups, moments = _flatten_optimizer(policy.optimizer.state_dict())
        arrays.update({OPTIMIZER_PREFIX + k: v for k, v in moments.items()})
        return {"optimizer_groups": groups, "n_updates": self.model._n_updates}, arrays

    def _set_state(self, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        policy = self.model.policy
        weights = _strip(POLICY_PREFIX, arrays)
        try:
            policy.load_state_dict({k: torch.as_tensor(np.array(v)) for k, v in weights.items()})
        except RuntimeError as error:
            raise SessionError(
                f"the saved {self.name!r} policy does not fit this environment ({error}); "
                "load it with the environment it was trained on."
            ) from error
        policy.optimizer.load_state_dict(
            _unflatten_optimizer(data["optimizer_groups"], _strip(OPTIMIZER_PREFIX, arrays))
        )
        self.model._n_updates = int(data["n_updates"])
        if self.num_timesteps:
            # Continue with fresh random streams rather than replaying the first run's.
            self.model.set_random_seed(later_seed(self.seed, self.num_timesteps))


def _shown_history(env: gym.Env) -> ShownHistory | None:
    """The `ShownHistory` among `env`'s wrappers, if any."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, ShownHistory):
            return env
        env = env.env
    return None


class _SpacesOnly(gym.Env):
    """The spaces of an agent's registered env, for a model built without an environment.

    Args:
        agent_name: The agent (its registered env gives the spaces).
        history: Shown steps the observation carries (the agent's `history` setting).
    """

    def __init__(self, agent_name: str, history: int = 0) -> None:
        from laetitia.agents import AGENTS

        self.agent_name = agent_name
        probe: gym.Env = gym.make(AGENTS[agent_name].env_id)  # the simulated viewer: opens nothing
        if history:
            probe = ShownHistory(probe, history)
        self.observation_space = probe.observation_space
        self.action_space = probe.action_space
        probe.close()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        """Refuse: this stand-in has no viewer."""
        raise ConfigError(f"agent {self.agent_name!r} has no environment; load it with env=...")

    def step(self, action: Any) -> Any:
        """Refuse: this stand-in has no viewer."""
        raise ConfigError(f"agent {self.agent_name!r} has no environment; load it with env=...")


class _BoundCallbacks(CallbackList):
    """Callbacks that see the laetitia agent as their `model`, not the SB3 model inside it."""

    def __init__(self, agent: SB3Agent, callbacks: list[BaseCallback]) -> None:
        super().__init__(callbacks)
        self.agent = agent

    def init_callback(self, model: Any) -> None:
        """Bind to the agent, whatever SB3 passes."""
        # SB3 types a callback's model as its BaseAlgorithm; the agent is none, but answers
        # what callbacks read of it (num_timesteps, logger, get_env, save).
        super().init_callback(self.agent)  # type: ignore[arg-type]


class _NothingShown(BaseCallback):
    """Ends learning when a recording ran out: that step showed nothing and does not count."""

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if info.get("recording_over"):
                self.model.num_timesteps -= 1
                raise VideoEndedError(info["recording_over"])
        return True


class _StopAt(BaseCallback):
    """Stops SB3 at an exact step count and keeps what it needs to continue from there.

    SB3's own loop ends at the first rollout boundary at or after its target; this stops it
    earlier when the target falls inside a rollout, and counts the agent's episodes.
    """

    def __init__(self, agent: SB3Agent, target: int) -> None:
        super().__init__()
        self.agent = agent
        self.target = target
        self.last: tuple[np.ndarray, np.ndarray] | None = None

    def _on_step(self) -> bool:
        new_obs, dones, _ = step_locals(self.locals)
        self.agent.episode += int(np.sum(dones))
        if self.num_timesteps >= self.target and not self.agent._completes_rollout():
            self.last = (new_obs, dones)
            return False
        return True


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _strip(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def _flatten_optimizer(
    state_dict: dict[str, Any],
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """An optimizer's `state_dict` as JSON (its parameter groups) and named arrays."""
    arrays = {
        f"{index}/{key}": _numpy(value)
        for index, moments in state_dict["state"].items()
        for key, value in moments.items()
    }
    return state_dict["param_groups"], arrays


def _unflatten_optimizer(
    groups: list[dict[str, Any]], arrays: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Rebuild what `_flatten_optimizer` took apart."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in arrays.items():
        index, _, key = name.partition("/")
        state.setdefault(int(index), {})[key] = torch.as_tensor(np.array(value))
    return {"state": state, "param_groups": groups}

"""DQN (stable-baselines3) on `laetitia/SmileDiscrete-v1`: one parameter up or down a step.

The defaults are chosen for the budget a person in front of a camera can give: a few hundred
steps, where SB3's defaults (learning from step 100, exploring for 10% of a million-step run,
updating the target network every 10,000 steps) would never leave the exploration phase.
- `learning_starts=50`: one episode of random moves, then learning.
- `exploration_fraction=0.3`: epsilon falls from 1 to `exploration_final_eps=0.05` over the
  first 30% of the run (150 of 500 steps), leaving most of it to use what was learned.
- `target_update_interval=50`: about ten target updates in 500 steps.
- `gamma=0.5`: each action's reward is the happiness of the face it leads to, so a short
  horizon makes Q nearly a learned map of happiness one move ahead, which a few hundred noisy
  samples can fit; long horizons bootstrap on estimates that are still mostly noise.
- `learning_rate=1e-3`, `batch_size=32`, `net_arch=[64, 64]`, `device="cpu"`: few samples, a
  small network, fast updates.
On the simulated viewer (20 seeds, 500 steps) these defaults raised the mean reward from
0.46 over the first 50 steps to 0.61 over the last 50; with `gamma=0.9` instead, to 0.47.
- `buffer_size=10_000`: more than a session's steps, so nothing is forgotten; it is saved with
  the agent, so a resumed run keeps its experience.
- `history=0`: the env's own observation; `history=K` adds the last K shown emoticons and
  their rewards (`laetitia.envs.history.ShownHistory`, see `laetitia.agents.sb3`).
- Training every step (`train_freq=1`, fixed): at a person's pace a gradient step costs
  nothing, and it lets `learn(n)` stop after exactly `n` steps with every transition stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from stable_baselines3 import DQN
from stable_baselines3.common.buffers import ReplayBuffer

from laetitia.agents.sb3 import SB3Agent, SB3Settings, Transition
from laetitia.agents.sb3_contract import REPLAY_ARRAYS

REPLAY_PREFIX = "replay/"


@dataclass(frozen=True)
class DQNSettings(SB3Settings):
    """DQN's settings: SB3's `DQN` arguments of the same names, the network's, and `history`."""

    agent: ClassVar[str] = "dqn"
    limits: ClassVar[Mapping[str, tuple[int, int]]] = {
        "buffer_size": (1, 1_000_000),
        "batch_size": (1, 100_000),
        "gradient_steps": (-1, 1_000),
        "net_arch": (1, 4_096),
    }
    learning_rate: float = 1e-3
    """Adam's step size."""
    buffer_size: int = 10_000
    """Transitions the replay buffer holds (more than a session's steps; saved with the
    agent)."""
    learning_starts: int = 50
    """Steps of random moves before learning starts."""
    batch_size: int = 32
    """Transitions in each gradient step's minibatch."""
    tau: float = 1.0
    """How much of the Q-network each target update copies (1: all of it)."""
    gamma: float = 0.5
    """Discount factor: Q is nearly a learned map of happiness one move ahead."""
    gradient_steps: int = 1
    """Gradient steps after each environment step."""
    target_update_interval: int = 50
    """Steps between two updates of the target network."""
    exploration_fraction: float = 0.3
    """Fraction of the run over which epsilon falls from its first value to its last."""
    exploration_initial_eps: float = 1.0
    """Epsilon (the chance of a random move) at the first step."""
    exploration_final_eps: float = 0.05
    """Epsilon after `exploration_fraction` of the run."""
    max_grad_norm: float = 10.0
    """Largest norm of a gradient step; longer ones are scaled down to it."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the Q-network."""
    device: str = "cpu"
    """The torch device the network runs on."""


class CountingDQN(DQN):
    """stable-baselines3's DQN, counting the transitions it has stored in its replay buffer.

    SB3 stores a step's transition after the step's callbacks ran, so a save made during a
    step (every step, by `AgentCheckpoint`) holds one transition less than the steps taken;
    the count says which steps the save has learned from.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stored = 0
        """Steps whose transition is in the replay buffer."""

    def _store_transition(
        self,
        replay_buffer: ReplayBuffer,
        buffer_action: np.ndarray,
        new_obs: Any,
        reward: np.ndarray,
        dones: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        super()._store_transition(replay_buffer, buffer_action, new_obs, reward, dones, infos)
        self.stored += len(dones)


class DQNAgent(SB3Agent):
    """Deep Q-learning over the 17 discrete moves (keep, or one parameter up or down).

    Settings: `DQNSettings`.
    """

    name = DQNSettings.agent
    algorithm = CountingDQN
    model: CountingDQN
    """The SB3 model; its replay buffer and exploration rate are saved with the agent."""
    settings_class = DQNSettings
    settings: DQNSettings
    model_attributes = (("_n_calls", int), ("exploration_rate", float))
    action_spaces = (gym.spaces.Discrete,)

    def _model_arguments(self) -> dict[str, Any]:
        s = self.settings
        return {
            "learning_rate": s.learning_rate,
            "buffer_size": s.buffer_size,
            "learning_starts": s.learning_starts,
            "batch_size": s.batch_size,
            "tau": s.tau,
            "gamma": s.gamma,
            "gradient_steps": s.gradient_steps,
            "target_update_interval": s.target_update_interval,
            "exploration_fraction": s.exploration_fraction,
            "exploration_initial_eps": s.exploration_initial_eps,
            "exploration_final_eps": s.exploration_final_eps,
            "max_grad_norm": s.max_grad_norm,
            "policy_kwargs": {"net_arch": list(s.net_arch)},
            "device": s.device,
            "train_freq": 1,  # fixed: see the module's docstring
        }

    def _replay_buffer(self) -> ReplayBuffer:
        buffer = self.model.replay_buffer
        assert buffer is not None, "DQN builds its replay buffer with the model"
        return buffer

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        data, arrays = super()._state()
        buffer = self._replay_buffer()
        filled = buffer.buffer_size if buffer.full else buffer.pos
        arrays.update({REPLAY_PREFIX + f: getattr(buffer, f)[:filled] for f in REPLAY_ARRAYS})
        data.update(
            replay={"pos": buffer.pos, "full": buffer.full},
            exploration_rate=self.model.exploration_rate,
            n_calls=self.model._n_calls,
        )
        return data, arrays

    def saved_timesteps(self) -> int:
        """The steps whose transitions the save holds (the step in progress is not stored yet)."""
        return int(self.model.stored)

    def _take_in(self, transitions: list[Transition]) -> None:
        """Add the recorded transitions to the replay buffer, as DQN adds its own."""
        buffer = self.model.replay_buffer
        assert buffer is not None, "DQN builds its replay buffer with the model"
        self.model.stored += len(transitions)
        for t in transitions:
            buffer.add(
                t.obs[None],
                t.next_obs[None],
                t.action.reshape(1, 1),
                np.array([t.reward], dtype=np.float32),
                np.array([t.episode_end]),
                [{"TimeLimit.truncated": t.episode_end}],  # a time limit, not a termination
            )

    def _set_state(self, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        super()._set_state(data, arrays)
        buffer = self._replay_buffer()
        for field in REPLAY_ARRAYS:
            saved = arrays[REPLAY_PREFIX + field]
            getattr(buffer, field)[: len(saved)] = saved
        buffer.pos, buffer.full = int(data["replay"]["pos"]), bool(data["replay"]["full"])
        self.model.exploration_rate = float(data["exploration_rate"])
        self.model._n_calls = int(data["n_calls"])
        self.model.stored = self.num_timesteps

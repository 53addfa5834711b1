"""PPO (stable-baselines3) on `laetitia/Smile-v1`: every parameter moved a little each step.

The defaults are chosen for the budget a person in front of a camera can give: a few hundred
steps, where SB3's defaults (2048-step rollouts) would not update the policy even once.
- `n_steps=64`, `batch_size=32`: a rollout is about one episode, so 500 steps give 7 policy
  updates.
- `learning_rate=1e-3`, `n_epochs=10`: few updates, so each one moves the policy further.
- `gamma=0.5`, `gae_lambda=0.9`: the reward is the happiness of what is on show now, so a
  move is judged mostly by the face it leads to; a short horizon gives far less noisy
  advantages from so few samples. On the simulated viewer (20 seeds, 500 steps) the mean
  gain from the first 50 steps to the last 50 was 0.15 with 0.5 against 0.08 with 0.9.
- `log_std_init=-0.5`: initial action noise of 0.6 instead of 1, so the first episodes wander
  less far from the emoticon they start at.
- `net_arch=[64, 64]`: a small MLP trains in milliseconds on a CPU (`device="cpu"`).
- `history=0`: the env's own observation; `history=K` adds the last K shown emoticons and
  their rewards (`laetitia.envs.history.ShownHistory`, see `laetitia.agents.sb3`).

PPO learns from whole rollouts, so a save holds the agent as it was at the start of the
rollout in progress (`saved_timesteps`), and a resume takes the recorded steps of that rollout
back in from the session before it goes on (`ResumablePPO.prefill`): a run stopped or killed
part-way through a rollout loses none of its steps for learning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from laetitia.agents.sb3 import SB3Agent, SB3Settings, Transition
from laetitia.agents.sb3_contract import dependency_error


@dataclass(frozen=True)
class PPOSettings(SB3Settings):
    """PPO's settings: SB3's `PPO` arguments of the same names, the policy's, and `history`."""

    agent: ClassVar[str] = "ppo"
    limits: ClassVar[Mapping[str, tuple[int, int]]] = {
        "n_steps": (2, 100_000),
        "batch_size": (2, 100_000),
        "n_epochs": (1, 1_000),
        "net_arch": (1, 4_096),
    }
    learning_rate: float = 1e-3
    """Adam's step size: few updates, so each one moves the policy further."""
    n_steps: int = 64
    """Steps per rollout, that is between two policy updates (about one episode)."""
    batch_size: int = 32
    """Minibatch size of each gradient step."""
    n_epochs: int = 10
    """Passes over each rollout."""
    gamma: float = 0.5
    """Discount factor: a move is judged mostly by the face it leads to."""
    gae_lambda: float = 0.9
    """Generalised advantage estimation's trade-off between bias and variance."""
    clip_range: float = 0.2
    """How far the policy's probability ratio may move in one update."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus in the loss."""
    vf_coef: float = 0.5
    """Weight of the value function's loss."""
    max_grad_norm: float = 0.5
    """Largest norm of a gradient step; longer ones are scaled down to it."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the policy and value networks."""
    log_std_init: float = -0.5
    """Initial log standard deviation of the action noise."""
    device: str = "cpu"
    """The torch device the networks run on."""


class RecordedFirstBuffer(RolloutBuffer):
    """SB3's rollout buffer, whose next reset can keep the recorded steps it holds.

    SB3's rollout resets the buffer before its first step (`sb3_contract`); a resumed rollout
    that starts with recorded steps asks that reset to keep them (`keep_next_reset`).
    """

    keep_next_reset = False
    """Whether the next `reset` keeps what the buffer holds (it does so once)."""

    def reset(self) -> None:
        """Empty the buffer, unless asked to keep it this once."""
        if self.keep_next_reset:
            self.keep_next_reset = False
            return
        super().reset()


class ResumablePPO(PPO):
    """stable-baselines3's PPO whose next rollout can begin with recorded transitions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefill: list[Transition] = []
        """Recorded steps the next rollout starts with (a resumed session's partial rollout)."""
        self.rollout_start = 0
        """`num_timesteps` when the rollout in progress started."""

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        """SB3's rollout, after the recorded transitions in `prefill` (if any)."""
        recorded, self.prefill = self.prefill[-n_rollout_steps:], []
        self.rollout_start = self.num_timesteps - len(recorded)
        if not recorded:
            return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)
        if not isinstance(rollout_buffer, RecordedFirstBuffer):
            raise TypeError("ResumablePPO collects into a RecordedFirstBuffer only.")
        rollout_buffer.reset()
        self.policy.set_training_mode(False)
        for t in recorded:
            self._add_recorded(rollout_buffer, t)
        if rollout_buffer.full:
            with torch.no_grad():
                last = self.policy.predict_values(
                    self.policy.obs_to_tensor(recorded[-1].next_obs)[0]
                )
            dones = np.array([recorded[-1].episode_end])
            rollout_buffer.compute_returns_and_advantage(last_values=last, dones=dones)
            return True
        # SB3 resets the buffer first; here it must keep the recorded transitions.
        rollout_buffer.keep_next_reset = True
        try:
            complete = super().collect_rollouts(
                env, callback, rollout_buffer, n_rollout_steps - len(recorded)
            )
        finally:
            kept = not rollout_buffer.keep_next_reset
            rollout_buffer.keep_next_reset = False
        if not kept:
            raise dependency_error(
                "OnPolicyAlgorithm.collect_rollouts no longer resets the rollout buffer before "
                "its first step, so the recorded steps of a resumed rollout were not kept"
            )
        if complete and not rollout_buffer.full:
            raise dependency_error(
                "OnPolicyAlgorithm.collect_rollouts left the rollout buffer at "
                f"{rollout_buffer.pos} of {rollout_buffer.buffer_size} steps ({len(recorded)} "
                "recorded ones first), not full"
            )
        return complete

    def _add_recorded(self, rollout_buffer: RolloutBuffer, t: Transition) -> None:
        obs = self.policy.obs_to_tensor(t.obs)[0]
        action = torch.as_tensor(t.action, device=self.device).reshape(1, -1)
        if isinstance(self.action_space, gym.spaces.Discrete):
            action = action.reshape(1)
        with torch.no_grad():
            values, log_prob, _ = self.policy.evaluate_actions(obs, action)
            reward = np.array([t.reward], dtype=np.float32)
            if t.episode_end:  # a time limit, bootstrapped as SB3 bootstraps its own
                next_value = self.policy.predict_values(self.policy.obs_to_tensor(t.next_obs)[0])
                bootstrap = self.gamma * next_value.cpu().numpy().reshape(1)
                reward = (reward + bootstrap).astype(np.float32)
        rollout_buffer.add(
            t.obs[None],
            action.cpu().numpy().reshape(1, -1),
            reward,
            np.array([t.episode_start]),
            values,
            log_prob,
        )


class PPOAgent(SB3Agent):
    """Proximal Policy Optimization with a Gaussian policy over the 8 parameter moves.

    Settings: `PPOSettings`.
    """

    name = PPOSettings.agent
    algorithm = ResumablePPO
    model: ResumablePPO
    """The SB3 model, with the rollout it is collecting."""
    settings_class = PPOSettings
    settings: PPOSettings
    action_spaces = (gym.spaces.Box, gym.spaces.Discrete)
    checkpoint_every = 0  # the policy changes only between rollouts

    def _model_arguments(self) -> dict[str, Any]:
        s = self.settings
        return {
            "learning_rate": s.learning_rate,
            "n_steps": s.n_steps,
            "batch_size": s.batch_size,
            "n_epochs": s.n_epochs,
            "gamma": s.gamma,
            "gae_lambda": s.gae_lambda,
            "clip_range": s.clip_range,
            "ent_coef": s.ent_coef,
            "vf_coef": s.vf_coef,
            "max_grad_norm": s.max_grad_norm,
            "policy_kwargs": {"net_arch": list(s.net_arch), "log_std_init": s.log_std_init},
            "device": s.device,
            "rollout_buffer_class": RecordedFirstBuffer,
        }

    def _completes_rollout(self) -> bool:
        # SB3 counts the step in num_timesteps before its callbacks see it.
        return self.model.num_timesteps - self.model.rollout_start >= self.model.n_steps

    def saved_timesteps(self) -> int:
        """The step count a save records: the start of the rollout in progress.

        The policy is the one it was then; the rollout's own steps are on record in the
        session, and a resume takes them back in (`_take_in`).
        """
        model = self.model
        in_progress = model.num_timesteps - model.rollout_start
        return model.rollout_start if 0 < in_progress < model.n_steps else model.num_timesteps

    def _take_in(self, transitions: list[Transition]) -> None:
        """The next rollout starts with the recorded transitions."""
        self.model.prefill = transitions
        self.model.rollout_start = self.num_timesteps

    def _set_state(self, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        super()._set_state(data, arrays)
        self.model.rollout_start = self.num_timesteps

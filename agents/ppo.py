"""PPO (stable-baselines3) on `laetitia/Smile-v0`: every parameter moved a little each step.

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

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from laetitia.agents.sb3 import SB3Agent, Transition


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
        rollout_buffer.reset = lambda: None  # type: ignore[method-assign]
        try:
            return super().collect_rollouts(
                env, callback, rollout_buffer, n_rollout_steps - len(recorded)
            )
        finally:
            del rollout_buffer.reset  # the class's method again

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

    Settings: SB3's `PPO` arguments of the same names, plus `net_arch` (hidden layer sizes of
    the policy and value networks), `log_std_init` (initial log standard deviation of the
    action noise) and `history` (how many shown emoticons the observation carries).
    """

    name = "ppo"
    algorithm = ResumablePPO
    model: ResumablePPO
    """The SB3 model, with the rollout it is collecting."""
    policy_settings = ("net_arch", "log_std_init")
    action_spaces = (gym.spaces.Box, gym.spaces.Discrete)
    checkpoint_every = 0  # the policy changes only between rollouts
    defaults = {
        "learning_rate": 1e-3,
        "n_steps": 64,
        "batch_size": 32,
        "n_epochs": 10,
        "gamma": 0.5,
        "gae_lambda": 0.9,
        "clip_range": 0.2,
        "ent_coef": 0.0,
        "vf_coef": 0.5,
        "max_grad_norm": 0.5,
        "net_arch": [64, 64],
        "log_std_init": -0.5,
        "device": "cpu",
        "history": 0,
    }

    def _completes_rollout(self, local_vars: dict[str, Any]) -> bool:
        return local_vars["n_steps"] + 1 >= local_vars["n_rollout_steps"]

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

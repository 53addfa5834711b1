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
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from stable_baselines3 import PPO

from laetitia.agents.sb3 import SB3Agent


class PPOAgent(SB3Agent):
    """Proximal Policy Optimization with a Gaussian policy over the 8 parameter moves.

    Settings: SB3's `PPO` arguments of the same names, plus `net_arch` (hidden layer sizes of
    the policy and value networks) and `log_std_init` (initial log standard deviation of the
    action noise).
    """

    name = "ppo"
    algorithm = PPO
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
    }

    def _completes_rollout(self, local_vars: dict[str, Any]) -> bool:
        return local_vars["n_steps"] + 1 >= local_vars["n_rollout_steps"]

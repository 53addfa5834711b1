"""Registration of the environment ids; safe to call more than once."""

from __future__ import annotations

import gymnasium as gym

from laetitia.run_settings import RUN_DEFAULTS

ENV_IDS: dict[str, str] = {
    "laetitia/Smile-v0": "laetitia.envs.smile:SmileEnv",
    "laetitia/SmileDiscrete-v0": "laetitia.envs.smile_discrete:SmileDiscreteEnv",
}
"""Env id to its string entry point."""


def register_envs() -> None:
    """Register every laetitia env id that is not registered yet.

    Each id's time limit is the run settings' default episode length
    (`laetitia.run_settings.RUN_DEFAULTS.max_episode_steps`).
    """
    for env_id, entry_point in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point=entry_point,
                max_episode_steps=RUN_DEFAULTS.max_episode_steps,
            )

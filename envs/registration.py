"""Registration of the environment ids; safe to call more than once.

A change in what the reward means is a new version: `-v1` scores a webcam or video viewer by the
`smile` signal, `-v0` by the FER model's P(happy) (`fer-happy`), as it always did. Both versions
are the same classes, given their version's default signal (`DEFAULT_SIGNALS`).
"""

from __future__ import annotations

import gymnasium as gym

from laetitia.run_settings import RUN_DEFAULTS
from laetitia.types import FER_HAPPY, SMILE

ENV_IDS: dict[str, str] = {
    "laetitia/Smile-v0": "laetitia.envs.smile:SmileEnv",
    "laetitia/SmileDiscrete-v0": "laetitia.envs.smile_discrete:SmileDiscreteEnv",
    "laetitia/Smile-v1": "laetitia.envs.smile:SmileEnv",
    "laetitia/SmileDiscrete-v1": "laetitia.envs.smile_discrete:SmileDiscreteEnv",
}
"""Env id to its string entry point."""
DEFAULT_SIGNALS: dict[str, str] = {
    env_id: SMILE if env_id.endswith("-v1") else FER_HAPPY for env_id in ENV_IDS
}
"""The signal each env id scores a webcam or video viewer by when `signal` is not given."""


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
                kwargs={"default_signal": DEFAULT_SIGNALS[env_id]},
            )

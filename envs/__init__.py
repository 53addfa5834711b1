"""The Gymnasium environments: `laetitia/Smile-v0` and `laetitia/SmileDiscrete-v0`."""

from laetitia.envs.base import EmoticonEnv
from laetitia.envs.registration import ENV_IDS, make, register_envs
from laetitia.envs.smile import SmileEnv
from laetitia.envs.smile_discrete import SmileDiscreteEnv

__all__ = ["ENV_IDS", "EmoticonEnv", "SmileDiscreteEnv", "SmileEnv", "make", "register_envs"]

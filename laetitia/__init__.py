"""laetitia: a reinforcement-learning research environment that learns to make a person smile.

Importing the package registers the Gymnasium environments `laetitia/Smile-v0` and
`laetitia/SmileDiscrete-v0`; that is its only side effect.
"""

from laetitia.envs.registration import register_envs

__version__ = "0.1.0"

register_envs()

__all__ = ["__version__", "register_envs"]

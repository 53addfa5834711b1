"""`laetitia/SmileDiscrete-v1` (and `-v0`): one parameter up or down by a step, or keep."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from laetitia.envs.base import EmoticonEnv


class SmileDiscreteEnv(EmoticonEnv):
    """Tune an emoticon one parameter at a time until the person looking at it smiles.

    ## Description
    The same emoticon, viewers and reward as `laetitia/Smile-v1`; each action changes at most
    one parameter, by a fixed step of `step_size` of its range.

    ## Action Space
    `Discrete(17)`: 0 keeps the emoticon; `1 + 2i` moves parameter *i* up a step and `2 + 2i`
    moves it down a step (*i* in the order of the observation table).

    ## Observation Space
    `Box(float32, (9,))`: the normalised parameters (each range mapped onto [-1, 1]), then the
    last reward.

    | index | meaning | min | max |
    |---|---|---|---|
    | 0 | `r` eye distance from the face centre | -1 | 1 |
    | 1 | `t` angular spread of the eyes | -1 | 1 |
    | 2 | `s` pupil radius | -1 | 1 |
    | 3 | `a` mouth tilt | -1 | 1 |
    | 4 | `b` mouth curvature | -1 | 1 |
    | 5 | `c` mouth S-shape | -1 | 1 |
    | 6 | `ey` eyebrow height | -1 | 1 |
    | 7 | `er` eyebrow slant | -1 | 1 |
    | 8 | last reward | 0 | 1 |

    ## Rewards
    The mean of the smile signal (`signal`: `smile` by default for a webcam or video viewer,
    `fer-happy` in `-v0`) over the frames of the reaction that have a face; a step with no face
    repeats the previous reward and sets `info["scored"]` to False (see `laetitia.reward`).

    ## Starting State
    The original emoticon (`start="default"`), or uniform random parameters (`start="random"`).

    ## Episode End
    Never terminates; truncated after `max_episode_steps` (50 by default).

    ## Arguments
    ```python
    import gymnasium as gym
    import laetitia

    env = gym.make("laetitia/SmileDiscrete-v1", viewer="sim", step_size=0.1)
    ```
    The same arguments as `laetitia/Smile-v1`.

    ## Version History
    * v1: a webcam or video viewer is scored by the `smile` signal (the mean of MediaPipe's
      two smile blendshapes) unless `signal` names another; the reward and `info` say which.
    * v0: initial version: the FER model's P(happy) (`fer-happy`).
    """

    action_space: gym.spaces.Discrete

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.action_space = gym.spaces.Discrete(1 + 2 * len(self.space))

    def action_between(self, unit: np.ndarray, shown: np.ndarray) -> int | None:
        """An action that moves normalised parameters `unit` to `shown`; None if none does.

        A move into a bound changes nothing, as keeping does; keeping (0) is preferred then.
        """
        for action in range(int(self.action_space.n)):
            if np.allclose(self.moved(unit, action), shown, atol=1e-6):
                return action
        return None

    def _delta(self, action: Any) -> np.ndarray:
        index = int(action)
        if not 0 <= index < self.action_space.n:
            raise ValueError(f"action must be in [0, {self.action_space.n}), got {index}.")
        delta = np.zeros(len(self.space))
        if index > 0:
            param, down = divmod(index - 1, 2)
            delta[param] = (-2.0 if down else 2.0) * self.step_size
        return delta

"""`laetitia/Smile-v1` (and `-v0`): continuous actions, a step for every emoticon parameter."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from laetitia.envs.base import EmoticonEnv


class SmileEnv(EmoticonEnv):
    """Tune an emoticon until the person looking at it smiles.

    ## Description
    A parametric emoticon (the DeepLaetitia face: a yellow disc, two eyes, two eyebrows and a
    mouth) is shown to a viewer: a person at a webcam, a recorded video, a recorded session or
    a simulated viewer. Each step changes every parameter by up to `step_size` of its range,
    shows the new emoticon, and reads the viewer's face over `frames` frames.

    ## Action Space
    `Box(-1, 1, (8,), float32)`: action *i* moves parameter *i* by `action[i] · step_size` of
    its range (`2 · step_size` in normalised units). Results are clipped to the bounds.

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

    Raw values: `laetitia.emoticon.PARAM_SPACE.denormalize(obs[:8])`.

    ## Rewards
    The mean of the smile signal over the frames of the reaction that have a face
    (`laetitia.reward`). The signal (`signal`, `laetitia.signals`) is `smile` for a webcam or
    video viewer unless another is named (`fer-happy` in `-v0`); a simulated viewer gives the
    signal it simulates (P(happy) for `sim`, people-v1 and people-v2), a recorded session the
    one it was scored by. A step where no frame has a face is unscored: it repeats the previous
    reward (0.0 at the start of an episode) and `info["scored"]` is False. `info` also holds
    `happiness` (the signal's mean), `signal` (its name), `frames`, `faces`, the raw `params`,
    and the full `reaction`.

    ## Starting State
    The original emoticon (`start="default"`), or uniform random parameters (`start="random"`);
    `reset(options={"params": raw_vector})` starts from a given emoticon. The last reward
    starts at 0.0.

    ## Episode End
    Never terminates; truncated after `max_episode_steps` (50 by default), or when a recorded
    video standing in for the camera runs out: that step shows nothing (`info["reaction"]` is
    None, `info["recording_over"]` says why, the reward is carried over, unscored), and the
    next `reset()` raises `VideoEndedError`: the recording is over.

    ## Arguments
    ```python
    import gymnasium as gym
    import laetitia

    env = gym.make("laetitia/Smile-v1", viewer="sim:3", frames=10, step_size=0.1,
                   max_episode_steps=50, render_mode="rgb_array")
    env = gym.make("laetitia/Smile-v1", viewer="video:me.mp4", signal="fer-happy")
    ```
    `viewer` is a viewer or a spec string (`sim`, `sim:SEED`, `person:INDEX`, `webcam`,
    `webcam:INDEX`, `video:PATH`, `session:DIR`); `frames` are read per step; `settle_s` is
    how long a live viewer waits before reading; `signal` names the smile signal (None: the
    version's default for a face, the viewer's own otherwise; asking a simulated viewer for
    another than its own is a `ConfigError`); `start`, `image_size` and `render_mode` as
    above. For a webcam or video, `detector`, `model` and `profile` choose how the face is
    read, `window` whether a window is shown, `screen` which (`"full"`, the demo window with
    the reading, or `"participant"`, the emoticon alone: `laetitia.viewers.stage`), and
    `control` shares its pause and end with a dashboard. A participant in the browser is a
    viewer object served with its page (`laetitia.app.web.participant.serve_participant`).

    ## Version History
    * v1: a webcam or video viewer is scored by the `smile` signal (the mean of MediaPipe's
      two smile blendshapes) unless `signal` names another; the reward and `info` say which.
      Simulated viewers and recorded sessions score as in v0.
    * v0: initial version: the FER model's P(happy) (`fer-happy`).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(len(self.space),), dtype=np.float32)

    def action_towards(self, current: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The action that moves normalised parameters `current` to `target`.

        Each parameter gets as far as one step reaches (`2 · step_size` in normalised units).
        """
        step = (np.asarray(target, np.float64) - current) / (2.0 * self.step_size)
        return np.clip(step, -1.0, 1.0).astype(np.float32)

    def action_between(self, unit: np.ndarray, shown: np.ndarray) -> np.ndarray | None:
        """An action that moves normalised parameters `unit` to `shown`; None if none does."""
        action = self.action_towards(unit, shown)
        return action if np.allclose(self.moved(unit, action), shown, atol=1e-6) else None

    def _delta(self, action: Any) -> np.ndarray:
        step = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0)
        if step.shape != (len(self.space),):
            raise ValueError(f"action must have {len(self.space)} entries, got {step.shape}.")
        return 2.0 * self.step_size * step

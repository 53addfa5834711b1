"""`ShownHistory`: the env's observation followed by the last K steps the person was shown.

A person habituates: an emoticon close to ones shown recently amuses less, and recovers over
later steps. The smile envs' own observation (the emoticon on show and its reward) cannot show
that to a policy; this wrapper adds what came before, for the RL agents that want it
(`laetitia train --agent ppo --agent-arg history=8`). The envs' own observation stays as it is.

Each history row is the env's observation of one earlier step (for the smile envs: 8
normalised parameters and that step's reward) and a present flag, 1.0 for a step that was
shown and 0.0 for the padding before the first K steps. `history_rows` builds them from steps
recorded in order (`shown_observations` turns a session's recorded steps into them), so the
wrapper and an agent catching up on a recorded session (`laetitia.agents.sb3`) build the
same rows.

Gymnasium's `FrameStackObservation` stacks every observation, the reset one included, and
refills its padding at each reset; here the history is of shown emoticons only and goes on
across episodes, as the person in front of the screen does.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from laetitia.emoticon.params import ParamSpace
from laetitia.errors import ConfigError


def shown_observations(space: ParamSpace, params: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """The smile envs' observations of recorded steps, as `EmoticonEnv` builds them.

    Args:
        space: The emoticon's parameter space.
        params: (n, n_params), the raw parameters shown at each step (clipped to `space`).
        rewards: (n,), the reward each step was given.

    Returns:
        float32 (n, n_params + 1): each step's normalised parameters, then its reward.
    """
    units = np.array([space.normalize(space.clip(p)) for p in params]).reshape(
        len(rewards), len(space)
    )
    return np.column_stack([units, np.asarray(rewards, dtype=np.float64)]).astype(np.float32)


def history_rows(shown: np.ndarray, k: int) -> np.ndarray:
    """The history part of an observation: the last `k` steps shown, newest first.

    Args:
        shown: (n, d), the env's observations of the steps shown so far, oldest first; n may
            be 0, or more than `k` (only the last `k` count).
        k: How many steps the history holds.

    Returns:
        float32 (k * (d + 1),): for each of the last `k` steps, newest first, its observation
        and 1.0; rows for steps before the first are zeros (their present flag 0.0).
    """
    shown = np.asarray(shown, dtype=np.float32)
    recent = shown[::-1][:k]
    rows = np.zeros((k, shown.shape[1] + 1), dtype=np.float32)
    rows[: len(recent), :-1] = recent
    rows[: len(recent), -1] = 1.0
    return rows.reshape(-1)


class ShownHistory(gym.Wrapper[np.ndarray, Any, np.ndarray, Any], gym.utils.RecordConstructorArgs):
    """The env's observation, then the K steps shown before the current one, newest first.

    ## Observation Space
    `Box(float32, (d + K * (d + 1),))` for an env whose observation is `Box(float32, (d,))`;
    for `laetitia/Smile-v1` and `laetitia/SmileDiscrete-v1` (d = 9) that is `9 + 10 K`.

    | index | meaning | min | max |
    |---|---|---|---|
    | `i`, i < d | the env's own observation (the emoticon on show, its reward) | env's | env's |
    | `d + j (d + 1) + i`, i < d | the env's observation, j + 1 steps back | env's | env's |
    | `d + j (d + 1) + d` | 1 if that step was shown, 0 for padding (its row all 0) | 0 | 1 |

    for j = 0 (the step before the current one) to K - 1; "env's" is the bound of the env's
    own observation space. The current one is the step that returned the observation; after
    a reset it is the starting emoticon, and the history ends with the last step of the
    episodes before.

    ## What counts as shown
    Every step the env took, scored or not (a step without a face kept the reward it carried
    over, and the person still saw the emoticon), in every episode since the wrapper was
    built: `reset` starts an episode, not a new person, and adds nothing. A step at which a
    recording standing in for the camera ran out (`info["recording_over"]`) showed nothing and
    is left out. Infos and rewards pass through unchanged.

    ## Arguments
    ```python
    import gymnasium as gym
    import laetitia
    from laetitia.envs.history import ShownHistory

    env = ShownHistory(gym.make("laetitia/Smile-v1", viewer="sim:3"), k=8)
    ```
    `k` is how many shown steps the observation carries (at least 1).

    Args:
        env: An env with a one-dimensional `Box` observation.
        k: How many shown steps the observation carries.

    Raises:
        ConfigError: If `k` is not a whole number of at least 1, or the env's observation is
            not a one-dimensional `Box`.
    """

    def __init__(self, env: gym.Env[np.ndarray, Any], k: int) -> None:
        given: object = k  # checked as given: a type hint holds nothing back at run time
        if isinstance(given, bool) or not isinstance(given, int | np.integer) or given < 1:
            raise ConfigError(f"k, the shown steps the history holds, is at least 1; got {k!r}.")
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ConfigError(
                f"ShownHistory adds rows to a one-dimensional Box observation; this env's is "
                f"{space}."
            )
        gym.utils.RecordConstructorArgs.__init__(self, k=k)
        gym.Wrapper.__init__(self, env)
        self.k = int(k)
        low = np.append(space.low, 0.0).astype(np.float32)
        high = np.append(space.high, 1.0).astype(np.float32)
        self.observation_space = gym.spaces.Box(
            low=np.concatenate([space.low.astype(np.float32), np.tile(low, self.k)]),
            high=np.concatenate([space.high.astype(np.float32), np.tile(high, self.k)]),
            dtype=np.float32,
        )
        self._width = space.shape[0]
        self._shown: deque[np.ndarray] = deque(maxlen=self.k)

    @property
    def shown(self) -> np.ndarray:
        """float32 (m, d), m <= K: the env's observations of the steps held, oldest first."""
        if not self._shown:
            return np.zeros((0, self._width), dtype=np.float32)
        return np.stack(self._shown)

    def remember(self, shown: np.ndarray) -> None:
        """Replace the history with the last K of `shown` (the steps a person already saw).

        Args:
            shown: (n, d), the env's observations of steps shown, oldest first (for a resumed
                session: each recorded emoticon normalised, and its reward).

        Raises:
            ValueError: If the rows are not as wide as the env's observation.
        """
        rows = np.asarray(shown, dtype=np.float32).reshape(-1, self._width)
        self._shown = deque(rows, maxlen=self.k)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the env; the history goes on (the person saw the steps before)."""
        obs, info = self.env.reset(seed=seed, options=options)
        return self._with_history(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        """Step the env; its observation, then the steps before it, then this one is held."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        full = self._with_history(obs)
        if not info.get("recording_over"):
            self._shown.append(np.asarray(obs, dtype=np.float32))
        return full, reward, terminated, truncated, info

    def _with_history(self, obs: np.ndarray) -> np.ndarray:
        rows = history_rows(self.shown, self.k)
        return np.concatenate([np.asarray(obs, dtype=np.float32), rows])

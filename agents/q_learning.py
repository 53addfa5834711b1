"""Tabular Q-learning over a coarse grid of the emoticon's parameters, on SmileDiscrete-v1.

The original DeepLaetitia project planned Q-learning after its hill-climber. The state is the
cell of a grid over the normalised parameters (`bins` cells per parameter), the actions are the
env's 17 moves, and the Q-table is sparse: a dict from visited cells to their 17 action
values, so the 4^8 (or, finer, 10^8) cells of the grid cost only what is visited.

Values of a cell first measured start at the value of staying there forever,
`reward / (1 - discount)`, not at 0. Every reward is a positive probability, so with zeros any
move once tried would look better than every untried one, and the agent would repeat a bad
move rather than try another; with this start a move must beat the face on show to be
preferred, which makes the greedy policy climb like the original hill-climber while the
values still learn where the climb leads. A step with no face in view teaches nothing (its
reward is carried over, not measured).

Exploration is epsilon-greedy, epsilon falling linearly from `epsilon_start` to `epsilon_end`
over `epsilon_decay_steps`; ties between equal values are broken at random while learning.
The greedy policy (`predict(deterministic=True)`) keeps the emoticon (action 0) in a cell it
has never visited: with nothing learned there, the best guess is the face it walked to.

Defaults, for the few hundred steps a person gives: `bins=4` (a cell spans 2.5 moves of the
default `step_size=0.1`, so neighbouring faces share what is learned; on the simulated viewer,
40 seeds of 500 steps, the mean reward rose by 0.12 from the first 50 steps to the last 50
with these defaults, by 0.05 with 10 bins and epsilon falling over 300 steps), epsilon
falling to 0.05 over the first 200 steps,
`learning_rate=0.5` (a reading averages 10 noisy frames; two readings of a move decide it) and
`discount=0.9`.

`start_from` begins every episode at a chosen emoticon instead of the original one: the best
emoticon of a session folder (typically a hill-climbing run: the original project's plan), or
a list of raw parameter values. A folder is read when the agent is built and replaced in the
settings by the emoticon it named, so a saved agent does not depend on that folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from laetitia.agents.base import AGENT_FILE, Agent, AgentDocument, StepInfo
from laetitia.agents.settings import Settings
from laetitia.emoticon.params import PARAM_SPACE
from laetitia.errors import ConfigError, SessionError

EDGE_TOLERANCE = 1e-4
"""In cell widths: a value this close below a cell edge counts as on it. Parameters reached by
the same moves in another order differ by rounding, and must land in the same cell."""


@dataclass(frozen=True)
class QLearningSettings(Settings):
    """Tabular Q-learning's settings."""

    agent: ClassVar[str] = "q-learning"
    bins: int = 4
    """Cells per parameter on the normalised range [-1, 1], at least 2."""
    learning_rate: float = 0.5
    """Step size of each value update, in [0, 1]."""
    discount: float = 0.9
    """Discount factor of future rewards, in [0, 1) (episodes never terminate)."""
    epsilon_start: float = 1.0
    """Exploration rate at the first step, in [0, 1]."""
    epsilon_end: float = 0.05
    """Exploration rate after `epsilon_decay_steps`, in [0, 1]."""
    epsilon_decay_steps: int = 200
    """Steps over which epsilon falls linearly."""
    start_from: str | tuple[float, ...] | None = None
    """Where episodes start: None (the original emoticon), a session folder (its best
    emoticon; the agent replaces it by that emoticon's values as it is built), or raw
    parameter values."""

    def _check(self) -> None:
        if self.bins < 2:
            raise self._refused("bins", "must be at least 2")
        for key in ("learning_rate", "epsilon_start", "epsilon_end"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise self._refused(key, "must be in [0, 1]")
        if not 0.0 <= self.discount < 1.0:
            raise self._refused("discount", "must be in [0, 1)")
        if self.epsilon_decay_steps < 0:
            raise self._refused("epsilon_decay_steps", "must be 0 or more")


class QLearning(Agent):
    """Tabular Q-learning with a sparse table over a grid of the parameters.

    Settings: `QLearningSettings`.
    """

    name = QLearningSettings.agent
    settings_class = QLearningSettings
    settings: QLearningSettings

    def __init__(
        self,
        env: gym.Env | None,
        seed: int | None = None,
        settings: QLearningSettings | None = None,
        **changes: Any,
    ) -> None:
        super().__init__(env, seed, settings, **changes)
        if self.settings.start_from is not None:
            start = _start_params(self.settings.start_from)
            self.settings = self.settings.replace(start_from=tuple(start.tolist()))
        self.table: dict[tuple[int, ...], np.ndarray] = {}
        """Action values of each visited cell."""

    @classmethod
    def _check_saved(cls, document: AgentDocument, folder: Path) -> None:
        """A saved agent holds `start_from` as values: a folder named there is never read."""
        start = document.settings.get("start_from")
        if isinstance(start, str):
            raise SessionError(
                f"{folder / AGENT_FILE}: start_from is {start[:80]!r}, a folder to read; a saved "
                "agent holds the emoticon's values instead, so the file was edited or made to "
                "reach elsewhere. It is not loaded."
            )

    def _check_env(self, env: gym.Env) -> None:
        if not isinstance(env.action_space, gym.spaces.Discrete):
            raise ConfigError(
                "q-learning chooses among discrete moves: use laetitia/SmileDiscrete-v1, "
                f"not an env with a {type(env.action_space).__name__} action space."
            )

    def cell(self, obs: np.ndarray) -> tuple[int, ...]:
        """The grid cell of an observation's parameters."""
        bins = self.settings.bins
        position = (np.asarray(obs[:-1], dtype=np.float64) + 1.0) * 0.5 * bins
        return tuple(np.clip(np.floor(position + EDGE_TOLERANCE), 0, bins - 1).astype(int).tolist())

    def epsilon(self) -> float:
        """The exploration rate at the current step."""
        s = self.settings
        fraction = min(1.0, self.num_timesteps / max(s.epsilon_decay_steps, 1))
        return s.epsilon_start + fraction * (s.epsilon_end - s.epsilon_start)

    def _n_moves(self) -> int:
        """The env's number of discrete moves (`_check_env` made sure they are discrete)."""
        assert self.env is not None
        space = self.env.action_space
        assert isinstance(space, gym.spaces.Discrete)
        return int(space.n)

    def _act(self, obs: np.ndarray) -> int:
        values = self.table.get(self.cell(obs))
        if values is None or self.rng.random() < self.epsilon():
            return int(self.rng.integers(self._n_moves()))
        return int(self.rng.choice(np.flatnonzero(values == values.max())))

    def _observe(
        self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray, info: StepInfo
    ) -> None:
        if not info["scored"]:
            return
        n, discount = self._n_moves(), self.settings.discount
        values = self.table.setdefault(self.cell(obs), np.zeros(n))
        # A cell first measured now starts every move at the value of staying there forever.
        following = self.table.setdefault(self.cell(next_obs), np.full(n, reward / (1 - discount)))
        target = reward + discount * following.max()
        values[action] += self.settings.learning_rate * (target - values[action])

    def _policy(self, obs: np.ndarray) -> int:
        values = self.table.get(self.cell(obs))
        return 0 if values is None else int(np.argmax(values))

    def reset_options(self) -> dict[str, Any] | None:
        """Start each episode at `start_from`, when set."""
        start = self.settings.start_from
        return None if start is None else {"params": np.asarray(start, dtype=np.float64)}

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if not self.table:
            return {}, {}
        cells = np.array(list(self.table), dtype=np.int32)
        return {}, {"cells": cells, "values": np.stack(list(self.table.values()))}

    def _set_state(self, data: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        if not arrays:
            self.table = {}
            return
        cells, values = arrays["cells"], arrays["values"]
        self.table = {
            tuple(c.tolist()): np.array(v, dtype=np.float64)
            for c, v in zip(cells, values, strict=True)
        }


def _start_params(start: str | tuple[float, ...]) -> np.ndarray:
    """Raw parameters from a session folder (its best emoticon) or raw values.

    Raises:
        SessionError: If the folder is not a session, or none of its steps saw a face.
        ParameterError: If the values are not one finite value per parameter.
    """
    from laetitia.sessions import load_session
    from laetitia.sessions.best import session_best

    if not isinstance(start, str):
        return PARAM_SPACE.clip(np.asarray(start, dtype=np.float64))
    folder = Path(start)
    best = session_best(load_session(folder))
    if best is None:
        raise SessionError(f"session {folder} has no step with a face in view: no best emoticon.")
    return PARAM_SPACE.clip(np.array(best.params))

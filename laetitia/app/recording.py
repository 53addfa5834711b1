"""What a training records as it runs: each step into the session, and what a resume replays.

Kept apart from `laetitia.app.training` because it needs stable-baselines3 (and so torch) at
import, while a training's config is checked before anything heavy loads.
"""

from __future__ import annotations

import math

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents.base import BaseAgent, RecordedSteps
from laetitia.sessions import Session, SessionRecorder, recommended_columns


class SessionCallback(BaseCallback):
    """Appends every completed step to a session folder (stable-baselines3's callback contract).

    Reads what the training loop exposes in `self.locals`, `infos` and `dones` (one entry per
    environment), so the same callback records a PPO run and a hill-climbing run. Where the
    session records the agent's recommendation (`recommended_columns`, a training's from format
    version 5), each step's row carries the agent's `best_params` and `responds` after it.

    Args:
        recorder: The session being written.
        episode: Number of the first episode (non-zero when a session is resumed).
        agent: The agent learning, whose recommendation is recorded; None records none.
    """

    def __init__(
        self, recorder: SessionRecorder, episode: int = 0, agent: BaseAgent | None = None
    ) -> None:
        super().__init__()
        self.recorder = recorder
        self.episode = episode
        self.agent = agent
        self._recommends = bool(recorder.extra_columns) and recorder.extra_columns == tuple(
            recommended_columns(recorder.space)
        )

    def _on_step(self) -> bool:
        dones = np.atleast_1d(self.locals["dones"])
        for info, done in zip(self.locals["infos"], dones, strict=True):
            if info.get("recording_over"):
                continue  # nothing was shown at this step
            self.recorder.record(
                self.episode,
                info["reward"],
                info["params"],
                info["reaction"],
                extra=self._recommendation(),
            )
            if done:
                self.episode += 1
        return True

    def _recommendation(self) -> list[float]:
        """The agent's recommendation and verdict now, as the session's extra columns."""
        if not self._recommends:
            return []
        n = len(self.recorder.space)
        guess = None if self.agent is None else self.agent.best_params()
        responds = None if self.agent is None else self.agent.responds()
        values = [math.nan] * n if guess is None else [float(v) for v in guess]
        return [*values, math.nan if responds is None else float(responds)]


def recorded_steps(session: Session) -> RecordedSteps:
    """A session's steps as an agent catches up on them."""
    reactions = None
    if session.frame_index is not None:
        reactions = tuple(session.reaction(step) for step in range(session.n_steps))
    return RecordedSteps(
        params=session.params(),
        rewards=session.steps["reward"],
        scored=session.scored(),
        episodes=session.steps["episode"].astype(np.int64),
        reactions=reactions,
    )

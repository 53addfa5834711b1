"""What a training records as it runs: each step into the session, and what a resume replays.

Kept apart from `laetitia.app.training` because it needs stable-baselines3 (and so torch) at
import, while a training's config is checked before anything heavy loads.
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents.base import RecordedSteps
from laetitia.sessions import Session, SessionRecorder


class SessionCallback(BaseCallback):
    """Appends every completed step to a session folder (stable-baselines3's callback contract).

    Reads what the training loop exposes in `self.locals`, `infos` and `dones` (one entry per
    environment), so the same callback records a PPO run and a hill-climbing run.

    Args:
        recorder: The session being written.
        episode: Number of the first episode (non-zero when a session is resumed).
    """

    def __init__(self, recorder: SessionRecorder, episode: int = 0) -> None:
        super().__init__()
        self.recorder = recorder
        self.episode = episode

    def _on_step(self) -> bool:
        dones = np.atleast_1d(self.locals["dones"])
        for info, done in zip(self.locals["infos"], dones, strict=True):
            if info.get("recording_over"):
                continue  # nothing was shown at this step
            self.recorder.record(self.episode, info["reward"], info["params"], info["reaction"])
            if done:
                self.episode += 1
        return True


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

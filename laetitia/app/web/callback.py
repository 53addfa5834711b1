"""The dashboard's callback: each completed step to the dashboard, and a pause between steps.

Kept apart from `laetitia.app.web.session` because it needs stable-baselines3 (and so torch) at
import, as `laetitia.app.recording` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

if TYPE_CHECKING:
    from laetitia.app.web.session import WebSession


class DashboardCallback(BaseCallback):
    """Tells the dashboard each completed step (stable-baselines3's callback contract).

    A live viewer's stage holds the session while it is paused (before its next emoticon) and
    ends it; a viewer without one (a simulated person) is held here instead, between steps
    (`WebSession.observe`), so the dashboard's buttons act on every session alike.

    Args:
        served: What the run serves (its dashboard's feed and the session's control).
        first_step: Number of the first step (non-zero when a session is resumed).
        episode: Number of the first episode.
    """

    def __init__(self, served: WebSession, first_step: int = 0, episode: int = 0) -> None:
        super().__init__()
        self.served = served
        self.step = first_step
        self.episode = episode

    def _on_step(self) -> bool:
        dones = np.atleast_1d(self.locals["dones"])
        best = getattr(self.model, "best_params", None)
        for info, done in zip(self.locals["infos"], dones, strict=True):
            if info.get("recording_over"):
                continue  # nothing was shown at this step
            self.served.observe(self.step, self.episode, info, best)
            self.step += 1
            if done:
                self.episode += 1
        return True

"""Callbacks with stable-baselines3's contract, serving SB3's agents and ours alike.

Each reads what the training loop exposes in `self.locals` — `infos`, `dones` (lists with one
entry per environment) — so the same callback serves a PPO run and a hill-climbing run. The
one that records a session is the application's (`laetitia.app.training.SessionCallback`).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

if TYPE_CHECKING:
    from tqdm import tqdm


class ProgressCallback(BaseCallback):
    """A progress bar with the last reward, named by its signal, and the mean of the last ten.

    The bar appears at the first completed step, so a camera that fails says so first. It shows
    no "best" reading: the highest of many noisy readings says more about the noise than about
    the emoticon (`laetitia.sessions.best` says the best honestly at the end of a run).

    Args:
        total: Number of steps the run will take.
        initial: Steps already taken (when a session is resumed).
    """

    def __init__(self, total: int, initial: int = 0) -> None:
        super().__init__()
        self.total = total
        self.initial = initial
        self._recent: deque[float] = deque(maxlen=10)
        self._bar: tqdm[Any] | None = None
        self._signal = "reward"
        """The name the reward shows under: the signal of the last reaction read."""

    def _on_step(self) -> bool:
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total,
                initial=self.initial,
                unit="step",
                dynamic_ncols=True,
                mininterval=0.5,
            )
        for info in self.locals["infos"]:
            if info.get("recording_over"):
                continue
            if info["scored"]:
                self._recent.append(float(info["happiness"]))
            mean = f"{np.mean(self._recent):.3f}" if self._recent else "n/a"
            if info.get("reaction") is not None:
                self._signal = info["reaction"].signal
            postfix = {self._signal: f"{info['reward']:.3f}", "mean10": mean}
            self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(1)
        return True

    def _on_training_end(self) -> None:
        if self._bar is not None:
            self._bar.close()


class AgentCheckpoint(BaseCallback):
    """Saves the agent as it learns, so a killed session can be resumed.

    Args:
        path: The folder the agent is saved to (replaced atomically at each save).
        every: Steps between saves; 0 saves instead each time a stable-baselines3 rollout
            starts, that is after each policy update (PPO changes only then, so saving it
            at every step would rewrite the same policy). An agent's `checkpoint_every`
            says which suits it.
    """

    def __init__(self, path: Path, every: int = 1) -> None:
        super().__init__()
        self.path = Path(path)
        self.every = every

    def _on_step(self) -> bool:
        if self.every and self.n_calls % self.every == 0:
            self.model.save(self.path)
        return True

    def _on_rollout_start(self) -> None:
        if not self.every and self.n_calls > 0:
            self.model.save(self.path)

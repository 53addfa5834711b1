"""TensorBoard logs of a training, the same for every agent (`laetitia train --tensorboard DIR`).

Per step, under the run's name (the session folder's): the reward, the happiness read (when a
face was seen) under the name of the signal it was read by (`happiness/smile`,
`happiness/fer-happy`), the faces seen, each emoticon parameter, and an honest best so far: for a
simulated viewer the best noise-free happiness shown, for a person the best rolling mean of
the readings, never the best single noisy reading. Every `image_every` steps, the emoticon on
show as an image. The stable-baselines3 agents also log their own training statistics (losses,
entropy, ...) beside it.

    tensorboard --logdir DIR
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.emoticon.params import ParamSpace

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

IMAGE_EVERY = 25
"""Steps between two emoticon images in the log."""
ROLLING = 10
"""Readings in the rolling mean a person's best so far is the best of."""


class TensorBoardCallback(BaseCallback):
    """Writes each step of a training to TensorBoard (stable-baselines3's callback contract).

    Args:
        folder: The TensorBoard log folder (`--tensorboard DIR`); the run logs in `folder/run`.
        run: The run's name.
        space: The emoticon's parameter space (for the parameters' names and the image).
        first_step: The session's step number of the first step logged (a resumed run's).
        image_every: Steps between two emoticon images.
    """

    def __init__(
        self,
        folder: Path,
        run: str,
        space: ParamSpace,
        first_step: int = 0,
        image_every: int = IMAGE_EVERY,
    ) -> None:
        super().__init__()
        self.folder = Path(folder) / run
        self.space = space
        self.step = first_step
        self.image_every = image_every
        self.best = -math.inf
        self._window: deque[float] = deque(maxlen=ROLLING)
        self._writer: SummaryWriter | None = None

    def _on_training_start(self) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(log_dir=str(self.folder))

    def _on_step(self) -> bool:
        assert self._writer is not None, "TensorBoardCallback logs once training has started"
        for info in self.locals["infos"]:
            if info.get("recording_over"):
                continue
            self._log(self._writer, info)
            self.step += 1
        return True

    def _log(self, writer: SummaryWriter, info: dict[str, Any]) -> None:
        step = self.step
        writer.add_scalar("reward", float(info["reward"]), step)
        writer.add_scalar("faces", int(info["faces"]), step)
        if info["scored"]:
            writer.add_scalar(f"happiness/{info['signal']}", float(info["happiness"]), step)
            self._window.append(float(info["happiness"]))
        truth = _noise_free(info)
        if truth is not None:
            writer.add_scalar("noise_free_happiness", truth, step)
            self.best = max(self.best, truth)
            writer.add_scalar("best_so_far/noise_free", self.best, step)
        elif self._window:
            self.best = max(self.best, float(np.mean(self._window)))
            writer.add_scalar(f"best_so_far/rolling_mean_{ROLLING}", self.best, step)
        params = np.asarray(info["params"], dtype=np.float64)
        for name, value in zip(self.space.names, params, strict=True):
            writer.add_scalar(f"params/{name}", float(value), step)
        if step % self.image_every == 0:
            from laetitia.emoticon.render import render

            writer.add_image("emoticon", render(params, 128, self.space), step, dataformats="HWC")

    def _on_training_end(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _noise_free(info: dict[str, Any]) -> float | None:
    """A simulated viewer's noise-free happiness of the emoticon shown, when it says it."""
    reaction = info.get("reaction")
    value = None if reaction is None else reaction.extras.get("true_happiness")
    return None if value is None else float(value)

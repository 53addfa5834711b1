"""The settings of a run, declared once: how each step reads the viewer, and how long an episode is.

Every run (a training, an evaluation, the agents' bench, a tuning trial) shows emoticons to a
viewer for so many frames per step, after so long a settle, in episodes of so many steps, moving
so far per step, and (for a webcam or a video) reads the face through one pipeline. Those
settings, their units and their defaults live here and nowhere else: the env's registration
(`max_episode_steps`), its constructor and the viewers take their defaults from `RUN_DEFAULTS`;
`TrainConfig` is a `RunSettings` with the training's own settings added; the evaluation, the
bench and tune build one; the CLI's defaults and help text read it.

    settings = RunSettings(frames=5, max_episode_steps=20)
    env = make_env("laetitia/Smile-v0", "sim:3", settings)   # laetitia.envs.make

A new run setting (a camera rate) is one more field here, with its check in
`__post_init__`; the configs that are run settings carry it, and `make_env` passes it on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final

from laetitia.errors import ConfigError

MAX_FRAMES: Final = 10_000
"""The most frames a step may read (a minute and more of a camera): a step's frames are held
in memory together."""
STEP_SIZE: Final = 0.1
"""The env's step size when nothing else chooses one (an agent states its own preference)."""


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """How each step of a run reads the viewer, and the shape of its episodes.

    Raises:
        ConfigError: With `field` set, for a value out of its range.
    """

    frames: int = 10
    """Frames read per shown emoticon (DeepLaetitia averaged 10)."""
    settle_s: float = 0.5
    """Seconds a live viewer waits after a change before reading frames (a recording skips
    that many seconds of video)."""
    camera_fps: float = 30.0
    """Frames per second the camera delivers: the rate a simulated person's frames are read at
    (people-v3, whose reactions unfold in seconds), and the rate a person's time is counted at
    (each step takes `settle_s` plus its frames at this rate)."""
    max_episode_steps: int = 50
    """Steps per episode: the env's time limit (Gymnasium's `max_episode_steps`)."""
    step_size: float | None = None
    """Largest change of a parameter per step, as a fraction of its range, in (0, 1]; None:
    the agent's `preferred_step_size` (0.1 for most; 1.0 for cma-es and bayes-opt, which jump
    to the emoticon they pick), or `STEP_SIZE` for an env made without an agent."""
    detector: str | None = None
    """Face detector of a webcam or video viewer (`laetitia.faces.DETECTOR_NAMES`); None: the
    default one (YuNet)."""
    model: Path | None = None
    """FER model file of a webcam or video viewer; None: the shipped one."""
    profile: Path | None = None
    """A person's calibration profile (`laetitia calibrate`) for a webcam or video viewer: the
    reward becomes their calibrated P(smile). None: the signal as it is."""
    signal: str | None = None
    """The smile signal the reward averages (`laetitia.signals`: smile, fer-happy,
    fer-smile). None: for a webcam or video viewer the env's default (`smile` for the `-v1`
    envs, `fer-happy` for `-v0`); for a simulated viewer the signal it simulates, for a
    recorded session the one it was scored by. A simulated viewer cannot give another."""

    def __post_init__(self) -> None:
        for name in ("model", "profile"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        for name in ("frames", "max_episode_steps"):
            value = getattr(self, name)
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}.", field=name)
        if self.frames > MAX_FRAMES:
            raise ConfigError(
                f"frames must be at most {MAX_FRAMES} per step (they are held in memory "
                f"together), got {self.frames}.",
                field="frames",
            )
        if not math.isfinite(self.settle_s) or self.settle_s < 0:
            raise ConfigError(
                f"settle_s must be a finite number of seconds, 0 or more, got {self.settle_s}.",
                field="settle_s",
            )
        if not math.isfinite(self.camera_fps) or self.camera_fps <= 0:
            raise ConfigError(
                f"camera_fps must be a finite number of frames per second above 0, got "
                f"{self.camera_fps}.",
                field="camera_fps",
            )
        if self.step_size is not None and not 0.0 < self.step_size <= 1.0:
            raise ConfigError(
                f"step_size is a fraction of each range in (0, 1], got {self.step_size}.",
                field="step_size",
            )

    def run_settings(self) -> RunSettings:
        """These settings alone, without what a config that is a `RunSettings` adds to them."""
        return RunSettings(**{f.name: getattr(self, f.name) for f in fields(RunSettings)})


RUN_DEFAULTS: Final = RunSettings()
"""Every run setting at its default: what signatures, the registration and the CLI default to."""

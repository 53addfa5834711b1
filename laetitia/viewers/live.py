"""The live viewer: a person at a webcam (or a recorded video standing in for one).

    viewer = LiveViewer.from_webcam(0, frames=10, settle_s=0.5)    # --viewer webcam:0
    viewer = LiveViewer.from_video("clip.mp4")                      # --viewer video:clip.mp4
    reaction = viewer.react(image, params)

Each `react` shows the emoticon (in the live window, `laetitia.viewers.live_window`, for a webcam),
lets `settle_s` pass so the person can react, then reads `frames` frames and puts them through
the happiness meter (`laetitia.meter`): per-frame emotion probabilities, face boxes, and the
frames themselves for a recorder to keep. The window shows the camera preview with the face box,
the happiness gauge and the reward curve; space pauses before the next emoticon, `q` or closing
the window raises `SessionEndedByUser`.

A video is consumed in order as if it were live: the settle time is skipped as
`round(settle_s * fps)` frames, then `frames` frames are read, so each step covers the same span
of the recording a live step would of the person. The video is not rewound between episodes.
When it runs out, `react` raises `VideoEndedError` (a `CameraError`) saying after how many
steps, so the caller can end the session cleanly.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from laetitia.cameras import Camera, VideoFile, Webcam
from laetitia.errors import VideoEndedError
from laetitia.meter import HappinessMeter, Meter
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.types import FER_HAPPY, Reaction

if TYPE_CHECKING:
    from laetitia.viewers.live_window import LiveWindow


class LiveViewer:
    """Frames from a camera after each shown emoticon, read by the happiness meter.

    Nothing is opened in the constructor: the camera, the meter's models and the window open on
    the first `react`.

    Args:
        camera: An open camera, or a function that opens one (called on the first `react`).
        meter: The happiness meter, or a function that builds one; None for `HappinessMeter.live()`.
        frames: Frames read per shown emoticon.
        settle_s: Seconds between showing an emoticon and reading frames.
        show: Show each emoticon in the live window (a person needs to see it).
        realtime: True for a live camera: `settle_s` passes on the wall clock while frames
            keep being read and dropped (so none is stale), and frame times come from the
            clock. False for a recording: `settle_s` skips `round(settle_s * fps)` frames and
            frame times are frame index / fps.
        source: Plain-data description of the camera for `describe` (default: the camera's
            own, which opens it).
        nondeterministic: Whether reactions cannot be reproduced (a person).
        window: The live window to show in (`laetitia.viewers.live_window.LiveWindow`); None makes
            one on the first `react` when `show` is True.
        signal: The name of the smile signal the meter scores frames by (`laetitia.signals`);
            the meter must be one of it.
    """

    needs_image = True
    """The person looks at the drawn emoticon."""

    def __init__(
        self,
        camera: Camera | Callable[[], Camera],
        meter: Meter | Callable[[], Meter] | None = None,
        frames: int = RUN_DEFAULTS.frames,
        settle_s: float = RUN_DEFAULTS.settle_s,
        show: bool = True,
        realtime: bool = True,
        source: dict[str, object] | None = None,
        nondeterministic: bool = True,
        window: LiveWindow | None = None,
        signal: str = FER_HAPPY,
    ) -> None:
        if frames < 1:
            raise ValueError(f"frames must be at least 1, got {frames}.")
        if settle_s < 0:
            raise ValueError(f"settle_s must be at least 0, got {settle_s}.")
        self._camera_source = camera
        self._meter_source = meter if meter is not None else _default_meter(signal)
        self.frames = int(frames)
        self.settle_s = float(settle_s)
        self.show = show
        self.realtime = realtime
        self.source = source
        self.nondeterministic = nondeterministic
        self.signal = signal
        self._camera: Camera | None = camera if isinstance(camera, Camera) else None
        self._meter: Meter | None = meter if isinstance(meter, Meter) else None
        self._window = window
        self._skip = 0
        self._clock_start: float | None = None
        self.steps = 0
        """Reactions returned so far."""
        self.frames_read = 0
        """Camera frames read so far, the skipped settle frames included."""

    @classmethod
    def from_webcam(
        cls,
        index: int = 0,
        frames: int = RUN_DEFAULTS.frames,
        settle_s: float = RUN_DEFAULTS.settle_s,
        show: bool = True,
        meter: Meter | Callable[[], Meter] | None = None,
        signal: str = FER_HAPPY,
    ) -> LiveViewer:
        """A person at webcam `index`, shown each emoticon in a window (`--viewer webcam:INDEX`).

        The camera opens on the first `react`; a missing camera is a `CameraError` then.
        """
        return cls(
            lambda: Webcam(index),
            meter,
            frames=frames,
            settle_s=settle_s,
            show=show,
            realtime=True,
            source={"kind": "webcam", "index": int(index)},
            nondeterministic=True,
            signal=signal,
        )

    @classmethod
    def from_video(
        cls,
        path: str | Path,
        frames: int = RUN_DEFAULTS.frames,
        settle_s: float = RUN_DEFAULTS.settle_s,
        show: bool = False,
        meter: Meter | Callable[[], Meter] | None = None,
        signal: str = FER_HAPPY,
    ) -> LiveViewer:
        """A recorded video read in order as if live (`--viewer video:PATH`); see the module."""
        path = Path(path)
        return cls(
            lambda: VideoFile(path),
            meter,
            frames=frames,
            settle_s=settle_s,
            show=show,
            realtime=False,
            source={"kind": "video", "path": str(path)},
            nondeterministic=False,
            signal=signal,
        )

    @property
    def meter(self) -> Meter:
        """The happiness meter (built on first use)."""
        if self._meter is None:
            source = self._meter_source
            self._meter = source if isinstance(source, Meter) else source()
            assert self._meter.signal.name == self.signal, "the meter reads the viewer's signal"
        return self._meter

    def reset(self, seed: int | None = None) -> None:
        """A new episode. A person, or a recording, carries on: nothing is rewound."""

    def react(self, image: np.ndarray | None, params: np.ndarray) -> Reaction:
        """Show the emoticon, let `settle_s` pass, read `frames` frames and measure them.

        Args:
            image: The emoticon, RGB uint8 (H, W, 3); a live viewer always needs it.
            params: The raw parameters it was drawn from (unused: the camera sees the image).

        Returns:
            The reaction with per-frame probabilities, boxes, frames and their times.

        Raises:
            CameraError: If the camera cannot be opened or fails.
            VideoEndedError: If a video has too few frames left for this step.
        """
        if image is None:
            raise ValueError("a live viewer shows the emoticon: react needs its image.")
        camera = self._open()  # first: a missing camera fails before any model loads
        meter = self.meter
        window = self._show(image) if self.show else None
        if window is not None:
            window.wait(0.0)  # holds while the person has paused
        if self.realtime:
            self._settle_live(camera, window)
        else:
            for _ in range(self._settle_frames(camera)):
                self._next(camera)
        frames, times = [], []
        for _ in range(self.frames):
            frames.append(self._next(camera))
            times.append(self._now(camera))
            if window is not None:
                window.show_frame(frames[-1])
        reaction = meter.read(frames)
        self.steps += 1
        reaction = dataclasses.replace(reaction, times_s=np.asarray(times, dtype=np.float64))
        if window is not None:
            window.show_reaction(reaction)
        return reaction

    def show_reward(self, reward: float, scored: bool) -> None:
        """Add the env's reward for the last reaction to the window's curve."""
        if self._window is not None:
            self._window.show_reward(reward, scored)

    def continue_after(
        self, steps: int, rewards: Iterable[float] = (), scored: Iterable[bool] = ()
    ) -> None:
        """Continue a session that already has `steps` steps (`laetitia train --resume`).

        A video skips what those steps consumed (each step reads `round(settle_s * fps)`
        settle frames and `frames` frames), so the session goes on with the frame after the
        last one recorded; a webcam has nothing to skip. The window's step count and reward
        curve go on from the recorded `rewards` (and whether each step `scored`).
        """
        self.steps = steps
        if not self.realtime:
            self._skip = steps  # applied when the video opens: its fps is known then
            if self._camera is not None:
                self._skip_consumed(self._camera)
        if self.show:
            self._live_window().resume_from(rewards, scored)

    def _settle_frames(self, camera: Camera) -> int:
        return round(self.settle_s * (camera.fps or 0.0))

    def _skip_consumed(self, camera: Camera) -> None:
        for _ in range(self._skip * (self._settle_frames(camera) + self.frames)):
            self._next(camera)
        self._skip = 0

    def _open(self) -> Camera:
        if self._camera is None:
            source = self._camera_source
            self._camera = source if isinstance(source, Camera) else source()
            self._clock_start = time.monotonic()
            if self._skip:
                self._skip_consumed(self._camera)
        elif self._clock_start is None:
            self._clock_start = time.monotonic()
        return self._camera

    def _live_window(self) -> LiveWindow:
        if self._window is None:
            from laetitia.viewers.live_window import LiveWindow

            self._window = LiveWindow("laetitia: look at the face")
        return self._window

    def _show(self, image: np.ndarray) -> LiveWindow:
        window = self._live_window()
        window.show_emoticon(image)
        return window

    def _settle_live(self, camera: Camera, window: LiveWindow | None) -> None:
        """Wait `settle_s`, reading and dropping frames so the next ones are fresh.

        A pause during the wait holds it, and the full settle time starts again after it.
        """
        deadline = time.monotonic() + self.settle_s
        while time.monotonic() < deadline:
            self._next(camera)
            if window is not None:
                window.poll()  # keeps the window responsive; q ends the session
                if window.state.paused:
                    window.wait(0.0)
                    deadline = time.monotonic() + self.settle_s

    def _next(self, camera: Camera) -> np.ndarray:
        frame = camera.read()
        if frame is None:
            where = self.source.get("path") if self.source else None
            raise VideoEndedError(
                f"the video {where or ''} ended after {self.steps} steps ({self.frames_read} "
                "frames read); for more steps use a longer video, or fewer frames per step "
                "(or a shorter settle time)."
            )
        self.frames_read += 1
        return frame

    def _now(self, camera: Camera) -> float:
        if self.realtime:
            assert self._clock_start is not None
            return time.monotonic() - self._clock_start
        return (self.frames_read - 1) / (camera.fps or 1.0)

    def describe(self) -> dict[str, object]:
        """The camera source, step settings and the meter (detector and model identity)."""
        source = self.source
        if source is None:
            source = self._open().describe()
        return {
            "kind": source.get("kind", "camera"),
            "source": source,
            "frames": self.frames,
            "settle_s": self.settle_s,
            "meter": self.meter.describe(),
        }

    def close(self) -> None:
        """Release the camera and close the window."""
        if self._camera is not None:
            self._camera.close()
            if not isinstance(self._camera_source, Camera):
                self._camera = None  # a later react opens a fresh one
        if self._window is not None:
            self._window.close()
            self._window = None


def _default_meter(signal: str) -> Callable[[], Meter]:
    """A builder of `HappinessMeter.live` for a signal."""
    return lambda: HappinessMeter.live(signal=signal)

"""The live viewer: a person at a camera (a webcam, a browser page, or a video standing in).

    viewer = LiveViewer.from_webcam(0, frames=10, settle_s=0.5)    # --viewer webcam:0
    viewer = LiveViewer.from_video("clip.mp4")                      # --viewer video:clip.mp4
    reaction = viewer.react(image, params)

Each `react` is one loop for every live camera: hold (while paused, or until a participant's
page is there), present the emoticon on the viewer's stage (`laetitia.viewers.stage`: the live
window, the participant's window, or a browser page), read the camera's frames until one was
taken `settle_s` after the emoticon was on screen, take `frames` frames from there, and put them
through the happiness meter (`laetitia.meter`): per-frame emotion probabilities, face boxes,
and the frames themselves for a recorder to keep. The stage and the camera share a clock, so
"taken after it was on screen" means the same for a webcam (`time.monotonic()`) and a browser
(the page's clock). A step interrupted while it is read (a pause, a page reloaded or closed, a
camera lost: `FramesInterrupted`) drops its partial reading and starts again, shown anew and
given the full settle time: no step is lost and none is recorded twice. Space pauses before the
next emoticon; `q`, closing the window or the dashboard's end raise `SessionEndedByUser`.

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

from laetitia.cameras import Camera, FramesInterrupted, VideoFile, Webcam
from laetitia.errors import VideoEndedError
from laetitia.meter import HappinessMeter, Meter
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.types import FER_HAPPY, Reaction
from laetitia.viewers.stage import Screen

if TYPE_CHECKING:
    from laetitia.viewers.control import SessionControl
    from laetitia.viewers.stage import Stage


class LiveViewer:
    """Frames from a camera after each shown emoticon, read by the happiness meter.

    Nothing is opened in the constructor: the camera, the meter's models and the window open on
    the first `react`.

    Args:
        camera: An open camera, or a function that opens one (called on the first `react`).
        meter: The happiness meter, or a function that builds one; None for `HappinessMeter.live()`.
        frames: Frames read per shown emoticon.
        settle_s: Seconds between showing an emoticon and reading frames.
        show: Show each emoticon on a stage (a person needs to see it).
        realtime: True for a live camera: frames taken before the emoticon had been on screen
            for `settle_s` are read and dropped (so none is stale), and frame times come from
            the camera's clock. False for a recording: `settle_s` skips
            `round(settle_s * fps)` frames and frame times are frame index / fps.
        source: Plain-data description of the camera for `describe` (default: the camera's
            own, which opens it).
        nondeterministic: Whether reactions cannot be reproduced (a person).
        stage: Where to show each emoticon (`laetitia.viewers.stage`); None makes the one
            `screen` names on the first `react` when `show` is True.
        screen: The person's screen when the viewer makes its stage: the live window
            (default) or the participant's window.
        control: The session's pause and end, shared with a dashboard, for the stage the viewer
            makes; None for the stage's own.
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
        stage: Stage | None = None,
        screen: Screen | None = None,
        control: SessionControl | None = None,
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
        self._stage = stage
        self._own_stage = stage is None
        self.screen = screen if screen is not None else Screen()
        self.control = control
        self._skip = 0
        self._clock_start: float | None = None
        self.steps = 0
        """Reactions returned so far."""
        self.frames_read = 0
        """Camera frames read so far, the skipped settle frames included."""
        self.restarts = 0
        """Steps that were interrupted and started again (a pause, a page gone)."""

    @classmethod
    def from_webcam(
        cls,
        index: int = 0,
        frames: int = RUN_DEFAULTS.frames,
        settle_s: float = RUN_DEFAULTS.settle_s,
        show: bool = True,
        meter: Meter | Callable[[], Meter] | None = None,
        signal: str = FER_HAPPY,
        screen: Screen | None = None,
        control: SessionControl | None = None,
    ) -> LiveViewer:
        """A person at webcam `index`, shown each emoticon in a window (`--viewer webcam:INDEX`).

        The camera opens on the first `react`; a missing camera is a `CameraError` then.
        `screen` picks the window (the live window, or the participant's), `control` shares
        its pause and end with a dashboard.
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
            screen=screen,
            control=control,
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
        screen: Screen | None = None,
        control: SessionControl | None = None,
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
            screen=screen,
            control=control,
        )

    def __deepcopy__(self, memo: dict[int, object]) -> LiveViewer:
        """The viewer itself: it holds a camera, a window or a page, which are not copied.

        Gymnasium copies an env's spec, and a viewer given to `gym.make` is in its kwargs.
        """
        return self

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
            SessionEndedByUser: If the session was ended (a key, the dashboard).
        """
        if image is None:
            raise ValueError("a live viewer shows the emoticon: react needs its image.")
        camera = self._open()  # first: a missing camera fails before any model loads
        meter = self.meter
        stage = self.stage if self.show else None
        while True:
            try:
                frames, times = self._read_step(camera, stage, image)
                break
            except FramesInterrupted:
                self.restarts += 1  # the step starts again: shown anew, the full settle time
        reaction = meter.read(frames)
        self.steps += 1
        reaction = dataclasses.replace(reaction, times_s=np.asarray(times, dtype=np.float64))
        if stage is not None:
            stage.show_reaction(reaction)
        return reaction

    def _read_step(
        self, camera: Camera, stage: Stage | None, image: np.ndarray
    ) -> tuple[list[np.ndarray], list[float]]:
        """One try at a step: hold, present, settle, read; the frames and their times."""
        if stage is not None:
            stage.hold(self.steps)
        shown = stage.present(image, self.steps) if stage is not None else time.monotonic()
        frames: list[np.ndarray] = []
        times: list[float] = []
        if not self.realtime:
            for _ in range(self._settle_frames(camera)):
                self._next(camera)
            for _ in range(self.frames):
                frames.append(self._next(camera))
                times.append((self.frames_read - 1) / (camera.fps or 1.0))
                if stage is not None:
                    stage.show_frame(frames[-1])
            return frames, times
        start = shown + self.settle_s
        camera.discard_before(start)
        assert self._clock_start is not None, "the camera opened with the session's clock"
        while len(frames) < self.frames:
            frame, taken = self._next_timed(camera)
            if stage is not None:
                stage.check(self.steps)  # a pause or a page gone starts the step again
            if taken < start:
                continue  # taken before the emoticon had been on screen for settle_s
            frames.append(frame)
            times.append(camera.to_monotonic(taken) - self._clock_start)
            if stage is not None:
                stage.show_frame(frame)
        return frames, times

    def show_reward(self, reward: float, scored: bool) -> None:
        """Add the env's reward for the last reaction to the stage (the window's curve)."""
        if self._stage is not None:
            self._stage.show_reward(reward, scored)

    def continue_after(
        self, steps: int, rewards: Iterable[float] = (), scored: Iterable[bool] = ()
    ) -> None:
        """Continue a session that already has `steps` steps (`laetitia train --resume`).

        A video skips what those steps consumed (each step reads `round(settle_s * fps)`
        settle frames and `frames` frames), so the session goes on with the frame after the
        last one recorded; a live camera has nothing to skip. The stage's step count and reward
        curve go on from the recorded `rewards` (and whether each step `scored`).
        """
        self.steps = steps
        if not self.realtime:
            self._skip = steps  # applied when the video opens: its fps is known then
            if self._camera is not None:
                self._skip_consumed(self._camera)
        if self.show:
            self.stage.resume_from(rewards, scored)

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

    @property
    def stage(self) -> Stage:
        """Where the emoticons are shown (made from `screen` on first use)."""
        if self._stage is None:
            self._stage = make_stage(self.screen, self.control)
        return self._stage

    def _next(self, camera: Camera) -> np.ndarray:
        return self._check_frame(camera.read())

    def _next_timed(self, camera: Camera) -> tuple[np.ndarray, float]:
        frame, taken = camera.read_timed()
        return self._check_frame(frame), taken

    def _check_frame(self, frame: np.ndarray | None) -> np.ndarray:
        if frame is None:
            where = self.source.get("path") if self.source else None
            raise VideoEndedError(
                f"the video {where or ''} ended after {self.steps} steps ({self.frames_read} "
                "frames read); for more steps use a longer video, or fewer frames per step "
                "(or a shorter settle time)."
            )
        self.frames_read += 1
        return frame

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
        """Release the camera and close the stage (a window; a page is told the session ended)."""
        if self._camera is not None:
            self._camera.close()
            if not isinstance(self._camera_source, Camera):
                self._camera = None  # a later react opens a fresh one
        if self._stage is not None:
            self._stage.close()
            if self._own_stage:
                self._stage = None  # a later react makes a fresh one


def make_stage(screen: Screen, control: SessionControl | None = None, title: str = "") -> Stage:
    """The pygame window a screen setting names, steered by `control` (its own if None)."""
    if screen.kind == "participant":
        from laetitia.viewers.participant_window import ParticipantWindow

        return ParticipantWindow(screen, control=control, title=title or "laetitia")
    from laetitia.viewers.live_window import LiveWindow

    return LiveWindow(title or "laetitia: look at the face", control=control)


def _default_meter(signal: str) -> Callable[[], Meter]:
    """A builder of `HappinessMeter.live` for a signal."""
    return lambda: HappinessMeter.live(signal=signal)

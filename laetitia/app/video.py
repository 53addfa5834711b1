"""A recorded session as a video: the live window as the person saw it, step by step.

    result = write_session_video(VideoConfig(session="runs/me", out="runs/me.mp4", speed=2))

Each video frame is the live window (`laetitia.viewers.live_window.draw_live`) at one moment
of the session: the emoticon on show (drawn again from the recorded parameters), the camera
frame being read with its face box, the gauge of the last reading and the reward curve so far.
A frame whose image was not kept (`--no-frames`) shows its class probabilities where the image
would be; a viewer without a camera (sim, person, session) shows the emoticon, the mean
probabilities of each reading and the curve.

Timing. A camera session (webcam or video viewer, or a re-scoring of one) runs at the pace it
was recorded at, divided by `speed`: emoticon s is on show from the moment step s-1 was
recorded (the first one from its settle time before the first frame), each frame appears at its
`frames.csv` time, and the reading (gauge and curve) at the step's `steps.csv` time. Waits are
kept as they were: the settle time, and a pause, as the emoticon on show. Times that run
backwards (a step recorded faster than its frames' spacing) are held at the moment before. A
session without a camera has no times worth keeping: each step lasts `sim_step_s`, its reading
shown halfway through. Video frame k shows the window as it was `k * speed / fps` seconds after
the first emoticon appeared, and the last state is held for `END_HOLD_S` more.

`--blur-faces` pixelates the person in every frame: the face box, widened on each side, and the
whole frame where no face was found (the detector may have missed one).

Encoding: H.264 (libx264) in MP4, yuv420p, even dimensions, the index at the front of the file
(faststart) so a browser starts playing before the file has loaded. PyAV writes it; its wheel
ships FFmpeg with libx264, so nothing else is installed. The file is written atomically: a
failure leaves nothing at `out`.

A session still being recorded is drawn up to its last completed step (a row a crash or the
recorder left unfinished is ignored, as `laetitia.sessions.load_session` does).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from laetitia.emoticon.render import render
from laetitia.errors import ConfigError, LaetitiaError, SessionError
from laetitia.files import atomic_path, check_output_file
from laetitia.labels import HAPPY
from laetitia.sessions import Session, SessionMeta, decode_frame, load_session
from laetitia.viewers.live_window import WINDOW_SIZE, LiveState, draw_live, signal_label
from laetitia.viewers.spec import FACE_KINDS

END_HOLD_S = 1.0
"""Seconds of video the last state (the final reading and curve) is held for."""
READING_AT = 0.5
"""Where in a step without recorded times its reading appears, as a fraction of the step."""
EMOTICON_PX = 256
"""Side of the emoticon image drawn for each step: the size the env draws it at by default."""
FACE_MARGIN = 0.25
"""How far the pixelated area reaches beyond the face box, as a fraction of its side."""
FACE_BLOCKS = 8
"""Blocks across the pixelated face (about 8 x 8: no feature survives)."""
FRAME_BLOCKS = 16
"""Blocks across a pixelated frame where no face was found."""
H264_ENCODERS = ("libx264", "libopenh264")
"""H.264 encoders to use, in order of preference (PyAV's PyPI wheel ships libx264)."""
X264_OPTIONS = {"preset": "veryfast", "crf": "20"}
"""libx264 settings: sharp text and curve lines at a few hundred kB per minute."""
KEYFRAME_S = 2
"""Seconds between keyframes, so a browser seeks to any point quickly."""
MAX_VIDEO_S = 24 * 3600
"""The longest video drawn, in seconds of video: a speed or step length that asks for more is
refused before drawing (a day of video is far more than any session needs)."""

MomentKind = Literal["emoticon", "frame", "reading"]


@dataclass(frozen=True)
class VideoConfig:
    """What `write_session_video` draws, and how."""

    session: Path
    """The session folder (a finished one, or one still being recorded)."""
    out: Path
    """The MP4 file to write (replaced if it exists)."""
    speed: float = 1.0
    """How many times faster than the session ran the video plays (0.5: half speed)."""
    fps: int = 10
    """Frames per second of the video."""
    sim_step_s: float = 0.5
    """Seconds each step lasts in a session without a camera (its recorded times are not the
    pace anyone saw); divided by `speed` like every other time."""
    width: int = WINDOW_SIZE[0]
    """Width of the video in pixels, even; the height keeps the window's shape (600 for 960)."""
    blur_faces: bool = False
    """Pixelate the person in every camera frame."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "session", Path(self.session))
        object.__setattr__(self, "out", Path(self.out))
        if not (math.isfinite(self.speed) and self.speed > 0):
            raise ConfigError(f"speed must be above 0, got {self.speed}.", field="speed")
        if not 1 <= self.fps <= 60:
            raise ConfigError(f"fps must be from 1 to 60, got {self.fps}.", field="fps")
        if not (math.isfinite(self.sim_step_s) and self.sim_step_s > 0):
            raise ConfigError(
                f"sim_step_s must be above 0 seconds, got {self.sim_step_s}.", field="sim_step_s"
            )
        if self.width % 2 or not 160 <= self.width <= 3840:
            raise ConfigError(
                f"width must be an even number of pixels from 160 to 3840 (H.264 in a browser "
                f"needs even sides), got {self.width}.",
                field="width",
            )

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the video, both even."""
        return self.width, 2 * round(self.width * WINDOW_SIZE[1] / WINDOW_SIZE[0] / 2)


@dataclass(frozen=True)
class VideoResult:
    """What `write_session_video` wrote."""

    path: Path
    """The MP4 file."""
    steps: int
    """Steps of the session drawn (those completed when it started)."""
    frames: int
    """Video frames written."""
    fps: int
    """Frames per second."""
    size: tuple[int, int]
    """(width, height) in pixels."""
    timed: bool
    """Whether the steps are placed by their recorded times (a camera session)."""
    images: bool
    """Whether camera images are shown (False: the probabilities in their place)."""
    render_s: float
    """Seconds it took to draw and encode."""

    @property
    def duration_s(self) -> float:
        """Length of the video in seconds."""
        return self.frames / self.fps


@dataclass(frozen=True)
class Moment:
    """One change of what the window shows."""

    t: float
    """Seconds on the session clock."""
    step: int
    """The step it belongs to."""
    kind: MomentKind
    """emoticon: the step's emoticon appears; frame: a camera frame is read; reading: the
    step's reading is shown (gauge, curve)."""
    row: int = -1
    """The frame's position in the session's frame index (kind "frame")."""


@dataclass(frozen=True)
class Timeline:
    """The moments of a session in the order they happened, on the session clock."""

    moments: tuple[Moment, ...]
    start_s: float
    """When the first emoticon appeared."""
    end_s: float
    """When the last step ended."""
    timed: bool
    """Whether the moments are the recorded times (False: `sim_step_s` per step)."""

    def main_frames(self, fps: int, speed: float) -> int:
        """Video frames from the first emoticon to the end of the last step."""
        return round((self.end_s - self.start_s) / speed * fps)

    def n_frames(self, fps: int, speed: float) -> int:
        """Video frames in all: the session, then the last state held for `END_HOLD_S`."""
        return self.main_frames(fps, speed) + max(1, round(END_HOLD_S * fps))


def camera_kind(meta: SessionMeta) -> bool:
    """Whether a session's steps were read from a camera (a re-scoring counts as its source)."""
    viewer = meta.replay.get("source_viewer", {}) if meta.replay is not None else meta.viewer
    return isinstance(viewer, dict) and viewer.get("kind") in FACE_KINDS


def _settle_s(meta: SessionMeta) -> float:
    viewer = meta.replay.get("source_viewer", {}) if meta.replay is not None else meta.viewer
    value = viewer.get("settle_s", 0.0) if isinstance(viewer, dict) else 0.0
    return float(value) if isinstance(value, int | float) else 0.0


def step_rows(session: Session, step: int) -> np.ndarray:
    """Positions (int64) of a step's frames in the session's frame index; none without one."""
    index = session.frame_index
    if index is None:
        return np.zeros(0, dtype=np.int64)
    first, stop = np.searchsorted(index.step, (step, step + 1))  # rows are in step order
    return np.arange(first, stop, dtype=np.int64)


def session_timeline(session: Session, sim_step_s: float = 0.5) -> Timeline:
    """The moments to draw: see the module's Timing.

    Raises:
        SessionError: If the session has no completed step.
    """
    n = session.n_steps
    if n == 0:
        raise SessionError(
            f"session {session.folder} has no completed step yet: there is nothing to draw. "
            "Wait for its first step to be recorded."
        )
    if not camera_kind(session.meta):
        moments = []
        for step in range(n):
            moments.append(Moment(step * sim_step_s, step, "emoticon"))
            moments.append(Moment((step + READING_AT) * sim_step_s, step, "reading"))
        return Timeline(tuple(moments), 0.0, n * sim_step_s, timed=False)
    index = session.frame_index
    settle = _settle_s(session.meta)
    moments = []
    for step in range(n):
        rows = step_rows(session, step)
        if step:
            shown = float(session.time_s[step - 1])
        else:
            first = (
                float(index.t[rows[0]]) if index is not None and rows.size else session.time_s[0]
            )
            shown = first - settle
        moments.append(Moment(shown, step, "emoticon"))
        if index is not None:
            moments.extend(Moment(float(index.t[r]), step, "frame", int(r)) for r in rows)
        moments.append(Moment(float(session.time_s[step]), step, "reading"))
    times = np.maximum.accumulate(np.array([m.t for m in moments], dtype=np.float64))
    held = tuple(
        Moment(float(t), m.step, m.kind, m.row) for m, t in zip(moments, times, strict=True)
    )
    return Timeline(held, float(times[0]), float(times[-1]), timed=True)


def pixelate(frame: np.ndarray, box: np.ndarray | None) -> np.ndarray:
    """A copy of a camera frame with the person made unrecognisable.

    Args:
        frame: BGR (H, W, 3) or grey (H, W) uint8.
        box: The face box x, y, w, h in frame pixels; None (or NaN) where no face was found.

    Returns:
        The frame with the face box, widened by `FACE_MARGIN` on each side, in about
        `FACE_BLOCKS` blocks across; with no face, the whole frame in `FRAME_BLOCKS` blocks
        across (a face the detector missed is pixelated too).
    """
    height, width = frame.shape[:2]
    if box is None or not np.all(np.isfinite(box)):
        return _blocks(frame, FRAME_BLOCKS)
    x, y, w, h = (float(v) for v in box)
    left = max(0, math.floor(x - FACE_MARGIN * w))
    top = max(0, math.floor(y - FACE_MARGIN * h))
    right = min(width, math.ceil(x + w + FACE_MARGIN * w))
    bottom = min(height, math.ceil(y + h + FACE_MARGIN * h))
    if right <= left or bottom <= top:  # a box outside the frame: hide it all
        return _blocks(frame, FRAME_BLOCKS)
    out = frame.copy()
    out[top:bottom, left:right] = _blocks(frame[top:bottom, left:right], FACE_BLOCKS)
    return out


def _blocks(image: np.ndarray, across: int) -> np.ndarray:
    """An image in square blocks of its mean colour, about `across` along its longer side."""
    import cv2

    height, width = image.shape[:2]
    block = max(1, math.ceil(max(height, width) / across))
    small = (max(1, math.ceil(width / block)), max(1, math.ceil(height / block)))
    reduced = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
    return cv2.resize(reduced, (width, height), interpolation=cv2.INTER_NEAREST)


class WindowPainter:
    """The live window of a recorded session, moment by moment, as RGB images.

    Args:
        session: The session drawn.
        size: (width, height) of the images.
        blur_faces: Pixelate the person in camera frames.
        footer: The caption at the bottom of the window.
    """

    def __init__(
        self,
        session: Session,
        size: tuple[int, int],
        blur_faces: bool = False,
        footer: str = "",
    ) -> None:
        self.session = session
        self.size = size
        self.blur_faces = blur_faces
        meta = session.meta
        calibrated = "calibrated_by" in meta.signal or bool((meta.config or {}).get("profile"))
        self.state = LiveState(
            class_names=session.class_names,
            footer=footer,
            signal_label=signal_label(meta.signal_name, calibrated),
        )
        self._params = session.params()
        self._probs = session.probs()
        self._space = session.meta.space()
        self._happy = session.class_names.index(HAPPY)
        self._camera = camera_kind(session.meta)
        self._image: np.ndarray | None = None

    def apply(self, moments: Sequence[Moment]) -> None:
        """Show what `moments` changed; only the last emoticon and frame among them are drawn."""
        last: dict[str, Moment] = {}
        for moment in moments:
            if moment.kind == "reading":
                self._reading(moment.step)
            else:
                last[moment.kind] = moment
        if "emoticon" in last:
            step = last["emoticon"].step
            self.state.emoticon = render(self._params[step], EMOTICON_PX, self._space)
            self.state.step = step
        if "frame" in last:
            self._frame(last["frame"].row)
        if moments:
            self._image = None

    def _frame(self, row: int) -> None:
        index = self.session.frame_index
        assert index is not None, "frame moments come from the frame index"
        face = bool(index.has_face[row])
        box = index.boxes[row] if face else None
        self.state.box = box
        name = index.files[row]
        if name:
            frame = decode_frame(self.session.folder, name)
            self.state.preview = pixelate(frame, box) if self.blur_faces else frame
            self.state.probs = None
        else:
            self.state.preview = None
            self.state.probs = index.probs[row]
            self.state.probs_title = f"frame {int(index.frame[row])}: no image kept"

    def _reading(self, step: int) -> None:
        state, session = self.state, self.session
        index = session.frame_index
        rows = step_rows(session, step)
        if index is not None and rows.size:
            kept = index.values if index.values is not None else index.probs[:, self._happy]
            values = kept[rows].astype(np.float64)
            faces = index.has_face[rows]
            state.frame_happiness = tuple(float(p) for p in values)
            state.happiness = float(values[faces].mean()) if faces.any() else math.nan
        else:
            state.frame_happiness = ()
            state.happiness = float(self._probs[step, self._happy])
        state.rewards.append(float(session.steps["reward"][step]))
        state.scored.append(bool(session.steps["faces"][step] > 0))
        if not self._camera or not rows.size:  # no frame of the step is shown: its means are
            state.preview = None
            state.probs = self._probs[step]
            of = f"{rows.size} frames" if rows.size else "its frames"
            state.probs_title = f"step {step}: mean of {of}" + (
                "" if self._camera else ", no camera"
            )

    def image(self) -> np.ndarray:
        """The window as it is now, RGB uint8 (height, width, 3); one array until it changes."""
        if self._image is None:
            import pygame

            surface = pygame.Surface(WINDOW_SIZE)
            draw_live(surface, self.state)
            if surface.get_size() != self.size:
                surface = pygame.transform.smoothscale(surface, self.size)
            data = pygame.image.tobytes(surface, "RGB")
            self._image = np.frombuffer(data, dtype=np.uint8).reshape(self.size[1], self.size[0], 3)
        return self._image


def video_frames(
    timeline: Timeline, painter: WindowPainter, fps: int, speed: float
) -> Iterator[np.ndarray]:
    """The images of the video, one per frame: the window as it was at each frame's time."""
    moments = timeline.moments
    main = timeline.main_frames(fps, speed)
    done = 0
    for k in range(timeline.n_frames(fps, speed)):
        at = timeline.start_s + k * speed / fps if k < main else timeline.end_s
        upto = done
        while upto < len(moments) and moments[upto].t <= at + 1e-9:
            upto += 1
        if upto > done:
            painter.apply(moments[done:upto])
            done = upto
        yield painter.image()


def h264_encoder() -> str:
    """The H.264 encoder PyAV has (libx264 in its PyPI wheel).

    Raises:
        LaetitiaError: If it has none (a PyAV built without one).
    """
    import av

    for name in H264_ENCODERS:
        if name in av.codecs_available:
            return name
    raise LaetitiaError(
        "the installed PyAV has no H.264 encoder (libx264 or libopenh264), so no video a "
        "browser plays can be written. Install PyAV from its PyPI wheel: pip install av."
    )


def encode_mp4(images: Iterator[np.ndarray], path: Path, fps: int, size: tuple[int, int]) -> int:
    """Write RGB images as H.264 in MP4 (yuv420p, faststart); returns the frames written.

    Args:
        images: RGB uint8 (height, width, 3) arrays of `size`. One that is the same array as
            the one before is not converted again (most frames of a session repeat the last).
        path: The file to write (its format is MP4 whatever its name).
        fps: Frames per second.
        size: (width, height), both even.
    """
    import av
    from av.video.stream import VideoStream

    written = 0
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream(h264_encoder(), rate=fps)
        assert isinstance(stream, VideoStream), "an H.264 encoder makes a video stream"
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {**X264_OPTIONS, "g": str(KEYFRAME_S * fps)}
        previous: np.ndarray | None = None
        frame: Any = None
        for image in images:
            if image is not previous:
                rgb = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame = rgb.reformat(format="yuv420p")  # chroma averaged: thin lines keep colour
                previous = image
            frame.pts = written
            container.mux(stream.encode(frame))
            written += 1
        container.mux(stream.encode(None))
    return written


def write_session_video(config: VideoConfig, progress: bool = False) -> VideoResult:
    """Draw a session as the person saw it into an MP4 file; see the module.

    Args:
        config: The session, the file and how to draw it.
        progress: Show a progress bar.

    Raises:
        SessionError: If `config.session` is not a readable session, or has no completed step.
        ConfigError: If `config.out` is a folder, cannot be written, or is not an .mp4 file.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    session = load_session(config.session)
    timeline = session_timeline(session, config.sim_step_s)
    out = check_output_file(config.out, "out")
    if out.suffix.lower() != ".mp4":
        raise ConfigError(
            f"out must name an .mp4 file (the video is H.264 in MP4), got {out}.", field="out"
        )
    images = session.frames_kept and timeline.timed and session.frame_index is not None
    seconds = (timeline.end_s - timeline.start_s) / config.speed
    if seconds > MAX_VIDEO_S:
        shorter = "" if timeline.timed else " (or shorter steps, `sim_step_s`)"
        raise ConfigError(
            f"speed: the video would last {seconds:.3g} s, longer than the {MAX_VIDEO_S} s a "
            f"video is drawn for; ask for a faster speed{shorter}.",
            field="speed",
            mentions=() if timeline.timed else ("sim_step_s",),
        )
    footer = _footer(session, config, timeline)
    painter = WindowPainter(session, config.size, config.blur_faces, footer)
    total = timeline.n_frames(config.fps, config.speed)
    frames = video_frames(timeline, painter, config.fps, config.speed)
    bar = tqdm(total=total, unit="frame", desc="drawing", disable=not progress, mininterval=0.5)
    with bar, atomic_path(out) as tmp:
        written = encode_mp4(_counted(frames, bar), tmp, config.fps, config.size)
    assert written == total, "every frame of the timeline is written"
    return VideoResult(
        out,
        session.n_steps,
        written,
        config.fps,
        config.size,
        timeline.timed,
        bool(images),
        time.perf_counter() - started,
    )


def _footer(session: Session, config: VideoConfig, timeline: Timeline) -> str:
    """The caption under the curve: the session, its viewer, the pace, whether faces are hidden."""
    parts = [session.folder.name or str(session.folder)]
    kind = session.meta.viewer.get("kind") if session.meta.replay is None else "re-scored"
    parts.append(f"{kind or 'unknown'} viewer")
    pace = f"{config.sim_step_s / config.speed:g} s a step"
    parts.append(f"{config.speed:g}x" if timeline.timed else pace)
    if config.blur_faces and timeline.timed:
        parts.append("faces pixelated")
    return "    ".join(parts)


def _counted(frames: Iterator[np.ndarray], bar: Any) -> Iterator[np.ndarray]:
    for image in frames:
        yield image
        bar.update(1)

"""Cameras: one interface over a webcam, a video file, a folder of images and a browser page.

    with open_camera("clip.mp4") as camera:      # or 0 for a webcam, or a folder of images
        for frame in camera:                     # BGR uint8 (H, W, 3), as OpenCV decodes
            ...

`Camera.read` returns the next frame, or None when a finite source (a video, a folder) has
no more. A webcam never ends: a webcam that stops delivering frames is a `CameraError`, raised
after a bounded wait, never a hang. Every source opens in its constructor and decodes lazily,
one frame per `read`. `Camera.read_timed` also says when a live camera took the frame, on the
camera's own clock (`time.monotonic()` for a webcam).

A participant's browser is a camera too (`BrowserCamera`): the web server
(`laetitia.app.web`) pushes the frames the page streams, with the page's capture times, and the
training thread reads them in capture order, as from any camera. Its clock is the page's
(`performance.now()`); `ClockSync` maps it onto the session's.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2
import numpy as np

from laetitia.errors import CameraError
from laetitia.images import MAX_PIXELS_ENV, decode_image, max_pixels, read_image
from laetitia.threads import ensure_threads

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".bmp", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp"}
)
"""File name endings `ImageFolder` reads (case-insensitive); other files in a folder are skipped."""

ALTERNATIVE_VIEWERS = ("viewer=video:PATH", "viewer=sim", "viewer=person:INDEX")
"""The viewers to suggest to a user whose webcam cannot be used (an error's `mentions`)."""
ALTERNATIVES = (
    "Without a webcam, use a recorded video (the viewer `video:PATH`) or a simulated viewer "
    "(the viewer `sim`, or a simulated person: the viewer `person:INDEX`)."
)
"""What to tell a user whose webcam cannot be used."""


class Camera(ABC):
    """A source of BGR uint8 frames, read one at a time.

    Use it as a context manager or call `close`; iterating yields frames until the source ends.
    """

    @property
    @abstractmethod
    def fps(self) -> float | None:
        """Nominal frames per second; None when the source has no timing (a folder of images)."""

    @property
    @abstractmethod
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the frames in pixels (of the first frame, for an image folder)."""

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """The next frame, BGR uint8 (H, W, 3); None when a finite source has no more.

        Raises:
            CameraError: If the source fails (a webcam stops, an image cannot be read).
        """

    @abstractmethod
    def close(self) -> None:
        """Release the device or file; safe to call twice."""

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """Plain-data description of the source for a session's meta.json."""

    def read_timed(self) -> tuple[np.ndarray | None, float]:
        """The next frame and when it was taken, in seconds on the camera's clock.

        A live camera's clock is `time.monotonic()` at the read, unless it knows better (a
        browser page's capture time). `to_monotonic` puts a time of this clock on the session's.

        Raises:
            CameraError: As `read`.
        """
        frame = self.read()
        return frame, time.monotonic()

    def to_monotonic(self, t: float) -> float:
        """A time of `read_timed`'s clock (of the frame read last) on `time.monotonic()`'s."""
        return t

    def discard_before(self, t: float) -> None:  # noqa: B027 - a no-op unless frames wait
        """Say that frames taken before `t` (the camera's clock) are not wanted.

        A camera that holds frames (a browser's) drops them undecoded; one read as it goes
        needs nothing.
        """

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        while (frame := self.read()) is not None:
            yield frame


class Webcam(Camera):
    """A webcam read through `cv2.VideoCapture(index)`.

    Args:
        index: The camera's index (0 is the system's first camera).
        timeout_s: How long `read` keeps retrying a camera that delivers no frame before it
            raises `CameraError`.

    Raises:
        CameraError: If no camera can be opened at `index`.
    """

    def __init__(self, index: int = 0, timeout_s: float = 2.0) -> None:
        self.index = int(index)
        self.timeout_s = float(timeout_s)
        if not 0 <= self.index <= MAX_CAMERA_INDEX:
            raise CameraError(
                f"no webcam can be at index {self.index}: camera indices are 0 to "
                f"{MAX_CAMERA_INDEX} (0 is the first camera). {ALTERNATIVES}",
                mentions=ALTERNATIVE_VIEWERS,
            )
        with _quiet_opencv():  # its warnings would come before our own message
            self._capture = cv2.VideoCapture(self.index)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(
                f"no webcam could be opened at index {self.index} (is one connected, and "
                f"free for this program to use?). Try another index (the viewer `webcam:INDEX`). "
                f"{ALTERNATIVES}",
                mentions=("viewer=webcam:INDEX", *ALTERNATIVE_VIEWERS),
            )
        self.frames_read = 0

    @property
    def fps(self) -> float | None:
        """The rate the driver reports, or None if it reports none."""
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        return float(fps) if fps > 0 else None

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) the driver delivers."""
        return (
            int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )

    def read(self) -> np.ndarray:
        """The next frame from the camera (a webcam never ends).

        Raises:
            CameraError: If the camera was closed, or delivered no frame for `timeout_s`
                (unplugged, or taken by another program).
        """
        if not self._capture.isOpened():
            raise CameraError(f"webcam {self.index} is closed; open a new one.")
        deadline = time.monotonic() + self.timeout_s
        while True:
            ok, frame = self._capture.read()
            if ok and frame is not None:
                self.frames_read += 1
                return frame
            if time.monotonic() >= deadline:
                raise CameraError(
                    f"webcam {self.index} stopped delivering frames (none for "
                    f"{self.timeout_s:g} s after {self.frames_read} frames): check that it is "
                    f"still connected and not in use by another program. {ALTERNATIVES}",
                    mentions=ALTERNATIVE_VIEWERS,
                )
            time.sleep(0.01)

    def close(self) -> None:
        """Release the camera."""
        self._capture.release()

    def describe(self) -> dict[str, object]:
        """Kind and index of the webcam."""
        return {"kind": "webcam", "index": self.index}


SHORT_OF_HEADER = 0.05
"""How far short of its header's frame count (a fraction; containers estimate the count) a video
may stop decoding and still count as ended, not damaged."""


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV logs only errors inside the block (probing a missing camera warns twice)."""
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        logging.setLogLevel(level)


MAX_CAMERA_INDEX = 9999
"""The largest camera index a webcam may have (OpenCV takes backend-coded indices below 10000)."""


class VideoFile(Camera):
    """A recorded video, decoded one frame per `read`.

    Args:
        path: The video file (any format OpenCV's FFmpeg backend reads: mp4, mov, avi, ...).

    Raises:
        CameraError: If the file is missing, not a video, or has no decodable frame.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise CameraError(f"video {self.path} does not exist (or is not a file).")
        # FFmpeg decodes with laetitia's thread count: on a small machine a second decoding
        # thread took 20% more CPU time for 13% less wall time
        # (benchmarks/results/history.md, "Torch threads").
        self._capture = cv2.VideoCapture(
            str(self.path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, ensure_threads()]
        )
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(
                f"{self.path} cannot be opened as a video: the file is corrupt, truncated, or "
                "in a format OpenCV cannot decode. Convert it to mp4 (H.264) and try again."
            )
        # The frame size its header states is checked before any frame is decoded.
        width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        limit = max_pixels()
        if width * height > limit:
            self._capture.release()
            raise CameraError(
                f"video {self.path} has frames of {width}x{height} pixels, over the limit of "
                f"{limit} pixels, so none is decoded; shrink it, or raise the limit "
                f"with ${MAX_PIXELS_ENV} if you trust it."
            )
        # Decode the first frame now, so that a file that opens but holds no picture fails here.
        ok, first = self._capture.read()
        if not ok or first is None:
            self._capture.release()
            raise CameraError(
                f"{self.path} opened as a video but no frame could be decoded: the file is "
                "corrupt or empty. Convert it to mp4 (H.264) and try again."
            )
        self._pending: np.ndarray | None = first
        self._fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        self._size = (int(first.shape[1]), int(first.shape[0]))
        self.frames_read = 0
        """Frames returned by `read` so far; the next frame's index."""

    @property
    def fps(self) -> float | None:
        """The frame rate in the file's header, or None if it gives none."""
        return self._fps if self._fps > 0 else None

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the decoded frames."""
        return self._size

    @property
    def frame_count(self) -> int:
        """Frames in the file as its header states them (an estimate for some containers)."""
        return int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))

    def read(self) -> np.ndarray | None:
        """The next frame in file order, or None at the end of the video.

        Raises:
            CameraError: If the video stops decoding well before the frame count its header
                gives: the file is damaged there, which is not the end of the recording.
        """
        if self._pending is not None:
            frame, self._pending = self._pending, None
        else:
            ok, frame = self._capture.read()
            if not ok or frame is None:
                stated = self.frame_count
                if stated > 0 and self.frames_read < stated * (1 - SHORT_OF_HEADER) - 2:
                    raise CameraError(
                        f"video {self.path} cannot be decoded after frame {self.frames_read}, "
                        f"though its header says it has {stated}: the file is damaged there. "
                        "Everything before it was read; repair or re-encode the video."
                    )
                return None
        self.frames_read += 1
        return frame

    def close(self) -> None:
        """Release the file."""
        self._pending = None
        self._capture.release()

    def describe(self) -> dict[str, object]:
        """Kind, path and frame rate of the video."""
        return {"kind": "video", "path": str(self.path), "fps": self.fps}


class ImageFolder(Camera):
    """Image files read as frames, in sorted file-name order.

    Args:
        path: A folder (its files ending in one of `IMAGE_SUFFIXES` are the frames; other
            files are skipped) or a single image file (a folder of one).

    Raises:
        CameraError: If the path does not exist or the folder holds no image.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            self.files: tuple[Path, ...] = tuple(
                sorted(
                    (p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                    key=lambda p: p.name,
                )
            )
            if not self.files:
                raise CameraError(
                    f"folder {self.path} holds no image (files ending in "
                    f"{', '.join(sorted(IMAGE_SUFFIXES))})."
                )
        elif self.path.is_file():
            self.files = (self.path,)
        else:
            raise CameraError(f"{self.path} does not exist.")
        self._next = 0
        self._size: tuple[int, int] | None = None

    @property
    def fps(self) -> None:
        """Images have no frame rate."""
        return None

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the first image (later images may differ)."""
        if self._size is None:
            first = read_image(self.files[0], cv2.IMREAD_COLOR, CameraError)
            self._size = (int(first.shape[1]), int(first.shape[0]))
        return self._size

    @property
    def frames_read(self) -> int:
        """Images returned by `read` so far; the next image's index."""
        return self._next

    @property
    def current_name(self) -> str | None:
        """File name of the image the last `read` returned (None before the first)."""
        return self.files[self._next - 1].name if self._next else None

    def read(self) -> np.ndarray | None:
        """The next image as a BGR frame, or None after the last one.

        Raises:
            CameraError: If the file cannot be decoded as an image.
        """
        if self._next >= len(self.files):
            return None
        frame = read_image(self.files[self._next], cv2.IMREAD_COLOR, CameraError)
        self._next += 1
        if self._size is None:
            self._size = (int(frame.shape[1]), int(frame.shape[0]))
        return frame

    def close(self) -> None:
        """Nothing to release: images are read whole, one per call."""

    def describe(self) -> dict[str, object]:
        """Kind, path and number of images."""
        return {"kind": "images", "path": str(self.path), "images": len(self.files)}


def open_camera(source: int | str | Path) -> Camera:
    """Open the camera a source names.

    Args:
        source: A webcam index (an int, or a string of digits), a folder of images, an image
            file, or a video file.

    Returns:
        A `Webcam`, `ImageFolder` or `VideoFile`.

    Raises:
        CameraError: If the source does not exist or cannot be opened.
    """
    if isinstance(source, int):
        return Webcam(source)
    path = Path(source)
    if isinstance(source, str) and source.isdigit() and not path.exists():
        return Webcam(int(source))
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFolder(path)
    return VideoFile(path)


class FramesInterrupted(Exception):
    """The step in progress lost its frames.

    The page reloaded or closed, its camera went, or the session paused: the viewer drops the
    partial reading and starts the step again.
    """


@dataclass(frozen=True)
class ClockSample:
    """One clock ping and its answer.

    The server sent it at `t0` and got the answer at `t1` (monotonic seconds); the page's clock
    read `t_page_ms` (`performance.now()`) when it answered.
    """

    t0: float
    t_page_ms: float
    t1: float

    @property
    def round_trip_s(self) -> float:
        """Seconds from sending the ping to receiving the answer."""
        return self.t1 - self.t0

    @property
    def offset_s(self) -> float:
        """Page clock minus server clock, in seconds, if both legs took the same time."""
        return self.t_page_ms / 1000.0 - (self.t0 + self.t1) / 2


class ClockSync:
    """Maps one page's clock (`performance.now()`, ms) onto the server's (`time.monotonic()`).

    The server pings and notes when the answer comes back. If both legs take the same time,
    the page's clock read `t_page` at server time (t0 + t1) / 2; the error is at most half the
    round trip, so the sample with the shortest round trip of the recent ones is kept (NTP's
    choice). Both clocks are monotonic and run at the same rate, so one offset serves a page;
    a reloaded page starts a new `performance.now()` and a new `ClockSync`.

    Args:
        keep: How many recent samples the best is chosen from.
        needed: Samples before the offset counts as known (`ready`).
    """

    def __init__(self, keep: int = 20, needed: int = 3) -> None:
        self._samples: deque[ClockSample] = deque(maxlen=keep)
        self.needed = needed

    def add(self, t0: float, t_page_ms: float, t1: float) -> None:
        """Note one ping's answer."""
        self._samples.append(ClockSample(t0, t_page_ms, t1))

    @property
    def ready(self) -> bool:
        """Whether enough samples came in to trust the offset."""
        return len(self._samples) >= self.needed

    def best(self) -> ClockSample | None:
        """The sample with the shortest round trip; None before the first."""
        return min(self._samples, key=lambda s: s.round_trip_s, default=None)

    @property
    def uncertainty_s(self) -> float:
        """How far off the mapping can be: half the best round trip (inf before a sample)."""
        best = self.best()
        return math.inf if best is None else best.round_trip_s / 2

    def to_server(self, t_page_s: float) -> float:
        """A page time in seconds on the server's `time.monotonic()` clock.

        Raises:
            CameraError: Before the first sample (no offset is known).
        """
        best = self.best()
        if best is None:
            raise CameraError("the participant's page has not answered a clock ping yet.")
        return t_page_s - best.offset_s


REORDER_S = 0.1
"""How long a frame from a page waits for earlier-captured ones still on their way (the page
encodes two at a time, and they can finish out of order)."""
REORDER_FRAMES = 2
"""Later-captured frames that, once in, release an earlier one without waiting `REORDER_S`."""


@dataclass(order=True)
class _PageFrame:
    t_s: float
    """Capture time on the page's clock, in seconds."""
    seq: int
    data: bytes = field(compare=False)
    """The image as the page encoded it (JPEG)."""
    arrived: float = field(compare=False, default=0.0)
    """When it arrived (monotonic seconds)."""


class BrowserCamera(Camera):
    """The camera of a participant's browser page: frames the page streams to the web server.

    The server's thread pushes each frame with its capture time (`push`); `read_timed`, in the
    training thread, returns them in capture order (two encodes in flight can arrive out of
    order) and decodes them. Its clock is the page's `performance.now()`, in seconds, so a
    stage that reports when the page drew an emoticon on that clock and this camera agree on
    "captured after it was drawn" with no clock sync at all; `to_monotonic` maps a time onto the
    session's clock through the page's `ClockSync`.

    One page at a time: `new_page` starts a new generation (a reload) and drops the old page's
    frames. `interrupt` makes the reads of the step in progress raise `FramesInterrupted` until
    the stage `arm`s the camera for a new step; a page that is connected but sends no frame for
    `timeout_s` has lost its camera, and the read waiting for it is interrupted the same way.

    Args:
        timeout_s: How long a read waits for a frame before the camera counts as lost.
        buffer_frames: Frames kept waiting to be read; the oldest go first.
    """

    def __init__(self, timeout_s: float = 2.0, buffer_frames: int = 300) -> None:
        self.timeout_s = float(timeout_s)
        self.buffer_frames = int(buffer_frames)
        self._cond = threading.Condition()
        self._inbox: list[_PageFrame] = []
        self._generation = 0
        self._epoch = 0
        self._armed = 0
        self._last_read_s = -math.inf
        self._not_before = -math.inf
        self._last_arrival: float | None = None
        self._closed = False
        self.clock = ClockSync()
        """The clock of the current page."""
        self._read_clock = self.clock
        self.settings: dict[str, object] = {}
        """The page's camera track settings (`getSettings()`: width, height, frameRate)."""
        self.user_agent = ""
        """The participant's browser, as it names itself."""
        self.time_kinds: Counter[str] = Counter()
        """Which timestamp each frame carried (captureTime, or a fallback the page names)."""
        self.frames_received = 0
        self.frames_read = 0

    # ----- the web server's thread ---------------------------------------------------------------
    def new_page(self, generation: int) -> None:
        """A new page (a first connection or a reload): its frames and clock start afresh."""
        with self._cond:
            self._generation = generation
            self._inbox.clear()
            self.clock = ClockSync()
            self._last_read_s = self._not_before = -math.inf
            self._last_arrival = None
            self._epoch += 1
            self._cond.notify_all()

    def push(
        self, generation: int, seq: int, t_page_ms: float, data: bytes, time_kind: str = ""
    ) -> None:
        """One frame from page `generation`, taken at `t_page_ms` on its clock.

        A frame of a page that is no longer the current one is ignored.
        """
        with self._cond:
            if generation != self._generation:
                return
            frame = _PageFrame(t_page_ms / 1000.0, seq, data, time.monotonic())
            heapq.heappush(self._inbox, frame)
            if len(self._inbox) > self.buffer_frames:
                self._inbox.remove(min(self._inbox))
                heapq.heapify(self._inbox)
            self._last_arrival = time.monotonic()
            self.frames_received += 1
            self.time_kinds[time_kind or "unknown"] += 1
            self._cond.notify_all()

    def add_clock_sample(self, generation: int, t0: float, t_page_ms: float, t1: float) -> None:
        """One clock ping answered by page `generation` (see `ClockSync`)."""
        with self._cond:
            if generation == self._generation:
                self.clock.add(t0, t_page_ms, t1)
                self._cond.notify_all()

    def interrupt(self) -> None:
        """Make the reads of the step in progress raise `FramesInterrupted`."""
        with self._cond:
            self._epoch += 1
            self._cond.notify_all()

    # ----- the training thread -------------------------------------------------------------------
    def receiving(self) -> bool:
        """Whether frames are coming in: one arrived within `timeout_s`, and the clock is known."""
        with self._cond:
            last = self._last_arrival
            return (
                self.clock.ready and last is not None and time.monotonic() - last < self.timeout_s
            )

    def arm(self) -> None:
        """Start a step: reads go on until the next interruption."""
        with self._cond:
            self._armed = self._epoch

    def discard_before(self, t: float) -> None:
        """Frames taken before `t` (page clock, s) are dropped undecoded as they are reached."""
        with self._cond:
            self._not_before = t

    @property
    def fps(self) -> float | None:
        """The frame rate the page's camera reports, if it reports one."""
        rate = self.settings.get("frameRate")
        return float(rate) if isinstance(rate, int | float) and rate > 0 else None

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) the page's camera reports; (0, 0) before it says."""
        width, height = self.settings.get("width"), self.settings.get("height")
        if isinstance(width, int | float) and isinstance(height, int | float):
            return int(width), int(height)
        return 0, 0

    def read_timed(self) -> tuple[np.ndarray, float]:
        """The next frame in capture order and its capture time on the page's clock (s).

        A frame is read once `REORDER_FRAMES` later-captured ones are in, or it has waited
        `REORDER_S` for earlier ones. Frames taken before the last one read (later still), or
        before `discard_before`'s time, are dropped undecoded.

        Raises:
            FramesInterrupted: If the step was interrupted, or no frame came for `timeout_s`.
            CameraError: If the camera was closed, or a frame does not decode.
        """
        deadline = time.monotonic() + self.timeout_s
        with self._cond:
            while True:
                if self._closed:
                    raise CameraError("the browser camera is closed; serve a new page.")
                if self._epoch != self._armed:
                    raise FramesInterrupted("the participant's page was interrupted")
                while self._inbox and self._inbox[0].t_s < max(self._last_read_s, self._not_before):
                    heapq.heappop(self._inbox)
                if self._inbox:
                    first = self._inbox[0]
                    waited = time.monotonic() - first.arrived
                    if len(self._inbox) > REORDER_FRAMES or waited >= REORDER_S:
                        heapq.heappop(self._inbox)
                        self._last_read_s = first.t_s
                        self._read_clock = self.clock
                        self.frames_read += 1
                        return _decode(first.data, first.seq), first.t_s
                    deadline = max(deadline, first.arrived + REORDER_S)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise FramesInterrupted(
                        f"no frame came from the participant's camera for {self.timeout_s:g} s"
                    )
                self._cond.wait(min(left, REORDER_S))

    def read(self) -> np.ndarray:
        """The next frame in capture order (see `read_timed`)."""
        return self.read_timed()[0]

    def to_monotonic(self, t: float) -> float:
        """A page time (s) on the server's clock, through the clock of the page read last."""
        return self._read_clock.to_server(t)

    def close(self) -> None:
        """Stop reading: a read waiting for a frame raises `CameraError`."""
        with self._cond:
            self._closed = True
            self._inbox.clear()
            self._cond.notify_all()

    def describe(self) -> dict[str, object]:
        """Kind, the participant's browser, its camera's settings and the timestamps it gave."""
        return {
            "kind": "browser",
            "user_agent": self.user_agent,
            "settings": dict(self.settings),
            "time_kinds": dict(self.time_kinds),
        }


def _decode(data: bytes, seq: int) -> np.ndarray:
    # A page's frame is decoded only after its header's size is checked, as every image is.
    source = f"frame {seq} from the participant's page (the page sends JPEG: reload it)"
    return decode_image(data, source, cv2.IMREAD_COLOR, CameraError)

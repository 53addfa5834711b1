"""Cameras: one interface over a webcam, a video file and a folder of images.

    with open_camera("clip.mp4") as camera:      # or 0 for a webcam, or a folder of images
        for frame in camera:                     # BGR uint8 (H, W, 3), as OpenCV decodes
            ...

`Camera.read` returns the next frame, or None when a finite source (a video, a folder) has
no more. A webcam never ends: a webcam that stops delivering frames is a `CameraError`, raised
after a bounded wait, never a hang. Every source opens in its constructor and decodes lazily,
one frame per `read`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2
import numpy as np

from laetitia.errors import CameraError
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
        # thread took 20% more CPU time for 13% less wall time (BENCHMARKS.md, "Torch threads").
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
        from laetitia.images import MAX_PIXELS_ENV, max_pixels

        width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width * height > max_pixels():
            self._capture.release()
            raise CameraError(
                f"video {self.path} has frames of {width}x{height} pixels, over the limit of "
                f"{max_pixels()} pixels, so none is decoded; shrink it, or raise the limit "
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
            first = _read_image(self.files[0])
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
        frame = _read_image(self.files[self._next])
        self._next += 1
        if self._size is None:
            self._size = (int(frame.shape[1]), int(frame.shape[0]))
        return frame

    def close(self) -> None:
        """Nothing to release: images are read whole, one per call."""

    def describe(self) -> dict[str, object]:
        """Kind, path and number of images."""
        return {"kind": "images", "path": str(self.path), "images": len(self.files)}


def _read_image(path: Path) -> np.ndarray:
    """Decode one image file to BGR uint8 (H, W, 3); grayscale files come back as 3 channels.

    Its size is checked before it is decoded (`laetitia.images`), and a FIFO or device is
    never opened.

    Raises:
        CameraError: If it is not a regular file, too large, or not a readable image.
    """
    from laetitia.images import decode_image

    if not path.is_file():
        raise CameraError(f"{path} is not a regular file; name an image file.")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CameraError(f"{path} cannot be read: {error.strerror or error}.") from error
    return decode_image(data, str(path), cv2.IMREAD_COLOR, CameraError)


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

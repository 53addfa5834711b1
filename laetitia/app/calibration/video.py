"""Calibration frames from a recording with known neutral and smiling time ranges.

    spans = [parse_span("0-1.5", NEUTRAL), parse_span("2-3.5", SMILE)]
    frames = read_video_spans("me.mp4", spans, meter)

Frame i of the video is at i / fps seconds. Only the frames inside a span reach the pipeline,
in chunks of up to `CHUNK_FRAMES` consecutive frames, so the face tracker follows the face
within a span and starts afresh after a gap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from laetitia.app.calibration.frames import (
    CalibrationFrames,
    FramePipeline,
    read_chunk,
    stack_reactions,
)
from laetitia.app.calibration.spans import Span, check_spans
from laetitia.errors import CalibrationError
from laetitia.types import Reaction

CHUNK_FRAMES = 32
"""Frames handed to the pipeline at once when reading a video."""


def read_video_spans(
    path: Path | str,
    spans: Sequence[Span],
    pipeline: FramePipeline,
    keep_images: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationFrames:
    """Read the frames of a video that fall in the given spans through the pipeline.

    Frame i is at i / fps seconds. Frames outside every span are decoded and skipped, never
    read by the pipeline.

    Args:
        path: The video file.
        spans: Neutral and smiling spans, seconds from the first frame.
        pipeline: The happiness meter (face detector and FER model) to read frames with.
        keep_images: Keep the frames in memory for auditing (False with `--no-frames`).
        progress: Called as progress(frames_done, frames_total) after each chunk.

    Raises:
        CalibrationError: If the spans are invalid for this video (see `check_spans`).
        CameraError: If the video cannot be read.
    """
    from laetitia.cameras import VideoFile

    with VideoFile(path) as video:
        fps = video.fps
        if fps is None:
            raise CalibrationError(
                f"{path} states no frame rate, so times in seconds cannot be found in it; "
                "convert it to mp4 (H.264) and try again."
            )
        duration_s = video.frame_count / fps
        check_spans(spans, duration_s)
        wanted = frames_in_spans(spans, video.frame_count, fps)
        last = max(wanted, default=-1)
        reactions: list[Reaction] = []
        images: list[np.ndarray] = []
        chunk: list[np.ndarray] = []
        indices: list[int] = []
        continues = False
        for i, frame in enumerate(video):
            if i > last:
                break
            if i not in wanted:
                continue
            if chunk and (len(chunk) == CHUNK_FRAMES or i != indices[-1] + 1):
                reactions.append(read_chunk(pipeline, chunk, continues))
                images.extend(chunk if keep_images else ())
                chunk = []
                if progress is not None:
                    progress(len(indices), len(wanted))
            if not chunk:  # one that follows the last frame for frame continues its tracking
                continues = bool(indices) and i == indices[-1] + 1
            chunk.append(frame)
            indices.append(i)
        if chunk:
            reactions.append(read_chunk(pipeline, chunk, continues))
            images.extend(chunk if keep_images else ())
            if progress is not None:
                progress(len(indices), len(wanted))
    index = np.asarray(indices, dtype=np.int64)
    return stack_reactions(
        reactions,
        times_s=index / fps,
        frame_index=index,
        span=np.asarray([wanted[i] for i in indices], dtype=np.int64),
        spans=tuple(spans),
        images=images if keep_images else None,
        source={
            "kind": "video",
            "path": str(path),
            "fps": fps,
            "spans": [asdict(span) for span in spans],
        },
    )


def frames_in_spans(spans: Sequence[Span], n_frames: int, fps: float) -> dict[int, int]:
    """Frame index -> index of the span holding it (the first one, if spans of a kind overlap)."""
    wanted: dict[int, int] = {}
    for i in range(n_frames):
        for k, span in enumerate(spans):
            if span.contains(i / fps):
                wanted.setdefault(i, k)
                break
    return wanted

"""The frames of a calibration as the happiness meter read them, whatever recorded them.

A video (`laetitia.app.calibration.video`) and a live camera (`laetitia.app.calibration.live`) both
hand their frames to a `FramePipeline` (the happiness meter: face detector, FER model and the
signal's own model) a chunk at a time with `read_chunk`, and stack the reactions into one
`CalibrationFrames` with `stack_reactions`: one row per frame, labelled by the span it belongs to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from laetitia.app.calibration.spans import LABEL, Span
from laetitia.errors import CalibrationError
from laetitia.labels import HAPPY
from laetitia.types import FER_HAPPY, Reaction


class FramePipeline(Protocol):
    """The happiness meter's reading interface (`laetitia.meter.HappinessMeter.read`)."""

    def read(self, frames: Sequence[np.ndarray], continues: bool = False) -> Reaction:
        """Read BGR frames (one reaction row each); `continues`: they follow the last call's."""


@dataclass(frozen=True, eq=False)
class CalibrationFrames:
    """The frames of a calibration as the pipeline read them, one row each."""

    probs: np.ndarray
    """float32 (N, C): the model's class probabilities; NaN rows where there was no face."""
    has_face: np.ndarray
    """bool (N,): whether a face was found."""
    boxes: np.ndarray
    """float32 (N, 4): face boxes x, y, w, h in frame pixels; NaN where none."""
    times_s: np.ndarray
    """float64 (N,): the frame's time, seconds from the start of the recording."""
    frame_index: np.ndarray
    """int (N,): the frame's number in the recording (or the camera's stream)."""
    span: np.ndarray
    """int (N,): index into `spans` of the span the frame belongs to."""
    spans: tuple[Span, ...]
    """The neutral and smiling spans."""
    class_names: tuple[str, ...]
    """Columns of `probs`."""
    images: tuple[np.ndarray, ...] | None = None
    """The BGR frames themselves, when they are to be kept for auditing."""
    source: dict[str, Any] = field(default_factory=dict)
    """Where the frames came from (a video and its spans, or a camera and its prompts)."""
    signal: str = FER_HAPPY
    """The signal the frames were scored by, which the profile calibrates."""
    values: np.ndarray | None = None
    """float32 (N,): the signal per frame, NaN where no face; None for `fer-happy` read off
    `probs` (the "happy" column)."""
    measures: dict[str, np.ndarray] = field(default_factory=dict)
    """float32 (N,) per name: what the signal measured per frame beyond the probabilities."""

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.has_face.shape[0])

    @property
    def labels(self) -> np.ndarray:
        """Labels (N,) int: 0 for a neutral span's frame, 1 for a smiling one's."""
        kinds = np.array([LABEL[span.kind] for span in self.spans], dtype=np.int64)
        return kinds[self.span]

    @property
    def raw_signal(self) -> np.ndarray:
        """float64 (N,): the signal as the meter read it, NaN where no face."""
        if self.values is None:
            return self.probs[:, self.class_names.index(HAPPY)].astype(np.float64)
        return self.values.astype(np.float64)


def read_chunk(pipeline: FramePipeline, frames: list[np.ndarray], continues: bool) -> Reaction:
    """Read frames, keeping no reference to them in the reaction (images are kept apart)."""
    return dataclasses.replace(pipeline.read(frames, continues=continues), frames=None)


def stack_reactions(
    reactions: Sequence[Reaction],
    times_s: np.ndarray,
    frame_index: np.ndarray,
    span: np.ndarray,
    spans: tuple[Span, ...],
    images: Sequence[np.ndarray] | None,
    source: dict[str, Any],
) -> CalibrationFrames:
    """Stack per-chunk reactions into one `CalibrationFrames`.

    Raises:
        CalibrationError: If there is no reaction: no frame fell in a span.
    """
    if not reactions:
        raise CalibrationError(
            "no frame of the recording falls in the given spans; check the times."
        )
    class_names = reactions[0].class_names
    boxes = [
        r.boxes if r.boxes is not None else np.full((r.n_frames, 4), np.nan, np.float32)
        for r in reactions
    ]
    names = reactions[0].measures.keys()
    return CalibrationFrames(
        signal=reactions[0].signal,
        values=np.concatenate([r.signal_values() for r in reactions]).astype(np.float32),
        measures={name: np.concatenate([r.measures[name] for r in reactions]) for name in names},
        probs=np.concatenate([r.probs for r in reactions]).astype(np.float32),
        has_face=np.concatenate([r.has_face for r in reactions]).astype(bool),
        boxes=np.concatenate(boxes).astype(np.float32),
        times_s=np.asarray(times_s, dtype=np.float64),
        frame_index=np.asarray(frame_index, dtype=np.int64),
        span=np.asarray(span, dtype=np.int64),
        spans=spans,
        class_names=tuple(class_names),
        images=tuple(images) if images is not None else None,
        source=source,
    )

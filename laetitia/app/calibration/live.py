"""Calibration frames recorded live: prompts on screen, frames from a camera meanwhile.

    frames = record_prompted(camera, meter, CalibrationWindow())    # neutral, smile, neutral

The person is asked for a neutral face, a smile, then a neutral face again (`default_prompts`),
after a few seconds to get ready. Each prompt's frames, less its first `settle_s` seconds (the
person is still changing expression), form a span (`prompt_spans`); every frame is shown with
the prompt, but only those in a span are kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from laetitia.app.calibration.frames import (
    CalibrationFrames,
    FramePipeline,
    read_chunk,
    stack_reactions,
)
from laetitia.app.calibration.spans import NEUTRAL, SMILE, Span
from laetitia.errors import CalibrationError


@dataclass(frozen=True)
class Prompt:
    """One phase of a live calibration: what the person is asked, and for how long."""

    kind: str
    """NEUTRAL or SMILE."""
    text: str
    """What the window asks."""
    duration_s: float
    """How long the phase lasts."""


def default_prompts(hold_s: float = 4.0) -> tuple[Prompt, ...]:
    """Neutral, smile, neutral again, `hold_s` seconds each."""
    return (
        Prompt(NEUTRAL, "Keep a neutral, relaxed face", hold_s),
        Prompt(SMILE, "Now smile!", hold_s),
        Prompt(NEUTRAL, "Neutral again: relax your face", hold_s),
    )


def prompt_spans(prompts: Sequence[Prompt], ready_s: float, settle_s: float) -> tuple[Span, ...]:
    """The span each prompt's frames are kept from: its time minus the first `settle_s`.

    The person needs a moment to change expression after each prompt appears; those frames,
    and the `ready_s` before the first prompt, are shown but not used.

    Raises:
        CalibrationError: If a prompt is not longer than the settle time.
    """
    spans, start = [], ready_s
    for prompt in prompts:
        if prompt.duration_s <= settle_s:
            raise CalibrationError(
                f"the {prompt.kind} prompt lasts {prompt.duration_s:g} s, not longer than the "
                f"{settle_s:g} s settle time; give it more time."
            )
        spans.append(Span(prompt.kind, start + settle_s, start + prompt.duration_s))
        start += prompt.duration_s
    return tuple(spans)


class PromptDisplay(Protocol):
    """What `record_prompted` shows the person (`laetitia.app.calibration.window`)."""

    def show(
        self, frame_bgr: np.ndarray, box: np.ndarray | None, text: str, seconds_left: float
    ) -> None:
        """Show the camera frame with the face box, the prompt and a countdown."""


def record_prompted(
    camera: Any,
    pipeline: FramePipeline,
    display: PromptDisplay | None,
    prompts: Sequence[Prompt] = default_prompts(),
    ready_s: float = 3.0,
    settle_s: float = 1.0,
    keep_images: bool = True,
) -> CalibrationFrames:
    """Prompt the person through the phases and read the camera's frames meanwhile.

    Times come from the wall clock for a webcam, and from the frame count and the frame rate
    for a recorded stand-in (a video file), so a recording plays the same protocol headless.

    Args:
        camera: A `laetitia.cameras.Camera`.
        pipeline: The happiness meter to read frames with.
        display: Where to show prompts (None: nowhere).
        prompts: The phases, in order.
        ready_s: Seconds of "get ready" before the first prompt (not used).
        settle_s: Seconds at the start of each prompt that are not used.
        keep_images: Keep the used frames in memory for auditing (False with `--no-frames`).

    Raises:
        CalibrationError: If the camera ends before the last prompt does.
    """
    spans = prompt_spans(prompts, ready_s, settle_s)
    end_s = ready_s + sum(p.duration_s for p in prompts)
    reactions, times, numbers, span_of, images = [], [], [], [], []
    for n, (t, frame) in enumerate(_timed_frames(camera, end_s)):
        reaction = read_chunk(pipeline, [frame], continues=n > 0)
        k = next((k for k, s in enumerate(spans) if s.contains(t)), None)
        if display is not None:
            text, left = _prompt_at(prompts, ready_s, t)
            box = reaction.boxes[0] if reaction.boxes is not None and reaction.has_face[0] else None
            display.show(frame, box, text, left)
        if k is not None:
            reactions.append(reaction)
            times.append(t)
            numbers.append(n)
            span_of.append(k)
            if keep_images:
                images.append(frame)
    return stack_reactions(
        reactions,
        times_s=np.asarray(times),
        frame_index=np.asarray(numbers, dtype=np.int64),
        span=np.asarray(span_of, dtype=np.int64),
        spans=spans,
        images=images if keep_images else None,
        source={
            "kind": "live",
            "camera": camera.describe(),
            "ready_s": ready_s,
            "settle_s": settle_s,
            "prompts": [asdict(p) for p in prompts],
            "spans": [asdict(s) for s in spans],
        },
    )


def _timed_frames(camera: Any, end_s: float) -> Iterator[tuple[float, np.ndarray]]:
    """The camera's frames with their times, until `end_s` seconds."""
    from laetitia.cameras import Webcam

    live = isinstance(camera, Webcam)
    fps = camera.fps or 30.0
    start, n = time.monotonic(), 0
    while True:
        t = time.monotonic() - start if live else n / fps
        if t >= end_s:
            return
        frame = camera.read()
        if frame is None:
            raise CalibrationError(
                f"the camera ran out of frames at {t:.1f} s, before the calibration's end "
                f"({end_s:.1f} s); use a longer recording, or shorter prompts."
            )
        n += 1
        yield t, frame


def _prompt_at(prompts: Sequence[Prompt], ready_s: float, t: float) -> tuple[str, float]:
    """The prompt on show at time t, and seconds left in it."""
    if t < ready_s:
        return "Get ready: look at the camera", ready_s - t
    start = ready_s
    for prompt in prompts:
        if t < start + prompt.duration_s:
            return prompt.text, start + prompt.duration_s - t
        start += prompt.duration_s
    return "Done", 0.0

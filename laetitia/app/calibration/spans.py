"""Spans: the stretches of a recording where the person holds a neutral face or smiles.

    spans = [parse_span("0-1.5", NEUTRAL), parse_span("2-3.5", SMILE)]
    check_spans(spans, duration_s=4.0)      # refuses missing kinds, overruns and overlaps

A span's kind is its label in the fitted mapping: neutral 0, smile 1 (`LABEL`). Times are
seconds from the recording's first frame, the start included and the end excluded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from laetitia.errors import CalibrationError

NEUTRAL, SMILE = "neutral", "smile"
"""The two kinds of span: 0 and 1 of the fitted mapping."""
LABEL = {NEUTRAL: 0, SMILE: 1}


@dataclass(frozen=True)
class Span:
    """A stretch of a recording where the person holds one expression: [start_s, end_s)."""

    kind: str
    """NEUTRAL or SMILE."""
    start_s: float
    """Start, seconds from the first frame (included)."""
    end_s: float
    """End, seconds from the first frame (excluded)."""

    def __post_init__(self) -> None:
        if self.kind not in LABEL:
            raise CalibrationError(f"a span is {NEUTRAL!r} or {SMILE!r}, got {self.kind!r}.")
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s)):
            raise CalibrationError(f"--{self.kind} {self}: times must be finite numbers.")
        if self.start_s < 0:
            raise CalibrationError(f"--{self.kind} {self}: the start cannot be before 0 s.")
        if self.end_s <= self.start_s:
            raise CalibrationError(
                f"--{self.kind} {self}: the end must come after the start (START-END in seconds, "
                "e.g. 0-1.5)."
            )

    def __str__(self) -> str:
        return f"{self.start_s:g}-{self.end_s:g}"

    def contains(self, t: float) -> bool:
        """Whether time `t` (seconds) falls in the span."""
        return self.start_s <= t < self.end_s

    def overlaps(self, other: Span) -> bool:
        """Whether the two spans share any time."""
        return self.start_s < other.end_s and other.start_s < self.end_s


_RANGE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*-\s*(\d+(?:\.\d*)?|\.\d+)\s*$")


def parse_span(text: str, kind: str) -> Span:
    """Parse a time range `START-END` in seconds (e.g. "0-1.5") into a span of `kind`.

    Raises:
        CalibrationError: If the text is not two non-negative numbers joined by "-", or the
            end is not after the start.
    """
    match = _RANGE.match(text)
    if match is None:
        raise CalibrationError(
            f"--{kind} {text!r}: a time range is START-END in seconds, e.g. 0-1.5 or 2.5-4."
        )
    return Span(kind, float(match.group(1)), float(match.group(2)))


def check_spans(spans: Sequence[Span], duration_s: float | None = None) -> None:
    """Refuse spans that cannot be calibrated from.

    Args:
        spans: The neutral and smiling spans.
        duration_s: Length of the recording, when known.

    Raises:
        CalibrationError: If a kind has no span, a span runs past the recording's end, or a
            neutral span overlaps a smiling one.
    """
    for kind in (NEUTRAL, SMILE):
        if not any(span.kind == kind for span in spans):
            raise CalibrationError(
                f"{kind} has no span: calibration needs at least one neutral and one smiling "
                "span of the recording, e.g. neutral 0-1.5 and smile 2-3.5 (seconds).",
                field=kind,
            )
    if duration_s is not None:
        for span in spans:
            if span.end_s > duration_s + 1e-9:
                raise CalibrationError(
                    f"--{span.kind} {span} runs past the end of the recording ({duration_s:.2f} s);"
                    " choose times within it."
                )
    for a in spans:
        for b in spans:
            if a.kind == NEUTRAL and b.kind == SMILE and a.overlaps(b):
                raise CalibrationError(
                    f"{NEUTRAL} span {a} overlaps smile span {b}: a frame cannot be both; make "
                    "the ranges disjoint (leave out the moments in between).",
                    field=NEUTRAL,
                )

"""One person's face throughout: where the face a calibration read jumps from frame to frame.

    jumps = face_jumps(frames)     # [{"t_s": 1.23, "span": "smile 0.8-1.5", ...}, ...]

A profile is one person's: it is fitted and checked on one recording of them, and its split
(`laetitia.app.calibration.fit`) is between parts of that recording, never between people. The
meter reads the largest face in each frame; if another person comes into view, or the detector
takes something else for a face, some frames are read from a face that is not the person's and
the profile mixes two faces without a word. No face recognition is needed to see most of it:
one face moves little from one frame to the next, so a face that lands elsewhere, or at
another size, between two frames close in time is a different face. The report lists each
such jump and warns (`laetitia.app.calibration.report.CalibrationReport.warnings`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from laetitia.app.calibration.frames import CalibrationFrames

JUMP_WIDTHS = 1.0
"""A face centre moving more than this many face widths between two frames is another face."""
JUMP_SIZE_RATIO = 1.5
"""A face growing or shrinking by more than this factor between two frames is another face."""
MAX_GAP_S = 0.5
"""Frames further apart than this may show the person moved; they are not compared."""


def face_jumps(frames: CalibrationFrames) -> list[dict[str, Any]]:
    """Consecutive face frames of one span where the face read seems to become another.

    Two face frames are compared when they follow each other within a span (no face frame
    between them) less than `MAX_GAP_S` apart; a jump is a centre moving more than
    `JUMP_WIDTHS` face widths, or a width changing by more than `JUMP_SIZE_RATIO`.

    Returns:
        One entry per jump, in time order: "t_s" (the time of the frame after it), "span"
        (the span, in words), "moved_widths" and "size_ratio".
    """
    jumps = []
    for k, span in enumerate(frames.spans):
        faces = np.flatnonzero((frames.span == k) & frames.has_face)
        faces = faces[np.argsort(frames.times_s[faces], kind="stable")]
        for a, b in zip(faces[:-1], faces[1:], strict=True):
            if frames.times_s[b] - frames.times_s[a] > MAX_GAP_S:
                continue
            (xa, ya, wa, ha), (xb, yb, wb, hb) = frames.boxes[a], frames.boxes[b]
            if not (wa > 0 and wb > 0):
                continue  # no box recorded (a whole-frame detector)
            moved = np.hypot((xb + wb / 2) - (xa + wa / 2), (yb + hb / 2) - (ya + ha / 2))
            moved_widths = float(moved / ((wa + wb) / 2))
            size_ratio = float(max(wa, wb) / min(wa, wb))
            if moved_widths > JUMP_WIDTHS or size_ratio > JUMP_SIZE_RATIO:
                jumps.append(
                    {
                        "t_s": round(float(frames.times_s[b]), 4),
                        "span": f"{span.kind} {span}",
                        "moved_widths": round(moved_widths, 3),
                        "size_ratio": round(size_ratio, 3),
                    }
                )
    return sorted(jumps, key=lambda jump: jump["t_s"])

"""What a calibration writes, beside its profile, and the check that nothing is overwritten.

For a profile `me.json`: `me.report.json` (the report), `me.report.png` (held-out histograms
and ROC curves), `me.frames.csv` (one row per calibration frame: time, span, part, face box,
raw and calibrated P(happy)) and, unless frames are turned off, `me.frames/NNNNNN.png` (the
frames, lossless, for auditing). With `keep_frames=False` (`--no-frames`) no image of the
person is written at all, as in sessions.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from laetitia.app.calibration.frames import CalibrationFrames
from laetitia.app.calibration.report import CalibrationReport, report_figure
from laetitia.errors import CalibrationError
from laetitia.profile import Profile, save_profile

FRAMES_SUFFIX = ".frames"
REPORT_SUFFIX = ".report"


@dataclass(frozen=True)
class CalibrationResult:
    """What a calibration wrote."""

    profile: Profile
    report: CalibrationReport
    profile_path: Path
    report_json: Path
    report_png: Path
    frames_csv: Path
    frames_dir: Path | None
    """The audit frames' folder; None when no image was written."""


def sidecar(profile_path: Path, suffix: str) -> Path:
    """A file beside the profile: `me.json` + ".report.json" -> `me.report.json`."""
    return profile_path.with_name(profile_path.stem + suffix)


def check_out(out: Path) -> None:
    """Refuse a profile path that cannot be written, before any frame is read.

    A path whose profile, report or frames exist already is refused too: nothing is lost.

    Raises:
        CalibrationError: If `out` is a folder, would overwrite a calibration's file, or lies
            in a folder that cannot be written.
    """
    if out.is_dir():
        raise CalibrationError(
            f"out {out} is a folder; give a file name, e.g. {out}/me.json.", field="out"
        )
    if out.suffix.lower() != ".json":
        raise CalibrationError(
            f"out {out}: a profile is a JSON file; end its name with .json (e.g. me.json).",
            field="out",
        )
    outputs = [out] + [
        sidecar(out, suffix)
        for suffix in (REPORT_SUFFIX + ".json", REPORT_SUFFIX + ".png", FRAMES_SUFFIX + ".csv")
    ]
    existing = [str(p) for p in (*outputs, sidecar(out, FRAMES_SUFFIX)) if p.exists()]
    if existing:
        raise CalibrationError(
            f"out {out} would overwrite an earlier calibration ({', '.join(existing)}); "
            "choose another profile path, or move those files away first.",
            field="out",
        )
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK):
        raise CalibrationError(
            f"out {out}: cannot write into {parent}; choose a writable path.", field="out"
        )


def write_calibration(
    frames: CalibrationFrames,
    profile: Profile,
    report: CalibrationReport,
    calibrated: np.ndarray,
    fit_mask: np.ndarray,
    out: Path,
    keep_frames: bool,
) -> CalibrationResult:
    """Write the profile at `out` and the report, frames table and (maybe) frames beside it.

    Args:
        frames: The calibration frames.
        profile: The fitted profile, its report included.
        report: The report.
        calibrated: The calibrated P(smile) of every frame (NaN: no face).
        fit_mask: True for frames that were fitted on.
        out: The profile file.
        keep_frames: Write the frames' images (False with `--no-frames`).
    """
    from laetitia.files import save_figure, write_bytes_atomic, write_json_atomic
    from laetitia.sessions import encode_frame

    out.parent.mkdir(parents=True, exist_ok=True)
    frames_dir = sidecar(out, FRAMES_SUFFIX) if keep_frames else None
    files = [""] * frames.n_frames
    if frames_dir is not None and frames.images is not None:
        frames_dir.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(frames.images):
            files[i] = f"{frames_dir.name}/{i:06d}.png"
            write_bytes_atomic(out.parent / files[i], encode_frame(image))
    else:
        frames_dir = None
    frames_csv = sidecar(out, FRAMES_SUFFIX + ".csv")
    _write_frames_csv(frames_csv, frames, calibrated, fit_mask, files)
    report_json = sidecar(out, REPORT_SUFFIX + ".json")
    write_json_atomic(
        report_json,
        {
            "profile": out.name,
            "signal": profile.signal,
            "model_identity": profile.model_identity,
            "report": report.to_dict(),
        },
    )
    report_png = save_figure(
        report_figure(frames, calibrated, fit_mask), sidecar(out, REPORT_SUFFIX + ".png"), dpi=100
    )
    save_profile(profile, out)
    return CalibrationResult(profile, report, out, report_json, report_png, frames_csv, frames_dir)


def _write_frames_csv(
    path: Path,
    frames: CalibrationFrames,
    calibrated: np.ndarray,
    fit_mask: np.ndarray,
    files: Sequence[str],
) -> None:
    """One row per frame: where it is, which part of the split, its face and both signals."""
    columns = ["frame", "t", "span", "kind", "part", "face", "x", "y", "w", "h"]
    columns += ["raw_signal", "calibrated", "file"]
    raw = frames.raw_signal
    from laetitia.files import atomic_open

    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(frames.n_frames):
            span = frames.spans[frames.span[i]]
            face = bool(frames.has_face[i])
            part = ("fit" if fit_mask[i] else "held_out") if face else "no_face"
            writer.writerow(
                [
                    int(frames.frame_index[i]),
                    f"{frames.times_s[i]:.4f}",
                    str(span),
                    span.kind,
                    part,
                    int(face),
                    *(_num(v) for v in frames.boxes[i]),
                    _num(raw[i]),
                    _num(calibrated[i]),
                    files[i],
                ]
            )


def _num(value: float) -> str:
    return "" if math.isnan(value) else f"{float(value):.6g}"

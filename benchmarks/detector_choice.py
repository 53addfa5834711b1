"""Which detector should be the default (issue 18): faces found, false positives, P(happy).

    .venv/bin/python benchmarks/detector_choice.py [--fixtures ../shared/fixtures] [--json OUT]

Reads every fixture video through each detector on every frame and at its default setting
(`laetitia.faces.DETECT_EVERY`, with the template tracker), in steps of 10 frames as a live
step reads them, and compares:

- faces: on how many frames each finds a face, and on how many frames MTCNN (every frame)
  finds one that the other does not, or the reverse; on no_face.mp4 and the title cards of
  noface_face.mov / face_noface.mov every face found is a false positive;
- tracking: frames where a default setting has no face although its own detector on every
  frame has one, and the longest run of them;
- P(happy): per frame and as 10-frame means (a step's reward) of each default setting against
  its own detector on every frame, against MTCNN on every frame, and against Haar on every
  frame (the boxes the FER crop rule was made for).

Accuracy only, no timing: the figures are the same on any machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from laetitia.app.bench_pipeline import (
    PipelineSetting,
    agreement,
    happiness_per_frame,
    window_means,
)
from laetitia.faces import DETECT_EVERY
from laetitia.fer import load_model

VIDEOS = ("single_face.mp4", "noface_face.mov", "face_noface.mov", "no_face.mp4")
DETECTORS = ("mtcnn", "yunet", "haar")
PER_CALL = 10


def settings() -> dict[str, PipelineSetting]:
    out = {}
    for name in DETECTORS:
        out[f"{name} every frame"] = PipelineSetting(f"{name} every frame", name)
        every = DETECT_EVERY[name]
        out[f"{name} every {every}"] = PipelineSetting(f"{name} every {every}", name, every)
    return out


def pooled(values: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict[str, float]:
    """Agreement over all videos: frames counted over all, 10-frame means per video, pooled."""
    per_video = {v: agreement(values[v], reference[v], PER_CALL) for v in values}
    windows = []
    frames = []
    for video in values:
        means, ref = window_means(values[video], PER_CALL), window_means(reference[video], PER_CALL)
        both = ~np.isnan(means) & ~np.isnan(ref)
        windows.append(np.abs(means[both] - ref[both]))
        face = ~np.isnan(values[video]) & ~np.isnan(reference[video])
        frames.append(np.abs(values[video][face] - reference[video][face]))
    windows_all, frames_all = np.concatenate(windows), np.concatenate(frames)
    return {
        "frames_lost": sum(a["frames_lost"] for a in per_video.values()),
        "longest_loss": max(a["longest_loss"] for a in per_video.values()),
        "frames_extra": sum(a["frames_extra"] for a in per_video.values()),
        "p_happy_abs_diff_mean": round(float(frames_all.mean()), 4),
        "p_happy_abs_diff_max": round(float(frames_all.max()), 4),
        "p_happy_window_abs_diff_mean": round(float(windows_all.mean()), 4),
        "p_happy_window_abs_diff_max": round(float(windows_all.max()), 4),
        "windows": int(windows_all.size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=Path("../shared/fixtures"))
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    model = load_model()
    happy = {
        label: {v: happiness_per_frame(s, model, args.fixtures / v, PER_CALL) for v in VIDEOS}
        for label, s in settings().items()
    }
    mtcnn = happy["mtcnn every frame"]
    faces = {
        label: {
            video: {
                "frames": int(values.size),
                "with_face": int(np.sum(~np.isnan(values))),
                "face_where_mtcnn_none": int(np.sum(~np.isnan(values) & np.isnan(mtcnn[video]))),
                "none_where_mtcnn_face": int(np.sum(np.isnan(values) & ~np.isnan(mtcnn[video]))),
            }
            for video, values in per_video.items()
        }
        for label, per_video in happy.items()
    }
    report: dict[str, object] = {"faces": faces, "defaults": {}}
    for name in DETECTORS:
        default = happy[f"{name} every {DETECT_EVERY[name]}"]
        report["defaults"][f"{name} every {DETECT_EVERY[name]}"] = {
            "vs_own_every_frame": pooled(default, happy[f"{name} every frame"]),
            "vs_mtcnn_every_frame": pooled(default, mtcnn),
            "vs_haar_every_frame": pooled(default, happy["haar every frame"]),
        }
    for name in DETECTORS:
        report["defaults"][f"{name} every frame"] = {
            "vs_mtcnn_every_frame": pooled(happy[f"{name} every frame"], mtcnn),
            "vs_haar_every_frame": pooled(happy[f"{name} every frame"], happy["haar every frame"]),
        }
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

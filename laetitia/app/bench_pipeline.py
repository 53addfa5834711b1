"""Throughput of the face pipeline: decode, detect, classify, per detector setting.

    figures = run_pipeline_bench("../shared/fixtures/single_face.mp4")
    print(format_table(figures))

Each setting reads the whole video through a `HappinessMeter` the way a live step does (calls of
`frames_per_call` frames, each starting with a detection), timed on the wall clock from opening
the video to the last probabilities; the best of `repeats` runs counts (other processes only
ever slow a run down). Beside the speed, each setting's P(happy) is compared frame by frame with
the same detector run on every frame, so a faster setting shows what it costs in accuracy. The
model alone is timed per face at batch 1 and batch 32.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.cameras import VideoFile
from laetitia.faces import DETECT_EVERY, IDENTITY_MAPPING, make_detector
from laetitia.fer import FerModel, crop_face, load_model, to_gray
from laetitia.meter import HappinessMeter


@dataclass(frozen=True)
class PipelineSetting:
    """One way to run the pipeline."""

    label: str
    """Row name in the table."""
    detector: str
    """Detector name for `make_detector`."""
    detect_every: int = 1
    """Frames from one detection to the next."""
    tracker: str = "template"
    """How the face is followed between detections."""
    options: dict[str, object] = field(default_factory=dict)
    """Further detector options (e.g. MTCNN's `work_side_px`)."""
    torch_threads: int = 1
    """Torch intra-op threads (the meter's default is 1)."""

    def meter(self, model: FerModel) -> HappinessMeter:
        """The meter for this setting, around an already loaded model."""
        detector = make_detector(
            self.detector, detect_every=self.detect_every, tracker=self.tracker, **self.options
        )
        return HappinessMeter(detector, model, torch_threads=self.torch_threads)


K, KH = DETECT_EVERY["mtcnn"], DETECT_EVERY["haar"]
SETTINGS: tuple[PipelineSetting, ...] = (
    PipelineSetting(f"mtcnn every {K}, template tracker (default)", "mtcnn", K),
    PipelineSetting(f"mtcnn every {K}, hold box", "mtcnn", K, "hold"),
    PipelineSetting(
        f"mtcnn every {K}, template tracker, 2 torch threads", "mtcnn", K, torch_threads=2
    ),
    PipelineSetting("mtcnn every frame", "mtcnn"),
    PipelineSetting(
        "mtcnn every frame, full-size frames, fer's MTCNN settings, no mapping",
        "mtcnn",
        options={
            "work_side_px": 0,
            "min_face_size": 20,
            "thresholds": (0.6, 0.7, 0.7),
            "mapping": IDENTITY_MAPPING,
        },
    ),
    PipelineSetting("haar every frame", "haar"),
    PipelineSetting(f"haar every {KH // 2}, template tracker", "haar", KH // 2),
    PipelineSetting(f"haar every {KH}, template tracker (default for haar)", "haar", KH),
)
"""The settings `run_pipeline_bench` measures by default."""

REFERENCE_EVERY_FRAME = {
    "mtcnn": PipelineSetting("mtcnn every frame", "mtcnn"),
    "haar": PipelineSetting("haar every frame", "haar"),
}
"""Per detector, the setting a faster one is compared with for accuracy."""

REFERENCE_LABELS = frozenset(s.label for s in REFERENCE_EVERY_FRAME.values())


def _read_video(path: Path) -> tuple[list[np.ndarray], float]:
    start = time.perf_counter()
    with VideoFile(path) as video:
        frames = list(video)
    return frames, time.perf_counter() - start


def _run(
    setting: PipelineSetting, model: FerModel, path: Path, per_call: int
) -> tuple[float, np.ndarray, int]:
    """One timed pass: (seconds, P(happy) per frame, frames)."""
    meter = setting.meter(model)
    happy = []
    start = time.perf_counter()
    with VideoFile(path) as video:
        while True:
            frames = [f for f in (video.read() for _ in range(per_call)) if f is not None]
            if not frames:
                break
            happy.append(meter.read(frames).happiness())
    seconds = time.perf_counter() - start
    values = np.concatenate(happy)
    return seconds, values, int(values.shape[0])


def _agreement(values: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    face, ref_face = ~np.isnan(values), ~np.isnan(reference)
    both = face & ref_face
    diff = np.abs(values[both] - reference[both])
    return {
        "face_agreement": float(np.mean(face == ref_face)),
        "p_happy_abs_diff_mean": float(diff.mean()) if both.any() else float("nan"),
        "p_happy_abs_diff_max": float(diff.max()) if both.any() else float("nan"),
    }


def model_ms_per_face(
    model: FerModel, crops: np.ndarray, batch: int, seconds: float = 1.0
) -> float:
    """Best-of-runs milliseconds per face of `model.predict_proba` at a batch size."""
    batch_crops = np.resize(crops, (batch, *crops.shape[1:]))
    model.predict_proba(batch_crops)  # warm-up
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or best == float("inf"):
        start = time.perf_counter()
        model.predict_proba(batch_crops)
        best = min(best, time.perf_counter() - start)
    return 1000.0 * best / batch


def run_pipeline_bench(
    video: str | Path,
    settings: Sequence[PipelineSetting] = SETTINGS,
    repeats: int = 3,
    frames_per_call: int = 10,
    model_path: str | Path | None = None,
    model_seconds: float = 1.0,
) -> dict[str, Any]:
    """Frames per second of the whole pipeline for each setting, and the model alone.

    Args:
        video: The video to read (the issue's figures use single_face.mp4, 640x360).
        settings: The settings to time.
        repeats: Timed passes per setting; the fastest counts.
        frames_per_call: Frames per `HappinessMeter.read` call (a live step's `frames`).
        model_path: FER weights; None for the shipped model.
        model_seconds: How long the model alone is timed at each batch size and thread count.

    Returns:
        Plain data: machine, video, per-setting fps and accuracy, model ms per face, decode fps.
    """
    path = Path(video)
    import cv2
    import torch

    threads_before = torch.get_num_threads()
    model = load_model(model_path)
    frames, decode_s = _read_video(path)
    for _ in range(max(repeats, 1) - 1):
        decode_s = min(decode_s, _read_video(path)[1])
    height, width = frames[0].shape[:2]
    references: dict[str, np.ndarray] = {}
    rows = []
    for setting in settings:
        runs = [_run(setting, model, path, frames_per_call) for _ in range(max(repeats, 1))]
        best_s, values, n = min(runs, key=lambda r: r[0])
        row: dict[str, Any] = {
            **asdict(setting),
            "fps": n / best_s,
            "fps_median": n / float(np.median([r[0] for r in runs])),
            "ms_per_frame": 1000.0 * best_s / n,
            "frames_with_face": int(np.sum(~np.isnan(values))),
        }
        reference = REFERENCE_EVERY_FRAME.get(setting.detector)
        if reference is not None:
            if reference.label not in references:
                references[reference.label] = (
                    values
                    if setting == reference
                    else _run(reference, model, path, frames_per_call)[1]
                )
            row.update(_agreement(values, references[reference.label]))
        rows.append(row)
    haar = make_detector("haar")
    crops = np.stack(
        [
            crop_face(to_gray(f), box, model.card)
            for f in frames[:32]
            if (box := haar.detect(f)) is not None
        ]
    )
    model_figures: dict[str, object] = {"identity": model.identity}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        suffix = "" if threads == 1 else "_2_threads"
        for batch in (1, 32):
            model_figures[f"ms_per_face_batch{batch}{suffix}"] = model_ms_per_face(
                model, crops, batch, model_seconds
            )
    torch.set_num_threads(threads_before)
    return {
        "machine": {
            "cpu": _cpu_name(),
            "cores": os.cpu_count(),
            "torch_threads_default": torch.get_num_threads(),
            "opencv_threads": cv2.getNumThreads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "opencv": cv2.__version__,
            "load_average": os.getloadavg(),
        },
        "video": {"path": str(path), "frames": len(frames), "width": width, "height": height},
        "frames_per_call": frames_per_call,
        "repeats": repeats,
        "decode_fps": len(frames) / decode_s,
        "settings": rows,
        "model": model_figures,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def format_table(figures: dict[str, Any]) -> str:
    """The figures as a Markdown table (settings), plus the model and decode lines."""
    lines = [
        "| setting | fps | ms/frame | frames with a face "
        "| P(happy) vs every frame: mean / max abs diff |",
        "|---|---:|---:|---:|---|",
    ]
    for row in figures["settings"]:
        diff = "—"
        if "p_happy_abs_diff_mean" in row and row["label"] not in REFERENCE_LABELS:
            diff = f"{row['p_happy_abs_diff_mean']:.3f} / {row['p_happy_abs_diff_max']:.3f}"
        lines.append(
            f"| {row['label']} | {row['fps']:.0f} | {row['ms_per_frame']:.1f} | "
            f"{row['frames_with_face']} | {diff} |"
        )
    model = figures["model"]
    lines.append("")
    lines.append(
        f"Model alone, 1 torch thread: {model['ms_per_face_batch1']:.2f} ms/face at batch 1, "
        f"{model['ms_per_face_batch32']:.2f} ms/face at batch 32 (2 threads: "
        f"{model['ms_per_face_batch1_2_threads']:.2f} and "
        f"{model['ms_per_face_batch32_2_threads']:.2f}); "
        f"video decoding alone: {figures['decode_fps']:.0f} fps."
    )
    return "\n".join(lines)

"""Throughput of the face pipeline: decode, detect, classify, read the signal, per setting.

    figures = run_pipeline_bench("../shared/fixtures/single_face.mp4")
    print(format_table(figures))

Each setting reads the whole video through a `HappinessMeter` the way a live step does (calls of
`frames_per_call` frames, each starting with a detection), timed on the wall clock from opening
the video to the last probabilities; the best of `repeats` runs counts (other processes only
ever slow a run down). The settings take turns, one pass each per round, so a change in the
machine's load falls on all of them alike. Each pass also clocks where its time goes: decoding,
the detector, the tracker between detections, the CNN, the face landmarker's two networks and
the rest of its work (YuNet finding a new face, crops, smoothing) when the setting's signal
needs landmarks (`smile`), and the rest (grayscale, crops). Every signal is a setting: the
defaults time `smile` (the -v1 default) and `fer-smile` beside P(happy).

Beside the speed, each `fer-happy` setting's P(happy) is compared frame by frame, and over each
call's frames (a step's reward), with the same detector run on every frame, so a faster setting
shows what it costs in accuracy: the frames where it has a face that the detector on every frame
has and where it has none, the longest such run, and the difference in P(happy).

When the `fer` package is installed (`pip install -e '.[compare]'` then
`pip install --no-deps fer==25.10.3`, see pyproject.toml), its own pipelines
(`FER(mtcnn=True)` with one torch thread, and its Haar cascade default `FER()`) take their turns
in the same rounds, and every setting's speed is also given as a ratio to theirs. The model alone
is timed per face at batch 1 and batch 32.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.cameras import VideoFile
from laetitia.faces import (
    ABSENT_EVERY,
    DETECT_EVERY,
    IDENTITY_MAPPING,
    FaceDetector,
    FaceTracker,
    make_detector,
)
from laetitia.fer import FerModel, crop_face, load_model, to_gray
from laetitia.meter import HappinessMeter
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.signals import FER_SMILE, get_signal
from laetitia.types import FER_HAPPY, SMILE


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
    absent_every: int = ABSENT_EVERY
    """Frames from one detection to the next while no face is followed."""
    scout_side_px: int | None = None
    """Working size of the scout that looks while no face is followed; 0 for none, None for
    the detector's default (`laetitia.faces.SCOUT_SIDE_PX`)."""
    options: dict[str, object] = field(default_factory=dict)
    """Further detector options (e.g. MTCNN's `short_side_px`)."""
    torch_threads: int = 1
    """Torch intra-op threads (the meter's default is 1)."""
    signal: str = FER_HAPPY
    """The signal the meter reads (`laetitia.signals`)."""

    def make_detector(self) -> FaceDetector:
        """The face detector of this setting (a `FaceTracker` when `detect_every` > 1)."""
        return make_detector(
            self.detector,
            detect_every=self.detect_every,
            tracker=self.tracker,
            absent_every=self.absent_every,
            scout_side_px=self.scout_side_px,
            **self.options,
        )

    def meter(self, model: FerModel) -> HappinessMeter:
        """The meter for this setting, around an already loaded model."""
        return HappinessMeter(
            self.make_detector(), model, torch_threads=self.torch_threads, signal=self.signal
        )


KY, K, KH = DETECT_EVERY["yunet"], DETECT_EVERY["mtcnn"], DETECT_EVERY["haar"]
SETTINGS: tuple[PipelineSetting, ...] = (
    PipelineSetting(
        f"yunet every {KY}, template tracker, signal smile (the -v1 default)",
        "yunet",
        KY,
        signal=SMILE,
    ),
    PipelineSetting(
        f"yunet every {KY}, template tracker, signal fer-smile", "yunet", KY, signal=FER_SMILE
    ),
    PipelineSetting(f"yunet every {KY}, template tracker (default)", "yunet", KY),
    PipelineSetting(f"yunet every {KY}, template tracker, no scout", "yunet", KY, scout_side_px=0),
    PipelineSetting(
        f"yunet every {KY}, template tracker, every frame while no face",
        "yunet",
        KY,
        absent_every=1,
    ),
    PipelineSetting(f"yunet every {KY}, hold box", "yunet", KY, "hold"),
    PipelineSetting(
        f"yunet every {KY}, template tracker, 2 torch threads", "yunet", KY, torch_threads=2
    ),
    PipelineSetting(f"yunet every {2 * KY}, template tracker", "yunet", 2 * KY),
    PipelineSetting("yunet every frame", "yunet"),
    PipelineSetting(f"mtcnn every {K}, template tracker (default for mtcnn)", "mtcnn", K),
    PipelineSetting("mtcnn every frame", "mtcnn"),
    PipelineSetting(
        "mtcnn every frame, full-size frames, fer's MTCNN settings, no mapping",
        "mtcnn",
        options={
            "short_side_px": 0,
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
    "yunet": PipelineSetting("yunet every frame", "yunet"),
    "haar": PipelineSetting("haar every frame", "haar"),
}
"""Per detector, the setting a faster one is compared with for accuracy."""

REFERENCE_LABELS = frozenset(s.label for s in REFERENCE_EVERY_FRAME.values())

STAGES = ("decode", "detect", "track", "classify", "landmark model", "landmarker", "rest")
"""Where a pass's time goes (`stages_ms_per_frame` of a row): decoding the video, the detector
itself and its scout, the tracker between detections (template matching), the FER CNN, the face
landmarker's two networks (landmarks and blendshapes, on LiteRT), the rest of the landmarker's
work (YuNet finding a new face, crops, projection, smoothing), and everything else (grayscale
conversion, face crops, the meter's own work)."""


@dataclass(frozen=True)
class FerPackageSetting:
    """One of the `fer` package's own pipelines: `FER(mtcnn=...).detect_emotions` per frame."""

    label: str
    """Row name in the table."""
    key: str
    """Short name of the ratio columns ("fer_mtcnn", "fer_haar")."""
    mtcnn: bool
    """fer's MTCNN (facenet-pytorch) if True, else its Haar cascade (its default)."""


FER_SETTINGS: tuple[FerPackageSetting, ...] = (
    FerPackageSetting("fer package: FER(mtcnn=True), 1 torch thread", "fer_mtcnn", True),
    FerPackageSetting("fer package: FER(), its Haar cascade default", "fer_haar", False),
)
"""The `fer` package's pipelines run beside ours when it is installed."""


def fer_package_installed() -> bool:
    """Whether the `fer` package and the TensorFlow it imports are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("fer", "tensorflow"))


class _Clock:
    """Seconds and calls per stage, summed over one pass."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(
            ("decode", "find", "detect", "scout", "classify", "landmarks", "networks"), 0.0
        )
        self.calls = dict.fromkeys(self.seconds, 0)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds
        self.calls[stage] += 1


class _TimedDetector:
    """A face detector (or tracker) whose `detect` calls are clocked under one stage."""

    def __init__(self, inner: Any, clock: _Clock, stage: str) -> None:
        self._inner, self._clock, self._stage = inner, clock, stage

    def detect(self, frame_bgr: np.ndarray, gray: np.ndarray | None = None) -> np.ndarray | None:
        start = time.perf_counter()
        box = self._inner.detect(frame_bgr, gray)
        self._clock.add(self._stage, time.perf_counter() - start)
        return box

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _TimedModel:
    """A FER model whose `predict_proba` calls are clocked as "classify"."""

    def __init__(self, inner: FerModel, clock: _Clock) -> None:
        self._inner, self._clock = inner, clock

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        probs = self._inner.predict_proba(crops)
        self._clock.add("classify", time.perf_counter() - start)
        return probs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _TimedNetworks:
    """The landmarker's networks, their calls clocked as "networks"."""

    def __init__(self, inner: Any, clock: _Clock) -> None:
        self._inner, self._clock = inner, clock

    def landmarks(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        found: tuple[np.ndarray, float] = self._inner.landmarks(crop)
        self._clock.add("networks", time.perf_counter() - start)
        return found

    def blendshapes(self, points: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        scores: np.ndarray = self._inner.blendshapes(points)
        self._clock.add("networks", time.perf_counter() - start)
        return scores


class _TimedLandmarker:
    """A face landmarker whose `read` calls are clocked as "landmarks"."""

    def __init__(self, inner: Any, clock: _Clock) -> None:
        self._inner, self._clock = inner, clock

    def read(self, frame_bgr: np.ndarray, follow: bool = True, search: bool = True) -> Any:
        start = time.perf_counter()
        reading = self._inner.read(frame_bgr, follow, search)
        self._clock.add("landmarks", time.perf_counter() - start)
        return reading

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass
class _Pass:
    """One timed pass over the video."""

    seconds: float
    cpu_seconds: float
    """CPU time of the process over the pass, all its threads (`time.process_time`): what the
    pass cost, much less dependent than the wall clock on what else the machine runs."""
    happy: np.ndarray
    """The signal per frame (P(happy) for a pipeline of the fer package), NaN where no face."""
    stages_s: dict[str, float]
    detections: int
    scout_runs: int = 0
    """Looks of the tracker's scout, which are not detections (`FaceTracker`)."""


def _read_video(path: Path) -> tuple[list[np.ndarray], float]:
    start = time.perf_counter()
    with VideoFile(path) as video:
        frames = list(video)
    return frames, time.perf_counter() - start


def _run(
    setting: PipelineSetting,
    model: FerModel,
    path: Path,
    per_call: int,
    networks: Any = None,
) -> _Pass:
    """One timed pass of one of our settings, its time split into `STAGES`.

    `networks` are the landmarker's, loaded once for every pass of a landmark signal.
    """
    clock = _Clock()
    detector = setting.make_detector()
    if isinstance(detector, FaceTracker):
        detector.detector = _TimedDetector(detector.detector, clock, "detect")
        if detector.scout is not None:
            detector.scout = _TimedDetector(detector.scout, clock, "scout")
    finder = _TimedDetector(detector, clock, "find")
    landmarker = None
    if get_signal(setting.signal).needs_landmarks:
        from laetitia.landmarks import FaceLandmarker, LandmarkNetworks

        networks = networks or LandmarkNetworks()
        timed = FaceLandmarker(_TimedNetworks(networks, clock))  # type: ignore[arg-type]
        landmarker = _TimedLandmarker(timed, clock)
    meter = HappinessMeter(
        finder,
        _TimedModel(model, clock),  # type: ignore[arg-type]  # a FerModel in all but name
        torch_threads=setting.torch_threads,
        signal=setting.signal,
        landmarker=landmarker,  # type: ignore[arg-type]  # a FaceLandmarker in all but name
    )
    happy = []
    cpu_start = time.process_time()
    start = time.perf_counter()
    tick = start
    video = VideoFile(path)
    clock.add("decode", time.perf_counter() - tick)
    with video:
        while True:
            tick = time.perf_counter()
            frames = [f for f in (video.read() for _ in range(per_call)) if f is not None]
            clock.add("decode", time.perf_counter() - tick)
            if not frames:
                break
            happy.append(meter.read(frames).signal_values())
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    tracked = isinstance(detector, FaceTracker)
    detect_s = (
        clock.seconds["detect"] + clock.seconds["scout"] if tracked else clock.seconds["find"]
    )
    stages = {
        "decode": clock.seconds["decode"],
        "detect": detect_s,
        "track": clock.seconds["find"] - detect_s,
        "classify": clock.seconds["classify"],
        "landmark model": clock.seconds["networks"],
        "landmarker": clock.seconds["landmarks"] - clock.seconds["networks"],
    }
    stages["rest"] = seconds - sum(stages.values())
    detections = clock.calls["detect"] if tracked else clock.calls["find"]
    return _Pass(
        seconds, cpu_seconds, np.concatenate(happy), stages, detections, clock.calls["scout"]
    )


def happiness_per_frame(
    setting: PipelineSetting,
    model: FerModel,
    video: str | Path,
    frames_per_call: int = RUN_DEFAULTS.frames,
) -> np.ndarray:
    """The signal per frame of a video read through one setting (NaN where it found no face)."""
    return _run(setting, model, Path(video), frames_per_call).happy


def _fer_pipelines(settings: Sequence[FerPackageSetting]) -> dict[str, Any]:
    """The `fer` package's detectors, built once (loading TensorFlow and its model)."""
    import torch

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    # facenet-pytorch's MTCNN must run once before TensorFlow loads: the other order has
    # crashed the process on this machine.
    from facenet_pytorch import MTCNN

    MTCNN(keep_all=True).detect(np.zeros((64, 64, 3), np.uint8))
    # fer 25.10.3 exports nothing from its package root; imported by name, as it is optional.
    fer = importlib.import_module("fer.fer")

    torch.set_num_threads(1)
    return {s.label: fer.FER(mtcnn=s.mtcnn) for s in settings}


def _run_fer(detector: Any, path: Path) -> _Pass:
    """One timed pass of a `fer` pipeline: `detect_emotions` on every frame."""
    import torch

    torch.set_num_threads(1)
    happy, decode_s = [], 0.0
    cpu_start = time.process_time()
    start = time.perf_counter()
    tick = start
    video = VideoFile(path)
    decode_s += time.perf_counter() - tick
    with video:
        while True:
            tick = time.perf_counter()
            frame = video.read()
            decode_s += time.perf_counter() - tick
            if frame is None:
                break
            faces = detector.detect_emotions(frame)
            if faces:
                largest = max(faces, key=lambda f: f["box"][2] * f["box"][3])
                happy.append(float(largest["emotions"]["happy"]))
            else:
                happy.append(float("nan"))
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    stages = {"decode": decode_s, "detect+classify": seconds - decode_s}
    return _Pass(seconds, cpu_seconds, np.asarray(happy, dtype=np.float32), stages, len(happy))


def _runs_of(mask: np.ndarray) -> int:
    """Length of the longest run of True in a bool array (0 if none)."""
    longest = current = 0
    for value in mask:
        current = current + 1 if value else 0
        longest = max(longest, current)
    return longest


def window_means(values: np.ndarray, size: int) -> np.ndarray:
    """Mean P(happy) over the face frames of each run of `size` frames (NaN: no face)."""
    means = []
    for i in range(0, len(values), size):
        window = values[i : i + size]
        face = ~np.isnan(window)
        means.append(float(window[face].mean()) if face.any() else float("nan"))
    return np.asarray(means)


def agreement(values: np.ndarray, reference: np.ndarray, per_call: int) -> dict[str, float]:
    """How a setting's faces and P(happy) agree with a reference (a detector on every frame).

    Args:
        values: float (n,) P(happy) per frame of the setting, NaN where it found no face.
        reference: float (n,) the same for the reference.
        per_call: Frames per step: P(happy) is also compared as each step's mean.

    Returns:
        Face/no-face agreement, frames where the reference has a face and the setting none
        (`frames_lost`, the longest such run `longest_loss`) or the reverse (`frames_extra`),
        and mean and max |dP(happy)| per frame and per step (`p_happy_window_*`).
    """
    face, ref_face = ~np.isnan(values), ~np.isnan(reference)
    both = face & ref_face
    lost = ref_face & ~face
    diff = np.abs(values[both] - reference[both])
    means, ref_means = window_means(values, per_call), window_means(reference, per_call)
    scored = ~np.isnan(means) & ~np.isnan(ref_means)
    window_diff = np.abs(means[scored] - ref_means[scored])
    nan = float("nan")
    return {
        "face_agreement": float(np.mean(face == ref_face)),
        "frames_lost": int(lost.sum()),
        "longest_loss": _runs_of(lost),
        "frames_extra": int((face & ~ref_face).sum()),
        "p_happy_abs_diff_mean": float(diff.mean()) if both.any() else nan,
        "p_happy_abs_diff_max": float(diff.max()) if both.any() else nan,
        "p_happy_window_abs_diff_mean": float(window_diff.mean()) if scored.any() else nan,
        "p_happy_window_abs_diff_max": float(window_diff.max()) if scored.any() else nan,
        "windows_scored_differently": int(np.sum(np.isnan(means) != np.isnan(ref_means))),
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


def _row(label: str, passes: list[_Pass], n: int) -> dict[str, Any]:
    """Speed figures of one setting from its passes: the fastest counts."""
    best = min(passes, key=lambda p: p.seconds)
    return {
        "label": label,
        "fps": n / best.seconds,
        "fps_median": n / float(np.median([p.seconds for p in passes])),
        "ms_per_frame": 1000.0 * best.seconds / n,
        "cpu_ms_per_frame": 1000.0 * min(p.cpu_seconds for p in passes) / n,
        "stages_ms_per_frame": {k: 1000.0 * v / n for k, v in best.stages_s.items()},
        "detections": best.detections,
        "scout_runs": best.scout_runs,
        "frames_with_face": int(np.sum(~np.isnan(best.happy))),
    }


def run_pipeline_bench(
    video: str | Path,
    settings: Sequence[PipelineSetting] = SETTINGS,
    repeats: int = 3,
    frames_per_call: int = RUN_DEFAULTS.frames,
    model_path: str | Path | None = None,
    model_seconds: float = 1.0,
    fer_settings: Sequence[FerPackageSetting] | None = None,
) -> dict[str, Any]:
    """Frames per second of the whole pipeline for each setting, and the model alone.

    Args:
        video: The video to read (e.g. the fixtures single_face.mp4, 640x360, or
            noface_face.mov, 960x540).
        settings: Our settings to time.
        repeats: Rounds; each setting (and each fer pipeline) runs one timed pass per round,
            and its fastest counts.
        frames_per_call: Frames per `HappinessMeter.read` call (a live step's `frames`).
        model_path: FER weights; None for the shipped model.
        model_seconds: How long the model alone is timed at each batch size and thread count.
        fer_settings: The `fer` package's pipelines to run beside ours; None for
            `FER_SETTINGS` when the package is installed (none otherwise), () for none.

    Returns:
        Plain data: machine, video, per-setting fps, time per stage, accuracy and ratios to
        the fer pipelines, the fer pipelines' rows, model ms per face, decode fps.
    """
    import torch

    path = Path(video)
    load_at_start = os.getloadavg()
    if fer_settings is None:
        fer_settings = FER_SETTINGS if fer_package_installed() else ()
    threads_before = torch.get_num_threads()
    model = load_model(model_path)
    frames, decode_s = _read_video(path)
    for _ in range(max(repeats, 1) - 1):
        decode_s = min(decode_s, _read_video(path)[1])
    ours, theirs = _interleaved(
        settings, fer_settings, model, path, frames, repeats, frames_per_call
    )
    n = len(frames)
    fer_rows = [{**asdict(s), **_row(s.label, theirs[s.label], n)} for s in fer_settings]
    references = {
        label: passes[0].happy for label, passes in ours.items() if label in REFERENCE_LABELS
    }
    rows = []
    for setting in settings:
        row: dict[str, Any] = {**asdict(setting), **_row(setting.label, ours[setting.label], n)}
        # Accuracy against the detector on every frame is P(happy)'s: the other signals read
        # something else, which BENCHMARKS.md measures on real faces (`fer eval-smiles`).
        comparable = setting.signal == FER_HAPPY
        reference = REFERENCE_EVERY_FRAME.get(setting.detector) if comparable else None
        if reference is not None:
            if reference.label not in references:
                references[reference.label] = _run(reference, model, path, frames_per_call).happy
            values = ours[setting.label][0].happy
            row.update(agreement(values, references[reference.label], frames_per_call))
        for fer_row in fer_rows:
            row[f"x_{fer_row['key']}"] = row["fps"] / fer_row["fps"]
            row[f"x_{fer_row['key']}_cpu"] = fer_row["cpu_ms_per_frame"] / row["cpu_ms_per_frame"]
        rows.append(row)
    mtcnn_every_frame = references.get(REFERENCE_EVERY_FRAME["mtcnn"].label)
    for fer_row in fer_rows:
        if mtcnn_every_frame is not None:
            happy = theirs[fer_row["label"]][0].happy
            fer_row["vs_mtcnn_every_frame"] = agreement(happy, mtcnn_every_frame, frames_per_call)
    model_figures = _model_figures(model, frames, model_seconds)
    torch.set_num_threads(threads_before)
    height, width = frames[0].shape[:2]
    return {
        "machine": {**_machine(), "load_average_at_start": load_at_start},
        "video": {"path": str(path), "frames": n, "width": width, "height": height},
        "frames_per_call": frames_per_call,
        "repeats": repeats,
        "decode_fps": n / decode_s,
        "settings": rows,
        "fer_package": fer_rows,
        "fer_package_version": _version("fer") if fer_rows else None,
        "model": model_figures,
    }


def _interleaved(
    settings: Sequence[PipelineSetting],
    fer_settings: Sequence[FerPackageSetting],
    model: FerModel,
    path: Path,
    frames: list[np.ndarray],
    repeats: int,
    per_call: int,
) -> tuple[dict[str, list[_Pass]], dict[str, list[_Pass]]]:
    """Every setting's passes, ours and fer's: one pass each per round, in turn."""
    ours: dict[str, list[_Pass]] = {s.label: [] for s in settings}
    theirs: dict[str, list[_Pass]] = {s.label: [] for s in fer_settings}
    fer_detectors: dict[str, Any] = {}
    networks = None
    if any(get_signal(s.signal).needs_landmarks for s in settings):
        from laetitia.landmarks import LandmarkNetworks

        networks = LandmarkNetworks()  # loaded once: a pass times reading, not loading
    for _ in range(max(repeats, 1)):
        for setting in settings:
            ours[setting.label].append(_run(setting, model, path, per_call, networks))
        if fer_settings and not fer_detectors:
            fer_detectors = _fer_pipelines(fer_settings)
            for detector in fer_detectors.values():
                detector.detect_emotions(frames[0])  # warm-up: the first call builds graphs
        for fer_setting in fer_settings:
            theirs[fer_setting.label].append(_run_fer(fer_detectors[fer_setting.label], path))
    return ours, theirs


def _model_figures(model: FerModel, frames: list[np.ndarray], seconds: float) -> dict[str, object]:
    """The FER model alone: ms per face at batch 1 and 32, with one and two torch threads."""
    import torch

    haar = make_detector("haar")
    grays = [to_gray(f) for f in frames[:32]]
    boxes = [haar.detect(f, g) for f, g in zip(frames[:32], grays, strict=True)]
    if all(box is None for box in boxes):
        # A video without faces (no_face.mp4): the model's speed does not depend on the crop.
        height, width = grays[0].shape
        side = min(height, width) / 2
        centre = np.array([(width - side) / 2, (height - side) / 2, side, side], np.float32)
        boxes = [centre] * len(grays)
    crops = np.stack(
        [crop_face(g, b, model.card) for g, b in zip(grays, boxes, strict=True) if b is not None]
    )
    figures: dict[str, object] = {"identity": model.identity}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        suffix = "" if threads == 1 else "_2_threads"
        for batch in (1, 32):
            figures[f"ms_per_face_batch{batch}{suffix}"] = model_ms_per_face(
                model, crops, batch, seconds
            )
    return figures


def _machine() -> dict[str, object]:
    import cv2
    import torch

    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads_default": torch.get_num_threads(),
        "opencv_threads": cv2.getNumThreads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "opencv": cv2.__version__,
        "load_average": os.getloadavg(),
    }


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _pair(row: dict[str, Any], key: str, digits: int = 3) -> str:
    mean, largest = row.get(f"{key}_mean"), row.get(f"{key}_max")
    if mean is None or np.isnan(mean):
        return "—"
    return f"{mean:.{digits}f} / {largest:.{digits}f}"


def _accuracy(row: dict[str, Any], compared: bool) -> str:
    """The agreement cells of a table row ("—" where it was not compared)."""
    if not compared:
        return "— | — | — | —"
    return (
        f"{row['face_agreement']:.3f} | {row['frames_lost']} ({row['longest_loss']}) | "
        f"{_pair(row, 'p_happy_window_abs_diff')} | {_pair(row, 'p_happy_abs_diff')}"
    )


def format_table(figures: dict[str, Any]) -> str:
    """The figures as Markdown: speed and accuracy per setting, the time per stage, the model.

    The first table gives each setting's fps and CPU time per frame, its ratio to each `fer`
    pipeline measured in the same run (when there were any: by fps, and by CPU time), and its
    agreement with the same detector on every frame (the `fer` pipelines' rows: with our
    MTCNN on every frame).
    """
    fer_rows = figures.get("fer_package", [])
    keys = [r["key"] for r in fer_rows]
    lines = [
        "| setting | fps | CPU ms/frame"
        + "".join(f" | x {k.replace('_', ' ')}: fps / CPU" for k in keys)
        + " | face agreement | frames lost (longest run) "
        "| 10-frame P(happy) diff: mean / max | per-frame P(happy) diff: mean / max |",
        "|---|---:|---:" + "|---:" * len(keys) + "|---:|---:|---|---|",
    ]
    for row in figures["settings"]:
        ratios = "".join(f" | {row['x_' + k]:.1f} / {row['x_' + k + '_cpu']:.1f}" for k in keys)
        compared = "face_agreement" in row and row["label"] not in REFERENCE_LABELS
        lines.append(
            f"| {row['label']} | {row['fps']:.0f} | {row['cpu_ms_per_frame']:.1f}{ratios} | "
            f"{_accuracy(row, compared)} |"
        )
    for row in fer_rows:
        versus = row.get("vs_mtcnn_every_frame", {})
        lines.append(
            f"| {row['label']} | {row['fps']:.1f} | {row['cpu_ms_per_frame']:.1f}"
            + " | —" * len(keys)
            + f" | {_accuracy(versus, bool(versus))} |"
        )
    lines += [
        "",
        "Where the time goes, ms per frame and share of the total (each setting's fastest pass):",
        "",
        "| setting | total | " + " | ".join(STAGES) + " | detections |",
        "|---|---:|" + "---:|" * len(STAGES) + "---:|",
    ]
    for row in figures["settings"]:
        stages, total = row["stages_ms_per_frame"], row["ms_per_frame"]
        shares = " | ".join(f"{stages[s]:.2f} ({stages[s] / total:.0%})" for s in STAGES)
        scouted = f" (+{row['scout_runs']} scout)" if row.get("scout_runs") else ""
        lines.append(f"| {row['label']} | {total:.2f} | {shares} | {row['detections']}{scouted} |")
    model = figures["model"]
    lines.append("")
    lines.append(
        f"Model alone, 1 torch thread: {model['ms_per_face_batch1']:.2f} ms/face at batch 1, "
        f"{model['ms_per_face_batch32']:.2f} ms/face at batch 32 (2 threads: "
        f"{model['ms_per_face_batch1_2_threads']:.2f} and "
        f"{model['ms_per_face_batch32_2_threads']:.2f}); "
        f"video decoding alone: {figures['decode_fps']:.0f} fps."
    )
    if not fer_rows:
        lines.append(
            "The fer package is not installed, so no ratio to its pipelines was measured "
            "(pip install -e '.[compare]' && pip install --no-deps fer==25.10.3)."
        )
    return "\n".join(lines)

"""One calibration, end to end: read the frames, fit, evaluate on held-out frames, write.

    config = CalibrationConfig(out=Path("me.json"))
    result = calibrate_video("me.mp4", ["0-1.5"], ["2-3.5"], config, detector="haar")
    result = calibrate_live(0, config)                  # a window prompts; webcam 0 records

`calibrate_video` and `calibrate_live` are what `laetitia calibrate` runs: they check the
output path and the spans before anything is loaded, open the happiness meter (`open_meter`),
read the frames (`laetitia.app.calibration.video` or `.live`) and hand them to `calibrate`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from laetitia.app.calibration.files import CalibrationResult, check_out, write_calibration
from laetitia.app.calibration.fit import L2_DEFAULT, fit_mapping, fitted_frames, split_blocks
from laetitia.app.calibration.frames import CalibrationFrames
from laetitia.app.calibration.live import (
    Prompt,
    PromptDisplay,
    default_prompts,
    prompt_spans,
    record_prompted,
)
from laetitia.app.calibration.report import evaluate
from laetitia.app.calibration.spans import NEUTRAL, SMILE, check_spans, parse_span
from laetitia.app.calibration.video import read_video_spans
from laetitia.errors import CalibrationError, CameraError
from laetitia.faces import DETECTOR_NAMES
from laetitia.profile import Profile
from laetitia.signals import get_signal
from laetitia.types import FER_HAPPY


@dataclass(frozen=True)
class CalibrationConfig:
    """Settings of a calibration; the CLI's options."""

    out: Path
    """The profile file to write (JSON); the report and frames are written beside it."""
    keep_frames: bool = True
    """Write the calibration frames beside the profile for auditing (`--no-frames`: none)."""
    l2: float = L2_DEFAULT
    """L2 penalty on the weight of P(happy)'s log-odds."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        if not self.l2 > 0:
            raise CalibrationError(f"l2 must be positive, got {self.l2}.", field="l2")


def calibrate(
    frames: CalibrationFrames,
    model_identity: str,
    model_name: str,
    detector: dict[str, Any],
    config: CalibrationConfig,
) -> CalibrationResult:
    """Fit a profile on recorded frames, evaluate it on held-out frames and write everything.

    Args:
        frames: The neutral and smiling frames, as the pipeline read them.
        model_identity: sha256 of the FER weights the frames were read with.
        model_name: The model card's name.
        detector: `describe()` of the face detector the frames went through.
        config: Where to write, and the fit's settings.

    Raises:
        CalibrationError: If the frames cannot be split into fit and held-out parts.
    """
    block = split_blocks(frames)
    mapping, l2_logits, cv_auc = fit_mapping(frames, block, config.l2)
    profile = Profile(
        model_identity=model_identity,
        model_name=model_name,
        class_names=frames.class_names,
        detector=detector,
        signal=frames.signal,
        features=get_signal(frames.signal).feature_kind,
        feature_mean=tuple(mapping.mean.tolist()),
        feature_scale=tuple(mapping.scale.tolist()),
        weights=tuple(mapping.weights.tolist()),
        bias=mapping.bias,
        l2=config.l2,
        l2_logits=l2_logits,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        source=frames.source,
    )
    fit_mask = fitted_frames(block)
    report, calibrated = evaluate(frames, profile, fit_mask, cv_auc)
    profile = dataclasses.replace(profile, report=report.to_dict())
    return write_calibration(
        frames, profile, report, calibrated, fit_mask, config.out, config.keep_frames
    )


def open_meter(
    detector: str = DETECTOR_NAMES[0], model: Path | str | None = None, signal: str = FER_HAPPY
) -> Any:
    """The happiness meter calibration reads frames with: the live pipeline's.

    `HappinessMeter.live`, so a profile is fitted on faces read as a session reads them.

    Args:
        detector: Face detector name (`laetitia.faces.DETECTOR_NAMES`).
        model: FER model file; None for the shipped one.
        signal: The signal to calibrate (`laetitia.signals`).
    """
    from laetitia.meter import HappinessMeter

    return HappinessMeter.live(detector, model, signal=signal)


def calibrate_video(
    video: Path | str,
    neutral: Sequence[str],
    smile: Sequence[str],
    config: CalibrationConfig,
    detector: str = DETECTOR_NAMES[0],
    model: Path | str | None = None,
    progress: bool = False,
    signal: str = FER_HAPPY,
) -> CalibrationResult:
    """Calibrate from a recording with known neutral and smiling time ranges.

    Args:
        video: The recording.
        neutral: Time ranges "START-END" (seconds) where the face is neutral.
        smile: Time ranges where the person smiles.
        config: Where to write, and the fit's settings.
        detector: Face detector name.
        model: FER model file; None for the shipped one.
        progress: Show a progress bar while frames are read.
        signal: The signal to calibrate (`laetitia.signals`).

    Raises:
        CalibrationError: For bad time ranges, spans without a face, or too few frames.
        CameraError: If the video cannot be read.
    """
    spans = [parse_span(text, NEUTRAL) for text in neutral]
    spans += [parse_span(text, SMILE) for text in smile]
    check_spans(spans)  # refuse what needs no video before loading anything
    check_out(config.out)
    get_signal(signal)
    meter = open_meter(detector, model, signal)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=0, unit="frame", desc="reading calibration frames")

    def advance(done: int, total: int) -> None:
        assert bar is not None
        bar.total = total
        bar.update(done - bar.n)

    try:
        frames = read_video_spans(
            video, spans, meter, config.keep_frames, advance if bar is not None else None
        )
    finally:
        if bar is not None:
            bar.close()
    return _calibrate_with(frames, meter, config)


def calibrate_live(
    camera: int | str | Path,
    config: CalibrationConfig,
    detector: str = DETECTOR_NAMES[0],
    model: Path | str | None = None,
    prompts: Sequence[Prompt] = default_prompts(),
    ready_s: float = 3.0,
    settle_s: float = 1.0,
    display: PromptDisplay | None = None,
    signal: str = FER_HAPPY,
) -> CalibrationResult:
    """Calibrate live: prompt the person in a window and record the camera meanwhile.

    Args:
        camera: A webcam index, or a video file or image folder standing in for one.
        config: Where to write, and the fit's settings.
        detector: Face detector name.
        model: FER model file; None for the shipped one.
        prompts: The phases (default: neutral, smile, neutral, 4 s each).
        ready_s: Seconds before the first prompt.
        settle_s: Seconds at the start of each prompt that are not used.
        display: Where to show the prompts; by default a `CalibrationWindow`.
        signal: The signal to calibrate (`laetitia.signals`).

    Raises:
        CalibrationError: For too few face frames, a camera that runs out, or the person
            stopping the calibration from the window.
        CameraError: If the camera cannot be opened.
    """
    from laetitia.app.calibration.window import CalibrationWindow
    from laetitia.cameras import open_camera

    prompt_spans(prompts, ready_s, settle_s)  # refuse prompts too short before opening anything
    check_out(config.out)
    get_signal(signal)
    meter = open_meter(detector, model, signal)
    try:
        source = open_camera(camera)
    except CameraError as err:
        if not str(camera).isdigit():
            raise
        raise CameraError(
            f"camera {camera}: no webcam could be opened there (is one connected, and free for "
            "this program to use?). Try another camera index, or calibrate from a recording "
            "of yourself (`video`) with its `neutral` and `smile` spans.",
            field="camera",
            mentions=("video", "neutral", "smile"),
        ) from err
    window = CalibrationWindow() if display is None else None
    try:
        with source:
            frames = record_prompted(
                source,
                meter,
                display if display is not None else window,
                prompts=prompts,
                ready_s=ready_s,
                settle_s=settle_s,
                keep_images=config.keep_frames,
            )
    finally:
        if window is not None:
            window.close()
    return _calibrate_with(frames, meter, config)


def _calibrate_with(
    frames: CalibrationFrames, meter: Any, config: CalibrationConfig
) -> CalibrationResult:
    """`calibrate` with the identity of the meter that read the frames."""
    model = meter.model
    return calibrate(frames, model.identity, model.card.name, meter.detector.describe(), config)

"""Personal calibration: fit a person's P(smile) from their own neutral and smiling frames.

A FER model trained on other people reads one person's resting face as a little happy, another's
as angry. A reward built on the raw P(happy) then teaches the agent the resting face. A
calibration records the person's neutral and smiling faces through the same pipeline as a
session (camera, face detector, FER model) and fits a mapping from the model's output to the
probability of a smile (a `Profile`), whose resting value is near zero.

    config = CalibrationConfig(out=Path("me.json"))
    result = calibrate_video("me.mp4", ["0-1.5"], ["2-3.5"], config, detector="haar")
    result = calibrate_live(0, config)                  # a window prompts; webcam 0 records
    print(result.report.summary())

    meter = calibrated(HappinessMeter.live(), "me.json")   # a session reads P(smile)

The modules, in the order the data flows through them:

| module | what it holds |
|---|---|
| `spans` | neutral and smiling time ranges (`Span`, `parse_span`, `check_spans`) |
| `frames` | `CalibrationFrames`: the frames as the happiness meter read them |
| `video` | reading a recording's spans (`read_video_spans`) |
| `live` | the prompted protocol on a camera (`Prompt`, `record_prompted`) |
| `window` | the pygame window the live protocol shows |
| `logistic` | logistic regression in numpy (`LogisticFit`, `fit_logistic`) |
| `profile` | `Profile`: the fitted map, its JSON file, and applying it to a meter |
| `fit` | the held-out split and the cross-validated fit of the map |
| `one_face` | where the face read jumps, as if another person's were read (`face_jumps`) |
| `report` | held-out figures (`CalibrationReport`) and the report's figure |
| `files` | what a calibration writes beside the profile (`CalibrationResult`) |
| `run` | one calibration end to end (`calibrate`, `calibrate_video`, `calibrate_live`) |
"""

from laetitia.app.calibration.files import CalibrationResult
from laetitia.app.calibration.fit import L2_DEFAULT
from laetitia.app.calibration.frames import CalibrationFrames
from laetitia.app.calibration.live import Prompt, default_prompts, record_prompted
from laetitia.app.calibration.report import CalibrationReport
from laetitia.app.calibration.run import (
    CalibrationConfig,
    calibrate,
    calibrate_live,
    calibrate_video,
    open_meter,
)
from laetitia.app.calibration.spans import NEUTRAL, SMILE, Span, check_spans, parse_span
from laetitia.app.calibration.video import read_video_spans
from laetitia.profile import (
    CalibratedMeter,
    Profile,
    calibrated,
    load_profile,
    load_profile_for,
    save_profile,
)

__all__ = [
    "L2_DEFAULT",
    "NEUTRAL",
    "SMILE",
    "CalibratedMeter",
    "CalibrationConfig",
    "CalibrationFrames",
    "CalibrationReport",
    "CalibrationResult",
    "Profile",
    "Prompt",
    "Span",
    "calibrate",
    "calibrate_live",
    "calibrate_video",
    "calibrated",
    "check_spans",
    "default_prompts",
    "load_profile",
    "load_profile_for",
    "open_meter",
    "parse_span",
    "read_video_spans",
    "record_prompted",
    "save_profile",
]

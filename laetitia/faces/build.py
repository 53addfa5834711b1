"""Building a face detector by name: the names, the default settings, and `make_detector`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from laetitia.errors import ConfigError
from laetitia.faces.haar import HaarDetector
from laetitia.faces.mtcnn import MtcnnDetector
from laetitia.faces.protocol import FaceDetector
from laetitia.faces.tracker import ABSENT_EVERY, TRACKERS, FaceTracker
from laetitia.faces.whole_frame import WholeFrame
from laetitia.faces.yunet import YunetDetector

DETECTOR_NAMES: tuple[str, ...] = ("yunet", "mtcnn", "haar", "none")
"""Names `make_detector` knows; the first is the default. YuNet is: on the fixtures it finds a
face on exactly the frames MTCNN does, no false positive, and at its default setting it takes
1.7-2.7 times less CPU time per frame than MTCNN's and stays closer to detecting on every frame
(BENCHMARKS.md). Sessions keep the name of the detector they were recorded with, so a session
recorded with MTCNN replays with MTCNN."""

DETECT_EVERY: dict[str, int] = {"mtcnn": 5, "yunet": 5, "haar": 10, "none": 1}
"""Per detector, frames from one detection to the next in the live pipeline's default setting
(the live and video viewers, `laetitia fer predict`; `FaceTracker` follows the face between).
Chosen on the measurements in BENCHMARKS.md: YuNet every 5 frames keeps the 10-frame mean
P(happy) within 0.01 of detecting on every frame (every 10 is hardly faster: the CNN and decoding
take most of the time then); MTCNN every 5 keeps it within 0.022 at about a quarter of the
CPU time of MTCNN on every frame, Haar every 10 within 0.025 at about a sixth of Haar's.
`make_detector` alone detects on every frame."""

WORKING_SIZE: dict[str, str] = {"yunet": "long_side_px", "mtcnn": "short_side_px"}
"""Per detector that looks at a shrunk frame, the option that sets its size: YuNet limits the
frame's longer side, MTCNN its shorter one (`laetitia.faces.shrink`). A scout's size
(`scout_side_px`) is a value of this option. A detector not named here has no working size."""

OLD_WORKING_SIZE = "work_side_px"
"""One name for both of `WORKING_SIZE`'s options, which a recorded detector description may
use: it is read as the detector's own option (the side it limits is in that option's name)."""

SCOUT_SIDE_PX: dict[str, int] = {"yunet": 160}
"""Per detector, the scout's working size (a value of the detector's `WORKING_SIZE` option:
YuNet's longer side, px) that `FaceTracker` looks with while it follows no face, in every
default setting; a detector not named here has none. A look by YuNet at 160 px costs about 40%
of a detection at its 320 (1.6-1.8 against 4.3-4.6 ms; shrinking the frame is in both), and on
the fixtures it sees a face on exactly the frames YuNet at 320 finds one. Its smallest face is
twice the detector's: about 45 px (Haar box side) in a 640 x 480 frame and 90 px in 1280 x 720,
against 30 and 55. A face between the two is still found on each step's first frame, where the
detector itself looks, and followed from there (benchmarks/results/history.md, "The scout")."""

_CLASSES: dict[str, type] = {
    "mtcnn": MtcnnDetector,
    "yunet": YunetDetector,
    "haar": HaarDetector,
    "none": WholeFrame,
}


def check_detector_name(name: str) -> None:
    """Refuse a detector name `make_detector` does not know, before anything loads.

    Raises:
        ConfigError: If `name` is not one of `DETECTOR_NAMES`.
    """
    if name not in DETECTOR_NAMES:
        raise ConfigError(f"unknown face detector {name!r}; use one of {list(DETECTOR_NAMES)}.")


def renamed_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """A detector's options with `OLD_WORKING_SIZE` under the detector's `WORKING_SIZE` name.

    The renamed option keeps its place, so a description reads in the order `describe()` gives.
    Options of a detector without a working size, or without the old name, come back as they are.
    """
    new = WORKING_SIZE.get(name)
    if new is None or OLD_WORKING_SIZE not in options:
        return dict(options)
    return {(new if key == OLD_WORKING_SIZE else key): value for key, value in options.items()}


def make_detector(
    name: str = DETECTOR_NAMES[0],
    detect_every: int = 1,
    tracker: str = TRACKERS[0],
    absent_every: int = ABSENT_EVERY,
    scout_side_px: int | None = None,
    **options: object,
) -> FaceDetector:
    """Build a detector by name.

    Args:
        name: "yunet" (default), "mtcnn", "haar", or "none" (frames already are face crops).
        detect_every: Run the detector on every k-th frame and track the face in between
            (1: detect on every frame). Ignored for "none".
        tracker: How to follow the face between detections ("template" or "hold").
        absent_every: Frames from one detection to the next while no face is followed (see
            `FaceTracker`). Ignored when `detect_every` is 1.
        scout_side_px: Working size of the tracker's scout: the same detector with the same
            options and this value of its `WORKING_SIZE` option (YuNet's `long_side_px`,
            MTCNN's `short_side_px`; see `FaceTracker`); 0 for no scout, None for the
            detector's `SCOUT_SIDE_PX` (none if it has no entry). Ignored when `detect_every`
            is 1.
        **options: Passed to the detector class (`YunetDetector`, `MtcnnDetector`,
            `HaarDetector`). The old `work_side_px` is still taken, with a DeprecationWarning,
            as the detector's `WORKING_SIZE` option.

    Raises:
        ConfigError: For an unknown name or option, or a scout for a detector without a
            working size (Haar) or one not smaller than the detector's.
    """
    check_detector_name(name)
    if OLD_WORKING_SIZE in options and name in WORKING_SIZE:
        warnings.warn(
            f"{OLD_WORKING_SIZE} is now {WORKING_SIZE[name]} for the {name} detector (the side "
            f"it limits is in the name); pass {WORKING_SIZE[name]}.",
            DeprecationWarning,
            stacklevel=2,
        )
        options = renamed_options(name, options)
    try:
        detector = _CLASSES[name](**options)
    except TypeError as err:
        raise ConfigError(f"face detector {name!r}: {err}.") from err
    if detect_every == 1 or name == "none":
        return detector
    side = SCOUT_SIDE_PX.get(name, 0) if scout_side_px is None else int(scout_side_px)
    if side < 0:
        raise ConfigError(
            f"scout_side_px must be 0 (no scout) or a size in px, got {side}.",
            field="scout_side_px",
        )
    scout = None
    if side:
        option = WORKING_SIZE.get(name)
        if option is None:
            raise ConfigError(
                f"scout_side_px: a scout needs a detector that works on a shrunk frame "
                f"({', '.join(WORKING_SIZE)}); {name} has no working size. Use scout_side_px=0.",
                field="scout_side_px",
            )
        full = getattr(detector, option)
        if full and side >= full:
            raise ConfigError(
                f"scout_side_px ({side} px) must be smaller than the detector's {option} "
                f"({full} px), or the scout costs more than the detection it saves.",
                field="scout_side_px",
            )
        scout = _CLASSES[name](**{**options, option: side})
    return FaceTracker(
        detector,
        detect_every=detect_every,
        tracker=tracker,
        absent_every=absent_every,
        scout=scout,
    )

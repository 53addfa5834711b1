"""Viewer spec strings (`sim`, `sim:SEED`, `webcam`, `webcam:INDEX`, `video:PATH`, `session:DIR`).

The CLI and `make` name viewers with these strings; `make_viewer` builds the viewer. Parsing
opens nothing: a camera or file is opened on the viewer's first reaction. `person:INDEX` names
member INDEX of the simulated people suite people-v1, `person:v2:INDEX` and `person:v3:INDEX`
members of people-v2 and people-v3 (`laetitia.viewers.suites`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from laetitia.errors import ConfigError, ViewerSpecError
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.types import Viewer

if TYPE_CHECKING:
    from laetitia.meter import Meter

SPEC_FORMS = (
    "sim",
    "sim:SEED",
    "webcam",
    "webcam:INDEX",
    "video:PATH",
    "session:DIR",
    "person:INDEX",
    "person:v2:INDEX",
    "person:v3:INDEX",
)

FACE_KINDS = ("webcam", "video")
"""Viewer kinds whose frames go through the face pipeline (detector, FER model, profile)."""


@dataclass(frozen=True)
class ViewerSpec:
    """A parsed viewer spec."""

    kind: str
    """One of sim, webcam, video, session, person."""
    arg: str | None
    """What follows the colon, if anything."""

    def __str__(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"


def parse_viewer_spec(text: str) -> ViewerSpec:
    """Parse a viewer spec string.

    Raises:
        ViewerSpecError: If the string is not one of `SPEC_FORMS`.
    """
    kind, sep, arg = text.partition(":")
    forms = ", ".join(SPEC_FORMS)
    if kind not in {"sim", "webcam", "video", "session", "person"}:
        raise ViewerSpecError(f"unknown viewer {text!r}; use one of: {forms}.")
    if kind == "person" and arg[:3] in ("v2:", "v3:"):
        if not arg[3:].isdigit():
            raise ViewerSpecError(
                f"viewer {text!r}: what follows 'person:{arg[:3]}' must be a whole number (a "
                f"member of people-{arg[:2]}); use one of: {forms}."
            )
        return ViewerSpec(kind, arg)
    if kind in {"sim", "webcam", "person"}:
        if sep and not arg.isdigit():
            what = {"sim": "a seed", "webcam": "a camera index", "person": "a suite member"}
            raise ViewerSpecError(
                f"viewer {text!r}: what follows '{kind}:' must be a whole number "
                f"({what[kind]}); use one of: {forms}."
            )
        return ViewerSpec(kind, arg if sep else None)
    if not arg:
        raise ViewerSpecError(
            f"viewer {text!r} needs a path: {kind}:{'PATH' if kind == 'video' else 'DIR'} "
            f"(the forms are {forms})."
        )
    return ViewerSpec(kind, arg)


def make_viewer(
    spec: str | ViewerSpec,
    frames: int = RUN_DEFAULTS.frames,
    settle_s: float = RUN_DEFAULTS.settle_s,
    detector: str | None = None,
    model: str | Path | None = None,
    window: bool | None = None,
    profile: str | Path | None = None,
    camera_fps: float = RUN_DEFAULTS.camera_fps,
) -> Viewer:
    """Build the viewer a spec names.

    Args:
        spec: A spec string or a parsed spec.
        frames: Frames read per shown emoticon.
        settle_s: Seconds a live viewer waits after showing an emoticon before reading frames.
        detector: Face detector of a webcam or video viewer (`laetitia.faces.DETECTOR_NAMES`);
            None for the default (YuNet).
        model: FER model file of a webcam or video viewer; None for the shipped one.
        window: Show the live window (a webcam or video viewer); None for the viewer's
            default: shown for a webcam, not for a video.
        profile: A person's calibration profile (`laetitia calibrate`) for a webcam or video
            viewer: "happy" becomes their calibrated P(smile). None for none.
        camera_fps: Frames per second a simulated person of people-v3 is read at.

    Raises:
        ViewerSpecError: For an unknown spec, or a path that does not exist.
        ConfigError: For a profile with a viewer that reads no face.
        ProfileError: For a profile that is unreadable or made for another model.
    """
    parsed = parse_viewer_spec(spec) if isinstance(spec, str) else spec
    if profile is not None and parsed.kind not in FACE_KINDS:
        raise ConfigError(
            f"a calibration profile applies to a face read by the FER model: use it with a "
            f"webcam or video viewer, not {str(parsed)!r}."
        )
    if parsed.kind == "sim":
        from laetitia.viewers.simulated import SimulatedViewer

        return SimulatedViewer(seed=int(parsed.arg or 0), frames=frames)
    if parsed.kind == "person":
        from laetitia.viewers.suites import SUITES, person_spec, suite_viewer

        suite, index = person_spec(parsed.arg)
        if index >= SUITES[suite]:
            raise ViewerSpecError(
                f"viewer {str(parsed)!r}: {suite} has members 0 to {SUITES[suite] - 1}."
            )
        return suite_viewer(
            index, frames=frames, settle_s=settle_s, camera_fps=camera_fps, suite=suite
        )
    shown = {} if window is None else {"show": window}
    if parsed.kind == "webcam":
        from laetitia.viewers.live import LiveViewer

        return LiveViewer.from_webcam(
            int(parsed.arg or 0),
            frames=frames,
            settle_s=settle_s,
            meter=_meter(detector, model, profile),
            **shown,
        )
    path = Path(parsed.arg or "")
    if not path.exists():
        raise ViewerSpecError(f"viewer {str(parsed)!r}: {path} does not exist.")
    if parsed.kind == "video":
        from laetitia.viewers.live import LiveViewer

        return LiveViewer.from_video(
            path, frames=frames, settle_s=settle_s, meter=_meter(detector, model, profile), **shown
        )
    from laetitia.viewers.session import SessionReplayViewer

    return SessionReplayViewer(path, frames=frames)


def check_face_pipeline(
    viewer: str | ViewerSpec,
    detector: str,
    model: str | Path | None,
    profile: str | Path | None,
) -> tuple[Path | None, Path | None]:
    """Refuse a face pipeline that cannot run, before anything opens or loads.

    Args:
        viewer: The viewer spec the pipeline serves.
        detector: Face detector name (`laetitia.faces.DETECTOR_NAMES`).
        model: FER model file; None for the shipped one.
        profile: Calibration profile; None for none. Only a webcam or video viewer takes one.

    Returns:
        The model and profile paths, absolute (a run resumed elsewhere finds them).

    Raises:
        ConfigError: For an unknown detector, a missing model file, or a profile with a viewer
            that reads no face.
        ProfileError: For a profile that is unreadable or made for another model.
    """
    from laetitia.faces import check_detector_name

    check_detector_name(detector)
    if model is not None:
        model = Path(model).resolve()
        if not model.is_file():
            raise ConfigError(f"model {model}: no such FER model file.", field="model")
    if profile is not None:
        from laetitia.profile import load_profile_for

        profile = Path(profile).resolve()
        parsed = parse_viewer_spec(viewer) if isinstance(viewer, str) else viewer
        if parsed.kind not in FACE_KINDS:
            raise ConfigError(
                f"profile calibrates a face read by the FER model: use it with a webcam "
                f"or video viewer, not {str(parsed)!r}.",
                field="profile",
            )
        load_profile_for(profile, model)
    return model, profile


def _meter(
    detector: str | None, model: str | Path | None, profile: str | Path | None = None
) -> Callable[[], Meter] | None:
    """A builder of the live viewer's meter with another detector, model or a profile.

    None when all three are the defaults. A profile is read and checked against the model now,
    so a wrong one is refused before anything opens.
    """
    if detector is None and model is None and profile is None:
        return None
    from laetitia.faces import DETECTOR_NAMES, check_detector_name

    name = detector or DETECTOR_NAMES[0]
    check_detector_name(name)

    calibration = None
    if profile is not None:
        from laetitia.profile import load_profile_for

        calibration = load_profile_for(profile, model)

    def build() -> Meter:
        from laetitia.meter import HappinessMeter
        from laetitia.profile import calibrated

        return calibrated(HappinessMeter.live(name, model), calibration)

    return build

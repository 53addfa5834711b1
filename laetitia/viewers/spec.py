"""Viewer spec strings: `sim`, `webcam`, `video:PATH`, `session:DIR`, `browser`, and their forms.

The forms are `SPEC_FORMS` (`sim:SEED`, `webcam:INDEX`, `browser:[HOST:]PORT`, ...).
`session:DIR` replays a session folder, or a Minari dataset a study exported
(`DATASET#PARTICIPANT` for one participant of several). The CLI and `make` name viewers
with these strings; `make_viewer` builds the viewer. Parsing
opens nothing: a camera or file is opened on the viewer's first reaction. `person:INDEX` names
member INDEX of the simulated people suite (`laetitia.viewers.people`). `browser` names a
participant's browser page, served by laetitia's web server for as long as the session runs: the
application starts the server and builds that viewer (`laetitia.app.web.participant`), so
`make_viewer` only says how to get one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from laetitia.errors import ConfigError, ViewerSpecError
from laetitia.run_settings import RUN_DEFAULTS
from laetitia.types import FER_HAPPY, Viewer

if TYPE_CHECKING:
    from laetitia.meter import Meter
    from laetitia.viewers.control import SessionControl
    from laetitia.viewers.stage import Screen

SPEC_FORMS = (
    "sim",
    "sim:SEED",
    "webcam",
    "webcam:INDEX",
    "video:PATH",
    "session:DIR",
    "person:INDEX",
    "person:v2:INDEX",
    "browser[:[HOST:]PORT]",
)

FACE_KINDS = ("webcam", "video", "browser")
"""Viewer kinds whose frames go through the face pipeline (detector, FER model, profile)."""
LIVE_KINDS = ("webcam", "browser")
"""Viewer kinds that are a person in front of a camera now."""
BROWSER_HOST = "127.0.0.1"
"""Where a browser participant's page is served when the spec names no host: this machine."""
BROWSER_PORT = 8770
"""The port a browser participant's page is served on when the spec names none."""
BROWSER_RECIPE = (
    "From the command line, `laetitia train` with the viewer `browser` serves the page and "
    "prints its URL. From Python, serve it while the env runs: `with "
    "serve_participant('127.0.0.1:8770') "
    "as page: env = gymnasium.make('laetitia/Smile-v0', viewer=page.viewer(frames=10, "
    "settle_s=0.5))` (serve_participant is in laetitia.app.web.participant)."
)
"""How to get a browser participant's viewer: said where a spec string cannot build one."""


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
    if kind not in {"sim", "webcam", "video", "session", "person", "browser"}:
        raise ViewerSpecError(f"unknown viewer {text!r}; use one of: {forms}.")
    if kind == "browser":
        try:
            parse_address(arg, BROWSER_PORT) if sep else None
        except ConfigError as error:
            raise ViewerSpecError(f"viewer {text!r}: {error} (the forms are {forms}).") from None
        return ViewerSpec(kind, arg if sep else None)
    if kind == "person" and arg.startswith("v2:"):
        if not arg[3:].isdigit():
            raise ViewerSpecError(
                f"viewer {text!r}: what follows 'person:v2:' must be a whole number (a member "
                f"of people-v2); use one of: {forms}."
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
    signal: str | None = None,
    default_signal: str = FER_HAPPY,
    screen: Screen | None = None,
    control: SessionControl | None = None,
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
            viewer: the signal becomes their calibrated P(smile). None for none.
        signal: The smile signal (`laetitia.signals`). None: `default_signal` for a webcam or
            video viewer, the signal a simulated viewer simulates, the one a recorded session
            was scored by.
        default_signal: The signal of a webcam or video viewer when `signal` is None (the
            env version's: `laetitia.envs.registration.DEFAULT_SIGNALS`).
        screen: What the person at a webcam (or watching a video's window) sees: the live
            window (None, the default) or the participant's (`laetitia.viewers.stage`).
        control: The session's pause and end for a webcam's or video's window, shared with a
            dashboard (`laetitia.viewers.control`); None for the window's own.

    Raises:
        ViewerSpecError: For an unknown spec, a path that does not exist, or `browser` (whose
            viewer comes with the web server that serves its page: the message says how).
        ConfigError: For a profile with a viewer that reads no face, an unknown signal, or a
            signal a simulated viewer does not simulate.
        ProfileError: For a profile that is unreadable or made for another model or signal.
    """
    parsed = parse_viewer_spec(spec) if isinstance(spec, str) else spec
    if profile is not None and parsed.kind not in FACE_KINDS:
        raise ConfigError(
            f"a calibration profile applies to a face read by the FER model: use it with a "
            f"webcam or video viewer, not {str(parsed)!r}."
        )
    if signal is not None:
        from laetitia.signals import get_signal

        get_signal(signal)  # an unknown name is refused whatever the viewer
    if parsed.kind == "sim":
        from laetitia.viewers.simulated import SimulatedViewer

        return simulating(SimulatedViewer(seed=int(parsed.arg or 0), frames=frames), signal)
    if parsed.kind == "person":
        from laetitia.viewers.people import SUITE_V2, SUITE_VERSION, SUITES, suite_viewer

        arg = parsed.arg or "0"
        suite, index = (
            (SUITE_V2, int(arg[3:])) if arg.startswith("v2:") else (SUITE_VERSION, int(arg))
        )
        if index >= SUITES[suite]:
            raise ViewerSpecError(
                f"viewer {str(parsed)!r}: {suite} has members 0 to {SUITES[suite] - 1}."
            )
        return simulating(suite_viewer(index, frames=frames, suite=suite), signal)
    if parsed.kind == "browser":
        raise ViewerSpecError(
            f"viewer {str(parsed)!r} is a participant's browser page, served by laetitia's web "
            f"server while the session runs; a spec string alone cannot start it. "
            f"{BROWSER_RECIPE}",
            mentions=("viewer=browser",),
        )
    face_signal = signal or default_signal
    if parsed.kind == "webcam":
        from laetitia.viewers.live import LiveViewer

        return LiveViewer.from_webcam(
            int(parsed.arg or 0),
            frames=frames,
            settle_s=settle_s,
            meter=make_meter(detector, model, profile, face_signal),
            signal=face_signal,
            show=True if window is None else window,
            screen=screen,
            control=control,
        )
    path = Path(parsed.arg or "")
    if not path.exists() and not (parsed.kind == "session" and _names_a_participant(path)):
        raise ViewerSpecError(f"viewer {str(parsed)!r}: {path} does not exist.")
    if parsed.kind == "video":
        from laetitia.viewers.live import LiveViewer

        return LiveViewer.from_video(
            path,
            frames=frames,
            settle_s=settle_s,
            meter=make_meter(detector, model, profile, face_signal),
            signal=face_signal,
            show=False if window is None else window,
            screen=screen,
            control=control,
        )
    from laetitia.viewers.session import SessionReplayViewer

    return SessionReplayViewer(path, frames=frames, signal=signal)


def simulating(viewer: Viewer, signal: str | None) -> Viewer:
    """A simulated viewer, refused when it was asked for a signal other than its own.

    A simulated viewer has no face: it gives the signal it simulates (its `signal`), and no
    other can be read off it.

    Raises:
        ConfigError: For another signal.
    """
    if signal is not None and signal != viewer.signal:
        raise ConfigError(
            f"signal {signal} cannot be read off a simulated viewer: it has no face, and "
            f"simulates {viewer.signal}. Ask for {viewer.signal} (or no signal: a simulated "
            "viewer gives its own), or use a webcam or video viewer.",
            field="signal",
        )
    return viewer


def check_face_pipeline(
    viewer: str | ViewerSpec,
    detector: str,
    model: str | Path | None,
    profile: str | Path | None,
    signal: str | None = None,
) -> tuple[Path | None, Path | None]:
    """Refuse a face pipeline that cannot run, before anything opens or loads.

    Args:
        viewer: The viewer spec the pipeline serves.
        detector: Face detector name (`laetitia.faces.DETECTOR_NAMES`).
        model: FER model file; None for the shipped one.
        profile: Calibration profile; None for none. Only a webcam or video viewer takes one.
        signal: The smile signal the face is scored by; None: the viewer's own (`fer-happy`
            for what a profile is checked against).

    Returns:
        The model and profile paths, absolute (a run resumed elsewhere finds them).

    Raises:
        ConfigError: For an unknown detector or signal, a missing model file, a signal the
            model cannot give, or a profile with a viewer that reads no face.
        ProfileError: For a profile that is unreadable or made for another model or signal.
    """
    from laetitia.faces import check_detector_name

    check_detector_name(detector)
    if model is not None:
        model = Path(model).resolve()
        if not model.is_file():
            raise ConfigError(f"model {model}: no such FER model file.", field="model")
    parsed = parse_viewer_spec(viewer) if isinstance(viewer, str) else viewer
    if signal is not None:
        from laetitia.signals import get_signal

        chosen = get_signal(signal)
        if parsed.kind in FACE_KINDS and chosen.reads_fer:
            from laetitia.fer import model_identity

            chosen.check_model(model_identity(model))
    if profile is not None:
        from laetitia.profile import load_profile_for

        profile = Path(profile).resolve()
        if parsed.kind not in FACE_KINDS:
            raise ConfigError(
                f"profile calibrates a face read by the FER model: use it with a webcam "
                f"or video viewer, not {str(parsed)!r}.",
                field="profile",
            )
        load_profile_for(profile, model, signal or FER_HAPPY)
    return model, profile


def parse_address(text: str, default_port: int | None = None) -> tuple[str, int]:
    """A `[HOST:]PORT` (host: a name, an IPv4 address, or an IPv6 one in brackets).

    Args:
        text: The address; an empty host (`:PORT`) or none is this machine (`BROWSER_HOST`).
        default_port: The address's port when `text` is empty; None when one must be given.

    Raises:
        ConfigError: For a port that is not a whole number from 0 to 65535 (0: any free one).
    """
    if not text and default_port is not None:
        return BROWSER_HOST, default_port
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or BROWSER_HOST
    if not port.isdigit() or int(port) > 65535:
        raise ConfigError(
            f"{text!r} is not an address [HOST:]PORT (a port is a whole number from 0 to 65535; "
            "0 takes any free one)."
        )
    return host, int(port)


def browser_address(spec: ViewerSpec) -> tuple[str, int]:
    """Where a `browser[:[HOST:]PORT]` spec serves the participant's page."""
    return parse_address(spec.arg or "", BROWSER_PORT)


def make_meter(
    detector: str | None, model: str | Path | None, profile: str | Path | None, signal: str
) -> Callable[[], Meter]:
    """A builder of a live viewer's meter: its detector, model, signal and profile.

    A profile is read and checked against the model and the signal now, so a wrong one is
    refused before anything opens.
    """
    from laetitia.faces import DETECTOR_NAMES, check_detector_name

    name = detector or DETECTOR_NAMES[0]
    check_detector_name(name)

    calibration = None
    if profile is not None:
        from laetitia.profile import load_profile_for

        calibration = load_profile_for(profile, model, signal)

    def build() -> Meter:
        from laetitia.meter import HappinessMeter
        from laetitia.profile import calibrated

        return calibrated(HappinessMeter.live(name, model, signal=signal), calibration)

    return build


def signal_record(viewer: Viewer) -> dict[str, object]:
    """What a session records of the signal a viewer's reactions carry (`SessionMeta.signal`).

    A camera's: its meter's description of the signal, with the sha256 of every model it uses
    (and the profile that calibrates it, if one does); a recorded session's: the signal it
    answers with; a simulated viewer's: the signal it simulates.
    """
    from laetitia.signals import get_signal

    described = viewer.describe()
    meter = described.get("meter")
    if isinstance(meter, dict) and isinstance(meter.get("signal"), dict):
        record = dict(meter["signal"])
        if "profile" in meter:
            record["calibrated_by"] = meter["profile"]
        return record
    replayed = described.get("signal")
    if isinstance(replayed, dict):
        return dict(replayed)
    # A simulated viewer measures nothing: its values are what it simulates, kept as they are.
    return {**get_signal(viewer.signal).describe(), "measures": [], "simulated": True}


def _names_a_participant(path: Path) -> bool:
    """Whether `path` is `DATASET#PARTICIPANT`: one participant of a Minari dataset."""
    from laetitia.sessions.minari import PARTICIPANT_SEPARATOR, is_minari_dataset

    folder, separator, _ = str(path).rpartition(PARTICIPANT_SEPARATOR)
    return bool(separator) and is_minari_dataset(folder)

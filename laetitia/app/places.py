"""Places outside a session that its recorded run named: never taken from the session.

A session's `meta.json` records the run's settings, and some of them name files and folders
elsewhere on the recorder's disk: the FER model file, the calibration profile, the video or
session watched, the TensorBoard folder. A session folder may come from anyone, so none of
those is opened because a session names it. What goes on from a session (a resume, an
evaluation of its agent, a re-scoring of its frames) takes them as follows:

- the FER model: the shipped one when the recorded sha256 is the shipped model's; otherwise
  the file named on the command line, checked against the recorded sha256 (`recorded_model`);
- the calibration profile: the file named on the command line, checked against the recorded
  profile's description (`recorded_profile`);
- a video or a session watched: named on the command line (`recorded_viewer`);
- output places (a TensorBoard folder): from the command line only.

The session's own record is left as it was: it says what the recorded run used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from laetitia.errors import ConfigError, SessionError
from laetitia.sessions import SessionMeta
from laetitia.viewers.spec import parse_viewer_spec

FILE_VIEWERS = {"video": "PATH", "session": "DIR"}
"""Viewer kinds that read a file or folder, with what their spec names."""


def recorded_meter(viewer: Mapping[str, Any]) -> dict[str, Any] | None:
    """The meter's description (detector, model, profile) in a session's viewer description.

    None when the viewer that recorded the session read no face (a simulated one).
    """
    for candidate in (viewer, viewer.get("meter")):
        if isinstance(candidate, dict) and {"detector", "model"} <= set(candidate):
            return candidate
    return None


def recorded_model(meta: SessionMeta, given: Path | None, field: str = "model") -> Path | None:
    """The FER model file to score as the session was scored; None for the shipped one.

    Args:
        meta: The session's record.
        given: The model file named on the command line, if any.
        field: The config field that names a model, for messages (`model`, `model_path`).

    Returns:
        `given` when it is the recorded model (or the session recorded no model); None when
        nothing is given and the recorded model is the shipped one.

    Raises:
        ConfigError: If `given` is not the model the session was scored with (its sha256).
        SessionError: If nothing is given and the session was scored with another model
            than the shipped one: its file is asked for, never taken from the session.
    """
    from laetitia.fer import model_identity

    meter = recorded_meter(meta.viewer)
    model = meter.get("model") if meter is not None else None
    identity = model.get("identity") if isinstance(model, dict) else None
    if given is not None:
        if not Path(given).is_file():
            raise ConfigError(f"{field} {given}: no such FER model file.", field=field)
        found = model_identity(given)
        if identity is not None and found != identity:
            raise ConfigError(
                f"{field} {given} has sha256 {found[:12]}..., not {str(identity)[:12]}... of "
                "the model the session was scored with; name that model's file.",
                field=field,
            )
        return Path(given).resolve()
    if identity is None or identity == model_identity(None):
        return None
    name = model.get("name") if isinstance(model, dict) else None
    raise SessionError(
        f"the session was scored with FER model {name} (sha256 {str(identity)[:12]}...), not "
        f"the shipped one; name that model's file (`{field}`): a file outside the session is "
        "never taken from it.",
        mentions=(field,),
    )


def recorded_profile(meta: SessionMeta, given: Path | None) -> Path | None:
    """The calibration profile to score as the session was scored; None when it had none.

    Args:
        meta: The session's record.
        given: The profile named on the command line, if any.

    Raises:
        ConfigError: If a profile is given for a session scored without one, or the one given
            is not the profile the session was scored through.
        SessionError: If the session was scored through a profile and none is given: its
            file is asked for, never taken from the session.
        ProfileError: If the profile given cannot be read.
    """
    from laetitia.profile import load_profile

    field = "profile"  # the config field that names a profile, for messages

    meter = recorded_meter(meta.viewer)
    recorded = meter.get("profile") if meter is not None else None
    if not isinstance(recorded, dict):
        if given is not None:
            raise ConfigError(
                f"{field}: the session was scored without a calibration profile, and goes on "
                "as it was recorded; start a new session to score through one.",
                field=field,
            )
        return None
    made = f"made {recorded.get('created', '?')}"
    if given is None:
        raise SessionError(
            f"the session was scored through a calibration profile ({made}); name its file "
            f"(`{field}`): a file outside the session is never taken from it.",
            mentions=(field,),
        )
    found = json.loads(json.dumps(load_profile(given).describe()))
    if found != recorded:
        raise ConfigError(
            f"{field} {given} is not the calibration profile the session was scored through "
            f"({made}); name that one.",
            field=field,
        )
    return Path(given).resolve()


def recorded_viewer(recorded: str, given: str | None) -> str:
    """The viewer spec a resume goes on with.

    A viewer that reads a file or folder (a video, a session) is named on the command line,
    never taken from the session; any other viewer is the recorded one.

    Args:
        recorded: The session's viewer spec.
        given: The viewer spec named on the command line, if any.

    Raises:
        SessionError: If the session's viewer reads a file and none is given.
        ConfigError: If the viewer given is not of the session's kind (or, for a viewer
            without a file, not the session's own).
    """
    spec = parse_viewer_spec(recorded)
    wanted = FILE_VIEWERS.get(spec.kind)
    if wanted is None:
        if given is not None and str(parse_viewer_spec(given)) != str(spec):
            raise _other_viewer(recorded, given)
        return recorded
    if given is None:
        thing = "a video" if spec.kind == "video" else "a session folder"
        raise SessionError(
            f"the session watched {thing} outside it ({recorded}), which a resume never takes "
            f"from the session; name it (the viewer `{spec.kind}:{wanted}`).",
            mentions=(f"viewer={spec.kind}:{wanted}",),
        )
    chosen = parse_viewer_spec(given)
    if chosen.kind != spec.kind:
        raise _other_viewer(recorded, given)
    return f"{chosen.kind}:{Path(chosen.arg or '').resolve()}"


def _other_viewer(recorded: str, given: str) -> ConfigError:
    return ConfigError(
        f"viewer is {recorded!r} in this session, and {given!r} was asked: a resume carries on "
        "the session's own settings, which are part of what it records. Start a new session "
        "to change it.",
        field="viewer",
    )

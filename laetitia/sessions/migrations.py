"""Older `meta.json` records brought up to this laetitia's format, one version at a time.

Each time the record changes, the version goes up by one (`FORMAT_VERSION`) and one step is
added to `STEPS`: a pure function that takes the plain data of version N and returns that of
version N+1 (a new dict; `migrate` sets its `format_version`), knowing nothing of the versions
before. `migrate` runs every step from a record's
own version on, when `meta.json` is read (`laetitia.sessions.meta.read_meta`), so resume,
replay, evaluation and plots read a current record and none of them asks which version wrote
it. New sessions are written at `FORMAT_VERSION`.

The steps:
- 1 -> 2: the record got its `format_version`. A training's config without a `detector` is
  from before there was a choice of detector: it read faces with MTCNN, the default then.
- 2 -> 3: the episode length has one name, `max_episode_steps` (it was a training's
  `episode_steps` and an evaluation's `steps_per_episode`); every recorded face detector names
  the tracking options it ran with (`laetitia.faces.spelled_out`), so a replay compares it with
  a detector's own description as it is.
- 3 -> 4: the record names the smile signal its rewards average (`signal`). Every session
  before was scored by the FER model's P(happy): `fer-happy`, and a training's or an
  evaluation's config that read a face (a webcam or a video) names it too, so a resume goes on
  scoring with it. Its `frames.csv` has no signal column; the reader takes the "happy" column.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from laetitia.errors import SessionError

Record = dict[str, Any]
"""A `meta.json` as plain data."""


def _v1_to_v2(record: Record) -> Record:
    out = copy.deepcopy(record)
    config = out.get("config")
    if isinstance(config, dict):
        config.setdefault("detector", "mtcnn")
    return out


def _v2_to_v3(record: Record) -> Record:
    out: Record = _spelled_out_detectors(record)
    for run, old in (("config", "episode_steps"), ("evaluation", "steps_per_episode")):
        settings = out.get(run)
        if isinstance(settings, dict) and old in settings:
            settings["max_episode_steps"] = settings.pop(old)
    return out


def _spelled_out_detectors(data: Any) -> Any:
    """A copy of `data` with every face detector description (a `detector` object) spelled out."""
    if isinstance(data, list):
        return [_spelled_out_detectors(item) for item in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if key == "detector" and isinstance(value, Mapping) and "name" in value:
            from laetitia.faces import spelled_out

            value = spelled_out(value)
        out[key] = _spelled_out_detectors(value)
    return out


FER_HAPPY_RECORD: Record = {
    "name": "fer-happy",
    "label": "P(happy)",
    "summary": "the FER model's P(happy) (DeepLaetitia's reward)",
    "measures": [],
}
"""What a session before signals were named records of its signal (version 4 on)."""
_FACE_VIEWERS = ("webcam", "video:")


def _v3_to_v4(record: Record) -> Record:
    out: Record = copy.deepcopy(record)
    signal = dict(FER_HAPPY_RECORD)
    viewer = out.get("viewer")
    meter = viewer.get("meter", viewer) if isinstance(viewer, dict) else None
    model = meter.get("model") if isinstance(meter, dict) else None
    if isinstance(model, dict) and isinstance(model.get("identity"), str):
        signal["fer_model_sha256"] = model["identity"]
    out.setdefault("signal", signal)
    for run in ("config", "evaluation"):
        settings = out.get(run)
        if isinstance(settings, dict) and "signal" not in settings:
            spec = settings.get("viewer")
            face = isinstance(spec, str) and spec.startswith(_FACE_VIEWERS)
            settings["signal"] = "fer-happy" if face else None
    return out


STEPS: tuple[Callable[[Record], Record], ...] = (_v1_to_v2, _v2_to_v3, _v3_to_v4)
"""`STEPS[n - 1]` turns a record of version n into one of version n + 1."""
FORMAT_VERSION = len(STEPS) + 1
"""The version of the session record this laetitia writes. 1: before the record had one."""


def migrate(record: object, source: str) -> object:
    """A `meta.json`'s plain data brought up to `FORMAT_VERSION`; the input is left as it was.

    Data that is not a JSON object is returned as it is, for the strict reader to refuse.

    Args:
        record: The plain data of a `meta.json`.
        source: The file it came from, for messages.

    Raises:
        SessionError: If its `format_version` is not a version number, or is newer than this
            laetitia's (upgrade laetitia to read it).
    """
    if not isinstance(record, dict):
        return record
    version = record.get("format_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SessionError(
            f"{source}: format_version should be a whole number from 1, found {version!r}."
        )
    if version > FORMAT_VERSION:
        raise SessionError(
            f"{source} is a session of format version {version}, written by a newer laetitia; "
            f"this one reads versions up to {FORMAT_VERSION}. Upgrade laetitia to read it."
        )
    current: Record = record
    for number, step in enumerate(STEPS[version - 1 :], start=version):
        current = {**step(current), "format_version": number + 1}
    return current

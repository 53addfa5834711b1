"""Reading a detector's description back: the detector a session was recorded with, rebuilt.

A description is what `describe()` gave when the session was recorded, kept in its meta.json.
Sessions recorded by older versions describe their detectors with fewer keys or older names;
`spelled_out` brings such a description to today's form, saying in full how that detector ran,
and `detector_from_description` builds the detector from it. This is the one place that knows
the generations of recorded descriptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from laetitia.errors import ConfigError
from laetitia.faces.build import check_detector_name, make_detector, renamed_options
from laetitia.faces.mapping import BoxMapping
from laetitia.faces.protocol import FaceDetector
from laetitia.faces.tracker import TRACKING_OPTIONS, FaceTracker


def spelled_out(description: Mapping[str, Any]) -> dict[str, Any]:
    """A detector's description in today's form, with the tracking options it ran with.

    A tracking option a recorded description does not name is the value its tracker ran
    with: `redetect_after_miss` False; `absent_every` 1, a detection on every frame while
    there is no face (or, without `redetect_after_miss`, on the k-th frames, which
    `absent_every` does not change); no `scout`. A `work_side_px` becomes the detector's
    `long_side_px` or `short_side_px` (see `laetitia.faces.build.WORKING_SIZE`), in the
    scout's description too.
    A description in today's form comes back equal to itself.
    """
    out = renamed_options(str(description.get("name")), description)
    if isinstance(out.get("scout"), Mapping):
        out["scout"] = spelled_out(out["scout"])
    if out.get("detect_every", 1) > 1:
        out.setdefault("redetect_after_miss", False)
        out.setdefault("absent_every", 1)
        out.setdefault("scout", None)
    return out


def shipped_detector_models(description: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded detector's description with the shipped model file standing for its own.

    A description read from a session names the model file the detector ran with
    (`model_path`) and its sha256. That path is on the recorder's disk and is never opened
    because a session names it: the shipped file is used when the recorded sha256 is the
    shipped one's (or none was recorded with no file of its own), and the scout's the same.

    Raises:
        ConfigError: If the detector ran with a model file of its own: name another detector.
    """
    from laetitia.faces.yunet import YUNET_SHA256

    out = dict(description)
    if isinstance(out.get("scout"), Mapping):
        out["scout"] = shipped_detector_models(out["scout"])
    path, sha256 = out.get("model_path"), out.get("model_sha256")
    if path is None and sha256 in (None, YUNET_SHA256):
        return out
    if sha256 != YUNET_SHA256:
        raise ConfigError(
            f"detector: the session's {out.get('name')} detector ran with a model file of its "
            f"own ({str(path)[:80]}, sha256 {str(sha256)[:12]}...), which is never opened "
            "because a session names it; re-score with another `detector`, or start a new "
            "session.",
            field="detector",
        )
    out["model_path"] = None  # the shipped file, which has that sha256
    return out


def detector_from_description(description: Mapping[str, Any]) -> FaceDetector:
    """Rebuild a face detector, with its settings and tracking, from its `describe()` output.

    Descriptions of every generation are read (see `spelled_out`).

    Raises:
        ConfigError: For an unknown detector or option.
    """
    description = spelled_out(description)
    name = str(description.get("name"))
    check_detector_name(name)
    options = {k: v for k, v in description.items() if k != "name" and k not in TRACKING_OPTIONS}
    if isinstance(options.get("mapping"), Mapping):
        options["mapping"] = BoxMapping(**options["mapping"])
    if isinstance(options.get("thresholds"), list):
        options["thresholds"] = tuple(options["thresholds"])
    tracking = {k: v for k, v in description.items() if k in TRACKING_OPTIONS}
    detector = make_detector(name, **options)
    if tracking.get("detect_every", 1) == 1 or name == "none":
        return detector
    if isinstance(tracking.get("scout"), Mapping):
        tracking["scout"] = detector_from_description(tracking["scout"])
    try:
        return FaceTracker(detector, **tracking)
    except TypeError as err:
        raise ConfigError(f"face tracker: {err}.") from err

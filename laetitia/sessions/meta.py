"""A session's `meta.json` as a typed, versioned record, with one strict loader.

The record says everything needed to repeat and to read the run: what ran it (the run's
config, written by the application that ran it: `config` for a training, `evaluation` for an
evaluation, `replay` for a re-scoring), the viewer with its model identity and face detector,
the parameter space, the class names, the seed, package versions and how frames are recorded.

`read_meta` first brings a record written by an older laetitia up to this one's version
(`laetitia.sessions.migrations`: sessions written before the record was versioned, with no
`format_version`, are version 1), then refuses a key the record does not have, a missing key,
or a value of the wrong type, with a `SessionError` naming the key and the file. A session from
a newer laetitia (a higher version) is refused with both versions named.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from laetitia.emoticon.params import Param, ParamSpace
from laetitia.errors import LaetitiaError, SessionError
from laetitia.files import write_json_atomic
from laetitia.records import JSON_LIMIT, from_dict, parse_json
from laetitia.sessions.layout import (
    FRAME_FORMAT,
    FRAMES_DIR,
    FRAMES_FILE,
    META_FILE,
    PNG_COMPRESSION,
)
from laetitia.sessions.migrations import FER_HAPPY_RECORD, FORMAT_VERSION, migrate
from laetitia.sessions.paths import read_inside

VERSIONED_PACKAGES = (
    "laetitia",
    "numpy",
    "gymnasium",
    "stable-baselines3",
    "torch",
    "torchvision",
    "facenet-pytorch",
    "opencv-python-headless",
    "pygame",
)


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a run's results depend on."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def space_from_description(
    described: object, source: str, error: type[LaetitiaError] = SessionError
) -> ParamSpace:
    """The space `ParamSpace.describe()` wrote (in `meta.json`, a prior), read back strictly.

    Raises:
        error: If the description is not a list of parameters with every field.
    """
    if not isinstance(described, list | tuple) or not described:
        raise error(f"{source}: a parameter space is a non-empty list of parameters.")
    return ParamSpace(
        tuple(
            from_dict(Param, p, f"{source}, parameter {i}", error) for i, p in enumerate(described)
        )
    )


@dataclass(frozen=True)
class Recording:
    """How a session records what the camera saw."""

    frames: str | None = None
    """Image format of the kept frames ("png"); None when no image is kept (`--no-frames`)."""
    frames_dir: str | None = None
    """Folder of the frame images, relative to the session; None when none are kept."""
    frame_index: str | None = FRAMES_FILE
    """The per-frame table (`frames.csv`); None for a session whose record names none."""
    png_compression: int | None = None
    """zlib level of the PNGs, when kept."""

    @classmethod
    def keeping(cls, keep_frames: bool) -> Recording:
        """The recording of a new session, with or without frame images."""
        if not keep_frames:
            return cls()
        return cls(FRAME_FORMAT, FRAMES_DIR, FRAMES_FILE, PNG_COMPRESSION)


@dataclass(frozen=True)
class Resumption:
    """One `--resume` of a session."""

    at_step: int
    """Steps the session had when it was resumed."""
    steps: int
    """Steps the resume was asked to add."""


@dataclass(frozen=True)
class SessionMeta:
    """The contents of a session's `meta.json`."""

    parameter_space: tuple[dict[str, Any], ...]
    """The emoticon's parameter space (`ParamSpace.describe()`); `space()` reads it."""
    class_names: tuple[str, ...]
    """The emotion classes of the probability columns, in order."""
    viewer: dict[str, Any]
    """The viewer's own description (`Viewer.describe()`): its kind, and for a camera its
    detector and model identity."""
    seed: int | None = None
    """The run's seed."""
    agent: str | None = None
    """The agent that chose the emoticons, when an agent did."""
    env_id: str | None = None
    """The environment id the agent ran in."""
    config: dict[str, Any] | None = None
    """A training's config (`laetitia.app.training.TrainConfig`, as plain data)."""
    evaluation: dict[str, Any] | None = None
    """An evaluation's config (`laetitia.app.evaluation.EvaluationConfig`, as plain data)."""
    pipeline_from_training: tuple[str, ...] = ()
    """For an evaluation: which face-pipeline settings came from the training session."""
    replay: dict[str, Any] | None = None
    """A re-scoring's source and what differs from it (`laetitia.app.replay`)."""
    recording: Recording = field(default_factory=Recording)
    """How frames are recorded."""
    resumed: tuple[Resumption, ...] = ()
    """Every resume, in order."""
    recommended: bool = False
    """Whether `steps.csv` carries the agent's recommendation and verdict after each step
    (`laetitia.sessions.layout.recommended_columns`; a training's, from format version 5)."""
    command: tuple[str, ...] = ()
    """The command line that started the session."""
    versions: dict[str, str] = field(default_factory=dict)
    """Python's and the packages' versions (`package_versions`)."""
    created: str = ""
    """When the session started, ISO 8601 with the UTC offset."""
    format_version: int = 1
    """Version of this record (`FORMAT_VERSION` for sessions this laetitia writes)."""
    signal: dict[str, Any] = field(default_factory=lambda: {**FER_HAPPY_RECORD, "measures": []})
    """The smile signal the rewards average (`laetitia.signals`): its name, what it measures
    per frame (`measures`, kept in `frames.csv`), and for a camera's frames the sha256 of every
    model it uses. Simulated viewers' sessions name the signal they simulate."""

    @property
    def signal_name(self) -> str:
        """The name of the session's signal."""
        return str(self.signal.get("name", FER_HAPPY_RECORD["name"]))

    @property
    def measures(self) -> tuple[str, ...]:
        """What the session's signal measures per frame beyond the class probabilities."""
        return tuple(str(m) for m in self.signal.get("measures", ()))

    @classmethod
    def new(cls, space: ParamSpace, class_names: tuple[str, ...], **run: Any) -> SessionMeta:
        """The record of a session starting now, this laetitia's version.

        Args:
            space: The emoticon's parameter space.
            class_names: The emotion classes of the reactions.
            **run: The other fields: `viewer`, `seed`, `agent`, `config`, `recording`, ...
        """
        return cls(
            parameter_space=tuple(space.describe()),
            class_names=tuple(class_names),
            versions=package_versions(),
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            format_version=FORMAT_VERSION,
            **run,
        )

    @property
    def kind(self) -> str:
        """What wrote the session: train, evaluate, replay, or "session" for anything else."""
        if self.config is not None:
            return "train"
        if self.evaluation is not None:
            return "evaluate"
        if self.replay is not None:
            return "replay"
        return "session"

    def space(self, source: str = META_FILE) -> ParamSpace:
        """The parameter space the session was recorded in.

        Raises:
            SessionError: If the description is malformed.
        """
        return space_from_description(
            list(self.parameter_space), f"{source}: parameter_space", SessionError
        )

    @property
    def frames_kept(self) -> bool:
        """Whether frame images are recorded (False for `--no-frames`)."""
        return self.recording.frames is not None

    def with_resumption(self, at_step: int, steps: int) -> SessionMeta:
        """The same record with one more resume."""
        return dataclasses.replace(self, resumed=(*self.resumed, Resumption(at_step, steps)))

    def to_json(self) -> dict[str, Any]:
        """The record as plain data, as `meta.json` holds it."""
        return dataclasses.asdict(self)


def write_meta(path: Path, meta: SessionMeta) -> None:
    """Write `meta.json` atomically."""
    write_json_atomic(path, meta.to_json())


def read_meta(path: Path) -> SessionMeta:
    """Read a `meta.json`, strictly; the file is opened through no link (`sessions.paths`).

    Returns:
        The record at this laetitia's `FORMAT_VERSION`, whichever version wrote the file.

    Raises:
        SessionError: If the file is missing, a link or not a regular file, larger than
            `JSON_LIMIT` (16 MiB; a session's own is a few kB), unreadable or not JSON, from a
            newer laetitia, or not a session record (an unknown or missing key, a value of the
            wrong type).
    """
    path = Path(path)
    try:
        data = read_inside(path.parent, path.name, str(path), limit=JSON_LIMIT)
    except FileNotFoundError as error:
        raise SessionError(f"{path} is missing; the folder is not a session.") from error
    except OSError as error:
        raise SessionError(f"{path} cannot be read: {error.strerror or error}.") from error
    record = parse_json(data, str(path), SessionError)
    return from_dict(SessionMeta, migrate(record, str(path)), str(path), SessionError)

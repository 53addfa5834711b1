"""Session folders: `meta.json` and `steps.csv`, written step by step so a crash loses nothing.

A session folder holds
- `meta.json`: everything needed to repeat the run (config, versions, viewer, parameter space,
  class names, seed), written atomically;
- `steps.csv`: one row per step, `step, episode, t, reward, faces, <parameters>, <classes>`,
  each row flushed and fsync'ed as soon as the step completes. A row cut short by a crash is
  ignored when the session is read back.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.errors import SessionError
from laetitia.labels import EMOTIONS
from laetitia.viewers.base import Reaction

META_FILE = "meta.json"
STEPS_FILE = "steps.csv"
FIXED_COLUMNS = ("step", "episode", "t", "reward", "faces")
"""Columns before the parameter and class columns of `steps.csv`."""
VERSIONED_PACKAGES = ("laetitia", "numpy", "gymnasium", "stable-baselines3", "torch", "pygame")


def step_columns(
    space: ParamSpace = PARAM_SPACE, class_names: Sequence[str] = EMOTIONS
) -> list[str]:
    """The header of `steps.csv` for a parameter space and a set of classes."""
    return [*FIXED_COLUMNS, *space.names, *class_names]


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a run's results depend on."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so that a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=_json_default)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _json_default(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def prepare_folder(folder: Path) -> Path:
    """Create a session folder, or explain why it cannot be written.

    Raises:
        SessionError: If the folder cannot be created or written, or already holds a session.
    """
    folder = Path(folder)
    if (folder / STEPS_FILE).exists():
        raise SessionError(
            f"{folder} already holds a session; choose another --out folder, or continue "
            f"it with --resume {folder}."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise SessionError(
            f"cannot write the session folder {folder}: {error.strerror or error}. "
            "Choose a folder you can write to with --out."
        ) from error
    return folder


class SessionRecorder:
    """Appends one row per completed step to a session folder, durably.

    Args:
        folder: The session folder (created if needed).
        meta: Contents of `meta.json`; the recorder adds versions, space and class names.
        space: The emoticon's parameter space.
        class_names: The emotion classes of the reactions.
        resume: Append to an existing session instead of starting one.
    """

    def __init__(
        self,
        folder: Path,
        meta: dict[str, Any],
        space: ParamSpace = PARAM_SPACE,
        class_names: Sequence[str] = EMOTIONS,
        resume: bool = False,
    ) -> None:
        self.folder = Path(folder)
        self.space = space
        self.class_names = tuple(class_names)
        self.columns = step_columns(space, class_names)
        if resume:
            existing = load_session(self.folder)
            self.next_step = existing.n_steps
            self._t_offset = float(existing.steps["t"][-1]) if existing.n_steps else 0.0
            self._repair_tail()
        else:
            prepare_folder(self.folder)
            full_meta = {
                **meta,
                "versions": package_versions(),
                "parameter_space": space.describe(),
                "class_names": list(class_names),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            write_json_atomic(self.folder / META_FILE, full_meta)
            with open(self.folder / STEPS_FILE, "w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerow(self.columns)
            self.next_step = 0
            self._t_offset = 0.0
        self._clock = time.monotonic()
        self._handle = open(self.folder / STEPS_FILE, "a", newline="", encoding="utf-8")

    def _repair_tail(self) -> None:
        """Cut a last row that a crash left without its newline, so appends start clean."""
        path = self.folder / STEPS_FILE
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            path.write_bytes(data[: data.rfind(b"\n") + 1])

    def record(self, episode: int, reward: float, params: np.ndarray, reaction: Reaction) -> int:
        """Append one completed step and make it durable; returns its step number."""
        step = self.next_step
        t = self._t_offset + time.monotonic() - self._clock
        means = reaction.mean_probs()
        row = [step, episode, f"{t:.3f}", repr(float(reward)), reaction.n_faces]
        row += [repr(float(v)) for v in self.space.validate(params)]
        row += ["" if math.isnan(p) else repr(float(p)) for p in means]
        line = io.StringIO()
        csv.writer(line).writerow(row)
        self._handle.write(line.getvalue())
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.next_step += 1
        return step

    def close(self) -> None:
        """Close the steps file (every row is already on disk)."""
        if not self._handle.closed:
            self._handle.close()

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Session:
    """A session read back from its folder."""

    folder: Path
    meta: dict[str, Any]
    steps: dict[str, np.ndarray]
    """One float64 array per `steps.csv` column (NaN where a value was empty)."""
    param_names: tuple[str, ...]
    class_names: tuple[str, ...]

    @property
    def n_steps(self) -> int:
        """Number of completed steps."""
        return int(self.steps["step"].shape[0])

    def params(self) -> np.ndarray:
        """Raw parameters shown at each step, float64 (n_steps, n_params)."""
        return np.stack([self.steps[name] for name in self.param_names], axis=1)

    def probs(self) -> np.ndarray:
        """Mean class probabilities at each step, float64 (n_steps, n_classes)."""
        return np.stack([self.steps[name] for name in self.class_names], axis=1)

    def best_step(self) -> int:
        """Index of the scored step (at least one face) with the highest reward.

        Raises:
            SessionError: If no step was scored.
        """
        scored = np.flatnonzero(self.steps["faces"] > 0)
        if scored.size == 0:
            raise SessionError(f"session {self.folder} has no step with a face in view.")
        return int(scored[np.argmax(self.steps["reward"][scored])])


def load_session(folder: Path | str) -> Session:
    """Read a session folder, ignoring a last row that a crash cut short.

    Raises:
        SessionError: If the folder is not a session or its files are corrupt.
    """
    folder = Path(folder)
    meta_path, steps_path = folder / META_FILE, folder / STEPS_FILE
    if not meta_path.is_file() or not steps_path.is_file():
        raise SessionError(
            f"{folder} is not a session folder: it needs {META_FILE} and {STEPS_FILE}."
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SessionError(
            f"{meta_path} is corrupt ({error}); the session cannot be read."
        ) from error
    param_names = tuple(p["name"] for p in meta.get("parameter_space", PARAM_SPACE.describe()))
    class_names = tuple(meta.get("class_names", EMOTIONS))
    expected = [*FIXED_COLUMNS, *param_names, *class_names]
    text = steps_path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0] != expected:
        raise SessionError(
            f"{steps_path} does not have the columns its meta.json describes; expected "
            f"{expected}, found {rows[0] if rows else 'an empty file'}."
        )
    body = [row for row in rows[1:] if len(row) == len(expected)]
    table = np.array(
        [[float(v) if v != "" else math.nan for v in row] for row in body], dtype=np.float64
    ).reshape(len(body), len(expected))
    steps = {name: table[:, i] for i, name in enumerate(expected)}
    return Session(folder, meta, steps, param_names, class_names)

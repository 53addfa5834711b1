"""Session folders, written step by step so that a crash loses no completed step.

A session folder holds
- `meta.json`: everything needed to repeat the run (config, versions, viewer with its model
  identity and face detector, parameter space, class names, seed, how frames are recorded),
  written atomically;
- `steps.csv`: one row per step, `step, episode, t, reward, faces, <parameters>, <classes>`
  (the classes' mean probabilities over the frames with a face);
- `frames.csv`: one row per frame the viewer read, `step, frame, t, file, face, x, y, w, h,
  <classes>`: the step it belongs to, its number in the session, its time on the session clock,
  its image file (empty when no image was kept), whether a face was found, the face box in frame
  pixels and the class probabilities (empty where there was no face);
- `frames/NNNNNNNN.png`: the camera frames, lossless (BGR as the camera gave them, so re-scoring
  them reproduces the rewards exactly), unless the session was recorded with `--no-frames`.

Durability: for each step the frame images are written and fsync'ed first (and the `frames/`
folder with them), then the step's `frames.csv` rows, then its `steps.csv` row, each flushed
and fsync'ed. A step in `steps.csv` therefore always has its frames and their index on disk,
whenever the process is killed. Rows cut short by a crash, and frame rows of a step whose
`steps.csv` row never made it, are ignored on read and removed on resume.
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
from dataclasses import dataclass, field
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
FRAMES_FILE = "frames.csv"
FRAMES_DIR = "frames"
FIXED_COLUMNS = ("step", "episode", "t", "reward", "faces")
"""Columns before the parameter and class columns of `steps.csv`."""
FRAME_FIXED_COLUMNS = ("step", "frame", "t", "file", "face", "x", "y", "w", "h")
"""Columns before the class columns of `frames.csv`."""
FRAME_FORMAT = "png"
"""How frame images are stored: lossless PNG, one file per frame."""
PNG_COMPRESSION = 1
"""zlib level of the frame PNGs: 1 is ~10% larger than 3 and twice as fast to write."""
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


def step_columns(
    space: ParamSpace = PARAM_SPACE, class_names: Sequence[str] = EMOTIONS
) -> list[str]:
    """The header of `steps.csv` for a parameter space and a set of classes."""
    return [*FIXED_COLUMNS, *space.names, *class_names]


def frame_columns(class_names: Sequence[str] = EMOTIONS) -> list[str]:
    """The header of `frames.csv` for a set of classes."""
    return [*FRAME_FIXED_COLUMNS, *class_names]


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
    _fsync_dir(path.parent)


def _json_default(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _fsync_dir(folder: Path) -> None:
    """Make the entries of a folder (new or renamed files) durable."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open folders (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse fsync on folders
        pass
    finally:
        os.close(fd)


def _csv_line(row: Sequence[object]) -> str:
    line = io.StringIO()
    csv.writer(line).writerow(row)
    return line.getvalue()


def _number(value: float) -> str:
    """A float as text that reads back to the same float; empty for NaN."""
    return "" if math.isnan(value) else repr(float(value))


def prepare_folder(folder: Path) -> Path:
    """Create a session folder, or explain why it cannot be written.

    Raises:
        SessionError: If the folder cannot be created or written, or already holds a session.
    """
    folder = Path(folder)
    if (folder / STEPS_FILE).exists():
        raise SessionError(
            f"{folder} already holds a session; choose another --out folder (a training "
            f"session goes on with `laetitia train --resume {folder}`)."
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


def encode_frame(frame_bgr: np.ndarray) -> bytes:
    """A camera frame as lossless PNG bytes (decoding them gives back the same array)."""
    import cv2

    ok, data = cv2.imencode(".png", frame_bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise SessionError(f"could not encode a frame of shape {frame_bgr.shape} as PNG.")
    return data.tobytes()


def decode_frame(path: Path) -> np.ndarray:
    """Read back a frame written by the recorder: BGR uint8 (H, W, 3), as recorded.

    Raises:
        SessionError: If the file is missing or not a readable image.
    """
    import cv2

    frame = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if frame is None:
        raise SessionError(
            f"frame {path} is missing or unreadable; the session's frames were moved or "
            "damaged. Restore the folder from a copy, or re-score without those steps."
        )
    return frame


class SessionRecorder:
    """Appends each completed step, with its frames, to a session folder, durably.

    Args:
        folder: The session folder (created if needed).
        meta: Contents of `meta.json`; the recorder adds versions, space, class names and how
            frames are recorded. Ignored when resuming (the session's own meta stays).
        space: The emoticon's parameter space.
        class_names: The emotion classes of the reactions.
        resume: Append to an existing session instead of starting one.
        keep_frames: Write the camera frames of each step as lossless PNGs. False writes no
            image of the person at all: only per-frame probabilities and face boxes. When
            resuming, the session's own choice is kept.
        extra_columns: Further `steps.csv` columns after the standard ones (e.g. a replay's
            `recorded_reward`), given to `record` as `extra`.
    """

    def __init__(
        self,
        folder: Path,
        meta: dict[str, Any],
        space: ParamSpace = PARAM_SPACE,
        class_names: Sequence[str] = EMOTIONS,
        resume: bool = False,
        keep_frames: bool = True,
        extra_columns: Sequence[str] = (),
    ) -> None:
        self.folder = Path(folder)
        self.space = space
        self.class_names = tuple(class_names)
        self.extra_columns = tuple(extra_columns)
        self.columns = [*step_columns(space, class_names), *self.extra_columns]
        self.frame_columns = frame_columns(class_names)
        if resume:
            existing = load_session(self.folder)
            self.columns = list(existing.steps)  # with any extra columns the session has
            self.extra_columns = tuple(self.columns[len(step_columns(space, class_names)) :])
            self.keep_frames = existing.frames_kept
            self.next_step = existing.n_steps
            self._t_offset = float(existing.time_s[-1]) if existing.n_steps else 0.0
            self.next_frame = existing.frame_index.next_frame if existing.frame_index else 0
            self._repair(existing.n_steps)
        else:
            self.keep_frames = bool(keep_frames)
            prepare_folder(self.folder)
            recording = {
                "frames": FRAME_FORMAT if self.keep_frames else None,
                "frames_dir": FRAMES_DIR if self.keep_frames else None,
                "frame_index": FRAMES_FILE,
                "png_compression": PNG_COMPRESSION if self.keep_frames else None,
            }
            full_meta = {
                **meta,
                "versions": package_versions(),
                "parameter_space": space.describe(),
                "class_names": list(class_names),
                "recording": recording,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            write_json_atomic(self.folder / META_FILE, full_meta)
            for name, header in ((STEPS_FILE, self.columns), (FRAMES_FILE, self.frame_columns)):
                with open(self.folder / name, "w", newline="", encoding="utf-8") as handle:
                    handle.write(_csv_line(header))
                    handle.flush()
                    os.fsync(handle.fileno())
            self.next_step = 0
            self.next_frame = 0
            self._t_offset = 0.0
        _fsync_dir(self.folder)
        self._clock = time.monotonic()
        self._frames = open(self.folder / FRAMES_FILE, "a", newline="", encoding="utf-8")
        self._steps = open(self.folder / STEPS_FILE, "a", newline="", encoding="utf-8")

    def _repair(self, n_steps: int) -> None:
        """Remove what a crash left half-written, so that appends start clean.

        Cuts a torn last row of `steps.csv`; drops `frames.csv` rows that are torn or belong to
        a step that never reached `steps.csv`, and the images of those frames.
        """
        steps_path = self.folder / STEPS_FILE
        data = steps_path.read_bytes()
        if data and not data.endswith(b"\n"):
            steps_path.write_bytes(data[: data.rfind(b"\n") + 1])
        frames_path = self.folder / FRAMES_FILE
        if not frames_path.is_file():  # a session written before frames were indexed
            with open(frames_path, "w", newline="", encoding="utf-8") as handle:
                handle.write(_csv_line(self.frame_columns))
            return
        lines = frames_path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = lines[:1] + [
            line
            for line in lines[1:]
            if line.endswith("\n")
            and len(row := next(csv.reader([line]))) == len(self.frame_columns)
            and int(row[0]) < n_steps
        ]
        if len(kept) != len(lines):
            tmp = frames_path.with_name(frames_path.name + ".tmp")
            with open(tmp, "w", newline="", encoding="utf-8") as handle:
                handle.writelines(kept)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, frames_path)
        frames_dir = self.folder / FRAMES_DIR
        if frames_dir.is_dir():
            for orphan in frames_dir.iterdir():
                if not orphan.stem.isdigit() or int(orphan.stem) >= self.next_frame:
                    orphan.unlink()

    def record(
        self,
        episode: int,
        reward: float,
        params: np.ndarray,
        reaction: Reaction,
        t: float | None = None,
        extra: Sequence[float] = (),
    ) -> int:
        """Append one completed step with its frames and make it durable; returns its number.

        The frames (when kept and the viewer has them) and their index rows are on disk before
        the step's row is written.

        Args:
            episode: The episode the step belongs to.
            reward: The reward the step was given.
            params: The raw emoticon parameters shown.
            reaction: What the viewer read.
            t: The step's time in seconds; by default the session clock's.
            extra: One value per `extra_columns`.
        """
        if len(extra) != len(self.extra_columns):
            raise ValueError(f"expected {len(self.extra_columns)} extra values, got {len(extra)}.")
        step = self.next_step
        if t is None:
            t = self._t_offset + time.monotonic() - self._clock
        files = self._write_images(reaction)
        self._append(self._frames, self._frame_rows(step, t, reaction, files))
        means = reaction.mean_probs()
        row = [step, episode, f"{t:.3f}", repr(float(reward)), reaction.n_faces]
        row += [repr(float(v)) for v in self.space.validate(params)]
        row += [_number(p) for p in means]
        row += [_number(v) for v in extra]
        self._append(self._steps, [row])
        self.next_step += 1
        self.next_frame += reaction.n_frames
        return step

    def _write_images(self, reaction: Reaction) -> list[str]:
        """Write the reaction's frames as PNGs (fsync'ed); their paths, or '' when not kept."""
        if not self.keep_frames or reaction.frames is None:
            return [""] * reaction.n_frames
        frames_dir = self.folder / FRAMES_DIR
        if not frames_dir.is_dir():  # made on the first frame: a viewer without pixels has none
            frames_dir.mkdir()
            _fsync_dir(self.folder)
        files = []
        for i, frame in enumerate(reaction.frames):
            name = f"{FRAMES_DIR}/{self.next_frame + i:08d}.{FRAME_FORMAT}"
            with open(self.folder / name, "wb") as handle:
                handle.write(encode_frame(frame))
                handle.flush()
                os.fsync(handle.fileno())
            files.append(name)
        _fsync_dir(frames_dir)
        return files

    def _frame_rows(
        self, step: int, t: float, reaction: Reaction, files: list[str]
    ) -> list[list[object]]:
        n = reaction.n_frames
        if reaction.times_s is not None:  # the viewer's clock, aligned to the step's end
            times = t - (reaction.times_s[-1] - np.asarray(reaction.times_s, dtype=np.float64))
        else:
            times = np.full(n, t)
        boxes = (
            reaction.boxes if reaction.boxes is not None else np.full((n, 4), np.nan, np.float32)
        )
        rows = []
        for i in range(n):
            face = bool(reaction.has_face[i])
            row: list[object] = [step, self.next_frame + i, f"{times[i]:.3f}", files[i], int(face)]
            row += [_number(v) for v in boxes[i]]
            row += [_number(p) if face else "" for p in reaction.probs[i]]
            rows.append(row)
        return rows

    @staticmethod
    def _append(handle: io.TextIOWrapper, rows: list[list[object]]) -> None:
        handle.write("".join(_csv_line(row) for row in rows))
        handle.flush()
        os.fsync(handle.fileno())

    def close(self) -> None:
        """Close the files (every row is already on disk)."""
        for handle in (self._frames, self._steps):
            if not handle.closed:
                handle.close()

    def discard(self) -> None:
        """Remove a new session that has no completed step, leaving the folder as it was.

        Only what the recorder wrote goes; anything else in the folder stays.
        """
        assert self.next_step == 0, "a session with completed steps is never discarded"
        self.close()
        for name in (META_FILE, STEPS_FILE, FRAMES_FILE):
            (self.folder / name).unlink(missing_ok=True)
        frames = self.folder / FRAMES_DIR
        if frames.is_dir() and not any(frames.iterdir()):
            frames.rmdir()

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, eq=False)
class FrameIndex:
    """`frames.csv` read back: one entry per frame of a completed step, in recording order."""

    step: np.ndarray
    """int64 (n,): the step each frame belongs to."""
    frame: np.ndarray
    """int64 (n,): the frame's number in the session."""
    t: np.ndarray
    """float64 (n,): seconds on the session clock."""
    files: tuple[str, ...]
    """Image file of each frame, relative to the session folder; '' where none was kept."""
    has_face: np.ndarray
    """bool (n,): whether a face was found."""
    boxes: np.ndarray
    """float32 (n, 4): face boxes x, y, w, h in frame pixels; NaN where there was none."""
    probs: np.ndarray
    """float32 (n, n_classes): class probabilities; NaN rows where there was no face."""

    @property
    def n_frames(self) -> int:
        """Number of frames indexed."""
        return int(self.step.shape[0])

    @property
    def next_frame(self) -> int:
        """The number the next recorded frame gets."""
        return int(self.frame[-1]) + 1 if self.n_frames else 0

    def rows(self, step: int) -> np.ndarray:
        """Positions (int64) of the frames of one step."""
        return np.flatnonzero(self.step == step)


@dataclass(frozen=True)
class Session:
    """A session read back from its folder."""

    folder: Path
    meta: dict[str, Any]
    steps: dict[str, np.ndarray]
    """One float64 array per `steps.csv` column (NaN where a value was empty). Where a
    parameter shares its name with a fixed column (the eye angle `t` and the time `t`), the
    parameter's values are under the name; the step times are `time_s`."""
    param_names: tuple[str, ...]
    class_names: tuple[str, ...]
    frame_index: FrameIndex | None = field(default=None, repr=False)
    """The per-frame index (`frames.csv`), None for sessions recorded without one."""
    time_s: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    """float64 (n_steps,): each step's time on the session clock (the `t` column), seconds."""

    @property
    def n_steps(self) -> int:
        """Number of completed steps."""
        return int(self.steps["step"].shape[0])

    @property
    def frames_kept(self) -> bool:
        """Whether the session's frame images were recorded (False for `--no-frames`)."""
        return bool(self.meta.get("recording", {}).get("frames"))

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

    def reaction(self, step: int, with_frames: bool = False) -> Reaction:
        """The reaction recorded at a step, rebuilt from `frames.csv`.

        Args:
            step: The step number.
            with_frames: Also decode the step's frame images into `Reaction.frames`.

        Raises:
            SessionError: If the session has no frame index, the step has no frames, or frames
                were asked for and not kept.
        """
        index = self._require_index()
        rows = index.rows(step)
        if rows.size == 0:
            raise SessionError(f"session {self.folder} has no frames recorded for step {step}.")
        return Reaction(
            probs=index.probs[rows],
            has_face=index.has_face[rows],
            class_names=self.class_names,
            boxes=index.boxes[rows],
            frames=self.read_frames(step) if with_frames else None,
            times_s=index.t[rows],
        )

    def read_frames(self, step: int) -> tuple[np.ndarray, ...]:
        """The camera frames of one step, BGR uint8, exactly as recorded.

        Raises:
            SessionError: If the session was recorded without frames, or a file is missing.
        """
        index = self._require_index()
        rows = index.rows(step)
        files = [index.files[i] for i in rows]
        if not self.frames_kept or not files or not all(files):
            raise SessionError(
                f"session {self.folder} kept no frame images for step {step} (recorded with "
                "--no-frames, or by a viewer without a camera): it holds only probabilities."
            )
        return tuple(decode_frame(self.folder / name) for name in files)

    def _require_index(self) -> FrameIndex:
        if self.frame_index is None:
            raise SessionError(
                f"session {self.folder} has no {FRAMES_FILE}: it was recorded before frames "
                "were indexed and holds only the mean probabilities of each step."
            )
        return self.frame_index


def load_session(folder: Path | str) -> Session:
    """Read a session folder, ignoring rows that a crash cut short.

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
    columns, body = _read_table(steps_path, expected)
    table = np.array(
        [[float(v) if v != "" else math.nan for v in row] for row in body], dtype=np.float64
    ).reshape(len(body), len(columns))
    steps = {name: table[:, i] for i, name in enumerate(columns)}
    frames_path = folder / FRAMES_FILE
    index = (
        _read_frame_index(frames_path, class_names, n_steps=len(body))
        if frames_path.is_file()
        else None
    )
    time_s = table[:, FIXED_COLUMNS.index("t")]
    return Session(folder, meta, steps, param_names, class_names, index, time_s)


def _read_table(path: Path, expected: list[str]) -> tuple[list[str], list[list[str]]]:
    """The header and complete rows of a CSV file (a torn last row dropped).

    The header must start with the expected columns; further columns are read too.
    """
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0][: len(expected)] != expected:
        raise SessionError(
            f"{path} does not have the columns its meta.json describes; expected "
            f"{expected}, found {rows[0] if rows else 'an empty file'}."
        )
    return rows[0], [row for row in rows[1:] if len(row) == len(rows[0])]


def _read_frame_index(path: Path, class_names: Sequence[str], n_steps: int) -> FrameIndex:
    """Read `frames.csv`, keeping only the frames of steps that completed."""
    _, body = _read_table(path, frame_columns(class_names))
    body = [row for row in body if int(row[0]) < n_steps]
    n = len(body)

    def floats(start: int, stop: int) -> np.ndarray:
        values = [[float(v) if v != "" else math.nan for v in row[start:stop]] for row in body]
        return np.array(values, dtype=np.float64).reshape(n, stop - start)

    n_fixed = len(FRAME_FIXED_COLUMNS)
    return FrameIndex(
        step=np.array([int(row[0]) for row in body], dtype=np.int64),
        frame=np.array([int(row[1]) for row in body], dtype=np.int64),
        t=floats(2, 3)[:, 0],
        files=tuple(row[3] for row in body),
        has_face=np.array([row[4] == "1" for row in body], dtype=bool),
        boxes=floats(5, n_fixed).astype(np.float32),
        probs=floats(n_fixed, n_fixed + len(class_names)).astype(np.float32),
    )

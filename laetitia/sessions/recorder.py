"""Writing a session folder step by step, so that a crash loses no completed step.

Durability: for each step the frame images are written and fsync'ed first (and the `frames/`
folder with them), then the step's `frames.csv` rows, then its `steps.csv` row, each appended
and fsync'ed. A step in `steps.csv` therefore always has its frames and their index on disk,
whenever the process is killed. `meta.json` is replaced atomically.

Resuming (`SessionRecorder.resume`) first makes the tables end cleanly: a row a crash cut short
at the end of a table, and the frame rows and images of a step whose `steps.csv` row never made
it, are removed. The tables are rewritten whole through a temporary file (`laetitia.files`), so
a kill during that leaves the old table, never an empty one; and only frame images the
recorder itself names (`frames/NNNNNNNN.png`) are ever deleted. Damage anywhere else (a torn
row in the middle, a step number that skips or repeats) is refused unless `repair_session` is
asked for explicitly; it keeps the steps before the damage.
"""

from __future__ import annotations

import csv
import io
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.errors import SessionError
from laetitia.files import (
    TMP_SUFFIX,
    append_durably,
    atomic_open,
    fsync_dir,
    write_text_atomic,
)
from laetitia.labels import EMOTIONS
from laetitia.sessions.layout import (
    FRAME_NAME,
    FRAMES_DIR,
    FRAMES_FILE,
    META_FILE,
    PNG_COMPRESSION,
    STEPS_FILE,
    frame_columns,
    frame_file,
    step_columns,
)
from laetitia.sessions.meta import Recording, SessionMeta, write_meta
from laetitia.sessions.reader import Table, Tables, scan_tables
from laetitia.types import Reaction

LEFTOVERS = (META_FILE, STEPS_FILE, FRAMES_FILE, "*.png", "agent/*")
"""Files of a session written whole through `laetitia.files`: a kill during such a write leaves
its temporary file (`NAME.tmp`), which a resume removes (the file itself is whole)."""


def csv_line(row: Sequence[object]) -> str:
    """One CSV row as text, with its line end."""
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
    if (folder / META_FILE).exists() or _has_rows(folder / STEPS_FILE):
        raise SessionError(
            f"{folder} already holds a session; choose another output folder (a training "
            "session can be resumed instead)."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise SessionError(
            f"cannot write the session folder {folder}: {error.strerror or error}. "
            "Choose a folder you can write to."
        ) from error
    return folder


def _has_rows(path: Path) -> bool:
    """Whether a table holds more than its header (a start a kill interrupted holds none)."""
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read().count(b"\n") > 1


def encode_frame(frame_bgr: np.ndarray) -> bytes:
    """A camera frame as lossless PNG bytes (decoding them gives back the same array)."""
    import cv2

    ok, data = cv2.imencode(".png", frame_bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise SessionError(f"could not encode a frame of shape {frame_bgr.shape} as PNG.")
    return data.tobytes()


def _rewrite(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Replace a table with its header and `rows`, atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(csv_line(header))
        handle.writelines(csv_line(row) for row in rows)


@dataclass(frozen=True)
class Repair:
    """What ending a session's tables cleanly removed."""

    steps_kept: int
    """Steps the session has after the repair."""
    steps_dropped: int
    """Complete but damaged or later steps removed (0 for a plain resume)."""
    frame_rows_dropped: int
    """Rows of `frames.csv` removed (torn, or of steps not kept)."""
    images_removed: int
    """Frame images removed (of frames not kept)."""


def _end_cleanly(folder: Path, tables: Tables, keep_steps: int) -> Repair:
    """Cut both tables to their first `keep_steps` steps and remove the frames after them."""
    steps, frames = tables.steps, tables.frames
    dropped_steps = len(steps.rows) - keep_steps
    if dropped_steps or steps.torn_tail or steps.damage is not None:
        _rewrite(folder / STEPS_FILE, steps.header, steps.rows[:keep_steps])
    next_frame, frame_rows_dropped = 0, 0
    if frames is None:  # a session written before frames were indexed gets an empty index
        meta = tables.meta
        _rewrite(folder / FRAMES_FILE, frame_columns(meta.class_names, meta.measures), [])
    else:
        kept = [row for row in frames.rows if int(float(row[0])) < keep_steps]
        next_frame = len(kept)
        frame_rows_dropped = _frame_lines(folder / FRAMES_FILE) - len(kept)
        if frame_rows_dropped:
            _rewrite(folder / FRAMES_FILE, frames.header, kept)
    for name in LEFTOVERS:  # temporary files of writes a kill interrupted
        for tmp in folder.glob(name + TMP_SUFFIX):
            tmp.unlink()
    removed = 0
    frames_dir = folder / FRAMES_DIR
    if frames_dir.is_dir():
        for image in frames_dir.iterdir():
            match = FRAME_NAME.match(image.name)
            if match and int(match.group(1)) >= next_frame:
                image.unlink()
                removed += 1
        if removed:
            fsync_dir(frames_dir)
    return Repair(keep_steps, dropped_steps, frame_rows_dropped, removed)


def _frame_lines(path: Path) -> int:
    """Lines after the header in a table, a torn last one included."""
    data = path.read_bytes()
    return max(data.count(b"\n") - 1 + (bool(data) and not data.endswith(b"\n")), 0)


def repair_session(folder: Path | str) -> Repair:
    """Keep a damaged session's steps before its first damage, and drop the rest, explicitly.

    The dropped rows and frame images are gone; the steps kept are untouched. A session with
    no damage only has a row torn by a crash cut off, as a resume would.

    Raises:
        SessionError: If the folder is not a session or its meta.json is not readable.
    """
    folder = Path(folder)
    tables = scan_tables(folder)
    damage = tables.damage
    keep = len(tables.steps.rows) if damage is None else damage.good_steps
    return _end_cleanly(folder, tables, keep)


class SessionRecorder:
    """Appends each completed step, with its frames, to a session folder, durably.

    Start one with `SessionRecorder(folder, meta)` (a new session) or
    `SessionRecorder.resume(folder)` (append to an existing one).

    Args:
        folder: The session folder (created if needed; it must not hold a session).
        meta: The session's record (`SessionMeta.new(...)`); its `recording` says whether
            frames are kept.
        extra_columns: Further `steps.csv` columns after the standard ones (e.g. a replay's
            `recorded_reward`), given to `record` as `extra`.
    """

    def __init__(self, folder: Path, meta: SessionMeta, extra_columns: Sequence[str] = ()) -> None:
        self.folder = Path(folder)
        self.meta = meta
        prepare_folder(self.folder)
        self.space: ParamSpace = meta.space()
        self.class_names = tuple(meta.class_names)
        self.extra_columns = tuple(extra_columns)
        self.columns = [*step_columns(self.space, self.class_names), *self.extra_columns]
        self.frame_columns = frame_columns(self.class_names, meta.measures)
        # The tables first, each whole or absent; `meta.json` last: a folder is a session once
        # its record is there, and a start a kill interrupted before that can be started again.
        for name, header in ((STEPS_FILE, self.columns), (FRAMES_FILE, self.frame_columns)):
            write_text_atomic(self.folder / name, csv_line(header))
        write_meta(self.folder / META_FILE, meta)
        self.next_step = 0
        self.next_frame = 0
        self._t_offset = 0.0
        self._open()

    @classmethod
    def resume(cls, folder: Path | str, meta: SessionMeta | None = None) -> SessionRecorder:
        """Append to an existing session, after ending its tables cleanly.

        Args:
            folder: The session folder.
            meta: A record to write in place of the session's own (e.g. with one more
                `resumed` entry); None keeps it as it is.

        Raises:
            SessionError: If the folder is not a session, or is damaged (the message names
                the line; `repair_session` keeps the steps before it).
        """
        folder = Path(folder)
        tables = scan_tables(folder)
        if tables.damage is not None:
            raise tables.damage.error()
        self = cls.__new__(cls)
        self.folder = folder
        self.meta = tables.meta if meta is None else meta
        self.space = tables.meta.space()
        self.class_names = tuple(tables.meta.class_names)
        self.columns = list(tables.steps.header)
        self.extra_columns = tuple(self.columns[len(step_columns(self.space, self.class_names)) :])
        repair = _end_cleanly(folder, tables, len(tables.steps.rows))
        # The table's own header: a session from before the signal was kept goes on without it.
        self.frame_columns = (
            list(tables.frames.header)
            if tables.frames is not None
            else frame_columns(self.class_names, tables.meta.measures)
        )
        self.next_step = repair.steps_kept
        self.next_frame = _count_frames(tables.frames, repair.steps_kept)
        rows = tables.steps.rows
        self._t_offset = float(rows[-1][2]) if rows else 0.0
        if meta is not None:
            write_meta(folder / META_FILE, meta)
        self._open()
        return self

    def _open(self) -> None:
        self._clock = time.monotonic()
        self._frames: IO[str] = open(self.folder / FRAMES_FILE, "a", newline="", encoding="utf-8")
        self._steps: IO[str] = open(self.folder / STEPS_FILE, "a", newline="", encoding="utf-8")

    @property
    def keep_frames(self) -> bool:
        """Whether frame images are written (the session's choice, kept on resume)."""
        return self.meta.frames_kept

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

        Raises:
            SessionError: If the reward is not a finite number, or the reaction carries another
                signal than the session's (nothing is written then).
        """
        if len(extra) != len(self.extra_columns):
            raise ValueError(f"expected {len(self.extra_columns)} extra values, got {len(extra)}.")
        if reaction.signal != self.meta.signal_name:
            raise SessionError(
                f"step {self.next_step}: the reaction was scored by the signal {reaction.signal}, "
                f"and the session records {self.meta.signal_name}; nothing was recorded for it."
            )
        if not math.isfinite(reward):
            raise SessionError(
                f"step {self.next_step}: the reward is {reward!r}, not a finite number; nothing "
                "was recorded for it. The FER model or calibration profile gives no valid "
                "probability: check the model's weights."
            )
        step = self.next_step
        if t is None:
            t = self._t_offset + time.monotonic() - self._clock
        files = self._write_images(reaction)
        rows = self._frame_rows(step, t, reaction, files)
        append_durably(self._frames, "".join(csv_line(row) for row in rows))
        means = reaction.mean_probs()
        row = [step, episode, f"{t:.3f}", repr(float(reward)), reaction.n_faces]
        row += [repr(float(v)) for v in self.space.validate(params)]
        row += [_number(p) for p in means]
        row += [_number(v) for v in extra]
        append_durably(self._steps, csv_line(row))
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
            fsync_dir(self.folder)
        files = []
        for i, frame in enumerate(reaction.frames):
            name = frame_file(self.next_frame + i)
            with open(self.folder / name, "wb") as handle:
                handle.write(encode_frame(frame))
                handle.flush()
                os.fsync(handle.fileno())
            files.append(name)
        fsync_dir(frames_dir)
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
        values = reaction.signal_values()
        measures = [reaction.measures[name] for name in self.meta.measures]
        width = len(self.frame_columns)  # a session from before the signal column stops short
        rows = []
        for i in range(n):
            face = bool(reaction.has_face[i])
            row: list[object] = [step, self.next_frame + i, f"{times[i]:.3f}", files[i], int(face)]
            row += [_number(v) for v in boxes[i]]
            row += [_number(p) if face else "" for p in reaction.probs[i]]
            row += [_number(m[i]) if face else "" for m in (values, *measures)]
            rows.append(row[:width])
        return rows

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


def _count_frames(frames: Table | None, n_steps: int) -> int:
    if frames is None:
        return 0
    return sum(1 for row in frames.rows if int(float(row[0])) < n_steps)


def new_meta(
    space: ParamSpace = PARAM_SPACE,
    class_names: Sequence[str] = EMOTIONS,
    keep_frames: bool = True,
    **run: object,
) -> SessionMeta:
    """The record of a new session: `SessionMeta.new` with how frames are kept."""
    return SessionMeta.new(
        space, tuple(class_names), recording=Recording.keeping(keep_frames), **run
    )

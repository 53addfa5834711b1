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

One writer: a recorder holds the session's lock (`laetitia.sessions.lock`) from the moment it
starts until it is closed, so a second writer is refused in one line. No link is followed:
frame images are created only where no entry stands, in a real `frames/` folder, and the
tables are appended through descriptors opened without following a link
(`laetitia.sessions.paths`).

Faults: a step that cannot be written whole (a full disk, an I/O error at a write or an fsync)
is taken back, its frame rows cut off and its images removed, and the error is one line naming
the file; the session holds exactly the steps before it. A session folder deleted or replaced
while the recorder writes it is noticed at the next step, which stops with one line. A resume's
new record (its `resumed` entry) is written with its first step, so a resume that fails before
its first step changes no file.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from laetitia.emoticon.params import PARAM_SPACE, ParamSpace
from laetitia.errors import DiskError, SessionError
from laetitia.files import (
    TMP_SUFFIX,
    append_durably,
    atomic_open,
    disk_error,
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
from laetitia.sessions.lock import SessionLock, lock_session
from laetitia.sessions.meta import Recording, SessionMeta, write_meta
from laetitia.sessions.paths import (
    RunFiles,
    create_inside,
    exists_inside,
    folder_identity,
    read_inside,
    real_folder,
    remove_inside,
)
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
    """Create a session folder, or explain why a new session cannot be written there.

    A folder holding other files is fine; one holding a session, or files a new session would
    write over (its tables with rows, frame images), is refused: a new session never replaces
    a file it did not make. (Tables with a header only are the start of a session a kill
    interrupted, and are started again.)

    Raises:
        SessionError: If the folder cannot be created or written, already holds a session or
            frames, or holds a link where a session's file or folder goes.
    """
    folder = _made(folder)
    if not folder.is_dir():
        raise SessionError(f"{folder} is a file; choose a folder for the session.")
    if exists_inside(folder, META_FILE) or any(
        _has_rows(folder, name) for name in (STEPS_FILE, FRAMES_FILE)
    ):
        raise SessionError(
            f"{folder} already holds a session; choose another output folder (a training "
            "session can be resumed instead)."
        )
    if exists_inside(folder, FRAMES_DIR):
        frames = real_folder(folder, FRAMES_DIR, f"{folder / FRAMES_DIR}")
        if any(FRAME_NAME.match(name) for name in os.listdir(frames)):
            raise SessionError(
                f"{frames} holds frame images of another run; a new session never writes over "
                "them. Choose another output folder."
            )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SessionError(
            f"cannot write the session folder {folder}: permission denied. Choose a folder you "
            "can write to."
        )
    return folder


def _made(folder: Path) -> Path:
    """The folder, created with its parents if needed."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SessionError(
            f"cannot write the session folder {folder}: {error.strerror or error}. "
            "Choose a folder you can write to."
        ) from error
    return folder


def claim_folder(folder: Path) -> SessionLock:
    """Create a folder for a new session if needed, take its writer lock, and check it.

    The checks come after the lock, so two runs started on one folder at once never both
    write it: one is refused as a second writer, or finds the other's session.

    Raises:
        SessionError: As `prepare_folder`, or if another process writes the folder.
    """
    folder = _made(folder)
    lock = lock_session(folder)
    try:
        prepare_folder(folder)
    except BaseException:
        lock.release()
        raise
    return lock


class NewSession:
    """A folder claimed for a new session; on a failure before its first step, left as it was.

    Entering it creates the folder if needed, takes its writer lock and notes what it holds
    (`laetitia.sessions.paths.RunFiles`). Leaving it lets the lock go; leaving on an error
    before `recorder` (the run's recorder, once there is one) has recorded a step first takes
    back everything the run added, the folder too if the run made it.

        with NewSession(out, subfolders=("agent",)) as claim:
            agent.save(claim.subfolder("agent"))
            claim.recorder = SessionRecorder(out, meta)
            ...

    Args:
        folder: The session folder.
        subfolders: Folders in it the run writes into, besides `frames/`.
    """

    def __init__(self, folder: Path | str, subfolders: tuple[str, ...] = ()) -> None:
        self.folder = Path(folder)
        self.subfolders = subfolders
        self.recorder: SessionRecorder | None = None

    def __enter__(self) -> NewSession:
        self._created = not self.folder.exists()
        self._lock = claim_folder(self.folder)
        self._files = RunFiles(self.folder, (*self.subfolders, FRAMES_DIR))
        return self

    def subfolder(self, name: str) -> Path:
        """A folder of the session to write into, made if needed; a link is refused.

        Raises:
            SessionError: If it is a link or a file.
        """
        return real_folder(self.folder, name, str(self.folder / name), create=True)

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        recorder = self.recorder
        failed = kind is not None and (recorder is None or recorder.next_step == 0)
        try:
            if failed:
                if recorder is not None:
                    recorder.discard()
                self._files.take_back()
        finally:
            self._lock.release()
            if failed and self._created:
                try:
                    self.folder.rmdir()  # only when empty: what was made is gone
                except OSError:
                    pass


def _has_rows(folder: Path, name: str) -> bool:
    """Whether a table holds more than its header (a start a kill interrupted holds none)."""
    if not exists_inside(folder, name):
        return False
    return read_inside(folder, name, str(folder / name)).count(b"\n") > 1


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
    if frames is None:  # a session without a frame index gets an empty one
        meta = tables.meta
        _rewrite(folder / FRAMES_FILE, frame_columns(meta.class_names, meta.measures), [])
    else:
        kept = [row for row in frames.rows if int(float(row[0])) < keep_steps]
        next_frame = len(kept)
        frame_rows_dropped = _frame_lines(folder / FRAMES_FILE) - len(kept)
        if frame_rows_dropped:
            _rewrite(folder / FRAMES_FILE, frames.header, kept)
    for name in LEFTOVERS:  # temporary files of writes a kill interrupted (a link: itself)
        for tmp in _glob_real(folder, name + TMP_SUFFIX):
            remove_inside(folder, tmp)
    removed = 0
    if exists_inside(folder, FRAMES_DIR):
        frames_dir = real_folder(folder, FRAMES_DIR)  # a link is refused, never followed
        for name in sorted(os.listdir(frames_dir)):
            match = FRAME_NAME.match(name)
            if match and int(match.group(1)) >= next_frame:
                remove_inside(folder, f"{FRAMES_DIR}/{name}")
                removed += 1
        if removed:
            fsync_dir(frames_dir)
    return Repair(keep_steps, dropped_steps, frame_rows_dropped, removed)


def _glob_real(folder: Path, pattern: str) -> list[str]:
    """Entries matching `pattern` ("NAME" or "SUB/NAME"), relative to `folder`, in real folders."""
    sub, _, name = pattern.rpartition("/")
    if sub and not exists_inside(folder, sub):
        return []
    where = real_folder(folder, sub) if sub else folder
    return [f"{sub}/{n}" if sub else n for n in os.listdir(where) if fnmatch.fnmatch(n, name)]


def _frame_lines(path: Path) -> int:
    """Lines after the header in a table, a torn last one included."""
    data = read_inside(path.parent, path.name, str(path))
    return max(data.count(b"\n") - 1 + (bool(data) and not data.endswith(b"\n")), 0)


def repair_session(folder: Path | str) -> Repair:
    """Keep a damaged session's steps before its first damage, and drop the rest, explicitly.

    The dropped rows and frame images are gone; the steps kept are untouched. A session with
    no damage only has a row torn by a crash cut off, as a resume would.

    Raises:
        SessionError: If the folder is not a session or its meta.json is not readable, or
            another process writes it.
    """
    folder = Path(folder)
    with lock_session(folder):
        tables = scan_tables(folder)
        damage = tables.damage
        keep = len(tables.steps.rows) if damage is None else damage.good_steps
        return _end_cleanly(folder, tables, keep)


class SessionRecorder:
    """Appends each completed step, with its frames, to a session folder, durably.

    Start one with `SessionRecorder(folder, meta)` (a new session) or
    `SessionRecorder.resume(folder)` (append to an existing one). It holds the session's
    writer lock until `close`.

    Args:
        folder: The session folder (created if needed; it must not hold a session).
        meta: The session's record (`SessionMeta.new(...)`); its `recording` says whether
            frames are kept.
        extra_columns: Further `steps.csv` columns after the standard ones (e.g. a replay's
            `recorded_reward`), given to `record` as `extra`.

    Raises:
        SessionError: If the folder cannot hold a new session (`prepare_folder`), another
            process writes it, or its files cannot be written (naming the file).
    """

    def __init__(self, folder: Path, meta: SessionMeta, extra_columns: Sequence[str] = ()) -> None:
        self.folder = Path(folder)
        self.meta = meta
        self._lock: SessionLock = claim_folder(self.folder)
        self.space: ParamSpace = meta.space()
        self.class_names = tuple(meta.class_names)
        self.extra_columns = tuple(extra_columns)
        self.columns = [*step_columns(self.space, self.class_names), *self.extra_columns]
        self.frame_columns = frame_columns(self.class_names, meta.measures)
        self.next_step = 0
        self.next_frame = 0
        self._t_offset = 0.0
        self._pending_meta: SessionMeta | None = None
        self._made_frames_dir = False
        try:
            self._identity = folder_identity(self.folder)
            # The tables first, each whole or absent; `meta.json` last: a folder is a session
            # once its record is there, and a start a kill interrupted before that can be
            # started again.
            for name, header in ((STEPS_FILE, self.columns), (FRAMES_FILE, self.frame_columns)):
                write_text_atomic(self.folder / name, csv_line(header))
            write_meta(self.folder / META_FILE, meta)
            self._open()
        except BaseException:
            self._remove_files()
            self._lock.release()
            raise

    @classmethod
    def resume(cls, folder: Path | str, meta: SessionMeta | None = None) -> SessionRecorder:
        """Append to an existing session, after ending its tables cleanly.

        Args:
            folder: The session folder.
            meta: A record to write in place of the session's own (e.g. with one more
                `resumed` entry), with the first step recorded; None keeps it as it is.

        Raises:
            SessionError: If the folder is not a session, is damaged (the message names
                the line; `repair_session` keeps the steps before it), or another process
                writes it.
        """
        folder = Path(folder)
        lock = lock_session(folder)
        try:
            tables = scan_tables(folder)
            if tables.damage is not None:
                raise tables.damage.error()
            self = cls.__new__(cls)
            self.folder = folder
            self._lock = lock
            self._identity = folder_identity(folder)
            self.meta = tables.meta if meta is None else meta
            self.space = tables.meta.space()
            self.class_names = tuple(tables.meta.class_names)
            self.columns = list(tables.steps.header)
            base = len(step_columns(self.space, self.class_names))
            self.extra_columns = tuple(self.columns[base:])
            repair = _end_cleanly(folder, tables, len(tables.steps.rows))
            # The table's own header: a table without a signal column goes on without one.
            self.frame_columns = (
                list(tables.frames.header)
                if tables.frames is not None
                else frame_columns(self.class_names, tables.meta.measures)
            )
            self.next_step = repair.steps_kept
            self.next_frame = _count_frames(tables.frames, repair.steps_kept)
            rows = tables.steps.rows
            self._t_offset = float(rows[-1][2]) if rows else 0.0
            self._pending_meta = meta
            self._made_frames_dir = False
            self._open()
        except BaseException:
            lock.release()
            raise
        return self

    def _open(self) -> None:
        self._clock = time.monotonic()
        self._fds = {name: self._append_fd(name) for name in (FRAMES_FILE, STEPS_FILE)}

    def _append_fd(self, name: str) -> int:
        """A table opened to append to, unbuffered, through no link."""
        path = self.folder / name
        try:
            return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as error:
            raise SessionError(f"{path} cannot be opened: {error.strerror or error}.") from error

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
        the step's row is written. A step that cannot be written whole is taken back (its
        rows cut off, its images removed) before the error is raised.

        Args:
            episode: The episode the step belongs to.
            reward: The reward the step was given.
            params: The raw emoticon parameters shown.
            reaction: What the viewer read.
            t: The step's time in seconds; by default the session clock's.
            extra: One value per `extra_columns`.

        Raises:
            SessionError: If the reward is not a finite number, or the reaction carries another
                signal than the session's (nothing is written then), a file cannot be written
                (naming it; nothing of the step stays), or the session folder was deleted or
                replaced since the recorder started.
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
        self.check_folder()
        step = self.next_step
        if t is None:
            t = self._t_offset + time.monotonic() - self._clock
        sizes = {name: os.fstat(fd).st_size for name, fd in self._fds.items()}
        images: list[str] = []
        try:
            files = self._write_images(reaction, images)
            rows = self._frame_rows(step, t, reaction, files)
            self._append(FRAMES_FILE, "".join(csv_line(row) for row in rows))
            means = reaction.mean_probs()
            row = [step, episode, f"{t:.3f}", repr(float(reward)), reaction.n_faces]
            row += [repr(float(v)) for v in self.space.validate(params)]
            row += [_number(p) for p in means]
            row += [_number(v) for v in extra]
            self._append(STEPS_FILE, csv_line(row))
        except BaseException:
            self._take_back(sizes, images)
            raise
        self.next_step += 1
        self.next_frame += reaction.n_frames
        if self._pending_meta is not None:  # a resume's record, now that it has a step
            write_meta(self.folder / META_FILE, self._pending_meta)
            self._pending_meta = None
        return step

    def check_folder(self) -> None:
        """Refuse to go on writing a session folder that was deleted or replaced.

        Raises:
            SessionError: If the folder is gone, or another stands in its place.
        """
        try:
            now = folder_identity(self.folder)
        except OSError:
            now = None
        if now != self._identity:
            raise SessionError(
                f"the session folder {self.folder} was deleted or replaced while this run was "
                f"writing it; the run stops after {self.next_step} step(s), which were in the "
                "folder that was there. Nothing more is written."
            )

    def _append(self, name: str, text: str) -> None:
        try:
            append_durably(self._fds[name], text.encode("utf-8"))
        except OSError as error:
            raise self._unwritten(self.folder / name, error) from error

    def _unwritten(self, path: Path, error: OSError) -> SessionError:
        """A step that could not be written, said in one line naming the file."""
        reason = disk_error(path, error) if not isinstance(error, DiskError) else error
        return SessionError(
            f"step {self.next_step} was not recorded: {reason} The session keeps its "
            f"{self.next_step} step(s) before it."
        )

    def _take_back(self, sizes: dict[str, int], images: list[str]) -> None:
        """Cut the tables back to before a step that failed, and remove its images."""
        for name, size in sizes.items():
            try:
                os.ftruncate(self._fds[name], size)
            except OSError:
                pass  # a resume cuts a torn row off; the error raised says what failed
        for name in images:
            try:
                remove_inside(self.folder, name)
            except (OSError, SessionError):
                pass

    def _write_images(self, reaction: Reaction, written: list[str]) -> list[str]:
        """Write the reaction's frames as PNGs (fsync'ed); their paths, or '' when not kept.

        Each image written is added to `written` as it is created.
        """
        if not self.keep_frames or reaction.frames is None:
            return [""] * reaction.n_frames
        # Made on the first frame (a viewer without pixels has none); a link is refused.
        created = not exists_inside(self.folder, FRAMES_DIR)
        frames_dir = real_folder(self.folder, FRAMES_DIR, create=True)
        if created:
            self._made_frames_dir = True
            self._fsync_dir(self.folder)
        files = []
        for i, frame in enumerate(reaction.frames):
            name = frame_file(self.next_frame + i)
            data = encode_frame(frame)
            try:
                with create_inside(self.folder, name) as handle:
                    written.append(name)
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as error:
                raise self._unwritten(self.folder / name, error) from error
            files.append(name)
        self._fsync_dir(frames_dir)
        return files

    def _fsync_dir(self, folder: Path) -> None:
        try:
            fsync_dir(folder)
        except DiskError as error:
            raise self._unwritten(folder, error) from error

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
        width = len(self.frame_columns)  # a table without a signal column stops short
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
        """Close the files (every row is already on disk) and let the writer lock go."""
        for fd in getattr(self, "_fds", {}).values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = {}
        self._lock.release()

    def discard(self) -> None:
        """Remove a new session that has no completed step, leaving the folder as it was.

        Only what the recorder wrote goes (its tables, its record, and the `frames/` folder it
        made, left empty: a step that failed took its images back); anything else stays.
        """
        assert self.next_step == 0, "a session with completed steps is never discarded"
        self.close()
        self._remove_files()

    def _remove_files(self) -> None:
        """Remove the tables and record this recorder wrote (best effort)."""
        for name in (META_FILE, STEPS_FILE, FRAMES_FILE):
            try:
                remove_inside(self.folder, name)
            except (OSError, SessionError):
                pass
        try:
            if self._made_frames_dir:
                frames = real_folder(self.folder, FRAMES_DIR)
                if not os.listdir(frames):
                    frames.rmdir()
        except (OSError, SessionError):
            pass

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

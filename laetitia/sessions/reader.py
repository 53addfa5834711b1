"""Reading a session folder back, checking that its steps are whole and numbered in order.

`load_session` reads `meta.json` (strictly, `laetitia.sessions.meta`), `steps.csv` and
`frames.csv`. A crash can cut the last row of a table short: that row never completed and is
ignored (and cut off on resume). Anything else out of place is damage, and a `SessionError`
names the file and the line: a row torn or unreadable before the last one, a value that is not
a number, a step number that skips or repeats, frames of a step out of order or numbered with
a gap. Nothing is renumbered silently; `scan_tables` says where the last good step is, for an
explicit repair (`laetitia.sessions.repair_session`, `laetitia train --resume DIR --repair`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from laetitia.errors import SessionError
from laetitia.images import decode_image
from laetitia.sessions.layout import (
    FIXED_COLUMNS,
    FRAME_FIXED_COLUMNS,
    FRAMES_FILE,
    META_FILE,
    RECOMMENDED_PREFIX,
    SIGNAL_COLUMN,
    STEPS_FILE,
    frame_columns,
    frame_prefix,
)
from laetitia.sessions.meta import SessionMeta, read_meta
from laetitia.sessions.paths import exists_inside, read_inside, relative_parts
from laetitia.types import Reaction

csv.field_size_limit(1 << 20)  # a row of ours is well under 1 MiB; a bigger field is damage


@dataclass(frozen=True)
class TableDamage:
    """Where a session's table stops being whole: the first bad line and why."""

    file: Path
    """The damaged table."""
    line: int
    """Its first bad line, counting the header as line 1."""
    reason: str
    """What is wrong with that line."""
    good_steps: int
    """Steps before the damage, which a repair keeps."""

    def error(self) -> SessionError:
        """The error to raise, saying how to repair."""
        folder = self.file.parent
        return SessionError(
            f"{self.file}, line {self.line}: {self.reason}. The session {folder} is damaged "
            f"after its first {self.good_steps} step(s); nothing is renumbered silently. "
            "Restore the folder from a copy, or repair it: keep those steps and drop the rest."
        )


@dataclass(frozen=True)
class Table:
    """A session table read back: its header, its whole rows, and where they end."""

    header: list[str]
    rows: list[list[str]]
    """Complete rows, in file order."""
    lines: list[int]
    """Line number of each row in `rows`."""
    torn_tail: bool
    """Whether the file ends in a row a crash cut short (ignored)."""
    damage: TableDamage | None = None
    """The first damaged line, if any; `rows` stop before it."""


def _read_table(path: Path, expected: Sequence[str]) -> tuple[list[str], list[list[str]], bool]:
    """The header, every complete line's fields, and whether the last line is torn.

    The table is opened through no link (`laetitia.sessions.paths`).

    Raises:
        SessionError: If the file is a link or not a regular file, cannot be read as UTF-8
            text, or lacks the expected header.
    """
    try:
        data = read_inside(path.parent, path.name, str(path))
    except OSError as error:
        raise SessionError(f"{path} cannot be read: {error.strerror or error}.") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SessionError(
            f"{path}, line {line}: not UTF-8 text (binary or damaged content); the session "
            "is damaged. Restore the folder from a copy."
        ) from error
    lines = text.split("\n")
    torn = lines[-1] != ""  # the last line has no line end: a crash cut it short
    lines = lines[:-1]
    try:
        rows = [next(csv.reader([line.removesuffix("\r")]), []) for line in lines]
    except csv.Error as error:
        raise SessionError(f"{path}: unreadable CSV ({error}); the session is damaged.") from error
    if not rows or rows[0][: len(expected)] != list(expected):
        raise SessionError(
            f"{path} does not have the columns its meta.json describes; expected "
            f"{list(expected)}, found {rows[0] if rows else 'an empty file'}."
        )
    return rows[0], rows[1:], torn


def _float(value: str) -> float:
    return math.nan if value == "" else float(value)


def _check_numbers(row: list[str], header: list[str], skip: Sequence[int] = ()) -> str | None:
    """Why `row` is not a row of numbers with one field per column; None if it is."""
    if len(row) != len(header):
        return f"{len(row)} fields where the header has {len(header)} (a torn or garbled row)"
    for i, value in enumerate(row):
        if i in skip:
            continue
        try:
            _float(value)
        except ValueError:
            return f"{header[i]} is {value[:40]!r}, not a number"
    return None


def scan_steps(path: Path, expected: Sequence[str]) -> Table:
    """Read `steps.csv`, stopping at the first damaged line (see `Table.damage`)."""
    header, body, torn = _read_table(path, expected)
    rows: list[list[str]] = []
    lines: list[int] = []
    damage = None
    for offset, row in enumerate(body):
        line = offset + 2
        reason = _check_numbers(row, header)
        if reason is None and not math.isfinite(_float(row[FIXED_COLUMNS.index("reward")])):
            reason = "the reward is not a finite number"
        if reason is None:
            step = _float(row[0])
            if step != len(rows):
                what = "repeats" if step < len(rows) else "skips"
                reason = f"step {row[0]} {what} the count (expected step {len(rows)})"
        if reason is not None:
            damage = TableDamage(path, line, reason, len(rows))
            break
        rows.append(row)
        lines.append(line)
    return Table(header, rows, lines, torn, damage)


def _outside(name: str, what: str) -> str | None:
    """Why a frame's file name leaves the session (absolute, `..`); None if it stays inside."""
    try:
        relative_parts(name, what)
    except SessionError:
        return f"file is {name[:80]!r}, a path outside the session folder"
    return None


FRAME_NUMERIC = tuple(i for i, name in enumerate(FRAME_FIXED_COLUMNS) if name != "file")


def scan_frames(
    path: Path, class_names: Sequence[str], n_steps: int, measures: Sequence[str] = ()
) -> Table:
    """Read `frames.csv` for the first `n_steps` steps, stopping at the first damaged line.

    Frames must be numbered 0, 1, 2, ... and belong to steps in order; the frames of a step
    that never reached `steps.csv` (a crash between the two) are left out. The header is
    `frame_columns(class_names, measures)`, or, for a session that keeps no signal column (its
    signal is `fer-happy`), `frame_prefix(class_names)`.

    Raises:
        SessionError: If the header is neither.
    """
    header, body, torn = _read_table(path, frame_prefix(class_names))
    if header not in (frame_prefix(class_names), frame_columns(class_names, measures)):
        raise SessionError(
            f"{path} does not have the columns its meta.json describes; expected "
            f"{frame_columns(class_names, measures)}, found {header}."
        )
    file_column = FRAME_FIXED_COLUMNS.index("file")
    rows: list[list[str]] = []
    lines: list[int] = []
    damage = None
    last_step = -1
    for offset, row in enumerate(body):
        line = offset + 2
        reason = _check_numbers(row, header, skip=(file_column,))
        if reason is None and row[file_column]:
            reason = _outside(row[file_column], f"{path}, line {line}: file")
        if reason is None:
            step, frame = int(_float(row[0])), int(_float(row[1]))
            if step < last_step:
                reason = f"frame of step {step} after frames of step {last_step}"
            elif frame != len(rows):
                reason = f"frame {frame} where frame {len(rows)} was expected"
        if reason is not None:
            # The frames of complete steps before this line are good; a step's frames are
            # only known whole once the next step begins, so the damaged step is dropped.
            damage = TableDamage(path, line, reason, min(n_steps, max(last_step, 0)))
            break
        if step >= n_steps:
            break  # frames of a step that never completed, and whatever follows them
        last_step = step
        rows.append(row)
        lines.append(line)
    if damage is None and n_steps and last_step != n_steps - 1:
        have = {int(_float(r[0])) for r in rows}
        missing = next(s for s in range(n_steps) if s not in have)
        damage = TableDamage(
            path,
            (lines[-1] + 1) if lines else 2,
            f"step {missing} has no frame rows, though steps.csv records it",
            missing,
        )
    return Table(header, rows, lines, torn, damage)


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
    values: np.ndarray | None = None
    """float32 (n,): the session's signal per frame, NaN where no face; None for a session
    whose table has no signal column (its signal is `fer-happy`: the "happy" column)."""
    measures: dict[str, np.ndarray] = field(default_factory=dict)
    """float32 (n,) per name: what the signal measures per frame beyond the probabilities."""

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

    @classmethod
    def from_rows(
        cls, body: list[list[str]], n_classes: int, header: Sequence[str] = ()
    ) -> FrameIndex:
        """Build the index from `frames.csv` rows already checked by `scan_frames`.

        Args:
            body: The rows.
            n_classes: How many class columns there are.
            header: The table's header, which names the signal's columns after the classes
                (none in a table without a signal column).
        """
        n = len(body)

        def floats(start: int, stop: int) -> np.ndarray:
            values = [[_float(v) for v in row[start:stop]] for row in body]
            return np.array(values, dtype=np.float64).reshape(n, stop - start)

        n_fixed = len(FRAME_FIXED_COLUMNS)
        after = n_fixed + n_classes
        extra = list(header[after:])
        kept = floats(after, after + len(extra)).astype(np.float32)
        return cls(
            step=np.array([int(row[0]) for row in body], dtype=np.int64),
            frame=np.array([int(row[1]) for row in body], dtype=np.int64),
            t=floats(2, 3)[:, 0],
            files=tuple(row[3] for row in body),
            has_face=np.array([row[4] == "1" for row in body], dtype=bool),
            boxes=floats(5, n_fixed).astype(np.float32),
            probs=floats(n_fixed, after).astype(np.float32),
            values=kept[:, 0] if extra[:1] == [SIGNAL_COLUMN] else None,
            measures={name: kept[:, k] for k, name in enumerate(extra) if k > 0},
        )


@dataclass(frozen=True)
class Session:
    """A session read back from its folder."""

    folder: Path
    meta: SessionMeta
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
    columns: tuple[str, ...] = ()
    """The header of `steps.csv`, extra columns (a replay's `recorded_reward`) included."""

    @property
    def n_steps(self) -> int:
        """Number of completed steps."""
        return int(self.steps["step"].shape[0])

    @property
    def frames_kept(self) -> bool:
        """Whether the session's frame images were recorded (False for `--no-frames`)."""
        return self.meta.frames_kept

    def params(self) -> np.ndarray:
        """Raw parameters shown at each step, float64 (n_steps, n_params)."""
        return np.stack([self.steps[name] for name in self.param_names], axis=1)

    def probs(self) -> np.ndarray:
        """Mean class probabilities at each step, float64 (n_steps, n_classes)."""
        return np.stack([self.steps[name] for name in self.class_names], axis=1)

    def recommended(self) -> np.ndarray | None:
        """The agent's recommendation (raw parameters) after each step, if the session has it.

        Returns:
            float64 (n_steps, n_params), NaN rows where the agent had none; None for a session
            that does not record it (not a training's, or written before format version 5).
        """
        names = [RECOMMENDED_PREFIX + name for name in self.param_names]
        if not all(name in self.columns for name in names):
            return None
        return np.stack([self.steps[name] for name in names], axis=1)

    def scored(self) -> np.ndarray:
        """Bool (n_steps,): the steps that saw a face (their reward was measured)."""
        return np.asarray(self.steps["faces"] > 0)

    def best_step(self) -> int:
        """Index of the scored step (at least one face) with the highest reward.

        Raises:
            SessionError: If no step was scored.
        """
        scored = np.flatnonzero(self.scored())
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
            signal=self.meta.signal_name,
            values=None if index.values is None else index.values[rows],
            measures={name: kept[rows] for name, kept in index.measures.items()},
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
                "frames turned off, or by a viewer without a camera): it holds only probabilities."
            )
        return tuple(decode_frame(self.folder, name) for name in files)

    def _require_index(self) -> FrameIndex:
        if self.frame_index is None:
            raise SessionError(
                f"session {self.folder} has no {FRAMES_FILE}: it was recorded before frames "
                "were indexed and holds only the mean probabilities of each step."
            )
        return self.frame_index


def decode_frame(folder: Path, name: str) -> np.ndarray:
    """Read back a frame written by the recorder: BGR uint8 (H, W, 3), as recorded.

    The image is read through no link (`laetitia.sessions.paths`), and its size is checked
    before it is decoded (`laetitia.images`).

    Args:
        folder: The session folder.
        name: The frame's file as `frames.csv` names it, relative to the folder.

    Raises:
        SessionError: If the file is missing, outside the session, a link, not a regular file,
            too large, or not a readable image.
    """
    what = f"{Path(folder) / FRAMES_FILE}: frame {name}"
    try:
        data = read_inside(folder, name, what)
    except OSError as error:
        raise SessionError(
            f"frame {Path(folder) / name} is missing or unreadable "
            f"({error.strerror or error}); the session's frames were moved or damaged. "
            "Restore the folder from a copy, or re-score without those steps."
        ) from error
    return decode_image(data, f"frame {Path(folder) / name}", error=SessionError)


@dataclass(frozen=True)
class Tables:
    """A session's tables as scanned, before any damage is refused."""

    meta: SessionMeta
    steps: Table
    frames: Table | None
    """None for a session without `frames.csv` (its record names no frame index)."""

    @property
    def damage(self) -> TableDamage | None:
        """The earliest damage in either table (by the steps it leaves good), if any."""
        found = [t.damage for t in (self.steps, self.frames) if t is not None and t.damage]
        return min(found, key=lambda d: d.good_steps) if found else None


def scan_tables(folder: Path | str) -> Tables:
    """Read a session's meta and tables without refusing damage in the tables.

    Raises:
        SessionError: If the folder is not a session, its meta.json is not a session record,
            or a table is unreadable as a whole (not UTF-8, wrong header).
    """
    folder = Path(folder)
    meta_path, steps_path = folder / META_FILE, folder / STEPS_FILE
    if not folder.is_dir() or not all(exists_inside(folder, n) for n in (META_FILE, STEPS_FILE)):
        raise SessionError(
            f"{folder} is not a session folder: it needs {META_FILE} and {STEPS_FILE}."
        )
    meta = read_meta(meta_path)
    space = meta.space(str(meta_path))
    expected = [*FIXED_COLUMNS, *space.names, *meta.class_names]
    steps = scan_steps(steps_path, expected)
    frames_path = folder / FRAMES_FILE
    frames = (
        scan_frames(frames_path, meta.class_names, len(steps.rows), meta.measures)
        if exists_inside(folder, FRAMES_FILE)
        else None
    )
    return Tables(meta, steps, frames)


def load_session(folder: Path | str) -> Session:
    """Read a session folder; a row a crash cut short at the end of a table is ignored.

    Raises:
        SessionError: If the folder is not a session, or its files are corrupt or damaged (the
            message names the file and line, and how to repair).
    """
    folder = Path(folder)
    tables = scan_tables(folder)
    damage = tables.damage
    if damage is not None:
        raise damage.error()
    meta = tables.meta
    header, body = tables.steps.header, tables.steps.rows
    table = np.array([[_float(v) for v in row] for row in body], dtype=np.float64)
    table = table.reshape(len(body), len(header))
    steps = {name: table[:, i] for i, name in enumerate(header)}
    index = (
        FrameIndex.from_rows(tables.frames.rows, len(meta.class_names), tables.frames.header)
        if tables.frames is not None
        else None
    )
    space = meta.space()
    return Session(
        folder,
        meta,
        steps,
        space.names,
        meta.class_names,
        index,
        table[:, FIXED_COLUMNS.index("t")],
        tuple(header),
    )

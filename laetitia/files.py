"""Writing files so that a crash leaves the old file or the new one, never half of one.

Every file the project writes whole (JSON records, CSV tables, tensors, figures, repaired
session tables) goes through `atomic_path`: the content is written to a temporary file beside
the target, flushed and fsync'ed, renamed over the target, and the folder is fsync'ed so the
rename itself is durable. A reader, or a process resuming after a kill or a power cut, sees
either the complete old file or the complete new one.

    write_json_atomic(folder / "meta.json", record)
    with atomic_path(folder / "tensors.safetensors") as tmp:
        save_file(arrays, tmp)          # any writer that takes a path

Files that grow by appending (a session's `steps.csv`) are not rewritten: `append_durably`
adds rows and fsyncs them.

A write that fails (a full disk, an I/O error at a write, an fsync or the rename) is a
`DiskError` naming the file and what to do, and leaves the old file as it was. A temporary file
left where the new one is written (a kill's leftover, or a link a folder was handed with) is
removed before writing, never written through.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from laetitia.errors import ConfigError, DiskError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TMP_SUFFIX = ".tmp"
"""Suffix of the temporary file beside a target while it is written."""


FSYNC_UNSUPPORTED = (errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF)
"""What a file system that cannot fsync a folder answers: not a fault of the disk."""


def disk_error(path: Path | str, error: OSError) -> DiskError:
    """A write of `path` that failed, in one line saying what to do."""
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC or error.errno == errno.EDQUOT:
        advice = "free space on that disk (or choose a folder on another one)"
    elif error.errno == errno.EROFS or error.errno == errno.EACCES:
        advice = "choose a folder you can write to"
    else:
        advice = "check that disk for errors (or choose a folder on another one)"
    return DiskError(f"cannot write {path}: {reason}; {advice}, then try again.")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 (hex) of a file's bytes: how a model or tensor file is named in records.

    Raises:
        FileNotFoundError: If the file does not exist.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(folder: Path) -> None:
    """Make the entries of a folder (new or renamed files) durable.

    Raises:
        DiskError: If the disk reports an error (a file system that cannot fsync a folder
            is not one).
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open folders (Windows)
        return
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in FSYNC_UNSUPPORTED:
            raise disk_error(folder, error) from error
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush a closed file's data to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path to write `path`'s new content to; it replaces `path` on success.

    On leaving the block without an error the temporary file is fsync'ed, renamed over `path`
    and the folder fsync'ed. On an error it is removed and `path` is left as it was; an
    `OSError` (a full disk, an I/O error) becomes a `DiskError` naming `path`.

    Raises:
        DiskError: If writing, fsync'ing or renaming fails.
    """
    path = Path(path)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        tmp.unlink(missing_ok=True)  # never write through what stands there (a link, say)
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)  # a link at `path` is replaced, never followed
    except BaseException as error:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # the disk that failed the write may fail this too: the error says so
        if isinstance(error, OSError) and not isinstance(error, DiskError):
            raise disk_error(path, error) from error
        raise
    fsync_dir(path.parent)


@contextmanager
def atomic_open(path: Path | str, mode: str = "w", **options: Any) -> Iterator[IO[Any]]:
    """`open()` on a temporary file that atomically replaces `path` when the block ends."""
    with atomic_path(path) as tmp, open(tmp, mode, **options) as handle:
        yield handle
        handle.flush()


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """Replace `path` with `data`, atomically and durably."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_text_atomic(path: Path | str, text: str) -> None:
    """Replace `path` with `text` (UTF-8), atomically and durably."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def write_json_atomic(
    path: Path | str, data: Any, indent: int = 2, sort_keys: bool = True, allow_nan: bool = True
) -> None:
    """Write JSON so that a reader sees the old file or the new one, never half of one.

    `allow_nan=False` refuses NaN and infinities (strict JSON) with a `ValueError`.
    """
    text = json.dumps(
        data, indent=indent, sort_keys=sort_keys, default=_json_default, allow_nan=allow_nan
    )
    write_text_atomic(path, text + "\n")


def _json_default(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def append_durably(fd: int, data: bytes) -> None:
    """Append `data` to a file opened for appending (a raw descriptor) and fsync it.

    Written unbuffered, so a failed append leaves nothing in a buffer for a later write: the
    caller can cut the file back to where it was.

    Raises:
        OSError: If the write or the fsync fails (the caller names the file).
    """
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def check_output_file(path: Path | str, field: str) -> Path:
    """`path` as a Path, if a file can be written there (its folder is created if needed).

    Args:
        path: Where a command will write.
        field: The config field that named it, for the message (e.g. "csv").

    Raises:
        ConfigError: If `path` is a folder, or its folder cannot be created or written.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give a file name inside it.", field=field)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot create its folder ({error.strerror or error}); choose a path you "
            "can write to.",
            field=field,
        ) from error
    if not os.access(path.parent, os.W_OK):
        raise ConfigError(f"{path}: its folder is not writable; choose another path.", field=field)
    return path


def check_figure_path(path: Path | str, field: str = "out") -> Path:
    """`path` as a Path, if its suffix names an image format matplotlib writes.

    Raises:
        ConfigError: If it does not.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    path = Path(path)
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in formats:
        raise ConfigError(
            f"cannot save a figure as {path.name!r}: end the file name with one of "
            f"{', '.join('.' + f for f in sorted(formats))}.",
            field=field,
        )
    return path


DPI_RANGE = (10, 2400)
"""The resolutions a figure is drawn at, in dots per inch (print needs 300-600)."""


def save_figure(fig: Figure, path: Path | str, dpi: int = 110, field: str = "out") -> Path:
    """Write a figure to `path` (format from its suffix: png, pdf, svg, ...), atomically.

    The figure's size in pixels is checked before anything is drawn: at most the pixels an
    image may have (`laetitia.images.max_pixels`), so no resolution asked for can exhaust
    the memory.

    Raises:
        ConfigError: If the suffix is not a format matplotlib writes, the resolution is out
            of `DPI_RANGE` or makes the figure larger than the pixel limit, or the file cannot
            be written.
    """
    from laetitia.images import MAX_PIXELS_ENV, max_pixels

    path = check_figure_path(path, field)
    low, high = DPI_RANGE
    if not low <= dpi <= high:
        raise ConfigError(f"dpi must be from {low} to {high}, got {dpi}.", field="dpi")
    width, height = (float(v) * dpi for v in fig.get_size_inches())
    if width * height > max_pixels():
        raise ConfigError(
            f"dpi {dpi} makes the figure {width:.0f}x{height:.0f} pixels, over the limit of "
            f"{max_pixels()} pixels; ask for a lower resolution, draw fewer sessions in one "
            f"figure, or raise the limit with ${MAX_PIXELS_ENV}.",
            field="dpi",
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=path.suffix.lower().lstrip("."))
    except OSError as error:
        raise ConfigError(
            f"cannot write {path}: {error.strerror or error}; choose a file you can write.",
            field=field,
        ) from error
    return path

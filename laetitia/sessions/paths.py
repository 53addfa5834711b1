"""Paths in a session folder: each resolves inside it, through no symbolic link, to a regular file.

A session folder is data, never a map of the disk. It may come from someone else (a
collaborator's recording), so nothing in it may lead a reader or a writer elsewhere. Every
file a session names, and every file of the session itself (its tables and record, a frame
image `frames.csv` names, the agent's tensors `agent.json` names, its prior's files), is
reached here:

- the name is a relative path with no `..` part and no empty or absolute one
  (`relative_parts`);
- the folders on the way are opened one at a time from the session folder's own descriptor,
  each without following a symbolic link (`O_NOFOLLOW`), so a link anywhere on the way is
  refused, not followed;
- the file itself is checked before it is opened (`lstat`): a link, a FIFO (which would block
  a reader forever), a device or a folder is refused; it is then opened with `O_NOFOLLOW` and
  `O_NONBLOCK` and checked again.

Each refusal is one `SessionError` naming the entry. Writers keep the same rules: the folders a
run writes into are real folders (`real_folder`), a file is only created where no entry stands
(`create_inside`: `O_EXCL`, which never follows a link), and what is removed is removed by
name from its real folder (`remove_inside`), so no link is followed for writing or deleting.

The session folder itself is the one named on the command line, and may be reached through
links: the user chose it. What is inside it may not.

    frame = read_inside(folder, "frames/00000012.png", "frames.csv, line 14: file")
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from laetitia.errors import LaetitiaError, SessionError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def relative_parts(
    relative: str, what: str, error: type[LaetitiaError] = SessionError
) -> tuple[str, ...]:
    """The parts of a path a session names, if it stays inside the session.

    Args:
        relative: The path as the session records it ("frames/00000000.png").
        what: The entry that names it, for the message ("frames.csv, line 3: file").
        error: The error to raise.

    Raises:
        error: If the path is empty, absolute, climbs with `..`, or holds a NUL byte.
    """
    if not relative or "\x00" in relative:
        raise error(f"{what} is {relative!r}, not the name of a file in the session.")
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise error(
            f"{what} is {relative!r}, a path outside the session folder; a session names only "
            "files inside itself. The session is damaged or was made to reach elsewhere: "
            "refuse it, or restore it from a copy."
        )
    return tuple(part for part in path.parts if part != ".")


def _refuse_link(what: str, relative: str, error: type[LaetitiaError]) -> LaetitiaError:
    return error(
        f"{what}: {relative} is, or passes through, a symbolic link; nothing in a session "
        "folder is followed elsewhere. Replace the link with the file itself, or refuse the "
        "session."
    )


def _refuse_kind(what: str, relative: str, mode: int, error: type[LaetitiaError]) -> LaetitiaError:
    kind = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    return error(
        f"{what}: {relative} is {kind}, not a regular file; a session holds only files. It is "
        "not opened."
    )


def _open_folder(part: str, fd: int, what: str, relative: str, error: type[LaetitiaError]) -> int:
    """A descriptor of the folder `part` in the folder `fd`, opened without following a link."""
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=fd)
    except OSError as failure:
        if failure.errno not in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):
            raise
        found = os.stat(part, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISLNK(found.st_mode):
            raise _refuse_link(what, relative, error) from failure
        raise error(
            f"{what}: {relative} passes through {part}, which is not a folder."
        ) from failure


@contextmanager
def _parent(
    folder: Path, parts: tuple[str, ...], what: str, relative: str, error: type[LaetitiaError]
) -> Iterator[int]:
    """A descriptor of the folder holding the last part, opened without following any link."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            inner = _open_folder(part, fd, what, relative, error)
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def _lstat_inside(
    folder: Path, relative: str, what: str, error: type[LaetitiaError]
) -> os.stat_result | None:
    """The entry's own status (a link's, not its target's), or None when there is none."""
    parts = relative_parts(relative, what, error)
    try:
        with _parent(folder, parts, what, relative, error) as fd:
            return os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def exists_inside(
    folder: Path | str, relative: str, what: str = "", error: type[LaetitiaError] = SessionError
) -> bool:
    """Whether the session has an entry of that name (a link counts: reading it is refused).

    Raises:
        error: If the path leaves the session, or passes through a link or a file.
    """
    return _lstat_inside(Path(folder), relative, what or relative, error) is not None


def is_file_inside(folder: Path | str, relative: str, what: str = "") -> bool:
    """Whether the entry is a regular file reached through no link (never raises)."""
    try:
        found = _lstat_inside(Path(folder), relative, what or relative, SessionError)
    except (LaetitiaError, OSError):
        return False
    return found is not None and stat.S_ISREG(found.st_mode)


def open_inside(
    folder: Path | str, relative: str, what: str = "", error: type[LaetitiaError] = SessionError
) -> BinaryIO:
    """Open a file the session names, for reading in binary, through no link.

    Args:
        folder: The session folder (or a folder in it the caller has checked, such as `agent`).
        relative: The path the session records, relative to `folder`.
        what: The entry that names it, for messages (by default the path itself).
        error: The error to raise for a path that leaves the folder or is not a file.

    Raises:
        error: If the path leaves the folder, passes through a link, or is not a regular file.
        FileNotFoundError: If there is no such entry (the caller says what that means).
        OSError: If the file cannot be read.
    """
    what = what or relative
    parts = relative_parts(relative, what, error)
    with _parent(Path(folder), parts, what, relative, error) as parent:
        found = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        if stat.S_ISLNK(found.st_mode):
            raise _refuse_link(what, relative, error)
        if not stat.S_ISREG(found.st_mode):
            raise _refuse_kind(what, relative, found.st_mode, error)
        try:
            fd = os.open(
                parts[-1],
                os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                dir_fd=parent,
            )
        except OSError as failure:
            if failure.errno == errno.ELOOP:
                raise _refuse_link(what, relative, error) from failure
            raise
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode):
        os.close(fd)
        raise _refuse_kind(what, relative, opened.st_mode, error)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_inside(
    folder: Path | str,
    relative: str,
    what: str = "",
    limit: int | None = None,
    error: type[LaetitiaError] = SessionError,
) -> bytes:
    """The bytes of a file the session names (see `open_inside`).

    Args:
        folder: The session folder.
        relative: The path the session records, relative to `folder`.
        what: The entry that names it, for messages.
        limit: The most bytes the file may hold; None for no limit.
        error: The error to raise.

    Raises:
        error: As `open_inside`, or if the file is larger than `limit`.
        FileNotFoundError: If there is no such entry.
        OSError: If the file cannot be read.
    """
    with open_inside(folder, relative, what, error) as handle:
        if limit is not None:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise error(
                    f"{what or relative}: {relative} holds {size} bytes, more than the "
                    f"{limit} such a file can hold; it is damaged or not the session's own."
                )
        return handle.read()


def real_folder(
    folder: Path | str,
    relative: str,
    what: str = "",
    create: bool = False,
    error: type[LaetitiaError] = SessionError,
) -> Path:
    """A folder of the session a run writes into, checked to be a real folder (no link).

    Args:
        folder: The session folder.
        relative: The folder inside it ("agent", "frames").
        what: What the folder is, for messages.
        create: Create it (and the folders above it in the session) when it is missing.
        error: The error to raise.

    Returns:
        `folder / relative`.

    Raises:
        error: If the path leaves the session, or an entry on the way is a link or a file.
        FileNotFoundError: If it is missing and `create` is False.
    """
    what = what or relative
    folder = Path(folder)
    parts = relative_parts(relative, what, error)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            if create:
                try:
                    os.mkdir(part, dir_fd=fd)
                except FileExistsError:
                    pass
            inner = _open_folder(part, fd, what, relative, error)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    return folder.joinpath(*parts)


def real_tree(
    folder: Path | str, relative: str, what: str = "", error: type[LaetitiaError] = SessionError
) -> Path:
    """A folder of the session that another library reads whole, checked first, every entry.

    For data a library opens by its own paths (a Minari dataset's `data/`): the folder and
    everything in it must be real folders and regular files, so that nothing it opens is a
    link leading elsewhere or a FIFO that would block it.

    Returns:
        `folder / relative`.

    Raises:
        error: If the path leaves the session, or any entry in it is a link or not a file.
        FileNotFoundError: If the folder is missing.
    """
    what = what or relative
    top = real_folder(folder, relative, what, error=error)
    for root, folders, files in os.walk(top, followlinks=False):
        for name in (*folders, *files):
            entry = Path(root, name)
            found = os.lstat(entry)
            shown = str(entry.relative_to(folder))
            if stat.S_ISLNK(found.st_mode):
                raise _refuse_link(what, shown, error)
            if not (stat.S_ISDIR(found.st_mode) or stat.S_ISREG(found.st_mode)):
                raise _refuse_kind(what, shown, found.st_mode, error)
    return top


def create_inside(
    folder: Path | str, relative: str, what: str = "", error: type[LaetitiaError] = SessionError
) -> BinaryIO:
    """A new file of the session, opened for writing in binary; never over an existing entry.

    Raises:
        error: If the path leaves the session, or an entry already stands there (a file of
            another run, or a link, which is never followed).
        OSError: If the file cannot be created.
    """
    what = what or relative
    parts = relative_parts(relative, what, error)
    with _parent(Path(folder), parts, what, relative, error) as parent:
        try:
            fd = os.open(
                parts[-1],
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o666,
                dir_fd=parent,
            )
        except FileExistsError as failure:
            raise error(
                f"{what}: {relative} already exists; a session never writes over a file it did "
                "not make in this run. Move it away, or choose an empty folder."
            ) from failure
    return os.fdopen(fd, "wb")


def remove_inside(folder: Path | str, relative: str, what: str = "") -> bool:
    """Remove an entry of the session by name (a link itself, never its target).

    Returns:
        Whether there was an entry to remove.

    Raises:
        SessionError: If the path leaves the session or passes through a link.
        OSError: If the entry cannot be removed (a folder, say).
    """
    what = what or relative
    parts = relative_parts(relative, what)
    try:
        with _parent(Path(folder), parts, what, relative, SessionError) as parent:
            os.unlink(parts[-1], dir_fd=parent)
    except FileNotFoundError:
        return False
    return True


def folder_identity(folder: Path | str) -> tuple[int, int]:
    """The folder's device and inode: a folder deleted or replaced has another, or none.

    Raises:
        FileNotFoundError: If the folder is gone.
    """
    found = os.stat(folder)
    return found.st_dev, found.st_ino


class RunFiles:
    """What a run adds to a folder, noted as it starts, so that exactly that can be taken back.

    A run that fails before its first step removes what it made and nothing else: the
    entries that were not in the folder (and in the folders in it the run writes into) when
    it started. Files the user had there, and their folders, stay as they were. Take the
    folder's writer lock before noting it, so no other writer adds to it meanwhile.

    Args:
        folder: The folder the run writes (it exists).
        subfolders: Folders in it the run writes into (`agent`, `prior`, `frames`), whether
            they exist yet or not.
    """

    def __init__(self, folder: Path | str, subfolders: tuple[str, ...] = ()) -> None:
        self.folder = Path(folder)
        self.subfolders = subfolders
        self._before = {name: self._entries(name) for name in (".", *subfolders)}

    def _entries(self, relative: str) -> set[str] | None:
        """The names in a folder of the run's; None when it is not there as a real folder."""
        try:
            where = self.folder if relative == "." else real_folder(self.folder, relative)
            return set(os.listdir(where))
        except (OSError, LaetitiaError):
            return None

    def take_back(self) -> None:
        """Remove every file and folder the run added since it started (best effort).

        A folder the run made goes once it is empty; nothing the folder held before, and no
        folder the run did not make, is touched. Links are removed as links, never followed.
        """
        for relative in (*reversed(self.subfolders), "."):
            before = self._before[relative]
            now = self._entries(relative)
            if now is None:
                continue
            for name in sorted(now - (before or set())):
                entry = name if relative == "." else f"{relative}/{name}"
                if entry in self._before:  # a folder of the run's, handled on its own
                    continue
                try:
                    remove_inside(self.folder, entry)
                except (OSError, LaetitiaError):
                    pass  # a folder the run did not expect to make: left as it is
            if relative != "." and before is None and not self._entries(relative):
                try:
                    os.rmdir(self.folder / relative)
                except OSError:
                    pass

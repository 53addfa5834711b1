"""One writer per session: an advisory lock that the kernel releases when its process ends.

Everything that writes a session folder (a training and its resume, a repair, an evaluation or
a re-scoring recorded as a session) holds `lock_session(folder)` while it writes. The lock is
`fcntl.flock(LOCK_EX | LOCK_NB)` on `writer.lock` in the folder, which holds the writer's
process id. A second writer is refused at once, in one line naming that process; a writer
killed at any moment leaves no stale lock (the kernel drops it with the process), at worst the
file, which the next writer reuses. Readers (`load_session`, `laetitia video`, `replay`, `plot`,
the `session:` viewer) never take it: they read a session being recorded up to its last
complete step.

Within one process the lock is held once per folder and counted: a training that holds it
hands it to its recorder by taking it again (`lock_session` returns a new handle on the same
lock). The file is removed when the last handle is released, while the lock is still held; a
writer that gets the lock checks that the file it locked is still the one at that name, so a
file removed between another's open and lock never lets two writers in.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from laetitia.errors import SessionError
from laetitia.sessions.layout import LOCK_FILE


@dataclass
class _Held:
    fd: int
    folder: Path
    count: int


_HELD: dict[tuple[int, int], _Held] = {}
"""The locks this process holds, by the session folder's device and inode."""


class SessionLock:
    """A handle on a session's writer lock; `release` (or leaving a `with` block) lets it go."""

    def __init__(self, key: tuple[int, int]) -> None:
        self._key: tuple[int, int] | None = key

    @property
    def held(self) -> bool:
        """Whether this handle still holds the lock."""
        return self._key is not None

    def release(self) -> None:
        """Let the lock go (the last handle removes the lock file); a second call does nothing."""
        key, self._key = self._key, None
        if key is None:
            return
        held = _HELD[key]
        held.count -= 1
        if held.count:
            return
        del _HELD[key]
        try:
            os.unlink(held.folder / LOCK_FILE)  # still locked: no other writer is in
        except OSError:
            pass  # the folder went away or became read-only: the kernel still drops the lock
        os.close(held.fd)

    def __enter__(self) -> SessionLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_session(folder: Path | str) -> SessionLock:
    """Take the writer lock of a session folder (which must exist).

    Raises:
        SessionError: If another process writes the session (naming its process id), or the
            lock file cannot be made (the folder is not writable, or `writer.lock` is a link
            or not a file).
    """
    folder = Path(folder)
    try:
        found = os.stat(folder)
    except OSError as error:
        raise SessionError(
            f"cannot lock the session folder {folder}: {error.strerror or error}."
        ) from error
    key = (found.st_dev, found.st_ino)
    held = _HELD.get(key)
    if held is not None:
        held.count += 1
        return SessionLock(key)
    fd = _lock(folder)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _HELD[key] = _Held(fd, folder, 1)
    return SessionLock(key)


def _lock(folder: Path) -> int:
    """A descriptor of the locked lock file, the one that stands at its name."""
    path = folder / LOCK_FILE
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise SessionError(
                    f"{path} is a symbolic link; nothing in a session folder is followed. "
                    "Remove it."
                ) from error
            raise SessionError(
                f"cannot write the session folder {folder}: {error.strerror or error}. Choose a "
                "folder you can write to."
            ) from error
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            os.close(fd)
            raise SessionError(f"{path} is not a regular file; remove it.")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _holder(fd)
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise SessionError(f"cannot lock {path}: {error.strerror or error}.") from error
            raise SessionError(
                f"the session {folder} is being written by another process ({holder}); a "
                "session has one writer. Wait for that one to end, or stop it, then try again."
            ) from error
        try:
            now = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            now = None
        if now is not None and (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino):
            return fd
        os.close(fd)  # the file was removed by the writer before: lock the one there now


def _holder(fd: int) -> str:
    """The process a lock file names, in words."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"process {text}" if text.isdigit() else "a process that has not said its id yet"

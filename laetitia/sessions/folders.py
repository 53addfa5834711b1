"""Finding sessions: the folder runs are written to, and every session under a folder."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from laetitia.errors import SessionError
from laetitia.sessions.layout import META_FILE, STEPS_FILE
from laetitia.sessions.paths import exists_inside
from laetitia.sessions.reader import Session, load_session

DEFAULT_RUNS = Path("runs")
"""Where `make demo` and `laetitia demo` write sessions (the notebook's default folder)."""
SESSIONS_ENV = "LAETITIA_SESSIONS"
"""Environment variable naming the folder the notebook reads sessions from."""


def find_session_dirs(parent: Path | str) -> list[Path]:
    """Session folders at or under `parent` (any depth), sorted by path."""
    parent = Path(parent)
    found = {
        steps.parent for steps in parent.rglob(STEPS_FILE) if exists_inside(steps.parent, META_FILE)
    }
    return sorted(found)


def load_sessions(paths: Path | str | Iterable[Path | str]) -> list[Session]:
    """Load sessions from session folders, or from every session under parent folders.

    Args:
        paths: One path or several; each is a session folder or a folder holding sessions at
            any depth (like `runs/`).

    Returns:
        The sessions, in the order given; those found under a parent are sorted by path.

    Raises:
        SessionError: If no path is given, a path does not exist, a folder is neither a session
            nor holds one, or a session's files are corrupt.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    folders = [Path(p) for p in paths]
    if not folders:
        raise SessionError("no session folder given; name one or more session folders.")
    sessions: list[Session] = []
    for path in folders:
        if not path.exists():
            raise SessionError(f"{path} does not exist; name a session folder or a folder of them.")
        if not path.is_dir() or any(exists_inside(path, n) for n in (META_FILE, STEPS_FILE)):
            sessions.append(load_session(path))
            continue
        found = find_session_dirs(path)
        if not found:
            raise SessionError(
                f"{path} is not a session folder (it needs {META_FILE} and {STEPS_FILE}) and "
                "holds none; make one with `laetitia demo` or `laetitia train`."
            )
        sessions.extend(load_session(folder) for folder in found)
    return sessions


def sessions_dir(environ: Mapping[str, str] | None = None, start: Path | None = None) -> Path:
    """The folder the notebook reads: `$LAETITIA_SESSIONS`, else the folder `make demo` fills.

    `make demo` writes to `runs/` at the repository root. The root is found by walking up from
    `start` (default: the working directory) to the folder holding `pyproject.toml` and
    `laetitia/`, so the answer is the same from the root and from `notebooks/`.
    """
    environ = os.environ if environ is None else environ
    if environ.get(SESSIONS_ENV):
        return Path(environ[SESSIONS_ENV]).expanduser()
    start = Path.cwd() if start is None else Path(start)
    for folder in (start, *start.resolve().parents):
        if (folder / "pyproject.toml").is_file() and (folder / "laetitia").is_dir():
            return folder / DEFAULT_RUNS
    return start / DEFAULT_RUNS

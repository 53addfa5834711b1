"""Checks on the files a command will write, made before the work that fills them."""

from __future__ import annotations

import os
from pathlib import Path

from laetitia.errors import ConfigError


def check_output_file(path: Path | str, option: str) -> Path:
    """`path` as a Path, if a file can be written there (its folder is created if needed).

    Args:
        path: Where the command will write.
        option: The option that named it, for the message (e.g. "--csv").

    Raises:
        ConfigError: If `path` is a folder, or its folder cannot be created or written.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name inside it.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"{option} {path}: cannot create its folder ({error.strerror or error}); "
            "choose a path you can write to."
        ) from error
    if not os.access(path.parent, os.W_OK):
        raise ConfigError(f"{option} {path}: its folder is not writable; choose another path.")
    return path

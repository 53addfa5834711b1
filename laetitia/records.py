"""Typed records read back from plain data (JSON files), strictly: the one from-dict helper.

Configs, model cards, calibration profiles and session metadata are frozen dataclasses written
as JSON. Reading one back goes through `from_dict`, built on `dacite` in strict mode: a key the
dataclass does not have, a missing key without a default, or a value of the wrong type is an
error naming the key and the file, never a silent default or a stray `TypeError`. The
dataclass's own `__post_init__` checks (ranges, names) run as usual, and their errors are
reported against the file too.

    config = from_dict(TrainConfig, meta["config"], source="runs/me/meta.json: config",
                       error=SessionError)

JSON has no tuples and no paths: lists become tuples and strings become `Path`s where the
dataclass asks for them; a whole number is accepted for a float, a bool never for a number.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import dacite

from laetitia.errors import ConfigError, LaetitiaError

T = TypeVar("T")


def _as_float(value: Any) -> Any:
    """A whole number where a float is asked for (JSON writes 1.0 as 1 in hand-made files)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _as_path(value: Any) -> Any:
    if isinstance(value, str | Path):
        return Path(value)
    raise dacite.WrongTypeError(field_type=Path, value=value)


def _as_int(value: Any) -> Any:
    if isinstance(value, bool):
        raise dacite.WrongTypeError(field_type=int, value=value)
    return value


_CONFIG = dacite.Config(
    strict=True,
    cast=[tuple],
    type_hooks={float: _as_float, int: _as_int, Path: _as_path},
)


JSON_LIMIT = 16 << 20
"""The largest JSON file read by default (16 MiB): laetitia's records are a few kB."""
MAX_DEPTH = 64
"""The deepest nesting of objects and lists a JSON file laetitia reads may have (its records
nest a few levels; deeper data would only test every reader's recursion)."""


def parse_json(
    data: bytes | str,
    source: str,
    error: type[LaetitiaError] = ConfigError,
    limit: int = JSON_LIMIT,
) -> Any:
    """JSON text read from a file, or one line saying why it is not JSON.

    A file laetitia is handed may be damaged or made to hurt: besides bad syntax and bytes that
    are not UTF-8, a file larger than `limit`, nesting deeper than `MAX_DEPTH` and numbers
    with more digits than Python converts are refused here, as the same one-line error.

    Args:
        data: The file's content.
        source: The file, for the message.
        error: The error to raise.
        limit: The most bytes the file may hold.

    Raises:
        error: If `data` is not JSON this process can read.
    """
    if len(data) > limit:
        raise error(
            f"{source} is corrupt: it holds {len(data)} bytes, more than the {limit} such a "
            "file can hold; it cannot be read."
        )
    deep = error(
        f"{source} is corrupt: it nests deeper than {MAX_DEPTH} levels, which no record of "
        "laetitia does; it cannot be read."
    )
    try:
        value = json.loads(data)
    except RecursionError as problem:
        raise deep from problem
    except (ValueError, UnicodeDecodeError) as problem:  # JSONDecodeError is a ValueError
        raise error(
            f"{source} is corrupt, not JSON ({str(problem)[:200]}); it cannot be read."
        ) from problem
    if _depth(value) > MAX_DEPTH:
        raise deep
    return value


def _depth(value: Any) -> int:
    """How deep objects and lists nest in parsed JSON (0 for a plain value), without recursion."""
    deepest = 0
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            if deepest > MAX_DEPTH:
                return deepest
            pending.extend((inner, depth + 1) for inner in item if isinstance(inner, dict | list))
    return deepest


def field_names(cls: type) -> list[str]:
    """The field names of a dataclass, in order."""
    return [f.name for f in dataclasses.fields(cls)]


def from_dict(
    cls: type[T],
    data: object,
    source: str,
    error: type[LaetitiaError] = ConfigError,
) -> T:
    """Build the dataclass `cls` from plain data, refusing anything it does not describe.

    Args:
        cls: A dataclass.
        data: The plain data (a JSON object).
        source: What the data came from, for messages: a file, and where in it.
        error: The error type to raise (a `SessionError` for a session's files, ...).

    Raises:
        error: For data that is not an object, an unknown key, a missing key, a value of the
            wrong type, or a value the dataclass's own checks refuse; the message names the
            key and `source`.
    """
    name = cls.__name__
    if not isinstance(data, Mapping):
        raise error(f"{source}: expected an object with the fields of {name}, found {data!r}.")
    try:
        return dacite.from_dict(cls, dict(data), config=_CONFIG)
    except dacite.UnexpectedDataError as problem:
        keys = ", ".join(repr(k) for k in sorted(problem.keys))
        raise error(
            f"{source}: unknown key(s) {keys}; {name} has {field_names(cls)}. The file was "
            "written by another version of laetitia, or edited by hand."
        ) from problem
    except dacite.MissingValueError as problem:
        raise error(f"{source}: the key {problem.field_path!r} of {name} is missing.") from problem
    except dacite.WrongTypeError as problem:
        wanted = getattr(problem.field_type, "__name__", str(problem.field_type))
        raise error(
            f"{source}: {problem.field_path!r} should be {wanted}, found {problem.value!r}."
        ) from problem
    except dacite.DaciteError as problem:
        raise error(f"{source}: {problem}.") from problem
    except LaetitiaError as problem:
        raise error(f"{source}: {problem}") from problem

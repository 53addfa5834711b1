"""An agent's settings: a frozen dataclass, checked field by field as it is built.

Each agent declares its settings as a subclass of `Settings`, a docstring under each field
(CleanRL's `Args`), and reads them as typed attributes (`self.settings.population`):

    @dataclass(frozen=True)
    class CmaEsSettings(Settings):
        agent: ClassVar[str] = "cma-es"
        population: int = 6  # with its docstring below it, as every field

        def _check(self) -> None:
            if self.population < 2:
                raise self._refused("population", "must be at least 2")

Building one checks every value against its field's type, as a setting read from JSON or the
command line must be: a whole number for an `int` (never true or false), any number for a
`float`, true or false for a `bool`, a list (kept as a tuple) for a `tuple[T, ...]`, one of the
choices for a `Literal`; then the sizes in `limits` are checked (a whole number, or each of a
tuple of them, between its bounds: the settings that size what an agent allocates, so no value
given can exhaust the memory), and `_check` checks the other ranges and choices. `from_dict`
and `replace` also refuse a name no field has, listing the valid ones. Every error is a
`ConfigError` about the field `agent_args` (what `laetitia train --agent-arg` fills) naming the
setting.

`to_dict` gives the settings as JSON (tuples as lists): what a saved agent's `agent.json`
holds, and what `from_dict` reads back.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

import numpy as np

from laetitia.errors import ConfigError

FIELD = "agent_args"
"""The config field agent settings are given in (`TrainConfig.agent_args`)."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The base of every agent's settings; a subclass adds the fields (see the module)."""

    agent: ClassVar[str]
    """The name of the agent these are the settings of (`laetitia.agents.AGENTS`)."""
    limits: ClassVar[Mapping[str, tuple[int, int]]] = {}
    """The bounds (inclusive) of the settings that size what the agent allocates or loops
    over: buffers, batches, networks, candidate sets. A tuple of whole numbers (a network's
    layers) has each checked."""

    def __post_init__(self) -> None:
        hints = type(self).hints()
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            held = _held(value, hints[field.name])
            if held is _REFUSED:
                raise self._wrong_type(field.name, value)
            object.__setattr__(self, field.name, held)
        for name, (low, high) in self.limits.items():
            value = getattr(self, name)
            values = value if isinstance(value, tuple) else (value,)
            rule = "must hold numbers" if isinstance(value, tuple) else "must be"
            if any(v < low for v in values):
                raise self._refused(name, f"{rule} at least {low}")
            if any(v > high for v in values):
                raise self._refused(name, f"{rule} at most {high}")
        self._check()

    def _check(self) -> None:
        """Refuse values out of range or not among the choices (subclasses say which)."""

    # ----- building -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Settings from plain data (JSON, `--agent-arg`s): the named ones, defaults for the rest.

        Raises:
            ConfigError: For a name no setting has, a value not of its setting's type, or a
                value out of its range; the message names the setting.
        """
        cls._refuse_unknown(data)
        return cls(**data)

    def replace(self, **changes: Any) -> Self:
        """These settings with `changes`, checked as `from_dict` checks them.

        Raises:
            ConfigError: As `from_dict`.
        """
        self._refuse_unknown(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every setting by name, as JSON (tuples as lists)."""
        return {f.name: _as_json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    # ----- what the fields are --------------------------------------------------------------
    @classmethod
    def names(cls) -> list[str]:
        """The settings' names, sorted."""
        return sorted(f.name for f in dataclasses.fields(cls))

    @classmethod
    def hints(cls) -> dict[str, Any]:
        """Each setting's type (its annotation, resolved)."""
        return typing.get_type_hints(cls)

    @classmethod
    def default(cls, name: str) -> Any:
        """The default of setting `name`.

        Raises:
            ConfigError: If no setting has that name.
        """
        cls._refuse_unknown({name: None})
        return getattr(cls(), name)

    @classmethod
    def value_of(cls, name: str, value: Any) -> Any:
        """`value` as setting `name` holds it (a whole number as a float, a list as a tuple).

        Raises:
            ConfigError: If no setting has that name, or `value` is not of its type.
        """
        cls._refuse_unknown({name: value})
        held = _held(value, cls.hints()[name])
        if held is _REFUSED:
            raise cls._wrong_type(name, value)
        return held

    # ----- errors -----------------------------------------------------------------------------
    @classmethod
    def _refuse_unknown(cls, data: Mapping[str, Any]) -> None:
        unknown = sorted(set(data) - set(cls.names()))
        if unknown:
            raise ConfigError(
                f"agent {cls.agent!r} has no setting(s) {unknown}; its settings are {cls.names()}.",
                field=FIELD,
            )

    @classmethod
    def _wrong_type(cls, name: str, value: Any) -> ConfigError:
        default = _as_json(getattr(cls, name))
        return ConfigError(
            f"agent {cls.agent!r} setting {name} takes {describe(cls.hints()[name])} (its "
            f"default is {default!r}), got {value!r}; give e.g. "
            f"{name}={json.dumps(default, separators=(',', ':'))}.",
            field=FIELD,
        )

    def _refused(self, name: str, rule: str) -> ConfigError:
        """The error for setting `name`'s value breaking `rule` ("must be at least 2")."""
        return ConfigError(
            f"agent {self.agent!r} setting {name} {rule}, got {getattr(self, name)!r}.",
            field=FIELD,
        )


class _Refused:
    """What `_held` returns for a value its type does not take (None is a value)."""


_REFUSED = _Refused()


def _held(value: Any, hint: Any) -> Any:
    """`value` as a setting of type `hint` holds it, or `_REFUSED`."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            held = _held(value, option)
            if held is not _REFUSED:
                return held
        return _REFUSED
    if origin is Literal:
        choices = typing.get_args(hint)
        fits = any(type(value) is type(c) and value == c for c in choices)
        return value if fits else _REFUSED
    if origin is tuple:
        item, rest = typing.get_args(hint)
        assert rest is Ellipsis, "settings hold tuples of any length: tuple[T, ...]"
        if not isinstance(value, list | tuple):
            return _REFUSED
        items = tuple(_held(v, item) for v in value)
        return _REFUSED if any(i is _REFUSED for i in items) else items
    return _held_plain(value, hint)


def _held_plain(value: Any, hint: Any) -> Any:
    """`value` as a setting of the plain type `hint` (None, bool, int, float, str) holds it."""
    if hint is type(None):
        return None if value is None else _REFUSED
    if hint is bool:
        return bool(value) if isinstance(value, bool | np.bool_) else _REFUSED
    if isinstance(value, bool | np.bool_):
        return _REFUSED  # true or false is no number
    if hint is int:
        return int(value) if isinstance(value, numbers.Integral) else _REFUSED
    if hint is float:
        return float(value) if isinstance(value, numbers.Real) else _REFUSED
    if hint is str:
        return value if isinstance(value, str) else _REFUSED
    raise TypeError(f"a setting cannot be of type {hint!r}; use one `Settings` describes.")


def describe(hint: Any) -> str:
    """What a setting of type `hint` takes, in words ("a whole number")."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(option) for option in typing.get_args(hint))
    if origin is Literal:
        return "one of " + ", ".join(repr(c) for c in typing.get_args(hint))
    if origin is tuple:
        return "a list of " + _PLURAL[typing.get_args(hint)[0]]
    return _WORDS[hint]


_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
_WORDS[type(None)] = "null"
_PLURAL = {int: "whole numbers", float: "numbers", str: "strings"}


def _as_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_as_json(v) for v in value]
    return value

"""The emoticon's parameter space: names, bounds, defaults and meanings, defined once.

The first eight parameters are the original DeepLaetitia emoticon's. Coordinates are in units of
the face radius, with y pointing up. Extra parameters may be appended after these eight, never
inserted before them or instead of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from laetitia.errors import ParameterError


@dataclass(frozen=True)
class Param:
    """One emoticon parameter."""

    name: str
    """Short name, as in the original project and in `steps.csv` columns."""
    low: float
    """Smallest allowed value."""
    high: float
    """Largest allowed value."""
    default: float
    """The original emoticon's value."""
    meaning: str
    """What the parameter changes in the drawing."""


@dataclass(frozen=True)
class ParamSpace:
    """An ordered set of parameters, with conversions between raw and normalised vectors.

    Normalised vectors map each parameter's [low, high] linearly onto [-1, 1].
    """

    params: tuple[Param, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in order."""
        return tuple(p.name for p in self.params)

    @property
    def low(self) -> np.ndarray:
        """Lower bounds, float64 (n,)."""
        return np.array([p.low for p in self.params], dtype=np.float64)

    @property
    def high(self) -> np.ndarray:
        """Upper bounds, float64 (n,)."""
        return np.array([p.high for p in self.params], dtype=np.float64)

    @property
    def defaults(self) -> np.ndarray:
        """The original emoticon, float64 (n,)."""
        return np.array([p.default for p in self.params], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.params)

    def validate(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Return `values` as float64 (n,), refusing a wrong length or non-finite entries.

        Raises:
            ParameterError: If the vector does not have one finite value per parameter.
        """
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (len(self),):
            raise ParameterError(
                f"expected {len(self)} emoticon parameters ({', '.join(self.names)}), "
                f"got an array of shape {arr.shape}."
            )
        if not np.all(np.isfinite(arr)):
            bad = [n for n, v in zip(self.names, arr, strict=True) if not math.isfinite(v)]
            raise ParameterError(f"emoticon parameters {bad} are not finite numbers.")
        return arr

    def clip(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Clip a raw vector into the bounds."""
        return np.clip(self.validate(values), self.low, self.high)

    def normalize(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Map a raw vector onto [-1, 1] per parameter."""
        arr = self.validate(values)
        return 2.0 * (arr - self.low) / (self.high - self.low) - 1.0

    def denormalize(self, unit: Sequence[float] | np.ndarray) -> np.ndarray:
        """Map a normalised vector back to raw values (not clipped)."""
        arr = self.validate(unit)
        return self.low + (arr + 1.0) * 0.5 * (self.high - self.low)

    def to_dict(self, values: Sequence[float] | np.ndarray) -> dict[str, float]:
        """Name each value of a raw vector."""
        arr = self.validate(values)
        return {name: float(v) for name, v in zip(self.names, arr, strict=True)}

    def from_dict(self, named: dict[str, float]) -> np.ndarray:
        """Build a raw vector from named values; every parameter must be present.

        Raises:
            ParameterError: If a name is missing or unknown.
        """
        missing = [n for n in self.names if n not in named]
        unknown = [n for n in named if n not in self.names]
        if missing or unknown:
            raise ParameterError(
                f"emoticon parameters missing {missing} / unknown {unknown}; "
                f"expected exactly {list(self.names)}."
            )
        return self.validate([named[n] for n in self.names])

    def describe(self) -> list[dict[str, float | str]]:
        """The space as plain data, for `meta.json`.

        Read back with `laetitia.sessions.meta.space_from_description`.
        """
        return [asdict(p) for p in self.params]

    def same_bounds(self, other: ParamSpace) -> bool:
        """Whether `other` has the same parameters, in the same order, with the same bounds."""
        return [(p.name, p.low, p.high) for p in self.params] == [
            (p.name, p.low, p.high) for p in other.params
        ]


PARAM_SPACE = ParamSpace(
    (
        Param("r", 0.0, 1.1, 0.5, "eye distance from the face centre; eyes at r·(±sin t, cos t)"),
        Param("t", 0.0, math.pi, 0.8, "angular spread of the eyes from the vertical, radians"),
        Param("s", 0.0, 0.5, 0.1, "pupil radius"),
        Param("a", -1.0, 1.0, 0.0, "mouth tilt: linear term of y = -0.35 + a·x + b·x² + c·x³"),
        Param("b", -1.2, 1.2, 0.6, "mouth curvature: > 0 grins, < 0 frowns"),
        Param("c", -2.0, 2.0, 0.0, "mouth S-shape: cubic term"),
        Param("ey", 0.05, 0.3, 0.16, "eyebrow height above the eye"),
        Param("er", -1.0, 1.0, 0.0, "eyebrow slant, mirrored per eye: > 0 raises the inner ends"),
    )
)
"""The emoticon's parameter space; every part of laetitia takes it from here."""

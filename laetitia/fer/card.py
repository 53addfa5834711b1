"""A FER model's identity, which travels inside its weights file (timm's PretrainedCfg, frozen).

Preprocessing reads the input size, colour, scaling and crop rule from the card; nothing
restates them by hand. The card is stored as JSON in the safetensors header
(`laetitia.fer.checkpoint`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from laetitia.errors import ConfigError
from laetitia.records import from_dict

MAX_INPUT_SIZE = 512
"""The largest crop side a card may ask for: a face crop, not a photograph (FER models take 48-
to 224-pixel crops); a larger one is a damaged card, refused before any buffer is allocated."""


@dataclass(frozen=True)
class ModelCard:
    """What a FER model expects and where it comes from."""

    name: str
    """Short identifier of these weights, e.g. "mini_xception_fer2013"."""

    arch: str
    """Architecture to build for the weights (a key of `laetitia.fer.model.ARCHS`)."""

    class_names: tuple[str, ...]
    """Output classes in logit order."""

    input_size: int
    """Side S in pixels of the square crop the model takes."""

    grayscale: bool
    """True for one-channel (grayscale) input, False for three channels (RGB)."""

    mean: tuple[float, ...]
    """Per-channel mean subtracted after dividing pixels by 255."""

    std: tuple[float, ...]
    """Per-channel divisor applied after subtracting `mean`: input = (x / 255 - mean) / std."""

    crop: str
    """Name of the face-crop rule (a key of `laetitia.fer.preprocess.CROP_RULES`)."""

    source: str
    """Where the weights come from (package, version, file, checksum)."""

    licence: str
    """Licence of the weights."""

    data_split: str = ""
    """How the data the weights were trained on were split into train, val and test: "by
    person" (no person's faces in two splits) or "by image" (the data named no person, so test
    figures may be optimistic for strangers); empty when not recorded (the shipped model:
    FER2013 names no person)."""

    def __post_init__(self) -> None:
        # JSON gives lists; a frozen card holds tuples so it hashes and compares by value.
        object.__setattr__(self, "class_names", tuple(self.class_names))
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))
        problems = []
        if not self.class_names or not all(isinstance(c, str) for c in self.class_names):
            problems.append(f"class_names must be a non-empty list of strings: {self.class_names}")
        if not 8 <= self.input_size <= MAX_INPUT_SIZE:
            problems.append(
                f"input_size must be between 8 and {MAX_INPUT_SIZE} pixels: {self.input_size}"
            )
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            problems.append(
                f"mean {self.mean} and std {self.std} need one value per input channel "
                f"({self.channels})"
            )
        if any(not (math.isfinite(s) and s > 0) for s in self.std):
            problems.append(f"std values must be positive numbers: {self.std}")
        if any(not math.isfinite(m) for m in self.mean):
            problems.append(f"mean values must be finite numbers: {self.mean}")
        if problems:
            raise ConfigError("invalid model card: " + "; ".join(problems) + ".")

    @property
    def channels(self) -> int:
        """Number of input channels: 1 for grayscale, 3 for colour."""
        return 1 if self.grayscale else 3

    def to_dict(self) -> dict[str, Any]:
        """The card as plain JSON-ready values (tuples as lists); no `data_split` when empty."""
        data = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if not self.data_split:
            # Not recorded: left out, so a card saved before the field existed (the shipped
            # model's) is written byte for byte as it was, and its file keeps its sha256.
            del data["data_split"]
        return data

    def to_json(self) -> str:
        """The card as a JSON object string (keys sorted, stable across runs)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: object, source: str = "model card") -> ModelCard:
        """Build a card from `to_dict` output, strictly (`laetitia.records.from_dict`).

        Raises:
            ConfigError: On unknown or missing keys, values of the wrong type or invalid
                values; the message names the key and `source` (a file, and where in it).
        """
        return from_dict(cls, data, source)

    @classmethod
    def from_json(cls, text: str, source: str = "model card") -> ModelCard:
        """Parse a card written by `to_json`.

        Raises:
            ConfigError: If the text is not JSON or not a valid card.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{source}: a model card must be JSON: {err}.") from err
        return cls.from_dict(data, source)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value

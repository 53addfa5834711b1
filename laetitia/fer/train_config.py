"""What a FER training run depends on (`TrainConfig`), and what a resumed run may change.

A config is checked when it is built: a value that cannot work is a `ConfigError` naming the
field. Every checkpoint stores the config (`to_dict`); a resumed run reads it back strictly
(`laetitia.records.from_dict`) and may change only the `RESUMABLE` settings
(`resume_changes`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from laetitia.errors import ConfigError
from laetitia.fer.data import select_classes
from laetitia.fer.model import ARCHS
from laetitia.fer.splits import SplitSpec
from laetitia.labels import EMOTIONS, indices_of

RESUMABLE: frozenset[str] = frozenset(
    {
        "data",
        "out",
        "epochs",
        "patience",
        "sampling_weights",
        "loss_weights",
        "balanced_loss",
        "device",
        "allow_stats_mismatch",
    }
)
"""Settings a resumed run may change (each change is logged); the others must stay the same."""

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a FER training run depends on; saved in each checkpoint."""

    data: str
    """FER2013 CSV or image-folder dataset (see `laetitia.fer.data`)."""

    out: str
    """Folder the run writes into."""

    classes: tuple[str, ...] = EMOTIONS
    """Classes to train on; kept in label-map order."""

    arch: str = "mini_xception"
    """Architecture, a key of `laetitia.fer.model.ARCHS`."""

    input_size: int | None = None
    """Side of the input crops in pixels; None takes the shipped model's (64)."""

    epochs: int = 60
    """Most epochs to train; also the length of the cosine schedule."""

    batch_size: int = 64
    """Images per optimiser step."""

    lr: float = 1e-3
    """AdamW learning rate at the first epoch."""

    lr_min: float = 1e-5
    """Floor of the cosine schedule, reached at the last epoch (> 0)."""

    weight_decay: float = 1e-4
    """AdamW's decoupled weight decay."""

    patience: int = 10
    """Stop after this many epochs without a better validation UAR."""

    seed: int = 0
    """Seed of the model's initialisation, the sampler, the augmentation and carved splits."""

    val_fraction: float = 0.1
    """Share of each class carved out for validation when the data has no val split."""

    test_fraction: float = 0.1
    """Share of each class carved out for testing when the data has no test split."""

    person_column: str | None = None
    """The column naming each face's person, in the CSV data or in the `people` file (there
    "person" when None); person folders (CLASS/PERSON/x.png) need none. With people named, the
    split is by person (`laetitia.fer.splits`)."""

    people: str | None = None
    """A people file for image folders: a CSV with columns `file` and the person column."""

    sampling_weights: Mapping[str, float] = field(default_factory=dict)
    """Per class: how much more often its images are drawn (1 = as often as they occur)."""

    loss_weights: Mapping[str, float] = field(default_factory=dict)
    """Per class: the weight of its images in the cross-entropy (1 = plain)."""

    balanced_loss: bool = False
    """Also weight the loss by inverse class frequency (normalised to mean 1)."""

    augment: bool = True
    """Augment training images (`laetitia.fer.augment.AugmentConfig` defaults)."""

    init: str = "scratch"
    """Initial weights: "scratch", "default" (the shipped model) or a model file."""

    device: str = "auto"
    """"auto" (a GPU when there is one), "cpu", "cuda" or "cuda:N"."""

    allow_stats_mismatch: bool = False
    """Train even when val/test inputs are scaled unlike the training inputs."""

    def __post_init__(self) -> None:
        classes = select_classes(self.classes)
        object.__setattr__(self, "classes", classes)
        for name in ("sampling_weights", "loss_weights"):
            object.__setattr__(self, name, _class_weights(getattr(self, name), classes, name))
        problems = self._problems()
        if problems:
            (first, message), *others = problems
            rest = "".join(f"; `{name}`{text[len(name) :]}" for name, text in others)
            # Each problem's message starts with its field; the other fields it names are
            # the comparisons made in `_problems` (lr_min is checked against `lr`).
            named = [name for name, _ in others] + [
                "lr" for name, _ in problems if name == "lr_min"
            ]
            raise ConfigError(
                message + rest + ".", field=first, mentions=tuple(dict.fromkeys(named))
            )
        self.split_spec()  # validates the fractions

    def _problems(self) -> list[tuple[str, str]]:
        """(field, message starting with the field's name) for each value that cannot work."""
        problems = []
        if self.arch not in ARCHS:
            problems.append(("arch", f"arch {self.arch!r} is not one of {sorted(ARCHS)}"))
        if self.input_size is not None and not 8 <= self.input_size <= 512:
            problems.append(
                ("input_size", f"input_size must be between 8 and 512, got {self.input_size}")
            )
        # batch_size sizes what a step holds in memory; epochs and patience count loops.
        for name, most in (("epochs", 100_000), ("batch_size", 65_536), ("patience", 100_000)):
            if getattr(self, name) < 1:
                problems.append((name, f"{name} must be at least 1, got {getattr(self, name)}"))
            elif getattr(self, name) > most:
                problems.append((name, f"{name} must be at most {most}, got {getattr(self, name)}"))
        if not (math.isfinite(self.lr) and self.lr > 0):
            problems.append(("lr", f"lr must be positive, got {self.lr}"))
        if not (math.isfinite(self.lr_min) and 0 < self.lr_min <= self.lr):
            problems.append(
                (
                    "lr_min",
                    f"lr_min must be positive and at most `lr` ({self.lr}), got {self.lr_min}: "
                    "a schedule that decays to 0 stops learning before the last epochs",
                )
            )
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            problems.append(("weight_decay", f"weight_decay must be >= 0, got {self.weight_decay}"))
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            problems.append(
                ("device", f"device must be one of {list(DEVICES)} or cuda:N, got {self.device!r}")
            )
        return problems

    def split_spec(self) -> SplitSpec:
        """How splits the data lacks are carved (seed and fractions)."""
        return SplitSpec(self.seed, self.val_fraction, self.test_fraction)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values of every field."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["classes"] = list(self.classes)
        data["sampling_weights"] = dict(self.sampling_weights)
        data["loss_weights"] = dict(self.loss_weights)
        return data


def parse_class_weights(items: Sequence[str]) -> dict[str, float]:
    """Per-class weights from items like "happy=2.0".

    Raises:
        ConfigError: On an item that is not CLASS=NUMBER.
        LabelMismatchError: On a class name the label map does not have.
    """
    weights: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not sep or not name.strip() or math.isnan(weight):
            raise ConfigError(f"a class weight is CLASS=NUMBER (e.g. happy=2.0), got {item!r}.")
        indices_of([name.strip()])
        weights[name.strip()] = weight
    return weights


def _class_weights(
    weights: Mapping[str, float], classes: Sequence[str], name: str
) -> dict[str, float]:
    """A weight for every class (1.0 where none is given), checked."""
    indices_of(list(weights))  # unknown names are label-map errors
    unused = [c for c in weights if c not in classes]
    if unused:
        raise ConfigError(
            f"{name} names {unused}, which the run does not train on (classes {list(classes)}); "
            "drop the weight or add the class to `classes`.",
            field=name,
            mentions=("classes",),
        )
    bad = {c: w for c, w in weights.items() if not (math.isfinite(w) and w > 0)}
    if bad:
        raise ConfigError(f"{name} weights must be positive numbers, got {bad}.", field=name)
    return {c: float(weights.get(c, 1.0)) for c in classes}


def changed_config(saved: TrainConfig, changes: Mapping[str, Any]) -> TrainConfig:
    """`saved` with `changes` applied (None values ignored): what a resumed run trains with.

    Raises:
        TypeError: On a change that names no field of `TrainConfig`.
        ConfigError: On a changed value the config refuses.
    """
    given = {k: v for k, v in changes.items() if v is not None}
    classes = given.get("classes", saved.classes)
    for name in ("sampling_weights", "loss_weights"):
        # Weights are per class: keep those of the classes asked for, so that a change of
        # classes is refused by `resume_changes` as the fixed setting it is.
        weights = given.get(name, getattr(saved, name))
        given[name] = {c: w for c, w in weights.items() if c in classes}
    return dataclasses.replace(saved, **given)


def resume_changes(saved: TrainConfig, config: TrainConfig) -> dict[str, dict[str, Any]]:
    """The settings `config` changes from `saved`, as {field: {"from": old, "to": new}}.

    Raises:
        ConfigError: If a setting outside `RESUMABLE` changes.
    """
    old, new = saved.to_dict(), config.to_dict()
    changed = {k: {"from": old[k], "to": new[k]} for k in old if old[k] != new[k]}
    fixed = {k: v for k, v in changed.items() if k not in RESUMABLE}
    if fixed:
        listed = "; ".join(f"`{k}`: {v['from']!r} -> {v['to']!r}" for k, v in fixed.items())
        raise ConfigError(
            f"a resumed run keeps its data split, classes, model and optimiser settings, but "
            f"these differ from the checkpoint's: {listed}. Drop them to resume, or start a new "
            f"run. On resume you may change {sorted(RESUMABLE)}.",
            mentions=tuple(fixed),
        )
    return changed

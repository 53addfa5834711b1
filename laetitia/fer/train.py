"""Train a FER CNN on labelled faces: reproducible, resumable, and checked before it starts.

`train(TrainConfig(...))` is what `laetitia fer train` runs:

1. Read the data (`laetitia.fer.data`), keep the chosen classes (in label-map order), split it
   (every class in every split, or `SplitError`), print and save the label distribution of
   each split, and the model-input statistics of train, val and test side by side; a set whose
   inputs are scaled unlike the training set's stops the run (`NormalizationMismatchError`).
2. Build the architecture the config names (`laetitia.fer.model.ARCHS`), from scratch or from
   a model file's weights (`init`, e.g. the shipped default), with the shipped model's
   preprocessing card (input size, scaling, crop rule) and the run's classes.
3. Each epoch: the training images in an order drawn by a seeded sampler (uniform, or weighted
   per class), augmented by a seeded generator (`laetitia.fer.augment`), AdamW on a
   class-weighted cross-entropy, the learning rate on a cosine from `lr` down to the floor
   `lr_min`; then validation accuracy and unweighted average recall (UAR).
4. After each epoch the full state goes to `OUT/checkpoints/last.{safetensors,json}`
   (`laetitia.fer.train_state`); a new best validation UAR also goes to
   `checkpoints/best.*` and to `best_model.safetensors` (a `save_model` file: `fer eval
   --model` and the meter's `--model` load it) with `best_model.json` beside it (the
   training data's input statistics and split). `history.csv` and `history.png` are redrawn.
   Training stops after `epochs`, or after `patience` epochs without a better validation UAR.
5. The best model is evaluated on the test split (`OUT/test/`, as `laetitia fer eval`).

Resuming from either checkpoint continues exactly as an uninterrupted run with the same
config would have (same order of images, same augmentation, same losses), on the CPU. Only
`RESUMABLE` settings may change on resume (e.g. the sampling weights); each change is printed
and recorded in the run's events.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from laetitia.errors import ConfigError, DatasetError, LabelMismatchError
from laetitia.fer.augment import AugmentConfig, augment
from laetitia.fer.card import ModelCard
from laetitia.fer.checkpoint import default_model_path, load_model, read_card, save_model
from laetitia.fer.classifier import FerModel
from laetitia.fer.data import (
    SPLITS,
    FaceSet,
    InputStats,
    Splits,
    SplitSpec,
    check_input_stats,
    input_stats,
    load_faces,
    select_classes,
    split_faces,
    stats_dict,
    stats_table,
    write_input_stats,
)
from laetitia.fer.evaluate import (
    BEST_MODEL,
    classification_metrics,
    model_notes_path,
    report,
    resolve_device,
    write_model_notes,
)
from laetitia.fer.model import ARCHS
from laetitia.fer.preprocess import normalize
from laetitia.fer.train_state import (
    MODEL_PREFIX,
    OPTIM_PREFIX,
    RNG_PREFIX,
    copy_file,
    copy_state,
    load_module_state,
    load_optimizer_state,
    load_rng_state,
    load_state,
    optimizer_state,
    rng_state,
    save_state,
    split_prefix,
    state_paths,
)
from laetitia.files import atomic_open, save_figure, write_json_atomic
from laetitia.labels import EMOTIONS, check_labels, indices_of
from laetitia.seeding import seed_everything

CHECKPOINTS = "checkpoints"
"""Sub-folder of a run holding the full training states `last` and `best`."""

HISTORY_FIELDS: tuple[str, ...] = (
    "epoch",
    "lr",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "val_uar",
    "seconds",
    "best",
)
"""Columns of history.csv, one row per epoch (`seconds` is wall time, the rest reproducible)."""

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

PLOT_INTERVAL_S = 30.0
"""Least wall time between two redraws of history.png during a run (drawing takes ~0.2 s)."""


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
        object.__setattr__(
            self,
            "sampling_weights",
            _class_weights(self.sampling_weights, classes, "sampling_weights"),
        )
        object.__setattr__(
            self, "loss_weights", _class_weights(self.loss_weights, classes, "loss_weights")
        )
        problems = []
        if self.arch not in ARCHS:
            problems.append(f"arch {self.arch!r} is not one of {sorted(ARCHS)}")
        if self.input_size is not None and self.input_size < 8:
            problems.append(f"input_size must be at least 8, got {self.input_size}")
        for name in ("epochs", "batch_size", "patience"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            problems.append(f"lr must be positive, got {self.lr}")
        if not (math.isfinite(self.lr_min) and 0 < self.lr_min <= self.lr):
            problems.append(
                f"lr_min must be positive and at most lr ({self.lr}), got {self.lr_min}: a "
                "schedule that decays to 0 stops learning before the last epochs"
            )
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            problems.append(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            problems.append(f"device must be one of {list(DEVICES)} or cuda:N, got {self.device!r}")
        if problems:
            raise ConfigError("invalid training config: " + "; ".join(problems) + ".")
        self.split_spec()  # validates the fractions

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Inverse of `to_dict`.

        Raises:
            ConfigError: On unknown or missing keys.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown training settings {unknown}; known: {sorted(names)}.")
        return cls(**{**data, "classes": tuple(data.get("classes", EMOTIONS))})


def parse_class_weights(items: Sequence[str]) -> dict[str, float]:
    """Per-class weights from CLI items like "happy=2.0".

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
    weights: Mapping[str, float], classes: Sequence[str], flag: str
) -> dict[str, float]:
    """A weight for every class (1.0 where none is given), checked."""
    indices_of(list(weights))  # unknown names are label-map errors
    unused = [name for name in weights if name not in classes]
    if unused:
        raise ConfigError(
            f"{flag} names {unused}, which the run does not train on (classes {list(classes)}); "
            "drop the weight or add the class to setting `classes`.",
            field=flag,
        )
    bad = {name: w for name, w in weights.items() if not (math.isfinite(w) and w > 0)}
    if bad:
        raise ConfigError(f"{flag} weights must be positive numbers, got {bad}.", field=flag)
    return {name: float(weights.get(name, 1.0)) for name in classes}


def cosine_lr(epoch: int, epochs: int, lr: float, lr_min: float) -> float:
    """Learning rate of epoch `epoch` (0-based): a cosine from `lr` (first) to `lr_min` (last)."""
    if epochs <= 1:
        return lr
    return (
        lr_min + (lr - lr_min) * (1 + math.cos(math.pi * min(epoch, epochs - 1) / (epochs - 1))) / 2
    )


def sample_order(
    labels: torch.Tensor, class_weights: Sequence[float], generator: torch.Generator
) -> torch.Tensor:
    """Positions of one epoch's training images, in training order.

    Equal weights: every image once, shuffled. Otherwise len(labels) draws with replacement,
    each image drawn with probability proportional to its class's weight.
    """
    if len(set(class_weights)) == 1:
        return torch.randperm(len(labels), generator=generator)
    per_image = torch.tensor(class_weights, dtype=torch.float64)[labels]
    return torch.multinomial(per_image, len(labels), replacement=True, generator=generator)


def loss_weight_vector(config: TrainConfig, train_counts: Mapping[str, int]) -> list[float]:
    """Per-class cross-entropy weights: `loss_weights`, times inverse frequency if balanced."""
    weights = np.array([config.loss_weights[c] for c in config.classes], np.float64)
    if config.balanced_loss:
        counts = np.array([train_counts[c] for c in config.classes], np.float64)
        inverse = counts.sum() / (len(counts) * counts)
        weights = weights * inverse / inverse.mean()
    return [float(w) for w in weights]


@dataclass(frozen=True)
class EpochResult:
    """What a finished epoch reports to a callback."""

    epoch: int
    """1-based number of the epoch just finished."""

    row: Mapping[str, Any]
    """Its history row (see `HISTORY_FIELDS`)."""


@dataclass(frozen=True)
class TrainResult:
    """Where a run stands when `train` returns."""

    out: Path
    best_model: Path
    best_epoch: int
    best_val_uar: float
    epochs_done: int
    stopped_early: bool
    history: tuple[Mapping[str, Any], ...]
    test_metrics: Mapping[str, Any] | None
    """Metrics of the best model on the test split; None if training was interrupted."""


@dataclass
class _Progress:
    """The mutable part of a run, saved in every checkpoint."""

    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_uar: float = -1.0
    bad_epochs: int = 0
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def resume_config(checkpoint: str | Path, **changes: Any) -> TrainConfig:
    """The config a checkpoint was trained with, with `changes` applied (None values ignored)."""
    _, record = load_state(_state_path(checkpoint))
    data = record["config"]
    data.update({k: v for k, v in changes.items() if v is not None})
    for weights in ("sampling_weights", "loss_weights"):
        # Weights are per class: keep those of the classes asked for, so that a change of
        # classes is refused by `train` as the fixed setting it is.
        data[weights] = {c: w for c, w in data[weights].items() if c in data["classes"]}
    return TrainConfig.from_dict(data)


def train(
    config: TrainConfig,
    resume: str | Path | None = None,
    log: Callable[[str], None] = print,
    progress: bool = True,
    callback: Callable[[EpochResult], bool] | None = None,
) -> TrainResult:
    """Train (or resume training) a FER model as `config` says; see the module docstring.

    Args:
        config: The run's settings. When resuming, only `RESUMABLE` ones may differ from the
            checkpoint's (see `resume_config`).
        resume: A state written by a run (`checkpoints/last.json`, `best.json`, either file
            of the pair, or the run folder for its last state); None starts a new run.
        log: Where progress lines and tables go.
        progress: Show progress bars.
        callback: Called after each epoch; returning False stops the run there (resumable).

    Returns:
        The best epoch, its validation UAR, the history and the test metrics.

    Raises:
        ConfigError: On settings that cannot work, a resumed run with changed fixed settings,
            or a new run into a folder that already holds one.
        DatasetError, SplitError, LabelMismatchError, NormalizationMismatchError: On data
            that fails the checks (see `laetitia.fer.data`).
        CheckpointError: On an unreadable or inconsistent checkpoint.
    """
    out = Path(config.out)
    state_tensors: dict[str, torch.Tensor] = {}
    record: dict[str, Any] = {}
    if resume is not None:
        state_tensors, record = load_state(_state_path(resume))
        changes = _resume_changes(TrainConfig.from_dict(record["config"]), config)
    _refuse_overwrite(out, record)
    if resume is not None:
        _carry_best(_state_path(resume), out)
    card = _run_card(config) if resume is None else ModelCard.from_dict(record["card"])
    check_labels(card.class_names, config.classes, source=f"training state {resume}")

    splits = _prepare_data(config, card, log)
    fingerprint = splits.fingerprint()
    if resume is not None and record["data_fingerprint"] != fingerprint:
        raise DatasetError(
            f"the data at {config.data} is not the data this run was trained on (its images, "
            "labels or splits differ); resume with the original data or start a new run."
        )
    stats = _check_stats(config, splits, card, log)
    out.mkdir(parents=True, exist_ok=True)
    splits.write(out)
    write_input_stats(out, stats)

    device = resolve_device(config.device)
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    seed_everything(config.seed)
    model = ARCHS[config.arch](num_classes=len(config.classes), in_channels=card.channels)
    generators = {
        "sampler": torch.Generator().manual_seed(config.seed + 1),
        "augment": torch.Generator().manual_seed(config.seed + 2),
    }
    if resume is None:
        _init_weights(model, config, card, log)
    else:
        load_module_state(model, split_prefix(state_tensors, MODEL_PREFIX), str(resume))
    model.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    progress_state = _Progress()
    if resume is not None:
        load_optimizer_state(
            optimizer, split_prefix(state_tensors, OPTIM_PREFIX), record["optimizer"]
        )
        load_rng_state(split_prefix(state_tensors, RNG_PREFIX), generators)
        progress_state = _Progress(**record["progress"])
        _log_event(progress_state, "resume", log, changes=changes, source=str(resume))
        if "patience" in changes and progress_state.bad_epochs < config.patience:
            progress_state.stopped_early = False
    else:
        _log_event(progress_state, "start", log, config=config.to_dict())

    run = _Run(
        config,
        card,
        splits,
        stats,
        fingerprint,
        model,
        optimizer,
        generators,
        device,
        progress_state,
        log,
    )
    finished = run.fit(progress, callback)
    test_metrics = None
    if finished and not (out / BEST_MODEL).exists():
        log(f"no {BEST_MODEL} in {out}: its best epoch was written elsewhere; no test report.")
    elif finished:
        best = load_model(out / BEST_MODEL, expected_classes=config.classes, device=device)
        test_metrics = report(
            best, splits.sets["test"], config.classes, out / "test", log=log, progress=progress
        )
    return TrainResult(
        out=out,
        best_model=out / BEST_MODEL,
        best_epoch=progress_state.best_epoch,
        best_val_uar=progress_state.best_val_uar,
        epochs_done=progress_state.epoch,
        stopped_early=progress_state.stopped_early,
        history=tuple(progress_state.history),
        test_metrics=test_metrics,
    )


def _refuse_overwrite(out: Path, record: Mapping[str, Any]) -> None:
    """Refuse to write over another run, or over later epochs of the run being resumed."""
    last = state_paths(out / CHECKPOINTS / "last")[1]
    if not last.exists():
        return
    if not record:
        raise ConfigError(
            f"out {out} already holds a training run; resume it, or choose another output folder.",
            field="out",
        )
    try:
        existing = json.loads(last.read_text())["progress"]
    except (OSError, ValueError, KeyError, TypeError):
        existing = None
    progress = record["progress"]
    if existing is None or existing["events"][:1] != progress["events"][:1]:
        raise ConfigError(
            f"out {out} holds another training run; resume into its own folder or a new one.",
            field="out",
        )
    if existing["epoch"] > progress["epoch"]:
        raise ConfigError(
            f"resuming from epoch {progress['epoch']} into {out} would overwrite its last "
            f"checkpoint (epoch {existing['epoch']}); give a new output folder to branch off "
            "there.",
            field="out",
        )


def _carry_best(state: Path, out: Path) -> None:
    """Copy the resumed run's best model and best state into a new run folder lacking them."""
    source = state_paths(state)[1].parent.parent
    if source.resolve() == out.resolve():
        return
    for name in (BEST_MODEL, model_notes_path(BEST_MODEL).name):
        if (source / name).exists() and not (out / name).exists():
            out.mkdir(parents=True, exist_ok=True)
            copy_file(source / name, out / name)
    best = source / CHECKPOINTS / "best"
    if state_paths(best)[1].exists() and not state_paths(out / CHECKPOINTS / "best")[1].exists():
        copy_state(best, out / CHECKPOINTS / "best")


def _state_path(path: str | Path) -> Path:
    path = Path(path)
    return path / CHECKPOINTS / "last" if path.is_dir() else path


def _resume_changes(saved: TrainConfig, config: TrainConfig) -> dict[str, dict[str, Any]]:
    old, new = saved.to_dict(), config.to_dict()
    changed = {k: {"from": old[k], "to": new[k]} for k in old if old[k] != new[k]}
    fixed = {k: v for k, v in changed.items() if k not in RESUMABLE}
    if fixed:
        listed = "; ".join(f"{k}: {v['from']!r} -> {v['to']!r}" for k, v in fixed.items())
        raise ConfigError(
            f"a resumed run keeps its data split, classes, model and optimiser settings, but "
            f"these differ from the checkpoint's: {listed}. Drop them to resume, or start a new "
            f"run. On resume you may change {sorted(RESUMABLE)}."
        )
    return changed


def _run_card(config: TrainConfig) -> ModelCard:
    """The shipped model's card (its preprocessing) with this run's classes and size."""
    base = read_card(default_model_path())
    return dataclasses.replace(
        base,
        name=f"{config.arch}_{Path(config.data).stem}",
        arch=config.arch,
        class_names=config.classes,
        input_size=config.input_size or base.input_size,
        source=f"laetitia fer train on {config.data}",
        licence="trained by the user; the weights follow the terms of the training data",
    )


def _prepare_data(config: TrainConfig, card: ModelCard, log: Callable[[str], None]) -> Splits:
    loaded = load_faces(config.data, config.classes, card.input_size)
    splits = split_faces(loaded, config.split_spec())
    log(f"data: {loaded.path} ({loaded.layout}); classes {list(config.classes)}")
    for note in loaded.notes:
        log(f"  {note}")
    for name, origin in splits.origin.items():
        log(f"  {name}: {origin}")
    log("label distribution:\n" + splits.table())
    splits.require(SPLITS)
    return splits


def _check_stats(
    config: TrainConfig, splits: Splits, card: ModelCard, log: Callable[[str], None]
) -> dict[str, InputStats]:
    stats = {name: input_stats(faces.images, card) for name, faces in splits.sets.items()}
    log("model inputs (after the card's scaling):\n" + stats_table(stats))
    if not config.allow_stats_mismatch:
        check_input_stats("train", stats["train"], {k: v for k, v in stats.items() if k != "train"})
    return stats


def _init_weights(
    model: nn.Module, config: TrainConfig, card: ModelCard, log: Callable[[str], None]
) -> None:
    """Copy weights from a model file (rows of the class head picked by class name)."""
    if config.init == "scratch":
        return
    source = load_model(None if config.init == "default" else config.init, expected_classes=None)
    if source.card.arch != config.arch:
        raise ConfigError(
            f"init model is a {source.card.arch!r}, the run trains {config.arch!r}.",
            field="init",
        )
    scaling = ("grayscale", "mean", "std")
    if any(getattr(source.card, k) != getattr(card, k) for k in scaling):
        raise ConfigError(
            f"init model scales its inputs differently "
            f"({[getattr(source.card, k) for k in scaling]} vs "
            f"{[getattr(card, k) for k in scaling]}); start from scratch instead.",
            field="init",
        )
    missing = [c for c in config.classes if c not in source.class_names]
    if missing:
        raise LabelMismatchError(
            f"init model has classes {list(source.class_names)}, not {missing}; fine-tune on "
            "a subset of its classes or start from scratch.",
            field="init",
        )
    rows = torch.tensor([source.class_names.index(c) for c in config.classes])
    heads = len(source.class_names)
    target = model.state_dict()
    state = {}
    for name, tensor in source.module.state_dict().items():
        if tensor.shape == target[name].shape and (
            source.class_names == config.classes or tensor.shape[:1] != (heads,)
        ):
            state[name] = tensor
        elif tensor.shape[0] == heads and tensor.shape[1:] == target[name].shape[1:]:
            state[name] = tensor[rows]
        else:
            raise ConfigError(
                f"init model's {name} {tuple(tensor.shape)} does not fit "
                f"{tuple(target[name].shape)}.",
                field="init",
            )
    model.load_state_dict(state, strict=True)
    log(
        f"initial weights: {config.init} ({source.card.name}), class head rows "
        f"{list(config.classes)}"
    )


def _log_event(progress: _Progress, event: str, log: Callable[[str], None], **details: Any) -> None:
    entry = {
        "event": event,
        "epoch": progress.epoch,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        **details,
    }
    progress.events.append(entry)
    if event == "resume":
        changes = details.get("changes") or {}
        log(f"resuming after epoch {progress.epoch} from {details.get('source')}")
        for key, change in changes.items():
            log(f"  changed on resume: {key}: {change['from']} -> {change['to']}")
    elif event != "start":
        log(f"{event} after epoch {progress.epoch}" + (f": {details}" if details else ""))


@dataclass
class _Run:
    """One training run in memory: data, model, optimiser, generators and progress."""

    config: TrainConfig
    card: ModelCard
    splits: Splits
    stats: dict[str, InputStats]
    fingerprint: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    generators: dict[str, torch.Generator]
    device: torch.device
    progress: _Progress
    log: Callable[[str], None]

    def fit(self, show_progress: bool, callback: Callable[[EpochResult], bool] | None) -> bool:
        """Run epochs until done, early-stopped or stopped by the callback.

        history.csv is written every epoch; history.png at most every `PLOT_INTERVAL_S`
        seconds and whenever this returns or raises.

        Returns:
            True when the run is over (all epochs or early stop), False if the callback stopped it.
        """
        try:
            return self._fit(show_progress, callback)
        finally:
            if self.progress.history:
                _plot_history(Path(self.config.out), self.progress.history)

    def _fit(self, show_progress: bool, callback: Callable[[EpochResult], bool] | None) -> bool:
        config, state = self.config, self.progress
        plotted = time.monotonic()
        train_set = self.splits.sets["train"]
        counts = train_set.counts()
        sampling = [config.sampling_weights[c] for c in config.classes]
        loss_weights = torch.tensor(
            loss_weight_vector(config, counts), dtype=torch.float32, device=self.device
        )
        self.log(
            f"training {config.arch} on {len(train_set)} images, {config.epochs} epochs, "
            f"device {self.device}; sampling weights {config.sampling_weights}; loss weights "
            f"{dict(zip(config.classes, loss_weights.tolist(), strict=True))}"
        )
        if state.stopped_early:
            self.log(
                f"the run stopped early after epoch {state.epoch}; pass a larger --patience "
                "to go on."
            )
            return True
        if state.epoch >= config.epochs:
            self.log(f"all {config.epochs} epochs are done; pass a larger --epochs to go on.")
            return True
        images = torch.from_numpy(train_set.images)
        labels = torch.from_numpy(train_set.labels)
        while state.epoch < config.epochs:
            started = time.perf_counter()
            lr = cosine_lr(state.epoch, config.epochs, config.lr, config.lr_min)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            order = sample_order(labels, sampling, self.generators["sampler"])
            train_loss, train_acc = self._train_epoch(
                images, labels, order, loss_weights, show_progress
            )
            # Validation and saving may draw from torch's global generator (building a module
            # initialises it randomly); forked, they leave the training's draws as they were.
            with torch.random.fork_rng(devices=[]):
                val_loss, val = self._validate(self.splits.sets["val"])
            state.epoch += 1
            improved = val["uar"] > state.best_val_uar
            if improved:
                state.best_val_uar, state.best_epoch, state.bad_epochs = val["uar"], state.epoch, 0
            else:
                state.bad_epochs += 1
            row = {
                "epoch": state.epoch,
                "lr": lr,
                "train_loss": train_loss,
                "train_acc": train_acc,
                "val_loss": val_loss,
                "val_acc": val["accuracy"],
                "val_uar": val["uar"],
                "seconds": round(time.perf_counter() - started, 3),
                "best": improved,
            }
            state.history.append(row)
            if state.bad_epochs >= config.patience and state.epoch < config.epochs:
                state.stopped_early = True
                _log_event(state, "early_stop", self.log, patience=config.patience)
            with torch.random.fork_rng(devices=[]):
                self._save(improved, val)
            self.log(
                f"epoch {state.epoch}/{config.epochs}: lr {lr:.2e}, train loss {train_loss:.4f} "
                f"acc {train_acc:.3f}; val loss {val_loss:.4f} acc {val['accuracy']:.3f} "
                f"UAR {val['uar']:.3f}{' (best)' if improved else ''}; {row['seconds']:.1f} s"
            )
            if time.monotonic() - plotted > PLOT_INTERVAL_S:
                _plot_history(Path(config.out), state.history)
                plotted = time.monotonic()
            if state.stopped_early:
                return True
            if callback is not None and callback(EpochResult(state.epoch, row)) is False:
                return False
        return True

    def _train_epoch(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        order: torch.Tensor,
        loss_weights: torch.Tensor,
        show_progress: bool,
    ) -> tuple[float, float]:
        config = self.config
        self.model.train()
        total_loss, correct = 0.0, 0
        batches = range(0, len(order), config.batch_size)
        bar = tqdm(
            batches,
            desc=f"epoch {self.progress.epoch + 1}/{config.epochs}",
            unit="batch",
            leave=False,
            disable=not show_progress,
        )
        for start in bar:
            index = order[start : start + config.batch_size]
            crops = images[index]
            if config.augment:
                crops = augment(crops, self.generators["augment"], AugmentConfig())
            x = normalize(crops.numpy(), self.card).to(self.device)
            y = labels[index].to(self.device)
            logits = self.model(x)
            loss = F.cross_entropy(logits, y, weight=loss_weights)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total_loss += float(loss.detach()) * len(index)
            correct += int((logits.argmax(dim=1) == y).sum())
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}", refresh=False)
        return total_loss / len(order), correct / len(order)

    def _validate(self, faces: FaceSet) -> tuple[float, dict[str, Any]]:
        """Plain cross-entropy and metrics of the current model on a set (inference path)."""
        model = FerModel(self.model, self.card, identity="(training)", device=self.device)
        logits = model.predict_logits(faces.images)
        loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(faces.labels)))
        return loss, classification_metrics(faces.labels, logits, self.config.classes)

    def _save(self, improved: bool, val: Mapping[str, Any]) -> None:
        out, state = Path(self.config.out), self.progress
        optim_tensors, optim_meta = optimizer_state(self.optimizer)
        tensors = {MODEL_PREFIX + k: v for k, v in self.model.state_dict().items()}
        tensors.update({OPTIM_PREFIX + k: v for k, v in optim_tensors.items()})
        tensors.update({RNG_PREFIX + k: v for k, v in rng_state(self.generators).items()})
        meta = {
            "config": self.config.to_dict(),
            "card": self.card.to_dict(),
            "progress": state.to_dict(),
            "optimizer": optim_meta,
            "schedule": {
                "kind": "cosine",
                "lr": self.config.lr,
                "lr_min": self.config.lr_min,
                "epochs": self.config.epochs,
                "next_epoch": state.epoch,
            },
            "sampling_weights": dict(self.config.sampling_weights),
            "loss_weights": loss_weight_vector(self.config, self.splits.sets["train"].counts()),
            "input_stats": stats_dict(self.stats),
            "splits": self.splits.to_dict(),
            "data_fingerprint": self.fingerprint,
            "versions": {"torch": torch.__version__},
        }
        last = out / CHECKPOINTS / "last"
        save_state(last, tensors, meta)
        if improved:
            copy_state(last, out / CHECKPOINTS / "best")
            card = dataclasses.replace(
                self.card,
                source=(
                    f"{self.card.source}: epoch {state.epoch}, val UAR {val['uar']:.4f}, "
                    f"data sha256 {self.fingerprint[:16]}"
                ),
            )
            save_model(self.model, card, out / BEST_MODEL)
            write_model_notes(
                out / BEST_MODEL,
                {
                    "epoch": state.epoch,
                    "val_uar": val["uar"],
                    "val_accuracy": val["accuracy"],
                    "data": self.config.data,
                    "data_fingerprint": self.fingerprint,
                    "split_spec": dataclasses.asdict(self.config.split_spec()),
                    "splits": self.splits.counts(),
                    "input_stats": stats_dict(self.stats),
                    "config": self.config.to_dict(),
                },
            )
        _write_history(out, state.history, state.events)


def _write_history(
    out: Path, history: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> None:
    with atomic_open(out / "history.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
        writer.writeheader()
        writer.writerows({k: row[k] for k in HISTORY_FIELDS} for row in history)
    write_json_atomic(out / "events.json", list(events), indent=1, sort_keys=False)


def _plot_history(out: Path, history: Sequence[Mapping[str, Any]]) -> None:
    from laetitia.fer.figures import history_figure

    save_figure(history_figure(history), out / "history.png")

"""Train a FER CNN on labelled faces: reproducible, resumable, and checked before it starts.

`train(TrainConfig(...))` starts a run and `resume(checkpoint, **changes)` continues one; they
are what `laetitia fer train` and `laetitia fer train --resume` run:

1. Read the data (`laetitia.fer.data`), keep the chosen classes (in label-map order), split it
   (`laetitia.fer.splits`: by person where the data name people, else by image, said plainly;
   every class in every split, or `SplitError`), print and save the label distribution of
   each split, and the model-input statistics of train, val and test side by side; a set whose
   inputs are scaled unlike the training set's stops the run (`NormalizationMismatchError`).
   The kind of split goes into the model card (`data_split`) and the run folder.
2. Build the architecture the config names (`laetitia.fer.model.ARCHS`), from scratch or from
   a model file's weights (`init`, e.g. the shipped default: `laetitia.fer.init_weights`),
   with the shipped model's preprocessing card (input size, scaling, crop rule) and the run's
   classes.
3. Train epoch after epoch (`laetitia.fer.epochs`, on the schedule of `laetitia.fer.schedule`),
   writing the state, the best model and the history after each (`laetitia.fer.run_folder`).
   Training stops after `epochs`, or after `patience` epochs without a better validation UAR.
4. The best model is evaluated on the test split (`OUT/test/`, as `laetitia fer eval`).

Resuming from either checkpoint continues exactly as an uninterrupted run with the same
config would have (same order of images, same augmentation, same losses), on the CPU. Only
`RESUMABLE` settings may change on resume (e.g. the sampling weights); each change is printed
and recorded in the run's events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from laetitia.errors import CheckpointError, DatasetError
from laetitia.fer.card import ModelCard
from laetitia.fer.checkpoint import default_model_path, load_model, read_card
from laetitia.fer.data import (
    SPLITS,
    InputStats,
    check_input_stats,
    input_stats,
    load_faces,
    stats_table,
    write_input_stats,
)
from laetitia.fer.epochs import Callback, fit
from laetitia.fer.evaluate import BEST_MODEL, report, resolve_device
from laetitia.fer.init_weights import init_weights
from laetitia.fer.model import ARCHS
from laetitia.fer.run import EpochResult, Progress, TrainingRun
from laetitia.fer.run_folder import carry_best, refuse_overwrite, state_path
from laetitia.fer.splits import Splits, split_faces
from laetitia.fer.train_config import (
    RESUMABLE,
    TrainConfig,
    changed_config,
    parse_class_weights,
    resume_changes,
)
from laetitia.fer.train_state import (
    MODEL_PREFIX,
    OPTIM_PREFIX,
    RNG_PREFIX,
    load_module_state,
    load_optimizer_state,
    load_rng_state,
    load_state,
    split_prefix,
    state_paths,
)
from laetitia.labels import check_labels
from laetitia.records import from_dict
from laetitia.seeding import seed_everything

__all__ = [
    "RESUMABLE",
    "EpochResult",
    "TrainConfig",
    "TrainResult",
    "parse_class_weights",
    "resume",
    "train",
]

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainResult:
    """Where a run stands when `train` or `resume` returns."""

    out: Path
    best_model: Path
    best_epoch: int
    best_val_uar: float
    epochs_done: int
    stopped_early: bool
    history: tuple[Mapping[str, Any], ...]
    test_metrics: Mapping[str, Any] | None
    """Metrics of the best model on the test split; None if training was interrupted."""


def train(
    config: TrainConfig,
    log: Log = print,
    progress: bool = True,
    callback: Callback | None = None,
) -> TrainResult:
    """Start a new FER training run as `config` says; see the module docstring.

    Args:
        config: The run's settings.
        log: Where progress lines and tables go.
        progress: Show progress bars.
        callback: Called after each epoch; returning False stops the run there (resumable).

    Returns:
        The best epoch, its validation UAR, the history and the test metrics.

    Raises:
        ConfigError: On settings that cannot work, or an output folder that holds a run.
        DatasetError, SplitError, LabelMismatchError, NormalizationMismatchError: On data
            that fails the checks (see `laetitia.fer.data`).
    """
    refuse_overwrite(Path(config.out), None)
    card = _run_card(config)
    splits = _load_splits(config, log, card.input_size)
    card = dataclasses.replace(card, data_split=splits.kind)
    stats = _check_and_write_inputs(config, splits, card, log)
    fingerprint = splits.fingerprint()
    set_weights = partial(init_weights, config=config, card=card, log=log)
    run = _build_run(config, card, splits, stats, fingerprint, Progress(), log, set_weights)
    run.progress.record_event("start", log, config=config.to_dict())
    return _fit_and_test(run, progress, callback)


def resume(
    checkpoint: str | Path,
    log: Log = print,
    progress: bool = True,
    callback: Callback | None = None,
    **changes: Any,
) -> TrainResult:
    """Continue a FER training run from a state it wrote, with `changes` to its settings.

    Args:
        checkpoint: A state a run wrote (`checkpoints/last.json`, `best.json`, either file
            of the pair, or the run folder for its last state).
        log: Where progress lines and tables go.
        progress: Show progress bars.
        callback: Called after each epoch; returning False stops the run there (resumable).
        **changes: New values of `RESUMABLE` settings (e.g. `epochs=80`); None values are
            ignored. A new `out` branches the run off into another folder.

    Returns:
        As `train`.

    Raises:
        ConfigError: On a changed fixed setting, or an `out` holding another run or later
            epochs of this one.
        CheckpointError: On an unreadable or inconsistent checkpoint.
        DatasetError: If the data is not the data the run was trained on.
    """
    state = _read_checkpoint(checkpoint)
    config = changed_config(state.config, changes)
    changed = resume_changes(state.config, config)
    refuse_overwrite(Path(config.out), state.progress)
    carry_best(state.path, Path(config.out))
    check_labels(state.card.class_names, config.classes, source=f"training state {checkpoint}")
    splits = _load_splits(config, log, state.card.input_size)
    fingerprint = state.check_data(splits, config)
    stats = _check_and_write_inputs(config, splits, state.card, log)
    run = _build_run(
        config, state.card, splits, stats, fingerprint, state.progress, log, state.set_weights
    )
    state.restore(run, changed, source=str(checkpoint))
    return _fit_and_test(run, progress, callback)


@dataclass(frozen=True)
class _Checkpoint:
    """A training state read back for `resume`."""

    path: Path
    config: TrainConfig
    card: ModelCard
    progress: Progress
    tensors: dict[str, torch.Tensor]
    record: dict[str, Any]

    def set_weights(self, model: nn.Module) -> None:
        """Give `model` the saved weights."""
        load_module_state(model, split_prefix(self.tensors, MODEL_PREFIX), str(self.path))

    def check_data(self, splits: Splits, config: TrainConfig) -> str:
        """The fingerprint of `splits`, if it is the one of the data the run was trained on.

        Raises:
            DatasetError: If it is not.
        """
        fingerprint = splits.fingerprint()
        if self.record["data_fingerprint"] != fingerprint:
            raise DatasetError(
                f"the data at {config.data} is not the data this run was trained on (its "
                "images, labels or splits differ); resume with the original data or start a "
                "new run.",
                field="data",
            )
        return fingerprint

    def restore(self, run: TrainingRun, changes: Mapping[str, Any], source: str) -> None:
        """Give the run its saved optimiser and generator states; record the resume.

        Args:
            run: The run built from this state's config (changed) and weights.
            changes: The settings changed on resume (`resume_changes`).
            source: The checkpoint, as the caller named it.
        """
        optim = split_prefix(self.tensors, OPTIM_PREFIX)
        load_optimizer_state(run.optimizer, optim, self.record["optimizer"])
        load_rng_state(split_prefix(self.tensors, RNG_PREFIX), run.generators)
        run.progress.record_event("resume", run.log, changes=changes, source=source)
        if "patience" in changes and run.progress.bad_epochs < run.config.patience:
            run.progress.stopped_early = False  # a larger patience lets the run go on


def _read_checkpoint(checkpoint: str | Path) -> _Checkpoint:
    """The state `checkpoint` names, its config, card and progress read strictly."""
    path = state_path(checkpoint)
    tensors, record = load_state(path)
    source = state_paths(path)[1]
    return _Checkpoint(
        path=path,
        config=from_dict(TrainConfig, record["config"], f"{source}: config", CheckpointError),
        card=from_dict(ModelCard, record["card"], f"{source}: card", CheckpointError),
        progress=Progress.from_dict(record["progress"], f"{source}: progress"),
        tensors=tensors,
        record=record,
    )


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


def _load_splits(config: TrainConfig, log: Log, size: int) -> Splits:
    """The run's data, split (by person where the data name people), every class in each."""
    loaded = load_faces(config.data, config.classes, size, config.person_column, config.people)
    splits = split_faces(loaded, config.split_spec())
    log(f"data: {loaded.path} ({loaded.layout}); classes {list(config.classes)}")
    for note in loaded.notes:
        log(f"  {note}")
    log(splits.describe())
    for name, origin in splits.origin.items():
        log(f"  {name}: {origin}")
    log("label distribution:\n" + splits.table())
    splits.require(SPLITS)
    return splits


def _check_and_write_inputs(
    config: TrainConfig, splits: Splits, card: ModelCard, log: Log
) -> dict[str, InputStats]:
    """Model-input statistics of each split, checked alike; the splits and statistics saved."""
    stats = {name: input_stats(faces.images, card) for name, faces in splits.sets.items()}
    log("model inputs (after the card's scaling):\n" + stats_table(stats))
    if not config.allow_stats_mismatch:
        check_input_stats("train", stats["train"], {k: v for k, v in stats.items() if k != "train"})
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    splits.write(out)
    write_input_stats(out, stats)
    return stats


def _build_run(
    config: TrainConfig,
    card: ModelCard,
    splits: Splits,
    stats: dict[str, InputStats],
    fingerprint: str,
    progress: Progress,
    log: Log,
    set_weights: Callable[[nn.Module], None],
) -> TrainingRun:
    """The run on its device: a seeded model (weights from `set_weights`), AdamW, generators."""
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
    set_weights(model)
    model.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    return TrainingRun(
        config,
        card,
        splits,
        stats,
        fingerprint,
        model,
        optimizer,
        generators,
        device,
        progress,
        log,
    )


def _fit_and_test(run: TrainingRun, progress: bool, callback: Callback | None) -> TrainResult:
    """Train the run to its end (or the callback's stop); test the best model if it ended."""
    finished = fit(run, progress, callback)
    out, state = Path(run.config.out), run.progress
    return TrainResult(
        out=out,
        best_model=out / BEST_MODEL,
        best_epoch=state.best_epoch,
        best_val_uar=state.best_val_uar,
        epochs_done=state.epoch,
        stopped_early=state.stopped_early,
        history=tuple(state.history),
        test_metrics=_test_report(run, progress) if finished else None,
    )


def _test_report(run: TrainingRun, progress: bool) -> Mapping[str, Any] | None:
    """The best model's report on the test split (`OUT/test/`); None if it is elsewhere."""
    out, classes = Path(run.config.out), run.config.classes
    if not (out / BEST_MODEL).exists():
        run.log(f"no {BEST_MODEL} in {out}: its best epoch was written elsewhere; no test report.")
        return None
    best = load_model(out / BEST_MODEL, expected_classes=classes, device=run.device)
    return report(
        best, run.splits.sets["test"], classes, out / "test", log=run.log, progress=progress
    )

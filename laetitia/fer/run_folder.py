"""A FER training run's folder: what each epoch writes there, and what guards it.

    OUT/checkpoints/last.{safetensors,json}   the full state after the latest epoch
    OUT/checkpoints/best.{safetensors,json}   the state of the best epoch (validation UAR)
    OUT/best_model.safetensors, .json         the best epoch's model (`save_model`) and notes
    OUT/history.csv, history.png, events.json one row per epoch; the curves; starts and resumes

Every file is written atomically (`laetitia.files`, `laetitia.fer.train_state`), so a run
killed at any moment leaves each file whole. A new run never writes into a folder holding
another; a resumed one never overwrites epochs later than those it resumes from.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from laetitia.errors import ConfigError
from laetitia.fer.checkpoint import save_model
from laetitia.fer.data import stats_dict
from laetitia.fer.evaluate import BEST_MODEL, model_notes_path, write_model_notes
from laetitia.fer.run import Progress, TrainingRun
from laetitia.fer.schedule import loss_weight_vector
from laetitia.fer.train_state import (
    MODEL_PREFIX,
    OPTIM_PREFIX,
    RNG_PREFIX,
    copy_file,
    copy_state,
    optimizer_state,
    rng_state,
    save_state,
    state_paths,
)
from laetitia.files import atomic_open, save_figure, write_json_atomic

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


def state_path(path: str | Path) -> Path:
    """The training state a path names: a state file, or a run folder for its last state."""
    path = Path(path)
    return path / CHECKPOINTS / "last" if path.is_dir() else path


def save_epoch(run: TrainingRun, improved: bool, val: Mapping[str, Any]) -> None:
    """Write the state after an epoch, the best model if it `improved`, and the history."""
    out = Path(run.config.out)
    last = out / CHECKPOINTS / "last"
    optim_tensors, optim_meta = optimizer_state(run.optimizer)
    tensors = {MODEL_PREFIX + k: v for k, v in run.model.state_dict().items()}
    tensors.update({OPTIM_PREFIX + k: v for k, v in optim_tensors.items()})
    tensors.update({RNG_PREFIX + k: v for k, v in rng_state(run.generators).items()})
    save_state(last, tensors, _state_meta(run, optim_meta))
    if improved:
        copy_state(last, out / CHECKPOINTS / "best")
        _save_best_model(run, val)
    write_history(out, run.progress.history, run.progress.events)


def _state_meta(run: TrainingRun, optim_meta: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON half of a training state (`laetitia.fer.train_state`)."""
    config = run.config
    return {
        "config": config.to_dict(),
        "card": run.card.to_dict(),
        "progress": run.progress.to_dict(),
        "optimizer": optim_meta,
        "schedule": {
            "kind": "cosine",
            "lr": config.lr,
            "lr_min": config.lr_min,
            "epochs": config.epochs,
            "next_epoch": run.progress.epoch,
        },
        "sampling_weights": dict(config.sampling_weights),
        "loss_weights": loss_weight_vector(config, run.splits.sets["train"].counts()),
        "input_stats": stats_dict(run.stats),
        "splits": run.splits.to_dict(),
        "data_fingerprint": run.fingerprint,
        "versions": {"torch": torch.__version__},
    }


def _save_best_model(run: TrainingRun, val: Mapping[str, Any]) -> None:
    """`best_model.safetensors` (its card naming the epoch) and the notes beside it."""
    out, epoch = Path(run.config.out), run.progress.epoch
    card = dataclasses.replace(
        run.card,
        source=(
            f"{run.card.source}: epoch {epoch}, val UAR {val['uar']:.4f}, "
            f"data sha256 {run.fingerprint[:16]}"
        ),
    )
    save_model(run.model, card, out / BEST_MODEL)
    notes = {
        "epoch": epoch,
        "val_uar": val["uar"],
        "val_accuracy": val["accuracy"],
        "data": run.config.data,
        "data_fingerprint": run.fingerprint,
        "split_spec": dataclasses.asdict(run.config.split_spec()),
        "person_source": {"person_column": run.config.person_column, "people": run.config.people},
        "split_kind": run.splits.kind,
        "caveat": run.splits.caveat(),
        "splits": run.splits.counts(),
        "people": run.splits.people(),
        "input_stats": stats_dict(run.stats),
        "config": run.config.to_dict(),
    }
    write_model_notes(out / BEST_MODEL, notes)


def write_history(
    out: Path, history: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> None:
    """Write history.csv (`HISTORY_FIELDS`) and events.json."""
    with atomic_open(out / "history.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
        writer.writeheader()
        writer.writerows({k: row[k] for k in HISTORY_FIELDS} for row in history)
    write_json_atomic(out / "events.json", list(events), indent=1, sort_keys=False)


def plot_history(out: Path, history: Sequence[Mapping[str, Any]]) -> None:
    """Draw the loss, accuracy and UAR curves into history.png."""
    from laetitia.fer.figures import history_figure

    save_figure(history_figure(history), out / "history.png")


def refuse_overwrite(out: Path, resumed: Progress | None) -> None:
    """Refuse to write over another run, or over later epochs of the run being resumed.

    Args:
        out: The run folder.
        resumed: The progress of the state a run resumes from; None for a new run.

    Raises:
        ConfigError: If `out` holds another run, or (resuming) a later epoch of this one.
    """
    last = state_paths(out / CHECKPOINTS / "last")[1]
    if not last.exists():
        return
    if resumed is None:
        raise ConfigError(
            f"out {out} already holds a training run; resume it, or choose another output folder.",
            field="out",
        )
    try:
        existing = json.loads(last.read_text())["progress"]
    except (OSError, ValueError, KeyError, TypeError):
        existing = None
    if existing is None or existing["events"][:1] != resumed.events[:1]:
        raise ConfigError(
            f"out {out} holds another training run; resume into its own folder or a new one.",
            field="out",
        )
    if existing["epoch"] > resumed.epoch:
        raise ConfigError(
            f"out: resuming from epoch {resumed.epoch} into {out} would overwrite its last "
            f"checkpoint (epoch {existing['epoch']}); give a new output folder to branch off "
            "there.",
            field="out",
        )


def carry_best(state: Path, out: Path) -> None:
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

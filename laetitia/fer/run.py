"""One FER training run in memory: what it trains on, what it trains, and how far it got.

`TrainingRun` is what the epoch loop (`laetitia.fer.epochs`) advances and what the run folder
(`laetitia.fer.run_folder`) saves; `Progress` is its mutable part, saved in every checkpoint
and read back strictly on resume.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import torch
from torch import nn

from laetitia.errors import CheckpointError
from laetitia.fer.card import ModelCard
from laetitia.fer.data import InputStats
from laetitia.fer.splits import Splits
from laetitia.fer.train_config import TrainConfig
from laetitia.records import from_dict


@dataclass
class Progress:
    """The mutable part of a run, saved in every checkpoint."""

    epoch: int = 0
    """Epochs done."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """One row per epoch done (see `laetitia.fer.run_folder.HISTORY_FIELDS`)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Starts, resumes and early stops, in order (`record_event`)."""
    best_epoch: int = 0
    """The epoch with the best validation UAR so far (0: none yet)."""
    best_val_uar: float = -1.0
    """Its validation UAR."""
    bad_epochs: int = 0
    """Epochs since the best one."""
    stopped_early: bool = False
    """True once `patience` epochs went by without a better validation UAR."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: object, source: str) -> Progress:
        """Inverse of `to_dict`, strict.

        Raises:
            CheckpointError: On unknown or missing keys or values of the wrong type.
        """
        return from_dict(cls, data, source, CheckpointError)

    def advance(self, val_uar: float) -> bool:
        """Count a finished epoch; True if its validation UAR is the best so far."""
        self.epoch += 1
        improved = val_uar > self.best_val_uar
        if improved:
            self.best_val_uar, self.best_epoch, self.bad_epochs = val_uar, self.epoch, 0
        else:
            self.bad_epochs += 1
        return improved

    def record_event(self, event: str, log: Callable[[str], None], **details: Any) -> None:
        """Add an event (with the time and the epoch) to `events`, and log it."""
        entry = {
            "event": event,
            "epoch": self.epoch,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            **details,
        }
        self.events.append(entry)
        if event == "resume":
            log(f"resuming after epoch {self.epoch} from {details.get('source')}")
            for key, change in (details.get("changes") or {}).items():
                log(f"  changed on resume: {key}: {change['from']} -> {change['to']}")
        elif event != "start":
            log(f"{event} after epoch {self.epoch}" + (f": {details}" if details else ""))


@dataclass(frozen=True)
class EpochResult:
    """What a finished epoch reports to a callback."""

    epoch: int
    """1-based number of the epoch just finished."""

    row: Mapping[str, Any]
    """Its history row (see `laetitia.fer.run_folder.HISTORY_FIELDS`)."""


@dataclass
class TrainingRun:
    """A run ready to train: data, model, optimiser, generators and progress."""

    config: TrainConfig
    card: ModelCard
    """The card the model is saved with (its preprocessing and classes)."""
    splits: Splits
    stats: dict[str, InputStats]
    """Model-input statistics of each split."""
    fingerprint: str
    """sha256 of the splits (`Splits.fingerprint`): a resumed run must see the same data."""
    model: nn.Module
    optimizer: torch.optim.Optimizer
    generators: dict[str, torch.Generator]
    """The seeded "sampler" (image order) and "augment" generators."""
    device: torch.device
    progress: Progress
    log: Callable[[str], None]

"""The epoch loop of a FER training run: train, validate, save, until done or stopped.

Each epoch: the learning rate from the cosine schedule, the training images in the order the
seeded sampler draws, augmented by the seeded generator, AdamW on the class-weighted
cross-entropy; then validation accuracy and UAR on the inference path, and the state saved
(`laetitia.fer.run_folder.save_epoch`). Validation and saving run on a fork of torch's global
generator, so they never shift the training's draws: a resumed run trains as an uninterrupted
one would have.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from laetitia.fer.augment import AugmentConfig, augment
from laetitia.fer.classifier import FerModel
from laetitia.fer.data import FaceSet
from laetitia.fer.evaluate import classification_metrics
from laetitia.fer.preprocess import normalize
from laetitia.fer.run import EpochResult, TrainingRun
from laetitia.fer.run_folder import plot_history, save_epoch
from laetitia.fer.schedule import cosine_lr, loss_weight_vector, sample_order

PLOT_INTERVAL_S = 30.0
"""Least wall time between two redraws of history.png during a run (drawing takes ~0.2 s)."""

Callback = Callable[[EpochResult], bool]
"""Called after each epoch; returning False stops the run there (it stays resumable)."""


def fit(run: TrainingRun, show_progress: bool, callback: Callback | None) -> bool:
    """Run epochs until done, early-stopped or stopped by the callback.

    history.csv is written every epoch; history.png at most every `PLOT_INTERVAL_S`
    seconds and whenever this returns or raises.

    Returns:
        True when the run is over (all epochs or early stop), False if the callback stopped it.
    """
    try:
        return _fit(run, show_progress, callback)
    finally:
        if run.progress.history:
            plot_history(Path(run.config.out), run.progress.history)


def _fit(run: TrainingRun, show_progress: bool, callback: Callback | None) -> bool:
    config, state = run.config, run.progress
    plotted = time.monotonic()
    loss_weights = _loss_weights(run)
    if _nothing_left(run):
        return True
    train_set = run.splits.sets["train"]
    images, labels = torch.from_numpy(train_set.images), torch.from_numpy(train_set.labels)
    while state.epoch < config.epochs:
        row = _epoch(run, images, labels, loss_weights, show_progress)
        if time.monotonic() - plotted > PLOT_INTERVAL_S:
            plot_history(Path(config.out), state.history)
            plotted = time.monotonic()
        if state.stopped_early:
            return True
        if callback is not None and callback(EpochResult(state.epoch, row)) is False:
            return False
    return True


def _loss_weights(run: TrainingRun) -> torch.Tensor:
    """The cross-entropy's class weights on the run's device; logs what the run will do."""
    config, train_set = run.config, run.splits.sets["train"]
    weights = torch.tensor(
        loss_weight_vector(config, train_set.counts()), dtype=torch.float32, device=run.device
    )
    run.log(
        f"training {config.arch} on {len(train_set)} images, {config.epochs} epochs, "
        f"device {run.device}; sampling weights {config.sampling_weights}; loss weights "
        f"{dict(zip(config.classes, weights.tolist(), strict=True))}"
    )
    return weights


def _nothing_left(run: TrainingRun) -> bool:
    """True (and says so) for a run already stopped early or through all its epochs."""
    state, epochs = run.progress, run.config.epochs
    if state.stopped_early:
        run.log(
            f"the run stopped early after epoch {state.epoch}; resume with a larger patience "
            "to go on."
        )
        return True
    if state.epoch >= epochs:
        run.log(f"all {epochs} epochs are done; resume with more epochs to go on.")
        return True
    return False


def _epoch(
    run: TrainingRun,
    images: torch.Tensor,
    labels: torch.Tensor,
    loss_weights: torch.Tensor,
    show_progress: bool,
) -> dict[str, Any]:
    """Train one epoch, validate, save; the epoch's history row."""
    config, state = run.config, run.progress
    started = time.perf_counter()
    lr = cosine_lr(state.epoch, config.epochs, config.lr, config.lr_min)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    sampling = [config.sampling_weights[c] for c in config.classes]
    order = sample_order(labels, sampling, run.generators["sampler"])
    train_loss, train_acc = _train_epoch(run, images, labels, order, loss_weights, show_progress)
    # Validation and saving may draw from torch's global generator (building a module
    # initialises it randomly); forked, they leave the training's draws as they were.
    with torch.random.fork_rng(devices=[]):
        val_loss, val = _validate(run, run.splits.sets["val"])
    improved = state.advance(val["uar"])
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
        state.record_event("early_stop", run.log, patience=config.patience)
    with torch.random.fork_rng(devices=[]):
        save_epoch(run, improved, val)
    run.log(
        f"epoch {state.epoch}/{config.epochs}: lr {lr:.2e}, train loss {train_loss:.4f} "
        f"acc {train_acc:.3f}; val loss {val_loss:.4f} acc {val['accuracy']:.3f} "
        f"UAR {val['uar']:.3f}{' (best)' if improved else ''}; {row['seconds']:.1f} s"
    )
    return row


def _train_epoch(
    run: TrainingRun,
    images: torch.Tensor,
    labels: torch.Tensor,
    order: torch.Tensor,
    loss_weights: torch.Tensor,
    show_progress: bool,
) -> tuple[float, float]:
    """One pass over `order`: (mean weighted loss, accuracy) of the training batches."""
    config = run.config
    run.model.train()
    total_loss, correct = 0.0, 0
    bar = tqdm(
        range(0, len(order), config.batch_size),
        desc=f"epoch {run.progress.epoch + 1}/{config.epochs}",
        unit="batch",
        leave=False,
        disable=not show_progress,
    )
    for start in bar:
        index = order[start : start + config.batch_size]
        crops = images[index]
        if config.augment:
            crops = augment(crops, run.generators["augment"], AugmentConfig())
        x = normalize(crops.numpy(), run.card).to(run.device)
        y = labels[index].to(run.device)
        logits = run.model(x)
        loss = F.cross_entropy(logits, y, weight=loss_weights)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        total_loss += float(loss.detach()) * len(index)
        correct += int((logits.argmax(dim=1) == y).sum())
        bar.set_postfix(loss=f"{float(loss.detach()):.3f}", refresh=False)
    return total_loss / len(order), correct / len(order)


def _validate(run: TrainingRun, faces: FaceSet) -> tuple[float, dict[str, Any]]:
    """Plain cross-entropy and metrics of the current model on a set (inference path)."""
    model = FerModel(run.model, run.card, identity="(training)", device=run.device)
    logits = model.predict_logits(faces.images)
    loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(faces.labels)))
    return loss, classification_metrics(faces.labels, logits, run.config.classes)

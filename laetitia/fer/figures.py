"""Figures of FER training and evaluation: history, confusion matrix, happiness ROC curve.

Built as `matplotlib.figure.Figure` objects without pyplot (as `laetitia.app.plots` does) and
written with `laetitia.app.plots.save_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(figsize: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def history_figure(history: Sequence[Mapping[str, Any]]) -> Figure:
    """Loss (train and val), validation UAR and accuracy, and learning rate per epoch.

    Args:
        history: One row per epoch with keys epoch, train_loss, val_loss, val_uar, val_acc, lr
            and best (the epoch set a new best validation UAR).
    """
    from matplotlib.ticker import MaxNLocator

    fig = _figure((10, 3.2))
    ax_loss, ax_uar, ax_lr = fig.subplots(1, 3)
    epochs = [row["epoch"] for row in history]
    ax_loss.plot(epochs, [row["train_loss"] for row in history], "o-", label="train")
    ax_loss.plot(epochs, [row["val_loss"] for row in history], "o-", label="val")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_loss.legend()
    ax_uar.plot(epochs, [row["val_uar"] for row in history], "o-", label="val UAR")
    ax_uar.plot(epochs, [row["val_acc"] for row in history], "o--", label="val accuracy")
    best = [row for row in history if row["best"]]
    if best:
        ax_uar.plot(best[-1]["epoch"], best[-1]["val_uar"], "*", ms=14, color="gold", label="best")
    ax_uar.set(xlabel="epoch", ylabel="score", ylim=(0, 1), title="validation")
    ax_uar.legend()
    ax_lr.plot(epochs, [row["lr"] for row in history], "o-", color="tab:green")
    ax_lr.set(xlabel="epoch", ylabel="learning rate", yscale="log", title="schedule")
    for ax in (ax_loss, ax_uar, ax_lr):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def confusion_figure(confusion: np.ndarray, class_names: Sequence[str]) -> Figure:
    """The confusion matrix: colour is the share of each true class, text the count."""
    confusion = np.asarray(confusion)
    shares = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = 1.6 + 0.75 * len(class_names)
    fig = _figure((size + 1.2, size))
    ax = fig.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="share of the true class")
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    for i in ticks:
        for j in ticks:
            colour = "white" if shares[i, j] > 0.5 else "black"
            ax.text(j, i, str(confusion[i, j]), ha="center", va="center", color=colour)
    return fig


def roc_figure(fpr: np.ndarray, tpr: np.ndarray, auc: float, positive: str) -> Figure:
    """The ROC curve of one class against the rest, with its area."""
    fig = _figure((4.6, 4.4))
    ax = fig.subplots()
    ax.plot(fpr, tpr, color="tab:orange", label=f"P({positive}), AUC = {auc:.3f}")
    ax.plot([0, 1], [0, 1], ":", color="0.5", label="chance")
    ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        title=f"{positive} vs the rest",
        xlim=(0, 1),
        ylim=(0, 1.01),
        aspect="equal",
    )
    ax.legend(loc="lower right")
    return fig

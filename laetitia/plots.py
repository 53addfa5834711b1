"""Figures of sessions: learning curves and the emoticons behind them. Notebooks call these."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from laetitia.sessions import Session


def running_best(rewards: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """The best scored reward up to each step (NaN before the first scored step)."""
    masked = np.where(scored, rewards, -np.inf)
    best = np.maximum.accumulate(masked)
    return np.where(np.isfinite(best), best, np.nan)


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean over the last `window` finite values at each step (a trailing window)."""
    finite = np.isfinite(values)
    sums = np.cumsum(np.where(finite, values, 0.0))
    counts = np.cumsum(finite)
    sums[window:] = sums[window:] - sums[:-window]
    counts[window:] = counts[window:] - counts[:-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def plot_learning_curve(session: Session, ax: object | None = None, window: int = 10) -> object:
    """Happiness per step, its rolling mean and its running best, on one axes.

    Steps with no face in view are drawn as grey ticks at the bottom, not as zeros.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    steps = session.steps["step"]
    happiness = np.where(session.steps["faces"] > 0, session.steps["reward"], np.nan)
    scored = np.isfinite(happiness)
    ax.plot(steps, happiness, ".", color="tab:orange", alpha=0.45, label="happiness of the step")
    ax.plot(
        steps,
        rolling_mean(happiness, window),
        color="tab:orange",
        label=f"rolling mean ({window} steps)",
    )
    ax.plot(steps, running_best(happiness, scored), color="tab:green", lw=2, label="running best")
    if (~scored).any():
        ax.plot(
            steps[~scored], np.zeros((~scored).sum()), "|", color="grey", label="no face in view"
        )
    ax.set_xlabel("step (one emoticon shown)")
    ax.set_ylabel("P(happy), mean over frames")
    ax.set_ylim(-0.02, 1.02)
    viewer = session.meta["viewer"]["kind"]
    ax.set_title(f"{session.meta['agent']} on a {viewer} viewer: {session.folder.name}")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return ax


def save_learning_curve(session: Session, path: Path) -> Path:
    """Draw `plot_learning_curve` with the best emoticon beside it, and save it as a PNG."""
    import matplotlib.pyplot as plt

    from laetitia.emoticon.render import render

    fig, (ax_curve, ax_face) = plt.subplots(
        1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 1]}
    )
    plot_learning_curve(session, ax_curve)
    best = session.best_step()
    ax_face.imshow(render(session.params()[best], 256))
    ax_face.set_title(f"best: step {best}, P(happy) {session.steps['reward'][best]:.2f}")
    ax_face.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)

"""Figures of sessions: learning curves, agents compared, parameters and emotions over time.

Two layers, as in seaborn. `plot_*` functions draw on a matplotlib `Axes` they are given (or a
new one) and return it; `*_figure` functions build a whole `matplotlib.figure.Figure` and return
it. Figures are made without pyplot, so a notebook shows each one once and a script that makes
hundreds keeps no global state. `save_figure` writes one to disk. Notebooks and `laetitia plot`
call these functions; no figure logic lives anywhere else.

Happiness is the session's smile signal (`laetitia.signals`: the smile blendshapes' mean, or the
FER model's P(happy)) averaged over the frames of a step that had a face in view; every figure
names the signal by its label (`signal_label`). Steps without a face carry no happiness: every
figure draws them as gaps, shaded grey, never as zeros.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from laetitia.app.truth import simulated_truth, true_happiness
from laetitia.emoticon.params import ParamSpace
from laetitia.errors import ConfigError, SessionError
from laetitia.files import save_figure
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.sessions import Session
from laetitia.sessions.best import session_best

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ROLLING_WINDOW = 10
"""Steps in the trailing window of the rolling mean."""
CONFIDENCE = 0.95
"""Coverage of the band around a mean over sessions."""
CURVE_METRICS: dict[str, str] = {
    "rolling": "{signal}, rolling mean over {window} steps",
    "best": "{signal}, best so far (noise-free, or of the rolling mean)",
    "happiness": "{signal} of the step",
}
"""What a curve over sessions can average, with its y-axis label."""
HAPPY_COLOR = "tab:orange"
EMOTION_COLORS: dict[str, str] = dict(
    zip(
        EMOTIONS,
        ("tab:red", "tab:olive", "tab:purple", HAPPY_COLOR, "tab:blue", "tab:cyan", "tab:gray"),
        strict=True,
    )
)
"""One colour per class of the label map, the same in every figure."""


class _SpanStyle(TypedDict):
    """Keyword arguments of `Axes.axvspan` that draw a shaded span."""

    color: str
    alpha: float
    hatch: str
    linewidth: float


NO_FACE_STYLE = _SpanStyle(color="0.85", alpha=0.6, hatch="//", linewidth=0)
STEP_LABEL = "step (one emoticon shown)"


def summarize(sessions: Sequence[Session]) -> str:
    """One line per session: folder, agent, viewer, seed, steps and best happiness."""
    lines = []
    for session in sessions:
        scored = happiness(session)
        best = f"{np.nanmax(scored):.3f}" if np.isfinite(scored).any() else "no face seen"
        lines.append(
            f"{session.folder.name}: {agent_name(session)}, {viewer_name(session)}, "
            f"seed {_seed(session)}, {session.n_steps} steps, best {signal_label(session)} {best}"
        )
    return "\n".join(lines)


def signal_label(session: Session) -> str:
    """How figures name a session's signal ("smile", "P(happy)", "P(happy), calibrated")."""
    from laetitia.viewers.live_window import signal_label as label

    meta = session.meta
    calibrated = "calibrated_by" in meta.signal or bool((meta.config or {}).get("profile"))
    return label(meta.signal_name, calibrated)


def common_signal_label(sessions: Sequence[Session]) -> str:
    """The signal label the sessions share, or "reward" when they were scored differently."""
    labels = {signal_label(session) for session in sessions}
    return labels.pop() if len(labels) == 1 else "reward"


def _seed(session: Session) -> str:
    return "?" if session.meta.seed is None else str(session.meta.seed)


def agent_name(session: Session) -> str:
    """The agent that made a session, as `meta.json` names it."""
    return session.meta.agent or "unknown agent"


def viewer_name(session: Session) -> str:
    """The viewer of a session in words, e.g. `sim viewer (seed 1)`."""
    viewer = session.meta.viewer
    kind = str(viewer.get("kind", "unknown"))
    if kind == "person" and "name" in viewer:
        return f"simulated person {viewer['name']}"
    return f"{kind} viewer (seed {viewer['seed']})" if "seed" in viewer else f"{kind} viewer"


def param_space(session: Session) -> ParamSpace:
    """The parameter space a session was recorded in."""
    return session.meta.space()


# ---------------------------------------------------------------------------------------------
# Curves as numbers


def happiness(session: Session) -> np.ndarray:
    """The signal's mean per step, float64 (n_steps,); NaN where no face was in view."""
    return np.where(session.steps["faces"] > 0, session.steps["reward"], np.nan)


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


def session_curve(
    session: Session, metric: str = "rolling", window: int = ROLLING_WINDOW
) -> np.ndarray:
    """One value per step to average over sessions: see `CURVE_METRICS`.

    Raises:
        ConfigError: If `metric` is unknown or `window` is below 1.
    """
    if metric not in CURVE_METRICS:
        raise ConfigError(f"unknown curve metric {metric!r}; choose one of {list(CURVE_METRICS)}.")
    if window < 1:
        raise ConfigError(f"the rolling window must be at least 1 step, got {window}.")
    values = happiness(session)
    if metric == "rolling":
        return rolling_mean(values, window)
    if metric == "best":
        # Never the best of single noisy readings: for a simulated viewer the best noise-free
        # happiness shown so far, for a person the best of the rolling mean.
        truth = true_happiness(session)
        smooth = truth if truth is not None else rolling_mean(values, window)
        return running_best(smooth, np.isfinite(smooth))
    return values


@dataclass(frozen=True)
class Band:
    """Mean of several curves per step, with a Student-t confidence interval of that mean."""

    mean: np.ndarray
    """float64 (n_steps,): mean over the curves that have a value at the step."""
    low: np.ndarray
    """float64 (n_steps,): lower end of the interval; NaN where fewer than two curves count."""
    high: np.ndarray
    """float64 (n_steps,): upper end of the interval; NaN where fewer than two curves count."""
    count: np.ndarray
    """int (n_steps,): how many curves have a value at the step."""


def mean_band(curves: Sequence[np.ndarray], confidence: float = CONFIDENCE) -> Band:
    """Per step, the mean of `curves` ± the two-sided Student-t interval of that mean.

    Curves may differ in length and hold NaN; each step counts only the curves with a finite
    value there. With n curves the interval is mean ± t(n−1) · sd / √n, sd with ddof=1.

    Raises:
        ValueError: If `curves` is empty or `confidence` is not in (0, 1).
    """
    if not curves:
        raise ValueError("mean_band needs at least one curve.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}.")
    length = max(len(c) for c in curves)
    table = np.full((len(curves), length), np.nan)
    for row, values in zip(table, curves, strict=True):
        row[: len(values)] = values
    finite = np.isfinite(table)
    count = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, table, 0.0).sum(axis=0) / count
        squares = np.where(finite, (table - mean) ** 2, 0.0).sum(axis=0)
        sem = np.sqrt(squares / (count - 1) / count)
    from scipy.stats import t as student_t

    quantile = np.where(
        count >= 2, student_t.ppf(0.5 + confidence / 2, np.maximum(count - 1, 1)), np.nan
    )
    half = np.where(count >= 2, quantile * sem, np.nan)
    mean = np.where(count > 0, mean, np.nan)
    return Band(mean=mean, low=mean - half, high=mean + half, count=count)


def group_by_agent(sessions: Iterable[Session]) -> dict[str, list[Session]]:
    """Training sessions grouped by agent and viewer, in order of first appearance.

    Only sessions `laetitia train` (or `demo`) wrote count, each with at least one step:
    an evaluation or a re-scoring is not a run of its agent learning. Sessions of different
    kinds of viewer (simulated, video, webcam, ...) are never pooled: the key is
    "AGENT on VIEWER KIND".
    """
    groups: dict[str, list[Session]] = {}
    for session in sessions:
        if session.meta.kind != "train" or session.n_steps == 0:
            continue
        kind = str(session.meta.viewer.get("kind", "unknown"))
        groups.setdefault(f"{agent_name(session)} on {kind}", []).append(session)
    return groups


def no_face_runs(faces: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges [start, stop) of consecutive entries with no face (faces == 0)."""
    missing = np.concatenate([[False], np.asarray(faces) <= 0, [False]])
    edges = np.flatnonzero(np.diff(missing.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


# ---------------------------------------------------------------------------------------------
# Drawing on one Axes


def _new_axes(figsize: tuple[float, float]) -> Axes:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained").subplots()


def _shade_no_face(
    ax: Axes, x: np.ndarray, faces: np.ndarray, half_width: float | np.ndarray = 0.5
) -> None:
    """Shade the entries without a face, so a gap reads as 'nobody looked', not as zero.

    Entry i covers [x[i] − half_width[i], x[i] + half_width[i]] (a scalar serves all).
    """
    half = np.broadcast_to(np.asarray(half_width, dtype=np.float64), np.shape(x))
    for i, (start, stop) in enumerate(no_face_runs(faces)):
        ax.axvspan(
            x[start] - half[start],
            x[stop - 1] + half[stop - 1],
            label="no face in view" if i == 0 else None,
            **NO_FACE_STYLE,
        )


def plot_learning_curve(
    session: Session, ax: Axes | None = None, window: int = ROLLING_WINDOW
) -> Axes:
    """Happiness per step, its rolling mean and its running best, on one axes.

    Steps with no face in view are gaps in the curves, shaded grey.
    """
    ax = _new_axes((8, 4.5)) if ax is None else ax
    steps = session.steps["step"]
    values = happiness(session)
    ax.plot(steps, values, ".", color=HAPPY_COLOR, alpha=0.45, label="happiness of the step")
    ax.plot(
        steps,
        rolling_mean(values, window),
        color=HAPPY_COLOR,
        label=f"rolling mean ({window} steps)",
    )
    truth = true_happiness(session)
    if truth is not None:  # a simulated viewer: what the readings were noisy readings of
        ax.plot(steps, truth, color="tab:blue", lw=1, alpha=0.8, label="noise-free happiness")
        best = running_best(truth, np.isfinite(truth))
        ax.plot(steps, best, color="tab:green", lw=2, label="best noise-free so far")
    _shade_no_face(ax, steps, session.steps["faces"])
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel(f"{signal_label(session)}, mean over frames")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(
        f"Happiness: {agent_name(session)} on a {viewer_name(session)}, {session.folder.name}"
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_mean_band(
    sessions: Sequence[Session],
    ax: Axes,
    label: str,
    color: str | None = None,
    metric: str = "rolling",
    window: int = ROLLING_WINDOW,
    confidence: float = CONFIDENCE,
) -> Axes:
    """The mean curve of `sessions` as a line, with its confidence band shaded around it.

    The mean is drawn only over the steps every session reached, so it never jumps where a
    shorter session ends.
    """
    common = min(s.n_steps for s in sessions)
    curves = [session_curve(s, metric, window)[:common] for s in sessions]
    band = mean_band(curves, confidence)
    steps = np.arange(band.mean.size)
    count = f"{len(sessions)} session{'s' if len(sessions) != 1 else ''}"
    (line,) = ax.plot(steps, band.mean, color=color, lw=2, label=f"{label} ({count})")
    ax.fill_between(steps, band.low, band.high, color=line.get_color(), alpha=0.2, linewidth=0)
    return ax


def plot_agents(
    sessions: Sequence[Session],
    ax: Axes | None = None,
    metric: str = "rolling",
    window: int = ROLLING_WINDOW,
    confidence: float = CONFIDENCE,
) -> Axes:
    """Agents side by side: per agent and viewer, the mean curve over its training sessions.

    One colour and one line per group (`group_by_agent`: training sessions only, never pooling
    viewers of different kinds), drawn over the steps all its sessions reached, with the number
    of sessions in the legend. The band is mean ± t(n−1)·sd/√n over the group's sessions at each
    step; it is absent where fewer than two sessions count.

    Raises:
        SessionError: If none of `sessions` is a training session with a step.
    """
    from matplotlib.patches import Patch

    ax = _new_axes((9, 5)) if ax is None else ax
    groups = group_by_agent(sessions)
    if not groups:
        raise SessionError(
            "none of the sessions given is a training session with a step (evaluations and "
            "re-scorings are not runs of an agent learning); give training sessions."
        )
    for i, (agent, group) in enumerate(groups.items()):
        plot_mean_band(group, ax, agent, f"C{i}", metric, window, confidence)
    handles, labels = ax.get_legend_handles_labels()
    percent = f"{confidence:.0%}"
    handles.append(Patch(color="0.5", alpha=0.3, linewidth=0))
    labels.append(f"{percent} t-interval of the mean")
    ax.set_xlabel(STEP_LABEL)
    label = common_signal_label([s for group in groups.values() for s in group])
    ax.set_ylabel(CURVE_METRICS[metric].format(signal=label, window=window))
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"Happiness by agent: mean over sessions, {percent} Student-t band")
    ax.grid(alpha=0.3)
    ax.legend(handles, labels, loc="lower right", fontsize="small")
    return ax


def plot_params(session: Session, ax: Axes | None = None) -> Axes:
    """The shown parameters at each step, each mapped from [low, high] onto [−1, 1].

    One line per parameter; a dashed line marks the best step.
    """
    ax = _new_axes((9, 4.5)) if ax is None else ax
    space = param_space(session)
    steps = session.steps["step"]
    raw = session.params()
    unit = 2.0 * (raw - space.low) / (space.high - space.low) - 1.0 if raw.size else raw
    for i, param in enumerate(space.params):
        ax.plot(
            steps,
            unit[:, i],
            color=f"C{i % 10}",
            lw=1.2,
            label=f"{param.name}: {_short(param.meaning)}",
        )
    if (session.steps["faces"] > 0).any():
        best = session_best(session)  # only its first step is drawn: no truth needed
        if best is not None and best.first_step is not None:
            ax.axvline(best.first_step, color="k", ls="--", lw=1, label="best emoticon shown")
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel("parameter, normalised\n(−1 = lower bound, +1 = upper)")
    ax.set_ylim(-1.05, 1.05)
    ax.set_title(f"Emoticon parameters shown: {session.folder.name}")
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    return ax


def _short(meaning: str, limit: int = 28) -> str:
    """The first clause of a parameter's meaning, for a legend."""
    clause = meaning.replace(";", ":").split(":")[0].split(",")[0].strip()
    return clause if len(clause) <= limit else clause[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class EmotionTimeline:
    """What a viewer's face showed over a session, per frame when recorded, else per step."""

    x: np.ndarray
    """float64 (n,): position on the step axis; a step's frames sit side by side within it."""
    half_width: np.ndarray
    """float64 (n,): half the span of the step axis each entry covers."""
    probs: np.ndarray
    """float64 (n, n_classes): class probabilities; NaN rows where there was no face."""
    has_face: np.ndarray
    """bool (n,): whether a face was in view."""
    per_frame: bool
    """True when read from the session's frame index, False for the means of `steps.csv`."""


def emotion_timeline(session: Session) -> EmotionTimeline:
    """The session's emotions per frame (from `frames.csv`) or, without one, per step.

    Frame k of the n frames of step s sits at s − 0.5 + (k + 0.5) / n, so frames share the
    step axis with the learning curve.
    """
    index = session.frame_index
    if index is None or index.n_frames == 0:
        return EmotionTimeline(
            x=session.steps["step"],
            half_width=np.full(session.n_steps, 0.5),
            probs=session.probs(),
            has_face=session.steps["faces"] > 0,
            per_frame=False,
        )
    order = np.argsort(index.step, kind="stable")
    steps = index.step[order]
    _, first, counts = np.unique(steps, return_index=True, return_counts=True)
    group = np.repeat(np.arange(first.size), counts)
    within = np.arange(steps.size) - first[group]
    per_step = counts[group].astype(np.float64)
    return EmotionTimeline(
        x=steps - 0.5 + (within + 0.5) / per_step,
        half_width=0.5 / per_step,
        probs=index.probs[order].astype(np.float64),
        has_face=index.has_face[order],
        per_frame=True,
    )


def plot_emotions(session: Session, ax: Axes | None = None, stacked: bool = True) -> Axes:
    """Emotion probabilities over a session, per class, with no-face frames or steps as gaps.

    Uses the session's per-frame probabilities when it recorded them (`frames.csv`), else the
    mean probabilities of each step (`steps.csv`); see `emotion_timeline`. `stacked` draws the
    classes as stacked areas summing to 1, happy at the bottom; otherwise one line per class.
    """
    ax = _new_axes((9, 4.5)) if ax is None else ax
    timeline, names = emotion_timeline(session), session.class_names
    x, probs = timeline.x, timeline.probs
    order = sorted(range(len(names)), key=lambda i: names[i] != HAPPY)
    colors = [_class_color(names, i) for i in order]
    labels = [names[i] for i in order]
    if stacked:  # each entry a flat block over its span, so a lone frame still shows
        edges = np.stack([x - timeline.half_width, x + timeline.half_width], axis=1).ravel()
        blocks = np.repeat(probs[:, order], 2, axis=0).T
        ax.stackplot(edges, blocks, colors=colors, labels=labels, alpha=0.85, linewidth=0)
    else:
        for i, color, label in zip(order, colors, labels, strict=True):
            ax.plot(x, probs[:, i], color=color, lw=2 if label == HAPPY else 1, label=label)
    _shade_no_face(ax, x, timeline.has_face, timeline.half_width)
    unit = "frame" if timeline.per_frame else "step"
    ax.set_xlabel(STEP_LABEL + (", its frames side by side" if timeline.per_frame else ""))
    what = "probability per frame" if timeline.per_frame else "probability, mean over frames"
    ax.set_ylabel(what + (" (stacked)" if stacked else ""))
    ax.set_ylim(0, 1)
    ax.set_title(f"Emotions read from the viewer, per {unit}: {session.folder.name}")
    handles, labels = ax.get_legend_handles_labels()
    if stacked:  # list the classes top to bottom, as the areas are stacked
        classes = len(order)
        handles = handles[:classes][::-1] + handles[classes:]
        labels = labels[:classes][::-1] + labels[classes:]
    ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
    return ax


def _class_color(names: Sequence[str], index: int) -> str:
    name = names[index]
    return EMOTION_COLORS.get(name, f"C{index % 10}")


def plot_best_emoticon(session: Session, ax: Axes, size: int = 256) -> Axes:
    """The session's best emoticon (`session_best`), titled with what its readings say."""
    from laetitia.emoticon.render import render

    ax.axis("off")
    best = None
    if session.scored().any():
        best = session_best(session, truth=simulated_truth(session))
    if best is None:
        ax.text(0.5, 0.5, "no step saw a face:\nno best emoticon", ha="center", va="center")
        return ax
    ax.imshow(render(np.array(best.params), size, param_space(session)))
    said = best.describe().replace("; ", "\n").replace(" (", "\n(")
    ax.set_title(f"best emoticon\n{said}", fontsize="small")
    return ax


# ---------------------------------------------------------------------------------------------
# Whole figures


def _figure(figsize: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def curve_figure(session: Session, window: int = ROLLING_WINDOW) -> Figure:
    """The learning curve with the best emoticon beside it."""
    fig = _figure((12, 4.5))
    ax_curve, ax_face = fig.subplots(1, 2, width_ratios=[3, 1])
    plot_learning_curve(session, ax_curve, window)
    plot_best_emoticon(session, ax_face)
    return fig


def params_figure(session: Session) -> Figure:
    """The parameter trajectories of one session."""
    fig = _figure((11, 4.5))
    plot_params(session, fig.subplots())
    return fig


def emotions_figure(session: Session, stacked: bool = True) -> Figure:
    """The emotion timeline of one session."""
    fig = _figure((11, 4.5))
    plot_emotions(session, fig.subplots(), stacked)
    return fig


def overview_figure(session: Session, window: int = ROLLING_WINDOW) -> Figure:
    """One session at a glance: learning curve, best emoticon, parameters and emotions."""
    fig = _figure((13, 11))
    grid = fig.add_gridspec(3, 2, width_ratios=[3, 1])
    ax_curve = fig.add_subplot(grid[0, 0])
    plot_learning_curve(session, ax_curve, window)
    plot_best_emoticon(session, fig.add_subplot(grid[0, 1]))
    for row, plot in ((1, plot_params), (2, plot_emotions)):
        ax = plot(session, fig.add_subplot(grid[row, 0], sharex=ax_curve))
        _move_legend(ax, fig.add_subplot(grid[row, 1]))
    fig.suptitle(
        f"{session.folder.name}: {agent_name(session)}, {viewer_name(session)}, "
        f"seed {_seed(session)}, {session.n_steps} steps",
        fontweight="bold",
    )
    return fig


def _move_legend(source: Axes, target: Axes) -> None:
    """Draw `source`'s legend in the otherwise empty axes `target`, so columns stay aligned."""
    legend = source.get_legend()
    assert legend is not None, "the figures draw a legend on each axes they move"
    labels = [text.get_text() for text in legend.get_texts()]
    # An artist matplotlib has no legend handler for has a None handle and no text.
    handles = [handle for handle in legend.legend_handles if handle is not None]
    legend.remove()
    target.axis("off")
    target.legend(handles, labels, loc="center left", fontsize="small")


def sessions_figure(
    sessions: Sequence[Session], kind: str = "curve", window: int = ROLLING_WINDOW
) -> Figure:
    """One row per session: its learning curve and best emoticon, its parameters or emotions.

    Raises:
        ConfigError: If `kind` is not curve, params or emotions, or `sessions` is empty.
    """
    if kind not in ("curve", "params", "emotions"):
        raise ConfigError(f"sessions_figure draws curve, params or emotions, not {kind!r}.")
    if not sessions:
        raise ConfigError("no sessions to draw.")
    fig = _figure((13, 3.6 * len(sessions)))
    ratios = [3, 1] if kind == "curve" else [4.5, 1]
    rows = fig.subplots(len(sessions), 2, width_ratios=ratios, squeeze=False)
    for session, (ax_main, ax_side) in zip(sessions, rows, strict=True):
        if kind == "curve":
            plot_learning_curve(session, ax_main, window)
            plot_best_emoticon(session, ax_side)
            continue
        plot = plot_params if kind == "params" else plot_emotions
        _move_legend(plot(session, ax_main), ax_side)
    return fig


def agents_figure(
    sessions: Sequence[Session],
    metric: str = "rolling",
    window: int = ROLLING_WINDOW,
    confidence: float = CONFIDENCE,
) -> Figure:
    """Agents side by side, each as its mean curve over sessions with a Student-t band."""
    fig = _figure((10, 5.5))
    plot_agents(sessions, fig.subplots(), metric, window, confidence)
    return fig


def save_learning_curve(session: Session, path: Path) -> Path:
    """Save `curve_figure` (the learning curve and the best emoticon) as an image file."""
    return save_figure(curve_figure(session), path)

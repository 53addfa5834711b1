"""Personal calibration: fit a person's P(smile) from their own neutral and smiling frames.

A FER model trained on other people reads one person's resting face as a little happy, another's
as angry. A reward built on the raw P(happy) then teaches the agent the resting face. A
calibration records the person's neutral and smiling faces through the same pipeline as a
session (camera, face detector, FER model) and fits a mapping from the model's output to the
probability of a smile (`laetitia.profile.Profile`), whose resting value is near zero.

    config = CalibrationConfig(out=Path("me.json"))
    result = calibrate_video("me.mp4", ["0-1.5"], ["2-3.5"], config, detector="haar")
    result = calibrate_live(0, config)                  # a window prompts; webcam 0 records
    print(result.report.summary())

Underneath: `read_video_spans` or `record_prompted` read the frames through the happiness
meter, and `calibrate` fits, evaluates and writes.

**Features.** Eight numbers per frame (`laetitia.profile.profile_features`): the log-odds of
the model's P(happy), and its centred logits (logits minus their mean over the classes: the part
of the logits the softmax reads).

**Fit.** L2-regularised logistic regression, neutral = 0, smile = 1, on the features
standardised with the fitted frames' mean and deviation; the two classes weigh the same
whatever their frame counts; Newton's method with a backtracking line search (numpy, no extra
dependency). The log-odds weight gets a small penalty (`L2_DEFAULT`): one person's frames are
often separable, the penalty keeps the weight finite, and a heavier one would pull the resting
value up towards 0.5. The seven centred-logit weights get a penalty chosen by cross-validation
from `L2_LOGITS_GRID`: the heaviest whose cross-validated ROC AUC is within `AUC_TOLERANCE` of
the best (`choose_l2_logits`). With little or noisy data that is the heaviest, and the mapping is
the model's own happy evidence rescaled and shifted: the ranking of frames, so the ROC AUC, stays
the raw one while the resting value drops towards 0. When the person's smile shows in other
classes (a smile the model reads as surprise), the other logits earn their weight. Last, the
slope and offset along the fitted direction are refitted by a one-feature logistic regression
with the small penalty (`rescale`), so how steeply P(smile) rises, and so the resting value, does
not depend on how hard the direction was regularised.

**Held-out split.** Within each span, the frames with a face are cut into 4 contiguous blocks
of near-equal size; blocks 1 and 3 are fitted on (each is one fold of the cross-validation),
blocks 2 and 4 are held out. Neighbouring frames are nearly identical, so holding out whole
blocks rather than every other frame keeps the held-out frames honest, and alternating keeps
both parts spread over the span (a face changes within a span). Every figure of the report is
computed on the held-out frames only, which neither the fit nor the choice of penalty saw.

**Files.** For a profile `me.json`: `me.report.json` (the report), `me.report.png` (held-out
histograms and ROC curves), `me.frames.csv` (one row per calibration frame: time, span, part,
face box, raw and calibrated P(happy)) and, unless frames are turned off, `me.frames/NNNNNN.png`
(the frames, lossless, for auditing). With `keep_frames=False` (`--no-frames`) no image of the
person is written at all, as in sessions.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from laetitia.errors import CalibrationError, CameraError
from laetitia.labels import HAPPY
from laetitia.profile import FEATURES, Profile, profile_features, save_profile, sigmoid
from laetitia.viewers.base import Reaction

NEUTRAL, SMILE = "neutral", "smile"
"""The two kinds of span: 0 and 1 of the fitted mapping."""
LABEL = {NEUTRAL: 0, SMILE: 1}

BLOCKS_PER_SPAN = 4
"""Contiguous blocks each span is cut into: blocks 0 and 2 are fitted on, 1 and 3 held out."""
L2_DEFAULT = 0.01
"""L2 penalty on the standardised log-odds weight (the loss is a class-balanced mean)."""
L2_LOGITS_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 1000.0)
"""Penalties on the centred-logit weights that cross-validation chooses from."""
AUC_TOLERANCE = 0.005
"""Cross-validated AUCs this close to the best count as a tie (the heavier penalty wins)."""
WARN_AUC = 0.8
"""A held-out calibrated AUC below this is reported as a failed calibration."""
WARN_RESTING = 0.2
"""A held-out resting value above this is reported as a failed calibration."""
MIN_FRAMES_PER_PART = 2
"""Fewest face frames of each class on each side of the split."""
CHUNK_FRAMES = 32
"""Frames handed to the pipeline at once when reading a video."""
FRAMES_SUFFIX = ".frames"
REPORT_SUFFIX = ".report"


class FramePipeline(Protocol):
    """The happiness meter's reading interface (`laetitia.meter.HappinessMeter.read`)."""

    def read(self, frames: Sequence[np.ndarray], continues: bool = False) -> Reaction:
        """Read BGR frames (one reaction row each); `continues`: they follow the last call's."""


# ----- time spans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A stretch of a recording where the person holds one expression: [start_s, end_s)."""

    kind: str
    """NEUTRAL or SMILE."""
    start_s: float
    """Start, seconds from the first frame (included)."""
    end_s: float
    """End, seconds from the first frame (excluded)."""

    def __post_init__(self) -> None:
        if self.kind not in LABEL:
            raise CalibrationError(f"a span is {NEUTRAL!r} or {SMILE!r}, got {self.kind!r}.")
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s)):
            raise CalibrationError(f"--{self.kind} {self}: times must be finite numbers.")
        if self.start_s < 0:
            raise CalibrationError(f"--{self.kind} {self}: the start cannot be before 0 s.")
        if self.end_s <= self.start_s:
            raise CalibrationError(
                f"--{self.kind} {self}: the end must come after the start (START-END in seconds, "
                "e.g. 0-1.5)."
            )

    def __str__(self) -> str:
        return f"{self.start_s:g}-{self.end_s:g}"

    def contains(self, t: float) -> bool:
        """Whether time `t` (seconds) falls in the span."""
        return self.start_s <= t < self.end_s

    def overlaps(self, other: Span) -> bool:
        """Whether the two spans share any time."""
        return self.start_s < other.end_s and other.start_s < self.end_s


_RANGE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*-\s*(\d+(?:\.\d*)?|\.\d+)\s*$")


def parse_span(text: str, kind: str) -> Span:
    """Parse a time range `START-END` in seconds (e.g. "0-1.5") into a span of `kind`.

    Raises:
        CalibrationError: If the text is not two non-negative numbers joined by "-", or the
            end is not after the start.
    """
    match = _RANGE.match(text)
    if match is None:
        raise CalibrationError(
            f"--{kind} {text!r}: a time range is START-END in seconds, e.g. 0-1.5 or 2.5-4."
        )
    return Span(kind, float(match.group(1)), float(match.group(2)))


def check_spans(spans: Sequence[Span], duration_s: float | None = None) -> None:
    """Refuse spans that cannot be calibrated from.

    Args:
        spans: The neutral and smiling spans.
        duration_s: Length of the recording, when known.

    Raises:
        CalibrationError: If a kind has no span, a span runs past the recording's end, or a
            neutral span overlaps a smiling one.
    """
    for kind in (NEUTRAL, SMILE):
        if not any(span.kind == kind for span in spans):
            raise CalibrationError(
                f"no --{kind} span: calibration needs at least one neutral and one smiling "
                "span, e.g. --neutral 0-1.5 --smile 2-3.5."
            )
    if duration_s is not None:
        for span in spans:
            if span.end_s > duration_s + 1e-9:
                raise CalibrationError(
                    f"--{span.kind} {span} runs past the end of the recording ({duration_s:.2f} s);"
                    " choose times within it."
                )
    for a in spans:
        for b in spans:
            if a.kind == NEUTRAL and b.kind == SMILE and a.overlaps(b):
                raise CalibrationError(
                    f"--neutral {a} overlaps --smile {b}: a frame cannot be both; make the "
                    "ranges disjoint (leave out the moments in between)."
                )


# ----- the recorded frames ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CalibrationFrames:
    """The frames of a calibration as the pipeline read them, one row each."""

    probs: np.ndarray
    """float32 (N, C): the model's class probabilities; NaN rows where there was no face."""
    has_face: np.ndarray
    """bool (N,): whether a face was found."""
    boxes: np.ndarray
    """float32 (N, 4): face boxes x, y, w, h in frame pixels; NaN where none."""
    times_s: np.ndarray
    """float64 (N,): the frame's time, seconds from the start of the recording."""
    frame_index: np.ndarray
    """int (N,): the frame's number in the recording (or the camera's stream)."""
    span: np.ndarray
    """int (N,): index into `spans` of the span the frame belongs to."""
    spans: tuple[Span, ...]
    """The neutral and smiling spans."""
    class_names: tuple[str, ...]
    """Columns of `probs`."""
    images: tuple[np.ndarray, ...] | None = None
    """The BGR frames themselves, when they are to be kept for auditing."""
    source: dict[str, Any] = field(default_factory=dict)
    """Where the frames came from (a video and its spans, or a camera and its prompts)."""

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.has_face.shape[0])

    @property
    def labels(self) -> np.ndarray:
        """Labels (N,) int: 0 for a neutral span's frame, 1 for a smiling one's."""
        kinds = np.array([LABEL[span.kind] for span in self.spans], dtype=np.int64)
        return kinds[self.span]

    @property
    def raw_happiness(self) -> np.ndarray:
        """float64 (N,): the model's P(happy), NaN where no face."""
        return self.probs[:, self.class_names.index(HAPPY)].astype(np.float64)


def read_video_spans(
    path: Path | str,
    spans: Sequence[Span],
    pipeline: FramePipeline,
    keep_images: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationFrames:
    """Read the frames of a video that fall in the given spans through the pipeline.

    Frame i is at i / fps seconds. Frames outside every span are decoded and skipped, never
    read by the pipeline.

    Args:
        path: The video file.
        spans: Neutral and smiling spans, seconds from the first frame.
        pipeline: The happiness meter (face detector and FER model) to read frames with.
        keep_images: Keep the frames in memory for auditing (False with `--no-frames`).
        progress: Called as progress(frames_done, frames_total) after each chunk.

    Raises:
        CalibrationError: If the spans are invalid for this video (see `check_spans`).
        CameraError: If the video cannot be read.
    """
    from laetitia.cameras import VideoFile

    with VideoFile(path) as video:
        fps = video.fps
        if fps is None:
            raise CalibrationError(
                f"{path} states no frame rate, so times in seconds cannot be found in it; "
                "convert it to mp4 (H.264) and try again."
            )
        duration_s = video.frame_count / fps
        check_spans(spans, duration_s)
        wanted = _frames_in_spans(spans, video.frame_count, fps)
        last = max(wanted, default=-1)
        reactions: list[Reaction] = []
        images: list[np.ndarray] = []
        chunk: list[np.ndarray] = []
        indices: list[int] = []
        continues = False
        for i, frame in enumerate(video):
            if i > last:
                break
            if i not in wanted:
                continue
            if chunk and (len(chunk) == CHUNK_FRAMES or i != indices[-1] + 1):
                reactions.append(_read(pipeline, chunk, continues))
                images.extend(chunk if keep_images else ())
                chunk = []
                if progress is not None:
                    progress(len(indices), len(wanted))
            if not chunk:  # one that follows the last frame for frame continues its tracking
                continues = bool(indices) and i == indices[-1] + 1
            chunk.append(frame)
            indices.append(i)
        if chunk:
            reactions.append(_read(pipeline, chunk, continues))
            images.extend(chunk if keep_images else ())
            if progress is not None:
                progress(len(indices), len(wanted))
    index = np.asarray(indices, dtype=np.int64)
    return _collect(
        reactions,
        times_s=index / fps,
        frame_index=index,
        span=np.asarray([wanted[i] for i in indices], dtype=np.int64),
        spans=tuple(spans),
        images=images if keep_images else None,
        source={
            "kind": "video",
            "path": str(path),
            "fps": fps,
            "spans": [{"kind": s.kind, "start_s": s.start_s, "end_s": s.end_s} for s in spans],
        },
    )


def _read(pipeline: FramePipeline, frames: list[np.ndarray], continues: bool) -> Reaction:
    """Read frames, keeping no reference to them in the reaction (images are kept apart)."""
    return dataclasses.replace(pipeline.read(frames, continues=continues), frames=None)


def _frames_in_spans(spans: Sequence[Span], n_frames: int, fps: float) -> dict[int, int]:
    """Frame index -> index of the span holding it (the first one, if spans of a kind overlap)."""
    wanted: dict[int, int] = {}
    for i in range(n_frames):
        for k, span in enumerate(spans):
            if span.contains(i / fps):
                wanted.setdefault(i, k)
                break
    return wanted


def _collect(
    reactions: Sequence[Reaction],
    times_s: np.ndarray,
    frame_index: np.ndarray,
    span: np.ndarray,
    spans: tuple[Span, ...],
    images: Sequence[np.ndarray] | None,
    source: dict[str, Any],
) -> CalibrationFrames:
    """Stack per-chunk reactions into one `CalibrationFrames`."""
    if not reactions:
        raise CalibrationError(
            "no frame of the recording falls in the given spans; check the times."
        )
    class_names = reactions[0].class_names
    boxes = [
        r.boxes if r.boxes is not None else np.full((r.n_frames, 4), np.nan, np.float32)
        for r in reactions
    ]
    return CalibrationFrames(
        probs=np.concatenate([r.probs for r in reactions]).astype(np.float32),
        has_face=np.concatenate([r.has_face for r in reactions]).astype(bool),
        boxes=np.concatenate(boxes).astype(np.float32),
        times_s=np.asarray(times_s, dtype=np.float64),
        frame_index=np.asarray(frame_index, dtype=np.int64),
        span=np.asarray(span, dtype=np.int64),
        spans=spans,
        class_names=tuple(class_names),
        images=tuple(images) if images is not None else None,
        source=source,
    )


# ----- the split and the fit ----------------------------------------------------------------


def split_blocks(frames: CalibrationFrames) -> np.ndarray:
    """The block of each frame: int (N,), 0..3 within its span, -1 where there is no face.

    Each span's face frames, in time order, are cut into `BLOCKS_PER_SPAN` contiguous
    near-equal blocks. Even blocks are fitted on, odd blocks held out.

    Raises:
        CalibrationError: If a span has no face frame, or fewer than `BLOCKS_PER_SPAN`, or a
            class has fewer than `MIN_FRAMES_PER_PART` frames on either side of the split.
    """
    block = np.full(frames.n_frames, -1, dtype=np.int64)
    for k, span in enumerate(frames.spans):
        in_span = np.flatnonzero(frames.span == k)
        faces = in_span[frames.has_face[in_span]]
        faces = faces[np.argsort(frames.times_s[faces], kind="stable")]
        if len(faces) == 0:
            raise CalibrationError(
                f"no face was found in the {span.kind} span {span} s ({len(in_span)} frames): "
                "check the times, and that the face is visible and lit there; or try another "
                "--detector."
            )
        if len(faces) < BLOCKS_PER_SPAN:
            raise CalibrationError(
                f"the {span.kind} span {span} s has a face in only {len(faces)} of its "
                f"{len(in_span)} frames; it needs at least {BLOCKS_PER_SPAN}: use a longer span."
            )
        for b, part in enumerate(np.array_split(faces, BLOCKS_PER_SPAN)):
            block[part] = b
    labels = frames.labels
    for kind, label in LABEL.items():
        n_fit = int(((block % 2 == 0) & (block >= 0) & (labels == label)).sum())
        n_held = int(((block % 2 == 1) & (labels == label)).sum())
        if min(n_fit, n_held) < MIN_FRAMES_PER_PART:
            raise CalibrationError(
                f"too few {kind} frames with a face ({n_fit} to fit, {n_held} held out; "
                f"{MIN_FRAMES_PER_PART} each needed): record longer {kind} spans."
            )
    return block


@dataclass(frozen=True)
class LogisticFit:
    """A fitted logistic regression on standardised features."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def predict(self, features: np.ndarray) -> np.ndarray:
        """P(label 1) per row of `features`."""
        return sigmoid(((features - self.mean) / self.scale) @ self.weights + self.bias)


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, penalty: np.ndarray, max_iter: int = 100
) -> LogisticFit:
    """L2-regularised, class-balanced logistic regression by Newton's method.

    Minimises sum_i(c_i * logloss_i) + 1/2 sum_j(penalty_j * w_j^2) over standardised
    features, with c_i = 1 / (2 n_class(i)) so each class weighs the same; the intercept is not
    penalised.

    Args:
        features: float (N, D).
        labels: (N,) of 0 and 1, both present.
        penalty: (D,) positive L2 penalty of each weight.
        max_iter: Newton steps at most.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    assert np.all(np.asarray(penalty) > 0) and set(np.unique(y)) == {0.0, 1.0}
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = np.column_stack([(x - mean) / scale, np.ones(len(x))])
    c = _class_weights(y)
    # The intercept goes unpenalised; a whisker keeps the Hessian invertible.
    pen = np.r_[np.asarray(penalty, dtype=np.float64), 1e-9]

    def loss(theta: np.ndarray) -> float:
        s = z @ theta
        return float(c @ (np.logaddexp(0, s) - y * s) + 0.5 * pen @ theta**2)

    theta = np.zeros(z.shape[1])
    current = loss(theta)
    for _ in range(max_iter):
        p = sigmoid(z @ theta)
        grad = z.T @ (c * (p - y)) + pen * theta
        hess = (z * (c * p * (1 - p))[:, None]).T @ z + np.diag(pen)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while (new := loss(theta - t * step)) > current and t > 1e-8:
            t /= 2
        theta, previous, current = theta - t * step, current, new
        if previous - current < 1e-12:
            break
    return LogisticFit(mean=mean, scale=scale, weights=theta[:-1], bias=float(theta[-1]))


def rescale(fit: LogisticFit, features: np.ndarray, labels: np.ndarray, l2: float) -> LogisticFit:
    """Refit the slope and offset of a fit's score by a 1-D logistic regression with penalty l2.

    The first fit chooses a direction in feature space; how steeply P(smile) rises along it,
    and so the resting value, should not depend on how hard that direction was regularised.
    The result is the same kind of map (its weights scaled, its bias moved).
    """
    score = ((features - fit.mean) / fit.scale) @ fit.weights
    line = fit_logistic(score[:, None], labels, np.array([l2]))
    slope = float(line.weights[0] / line.scale[0])
    return LogisticFit(
        mean=fit.mean,
        scale=fit.scale,
        weights=slope * fit.weights,
        bias=line.bias - slope * float(line.mean[0]),
    )


def _class_weights(y: np.ndarray) -> np.ndarray:
    """Per-row weights that give each class half the total (sum 1)."""
    n_pos = y.sum()
    return np.where(y == 1, 0.5 / n_pos, 0.5 / (len(y) - n_pos))


def penalties(l2: float, l2_logits: float, n_features: int) -> np.ndarray:
    """Per-feature penalties: `l2` on the log-odds (column 0), `l2_logits` on the rest."""
    return np.r_[l2, np.full(n_features - 1, l2_logits)]


def choose_l2_logits(
    features: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    l2: float = L2_DEFAULT,
    grid: Sequence[float] = L2_LOGITS_GRID,
) -> tuple[float, dict[str, float]]:
    """The heaviest centred-logit penalty whose cross-validated ROC AUC is about the best.

    The criterion is the AUC, what the report measures, rather than the log loss: on a
    person's nearly separable frames the log loss rewards the extra weights for the confidence
    they add, not for a better ranking. Among penalties within `AUC_TOLERANCE` of the best AUC
    the heaviest wins, so extra weights must earn their place.

    Args:
        features: float (N, D) of the frames to fit on.
        labels: (N,) 0/1.
        folds: (N,) fold of each frame; each fold is predicted by a fit on the others.
        l2: The log-odds penalty.
        grid: Candidate penalties.

    Returns:
        The chosen penalty, and the mean held-out AUC of every candidate (keys as text).
    """
    scores: dict[str, float] = {}
    for candidate in grid:
        pen = penalties(l2, candidate, features.shape[1])
        aucs = []
        for fold in np.unique(folds):
            train, test = folds != fold, folds == fold
            model = fit_logistic(features[train], labels[train], pen)
            aucs.append(roc_auc(model.predict(features[test]), labels[test]))
        scores[f"{candidate:g}"] = float(np.mean(aucs))
    top = max(scores.values())
    best = max(g for g in grid if scores[f"{g:g}"] >= top - AUC_TOLERANCE)
    return float(best), scores


# ----- the report ---------------------------------------------------------------------------


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: P(a smiling frame scores above a neutral one), ties half."""
    pos = np.asarray(scores, dtype=np.float64)[np.asarray(labels) == 1]
    neg = np.asarray(scores, dtype=np.float64)[np.asarray(labels) == 0]
    if len(pos) == 0 or len(neg) == 0:
        return math.nan
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates) at every threshold, from (0, 0) to (1, 1)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    thresholds = np.r_[np.inf, np.unique(scores)[::-1], -np.inf]
    pos, neg = max(int((labels == 1).sum()), 1), max(int((labels == 0).sum()), 1)
    tpr = np.array([((scores >= t) & (labels == 1)).sum() / pos for t in thresholds])
    fpr = np.array([((scores >= t) & (labels == 0)).sum() / neg for t in thresholds])
    return fpr, tpr


@dataclass(frozen=True)
class CalibrationReport:
    """How well raw and calibrated signals separate held-out neutral and smiling frames."""

    auc_raw: float
    """ROC AUC of the model's P(happy)."""
    auc_calibrated: float
    """ROC AUC of the calibrated P(smile)."""
    raw_neutral: float
    """Mean raw P(happy) on neutral frames: the raw resting value."""
    raw_smile: float
    """Mean raw P(happy) on smiling frames."""
    calibrated_neutral: float
    """Mean calibrated P(smile) on neutral frames: the resting value, near zero."""
    calibrated_smile: float
    """Mean calibrated P(smile) on smiling frames."""
    held_out_neutral: int
    """Held-out neutral frames with a face."""
    held_out_smile: int
    """Held-out smiling frames with a face."""
    fit_neutral: int
    """Neutral frames fitted on."""
    fit_smile: int
    """Smiling frames fitted on."""
    no_face: int
    """Frames in the spans without a face (neither fitted nor held out)."""
    l2_logits: float
    """The centred-logit penalty cross-validation chose."""
    cv_auc: dict[str, float]
    """Cross-validated ROC AUC of each candidate penalty (on the fitted frames only)."""
    split: str = (
        f"each span's face frames cut into {BLOCKS_PER_SPAN} contiguous blocks; "
        "blocks 1 and 3 fitted (one cross-validation fold each), blocks 2 and 4 held out; "
        "these figures are on held-out frames only"
    )
    """How the frames were split."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)

    def summary(self) -> str:
        """The figures as a few printable lines."""
        return "\n".join(
            [
                f"held-out frames: {self.held_out_neutral} neutral, {self.held_out_smile} smiling "
                f"(fitted on {self.fit_neutral} + {self.fit_smile}; {self.no_face} without a face)",
                "                    ROC AUC   mean neutral   mean smiling",
                f"raw P(happy)        {self.auc_raw:7.3f}   {self.raw_neutral:12.3f}   "
                f"{self.raw_smile:12.3f}",
                f"calibrated P(smile) {self.auc_calibrated:7.3f}   "
                f"{self.calibrated_neutral:12.3f}   {self.calibrated_smile:12.3f}",
                f"(penalty on the other logits' weights: {self.l2_logits:g}, cross-validated)",
                *self.warnings(),
            ]
        )

    def warnings(self) -> list[str]:
        """What in the figures suggests the calibration went wrong, and what to do."""
        found = []
        if not self.auc_calibrated >= WARN_AUC:
            found.append(
                f"warning: the calibrated signal tells neutral from smiling frames poorly (ROC "
                f"AUC {self.auc_calibrated:.2f} < {WARN_AUC}): check that the spans (or your "
                "faces during the prompts) were right, and calibrate again."
            )
        if not self.calibrated_neutral <= WARN_RESTING:
            found.append(
                f"warning: the resting value is {self.calibrated_neutral:.2f} (> {WARN_RESTING}):"
                " a neutral face would still be rewarded; calibrate again with a relaxed face "
                "in the neutral spans."
            )
        return found


def evaluate(
    frames: CalibrationFrames, profile: Profile, fit_mask: np.ndarray
) -> tuple[CalibrationReport, np.ndarray]:
    """The report on held-out frames, and the calibrated P(smile) of every frame (NaN: no face).

    Args:
        frames: The calibration frames.
        profile: The fitted profile.
        fit_mask: True for frames that were fitted on (see `split_blocks`).
    """
    calibrated = profile.smile_probability(frames.probs)
    raw = frames.raw_happiness
    labels = frames.labels
    held = frames.has_face & ~fit_mask
    neutral, smile = held & (labels == 0), held & (labels == 1)
    report = CalibrationReport(
        auc_raw=roc_auc(raw[held], labels[held]),
        auc_calibrated=roc_auc(calibrated[held], labels[held]),
        raw_neutral=float(raw[neutral].mean()),
        raw_smile=float(raw[smile].mean()),
        calibrated_neutral=float(calibrated[neutral].mean()),
        calibrated_smile=float(calibrated[smile].mean()),
        held_out_neutral=int(neutral.sum()),
        held_out_smile=int(smile.sum()),
        fit_neutral=int((fit_mask & (labels == 0)).sum()),
        fit_smile=int((fit_mask & (labels == 1)).sum()),
        no_face=int((~frames.has_face).sum()),
        l2_logits=profile.l2_logits,
        cv_auc={},
    )
    return report, calibrated


def report_figure(frames: CalibrationFrames, calibrated: np.ndarray, fit_mask: np.ndarray) -> Any:
    """Held-out histograms of raw and calibrated signals, and both ROC curves (a Figure)."""
    from matplotlib.figure import Figure

    held = frames.has_face & ~fit_mask
    labels = frames.labels[held]
    signals = {
        "raw P(happy)": frames.raw_happiness[held],
        "calibrated P(smile)": calibrated[held],
    }
    figure = Figure(figsize=(12, 3.8), layout="constrained")
    axes = figure.subplots(1, 3)
    bins = np.linspace(0, 1, 21)
    for ax, (name, values) in zip(axes[:2], signals.items(), strict=True):
        ax.hist(values[labels == 0], bins=bins, alpha=0.6, label="neutral", color="tab:blue")
        ax.hist(values[labels == 1], bins=bins, alpha=0.6, label="smiling", color="tab:orange")
        ax.set(title=f"{name}, held-out frames", xlabel=name, ylabel="frames", xlim=(0, 1))
        ax.legend()
    roc = axes[2]
    styles = ({"color": "tab:gray", "ls": "--", "lw": 2.5}, {"color": "tab:green", "lw": 1.5})
    for (name, values), style in zip(signals.items(), styles, strict=True):
        fpr, tpr = roc_curve(values, labels)
        roc.plot(fpr, tpr, **style, label=f"{name} (AUC {roc_auc(values, labels):.3f})")
    roc.plot([0, 1], [0, 1], ls=":", color="black", lw=0.8)
    roc.set(
        title="ROC, held-out frames",
        xlabel="false positive rate (neutral frames above threshold)",
        ylabel="true positive rate (smiling frames)",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    roc.legend(loc="lower right")
    return figure


# ----- one calibration, end to end ----------------------------------------------------------


@dataclass(frozen=True)
class CalibrationConfig:
    """Settings of a calibration; the CLI's options."""

    out: Path
    """The profile file to write (JSON); the report and frames are written beside it."""
    keep_frames: bool = True
    """Write the calibration frames beside the profile for auditing (`--no-frames`: none)."""
    l2: float = L2_DEFAULT
    """L2 penalty on the weight of P(happy)'s log-odds."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        if not self.l2 > 0:
            raise CalibrationError(f"--l2 must be positive, got {self.l2}.")


@dataclass(frozen=True)
class CalibrationResult:
    """What a calibration wrote."""

    profile: Profile
    report: CalibrationReport
    profile_path: Path
    report_json: Path
    report_png: Path
    frames_csv: Path
    frames_dir: Path | None
    """The audit frames' folder; None when no image was written."""


def sidecar(profile_path: Path, suffix: str) -> Path:
    """A file beside the profile: `me.json` + ".report.json" -> `me.report.json`."""
    return profile_path.with_name(profile_path.stem + suffix)


def calibrate(
    frames: CalibrationFrames,
    model_identity: str,
    model_name: str,
    detector: dict[str, Any],
    config: CalibrationConfig,
) -> CalibrationResult:
    """Fit a profile on recorded frames, evaluate it on held-out frames and write everything.

    Args:
        frames: The neutral and smiling frames, as the pipeline read them.
        model_identity: sha256 of the FER weights the frames were read with.
        model_name: The model card's name.
        detector: `describe()` of the face detector the frames went through.
        config: Where to write, and the fit's settings.

    Raises:
        CalibrationError: If the frames cannot be split into fit and held-out parts.
    """
    block = split_blocks(frames)
    fit_mask = (block >= 0) & (block % 2 == 0)
    features = profile_features(frames.probs[fit_mask], frames.class_names.index(HAPPY))
    labels = frames.labels[fit_mask]
    l2_logits, cv = choose_l2_logits(features, labels, block[fit_mask] // 2, config.l2)
    fitted = rescale(
        fit_logistic(features, labels, penalties(config.l2, l2_logits, features.shape[1])),
        features,
        labels,
        config.l2,
    )
    profile = Profile(
        model_identity=model_identity,
        model_name=model_name,
        class_names=frames.class_names,
        detector=detector,
        features=FEATURES,
        feature_mean=tuple(fitted.mean.tolist()),
        feature_scale=tuple(fitted.scale.tolist()),
        weights=tuple(fitted.weights.tolist()),
        bias=fitted.bias,
        l2=config.l2,
        l2_logits=l2_logits,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        source=frames.source,
    )
    report, calibrated = evaluate(frames, profile, fit_mask)
    report = dataclasses.replace(report, cv_auc=cv)
    profile = dataclasses.replace(profile, report=report.to_dict())
    return _write(frames, profile, report, calibrated, fit_mask, config)


def _write(
    frames: CalibrationFrames,
    profile: Profile,
    report: CalibrationReport,
    calibrated: np.ndarray,
    fit_mask: np.ndarray,
    config: CalibrationConfig,
) -> CalibrationResult:
    from laetitia.sessions import encode_frame, write_json_atomic

    out = config.out
    out.parent.mkdir(parents=True, exist_ok=True)
    frames_dir = sidecar(out, FRAMES_SUFFIX) if config.keep_frames else None
    files = [""] * frames.n_frames
    if frames_dir is not None and frames.images is not None:
        frames_dir.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(frames.images):
            files[i] = f"{frames_dir.name}/{i:06d}.png"
            (out.parent / files[i]).write_bytes(encode_frame(image))
    else:
        frames_dir = None
    frames_csv = sidecar(out, FRAMES_SUFFIX + ".csv")
    _write_frames_csv(frames_csv, frames, calibrated, fit_mask, files)
    report_json = sidecar(out, REPORT_SUFFIX + ".json")
    write_json_atomic(
        report_json,
        {
            "profile": out.name,
            "model_identity": profile.model_identity,
            "report": report.to_dict(),
        },
    )
    report_png = sidecar(out, REPORT_SUFFIX + ".png")
    report_figure(frames, calibrated, fit_mask).savefig(report_png, dpi=100)
    save_profile(profile, out)
    return CalibrationResult(profile, report, out, report_json, report_png, frames_csv, frames_dir)


def _write_frames_csv(
    path: Path,
    frames: CalibrationFrames,
    calibrated: np.ndarray,
    fit_mask: np.ndarray,
    files: Sequence[str],
) -> None:
    columns = ["frame", "t", "span", "kind", "part", "face", "x", "y", "w", "h"]
    columns += ["raw_happy", "calibrated", "file"]
    raw = frames.raw_happiness
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(frames.n_frames):
            span = frames.spans[frames.span[i]]
            face = bool(frames.has_face[i])
            part = ("fit" if fit_mask[i] else "held_out") if face else "no_face"
            writer.writerow(
                [
                    int(frames.frame_index[i]),
                    f"{frames.times_s[i]:.4f}",
                    str(span),
                    span.kind,
                    part,
                    int(face),
                    *(_num(v) for v in frames.boxes[i]),
                    _num(raw[i]),
                    _num(calibrated[i]),
                    files[i],
                ]
            )
    os.replace(tmp, path)


def _num(value: float) -> str:
    return "" if math.isnan(value) else f"{float(value):.6g}"


# ----- live: prompts on screen, frames from a camera ----------------------------------------


@dataclass(frozen=True)
class Prompt:
    """One phase of a live calibration: what the person is asked, and for how long."""

    kind: str
    """NEUTRAL or SMILE."""
    text: str
    """What the window asks."""
    duration_s: float
    """How long the phase lasts."""


def default_prompts(hold_s: float = 4.0) -> tuple[Prompt, ...]:
    """Neutral, smile, neutral again, `hold_s` seconds each."""
    return (
        Prompt(NEUTRAL, "Keep a neutral, relaxed face", hold_s),
        Prompt(SMILE, "Now smile!", hold_s),
        Prompt(NEUTRAL, "Neutral again: relax your face", hold_s),
    )


def prompt_spans(prompts: Sequence[Prompt], ready_s: float, settle_s: float) -> tuple[Span, ...]:
    """The span each prompt's frames are kept from: its time minus the first `settle_s`.

    The person needs a moment to change expression after each prompt appears; those frames,
    and the `ready_s` before the first prompt, are shown but not used.
    """
    spans, start = [], ready_s
    for prompt in prompts:
        if prompt.duration_s <= settle_s:
            raise CalibrationError(
                f"the {prompt.kind} prompt lasts {prompt.duration_s:g} s, not longer than the "
                f"{settle_s:g} s settle time; give it more time."
            )
        spans.append(Span(prompt.kind, start + settle_s, start + prompt.duration_s))
        start += prompt.duration_s
    return tuple(spans)


class PromptDisplay(Protocol):
    """What `record_prompted` shows the person (`laetitia.calibration_window`)."""

    def show(
        self, frame_bgr: np.ndarray, box: np.ndarray | None, text: str, seconds_left: float
    ) -> None:
        """Show the camera frame with the face box, the prompt and a countdown."""


def record_prompted(
    camera: Any,
    pipeline: FramePipeline,
    display: PromptDisplay | None,
    prompts: Sequence[Prompt] = default_prompts(),
    ready_s: float = 3.0,
    settle_s: float = 1.0,
    keep_images: bool = True,
) -> CalibrationFrames:
    """Prompt the person through the phases and read the camera's frames meanwhile.

    Times come from the wall clock for a webcam, and from the frame count and the frame rate
    for a recorded stand-in (a video file), so a recording plays the same protocol headless.

    Args:
        camera: A `laetitia.cameras.Camera`.
        pipeline: The happiness meter to read frames with.
        display: Where to show prompts (None: nowhere).
        prompts: The phases, in order.
        ready_s: Seconds of "get ready" before the first prompt (not used).
        settle_s: Seconds at the start of each prompt that are not used.
        keep_images: Keep the used frames in memory for auditing (False with `--no-frames`).

    Raises:
        CalibrationError: If the camera ends before the last prompt does.
    """
    spans = prompt_spans(prompts, ready_s, settle_s)
    end_s = ready_s + sum(p.duration_s for p in prompts)
    reactions, times, numbers, span_of, images = [], [], [], [], []
    for n, (t, frame) in enumerate(_timed_frames(camera, end_s)):
        reaction = _read(pipeline, [frame], continues=n > 0)
        k = next((k for k, s in enumerate(spans) if s.contains(t)), None)
        if display is not None:
            text, left = _prompt_at(prompts, ready_s, t)
            box = reaction.boxes[0] if reaction.boxes is not None and reaction.has_face[0] else None
            display.show(frame, box, text, left)
        if k is not None:
            reactions.append(reaction)
            times.append(t)
            numbers.append(n)
            span_of.append(k)
            if keep_images:
                images.append(frame)
    return _collect(
        reactions,
        times_s=np.asarray(times),
        frame_index=np.asarray(numbers, dtype=np.int64),
        span=np.asarray(span_of, dtype=np.int64),
        spans=spans,
        images=images if keep_images else None,
        source={
            "kind": "live",
            "camera": camera.describe(),
            "ready_s": ready_s,
            "settle_s": settle_s,
            "prompts": [asdict(p) for p in prompts],
            "spans": [{"kind": s.kind, "start_s": s.start_s, "end_s": s.end_s} for s in spans],
        },
    )


def _timed_frames(camera: Any, end_s: float) -> Iterator[tuple[float, np.ndarray]]:
    from laetitia.cameras import Webcam

    live = isinstance(camera, Webcam)
    fps = camera.fps or 30.0
    start, n = time.monotonic(), 0
    while True:
        t = time.monotonic() - start if live else n / fps
        if t >= end_s:
            return
        frame = camera.read()
        if frame is None:
            raise CalibrationError(
                f"the camera ran out of frames at {t:.1f} s, before the calibration's end "
                f"({end_s:.1f} s); use a longer recording, or shorter prompts (--hold)."
            )
        n += 1
        yield t, frame


def _prompt_at(prompts: Sequence[Prompt], ready_s: float, t: float) -> tuple[str, float]:
    """The prompt on show at time t, and seconds left in it."""
    if t < ready_s:
        return "Get ready: look at the camera", ready_s - t
    start = ready_s
    for prompt in prompts:
        if t < start + prompt.duration_s:
            return prompt.text, start + prompt.duration_s - t
        start += prompt.duration_s
    return "Done", 0.0


# ----- the two ways in ----------------------------------------------------------------------


def open_meter(detector: str = "mtcnn", model: Path | str | None = None) -> Any:
    """The happiness meter calibration reads frames with: the live and video viewers' settings.

    Args:
        detector: Face detector name (`laetitia.faces.DETECTOR_NAMES`).
        model: FER model file; None for the shipped one.
    """
    from laetitia.faces import DETECT_EVERY
    from laetitia.meter import HappinessMeter

    return HappinessMeter.default(detector, model, detect_every=DETECT_EVERY[detector])


def _calibrate_with(
    frames: CalibrationFrames, meter: Any, config: CalibrationConfig
) -> CalibrationResult:
    model = meter.model
    return calibrate(frames, model.identity, model.card.name, meter.detector.describe(), config)


def calibrate_video(
    video: Path | str,
    neutral: Sequence[str],
    smile: Sequence[str],
    config: CalibrationConfig,
    detector: str = "mtcnn",
    model: Path | str | None = None,
    progress: bool = False,
) -> CalibrationResult:
    """Calibrate from a recording with known neutral and smiling time ranges.

    Args:
        video: The recording.
        neutral: Time ranges "START-END" (seconds) where the face is neutral.
        smile: Time ranges where the person smiles.
        config: Where to write, and the fit's settings.
        detector: Face detector name.
        model: FER model file; None for the shipped one.
        progress: Show a progress bar while frames are read.

    Raises:
        CalibrationError: For bad time ranges, spans without a face, or too few frames.
        CameraError: If the video cannot be read.
    """
    spans = [parse_span(text, NEUTRAL) for text in neutral]
    spans += [parse_span(text, SMILE) for text in smile]
    check_spans(spans)  # refuse what needs no video before loading anything
    _check_out(config.out)
    meter = open_meter(detector, model)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=0, unit="frame", desc="reading calibration frames")

    def advance(done: int, total: int) -> None:
        assert bar is not None
        bar.total = total
        bar.update(done - bar.n)

    try:
        frames = read_video_spans(
            video, spans, meter, config.keep_frames, advance if bar is not None else None
        )
    finally:
        if bar is not None:
            bar.close()
    return _calibrate_with(frames, meter, config)


def calibrate_live(
    camera: int | str | Path,
    config: CalibrationConfig,
    detector: str = "mtcnn",
    model: Path | str | None = None,
    prompts: Sequence[Prompt] = default_prompts(),
    ready_s: float = 3.0,
    settle_s: float = 1.0,
    display: PromptDisplay | None = None,
) -> CalibrationResult:
    """Calibrate live: prompt the person in a window and record the camera meanwhile.

    Args:
        camera: A webcam index, or a video file or image folder standing in for one.
        config: Where to write, and the fit's settings.
        detector: Face detector name.
        model: FER model file; None for the shipped one.
        prompts: The phases (default: neutral, smile, neutral, 4 s each).
        ready_s: Seconds before the first prompt.
        settle_s: Seconds at the start of each prompt that are not used.
        display: Where to show the prompts; by default a `CalibrationWindow`.

    Raises:
        CalibrationError: For too few face frames, a camera that runs out, or the person
            stopping the calibration from the window.
        CameraError: If the camera cannot be opened.
    """
    from laetitia.calibration_window import CalibrationWindow
    from laetitia.cameras import open_camera

    prompt_spans(prompts, ready_s, settle_s)
    _check_out(config.out)
    meter = open_meter(detector, model)
    try:
        source = open_camera(camera)
    except CameraError as err:
        if not str(camera).isdigit():
            raise
        raise CameraError(
            f"no webcam could be opened at --camera {camera} (is one connected, and free for "
            "this program to use?). Try another --camera INDEX, or calibrate from a recording "
            "of yourself with --video PATH --neutral START-END --smile START-END."
        ) from err
    window = CalibrationWindow() if display is None else None
    try:
        with source:
            frames = record_prompted(
                source,
                meter,
                display if display is not None else window,
                prompts=prompts,
                ready_s=ready_s,
                settle_s=settle_s,
                keep_images=config.keep_frames,
            )
    finally:
        if window is not None:
            window.close()
    return _calibrate_with(frames, meter, config)


def _check_out(out: Path) -> None:
    """Refuse a profile path that cannot be written, before any frame is read.

    A path whose profile, report or frames exist already is refused too: nothing is lost.
    """
    if out.is_dir():
        raise CalibrationError(f"--out {out} is a folder; give a file name, e.g. {out}/me.json.")
    outputs = [out] + [
        sidecar(out, suffix)
        for suffix in (REPORT_SUFFIX + ".json", REPORT_SUFFIX + ".png", FRAMES_SUFFIX + ".csv")
    ]
    existing = [str(p) for p in (*outputs, sidecar(out, FRAMES_SUFFIX)) if p.exists()]
    if existing:
        raise CalibrationError(
            f"--out {out} would overwrite an earlier calibration ({', '.join(existing)}); "
            "choose another --out, or move those files away first."
        )
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK):
        raise CalibrationError(f"cannot write into {parent}; choose a writable --out.")

"""Fitting a profile's map: which frames it sees, and how hard its weights are held back.

    block = split_blocks(frames)                           # 0..3 per face frame, -1: no face
    mapping, l2_logits, cv_auc = fit_mapping(frames, block)

**Held-out split.** Within each span, the frames with a face are cut into `BLOCKS_PER_SPAN` (4)
contiguous blocks of near-equal size; blocks 1 and 3 are fitted on (each is one fold of the
cross-validation), blocks 2 and 4 are held out. Neighbouring frames are nearly identical, so
holding out whole blocks rather than every other frame keeps the held-out frames honest, and
alternating keeps both parts spread over the span (a face changes within a span). The report
(`laetitia.app.calibration.report`) is computed on the held-out frames only, which neither the fit
nor the choice of penalty saw.

**One person.** A profile is one person's, and everything here splits one recording of them:
the held-out blocks and the cross-validation folds are parts of that recording, never other
people (a person's own frames are what the profile is for). A fit that pools several people's
faces (a population calibration) must keep each person's faces in one fold instead
(`laetitia.fer.people.person_folds`); none is made here. That the frames are one person's is
checked as far as the boxes tell (`laetitia.app.calibration.one_face`).

**Fit.** L2-regularised logistic regression (`laetitia.logistic`), neutral = 0,
smile = 1, on the features of the signal the frames were scored by
(`laetitia.signals.Signal.calibration_features`: for the FER signals P(happy)'s log-odds and
the centred logits, for `smile` its logit alone). The first feature, the
log-odds, gets a small penalty (`L2_DEFAULT`): one person's frames are often separable,
the penalty keeps the weight finite, and a heavier one would pull the resting value up towards
0.5. The seven centred-logit weights get a penalty chosen by cross-validation from
`L2_LOGITS_GRID`: the heaviest whose cross-validated ROC AUC is within `AUC_TOLERANCE` of the
best (`choose_l2_logits`). With little or noisy data that is the heaviest, and the mapping is
the model's own happy evidence rescaled and shifted: the ranking of frames, so the ROC AUC,
stays the raw one while the resting value drops towards 0. When the person's smile shows in
other classes (a smile the model reads as surprise), the other logits earn their weight. Last,
the slope and offset along the fitted direction are refitted by a one-feature logistic
regression with the small penalty (`rescale`), so how steeply P(smile) rises, and so the
resting value, does not depend on how hard the direction was regularised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from laetitia.app.calibration.frames import CalibrationFrames
from laetitia.app.calibration.spans import LABEL
from laetitia.errors import CalibrationError
from laetitia.logistic import LogisticFit, fit_logistic, rescale
from laetitia.signals import get_signal

BLOCKS_PER_SPAN = 4
"""Contiguous blocks each span is cut into: blocks 0 and 2 are fitted on, 1 and 3 held out."""
MIN_FRAMES_PER_PART = 2
"""Fewest face frames of each class on each side of the split."""
L2_DEFAULT = 0.01
"""L2 penalty on the standardised log-odds weight (the loss is a class-balanced mean)."""
L2_LOGITS_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 1000.0)
"""Penalties on the centred-logit weights that cross-validation chooses from."""
AUC_TOLERANCE = 0.005
"""Cross-validated AUCs this close to the best count as a tie (the heavier penalty wins)."""


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
                "face detector."
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
        n_fit = int((fitted_frames(block) & (labels == label)).sum())
        n_held = int(((block % 2 == 1) & (labels == label)).sum())
        if min(n_fit, n_held) < MIN_FRAMES_PER_PART:
            raise CalibrationError(
                f"too few {kind} frames with a face ({n_fit} to fit, {n_held} held out; "
                f"{MIN_FRAMES_PER_PART} each needed): record longer {kind} spans."
            )
    return block


def fitted_frames(block: np.ndarray) -> np.ndarray:
    """The frames fitted on, bool (N,): those of the even blocks of `split_blocks`."""
    return (block >= 0) & (block % 2 == 0)


def fit_mapping(
    frames: CalibrationFrames, block: np.ndarray, l2: float = L2_DEFAULT
) -> tuple[LogisticFit, float, dict[str, float]]:
    """Fit the map from a frame's profile features to P(smile) on the fitted blocks.

    Args:
        frames: The calibration frames.
        block: The block of each frame (`split_blocks`); even blocks are fitted on, and are
            the folds of the cross-validation.
        l2: The penalty on the log-odds weight.

    Returns:
        The map, the centred-logit penalty cross-validation chose, and the cross-validated
        ROC AUC of every candidate penalty (`choose_l2_logits`).
    """
    fit_mask = fitted_frames(block)
    measures = {name: kept[fit_mask] for name, kept in frames.measures.items()}
    features = get_signal(frames.signal).calibration_features(
        frames.probs[fit_mask], measures, frames.class_names
    )
    labels = frames.labels[fit_mask]
    l2_logits, cv_auc = choose_l2_logits(features, labels, block[fit_mask] // 2, l2)
    mapping = fit_logistic(features, labels, penalties(l2, l2_logits, features.shape[1]))
    return rescale(mapping, features, labels, l2), l2_logits, cv_auc


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
            aucs.append(auc(model.predict(features[test]), labels[test]))
        scores[f"{candidate:g}"] = float(np.mean(aucs))
    top = max(scores.values())
    best = max(g for g in grid if scores[f"{g:g}"] >= top - AUC_TOLERANCE)
    return float(best), scores


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC: P(a smiling frame (label 1) scores above a neutral one (0)), ties half.

    NaN when either kind is missing. The curve and its area are `laetitia.fer.evaluate`'s.
    """
    from laetitia.fer.evaluate import roc_auc, roc_curve  # brings torch: only when needed

    smiling = np.asarray(labels) == 1
    if smiling.all() or not smiling.any():
        return math.nan
    fpr, tpr, _ = roc_curve(smiling, scores)
    return roc_auc(fpr, tpr)

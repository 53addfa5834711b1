"""The calibration report: how well raw and calibrated signals separate held-out frames.

    report, calibrated = evaluate(frames, profile, fit_mask, cv_auc)
    print(report.summary())                  # ROC AUC and mean of each signal, and warnings
    report_figure(frames, calibrated, fit_mask).savefig("me.report.png")

Every figure is computed on the held-out frames only (`laetitia.app.calibration.fit.split_blocks`):
the raw signal (the model's P(happy), or the smile blendshapes' mean) against the calibrated
P(smile), each by its ROC AUC over neutral and smiling frames and its mean on each. A
calibration whose figures suggest it went wrong says so (`CalibrationReport.warnings`), as does
one whose face read jumped as if another person's face were read
(`laetitia.app.calibration.one_face`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from laetitia.app.calibration.fit import BLOCKS_PER_SPAN, auc
from laetitia.app.calibration.frames import CalibrationFrames
from laetitia.app.calibration.one_face import face_jumps
from laetitia.profile import Profile
from laetitia.signals import get_signal

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WARN_AUC = 0.8
"""A held-out calibrated AUC below this is reported as a failed calibration."""
WARN_RESTING = 0.2
"""A held-out resting value above this is reported as a failed calibration."""


@dataclass(frozen=True)
class CalibrationReport:
    """How well raw and calibrated signals separate held-out neutral and smiling frames."""

    auc_raw: float
    """ROC AUC of the raw signal."""
    auc_calibrated: float
    """ROC AUC of the calibrated P(smile)."""
    raw_neutral: float
    """Mean raw signal on neutral frames: the raw resting value."""
    raw_smile: float
    """Mean raw signal on smiling frames."""
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
        f"one recording of one person; each span's face frames cut into {BLOCKS_PER_SPAN} "
        "contiguous blocks; blocks 1 and 3 fitted (one cross-validation fold each), blocks 2 "
        "and 4 held out; these figures are on held-out frames only"
    )
    """How the frames were split."""
    face_jumps: list[dict[str, Any]] = field(default_factory=list)
    """Where the face read jumped between frames, as if another face were read
    (`laetitia.app.calibration.one_face.face_jumps`); empty when it never did."""
    signal: str = "fer-happy"
    """The signal calibrated (its raw values are the `raw_` figures)."""

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
                f"{'raw ' + get_signal(self.signal).label:<20}{self.auc_raw:7.3f}   "
                f"{self.raw_neutral:12.3f}   {self.raw_smile:12.3f}",
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
        if self.face_jumps:
            times = ", ".join(f"{jump['t_s']:g} s" for jump in self.face_jumps[:5])
            more = f" and {len(self.face_jumps) - 5} more" if len(self.face_jumps) > 5 else ""
            found.append(
                f"warning: the face read jumped to another place or size {len(self.face_jumps)} "
                f"time(s) (at {times}{more}): another person in view, or something taken for a "
                "face, may have been read as this person's face, and a profile is one "
                "person's. Check the frames there, and calibrate again with only the person "
                "in view."
            )
        return found


def evaluate(
    frames: CalibrationFrames,
    profile: Profile,
    fit_mask: np.ndarray,
    cv_auc: dict[str, float],
) -> tuple[CalibrationReport, np.ndarray]:
    """The report on held-out frames, and the calibrated P(smile) of every frame (NaN: no face).

    Args:
        frames: The calibration frames.
        profile: The fitted profile.
        fit_mask: True for frames that were fitted on (`fit.fitted_frames`).
        cv_auc: The cross-validated AUC of each candidate penalty, for the record.
    """
    calibrated = profile.smile_probability(frames.probs, frames.measures)
    raw = frames.raw_signal
    labels = frames.labels
    held = frames.has_face & ~fit_mask
    neutral, smile = held & (labels == 0), held & (labels == 1)
    report = CalibrationReport(
        auc_raw=auc(raw[held], labels[held]),
        auc_calibrated=auc(calibrated[held], labels[held]),
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
        cv_auc=cv_auc,
        face_jumps=face_jumps(frames),
        signal=frames.signal,
    )
    return report, calibrated


def report_figure(
    frames: CalibrationFrames, calibrated: np.ndarray, fit_mask: np.ndarray
) -> Figure:
    """Held-out histograms of raw and calibrated signals, and both ROC curves."""
    from matplotlib.figure import Figure

    from laetitia.fer.evaluate import roc_auc, roc_curve

    held = frames.has_face & ~fit_mask
    labels = frames.labels[held]
    signals = {
        f"raw {get_signal(frames.signal).label}": frames.raw_signal[held],
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
        fpr, tpr, _ = roc_curve(labels == 1, values)
        roc.plot(fpr, tpr, **style, label=f"{name} (AUC {roc_auc(fpr, tpr):.3f})")
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

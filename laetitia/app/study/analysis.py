"""A study's figures: per session, per participant (paired), per condition, and a mixed model.

For each complete session (`SessionFigures`):
- **steps to threshold**: the first step whose rolling mean (`Analysis.window` steps, full
  windows only) reaches the participant's *own* threshold: `Analysis.threshold` of the way from
  their floor (the 5th percentile) to their top (the highest) of the rolling means over all
  their complete sessions, so a person who smiles little is judged on their own scale. A
  session that never reaches it counts as its length plus one (`reached` is False);
- **last mean**: the mean signal over its last `Analysis.last_steps` steps with a face;
- **best-guess signal**: the signal of the agent's own best guess (`laetitia.sessions.best`):
  the noise-free happiness where the viewer is simulated, else the mean of the guess's
  readings (NaN when it was never shown).

Across participants (`paired`): for each condition against the first (the reference), each
participant's difference on each figure, their mean and a bootstrap interval of that mean
(participants resampled with replacement). `mixed_model` fits statsmodels' MixedLM to the last
mean: condition and position in the order as fixed effects, the participant as a random
intercept. `order_effects` gives each condition's figures by position, so an order effect is
shown, not hidden. `learning_curves` gives each condition's mean rolling-mean curve with a 95%
Student-t interval (`laetitia.app.plots.mean_band`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from laetitia.app.study.participants import StudySession
from laetitia.app.study.protocol import Study
from laetitia.sessions import Session

METRICS: Final = {
    "steps_to_threshold": "steps to the participant's own threshold (fewer is better)",
    "last_mean": "mean signal over the last steps",
    "best_signal": "signal of the agent's best guess",
}
"""The per-session figures compared across conditions, with what each is."""
FLOOR_PERCENTILE: Final = 5.0
"""A participant's floor: this percentile of their rolling means."""


@dataclass(frozen=True)
class SessionFigures:
    """The figures of one complete session."""

    participant: str
    condition: str
    position: int
    """Its place in the participant's order, from 1."""
    agent: str
    steps: int
    steps_to_threshold: float
    reached: bool
    """Whether the threshold was reached (else `steps_to_threshold` is `steps + 1`)."""
    threshold_level: float
    """The participant's own threshold, in the signal's units."""
    last_mean: float
    best_signal: float
    best_signal_is: str
    """"noise-free" (a simulated viewer's), "mean reading", or "not shown" (NaN)."""

    def value(self, metric: str) -> float:
        """The figure `metric` (one of `METRICS`)."""
        return float(getattr(self, metric))


def _curve(session: Session, window: int) -> np.ndarray:
    """The rolling mean of the signal, NaN before the first full window."""
    from laetitia.app.plots import happiness, rolling_mean

    curve = rolling_mean(happiness(session), window)
    curve[: window - 1] = np.nan
    return curve


def session_figures(study: Study, sessions: list[StudySession]) -> list[SessionFigures]:
    """The figures of every complete session, by participant then position."""
    from laetitia.app.truth import simulated_truth
    from laetitia.sessions import load_session
    from laetitia.sessions.best import session_best

    analysis = study.analysis
    complete = [s for s in sessions if s.complete]
    loaded = {s.folder: load_session(s.folder) for s in complete}
    curves = {folder: _curve(session, analysis.window) for folder, session in loaded.items()}
    levels: dict[str, float] = {}
    for name in {s.participant.participant for s in complete}:
        pooled = np.concatenate(
            [curves[s.folder] for s in complete if s.participant.participant == name]
        )
        pooled = pooled[np.isfinite(pooled)]
        if pooled.size:
            floor, top = np.percentile(pooled, FLOOR_PERCENTILE), pooled.max()
            levels[name] = float(floor + analysis.threshold * (top - floor))
    figures = []
    for item in complete:
        session = loaded[item.folder]
        name = item.participant.participant
        level = levels.get(name, math.nan)
        above = np.flatnonzero(curves[item.folder] >= level)
        read = session.steps["reward"][session.scored()][-analysis.last_steps :]
        best = session_best(session, truth=simulated_truth(session))
        if best is not None and best.true_happiness is not None:
            best_signal, best_is = best.true_happiness, "noise-free"
        elif best is not None and best.mean_reading is not None:
            best_signal, best_is = best.mean_reading, "mean reading"
        else:
            best_signal, best_is = math.nan, "not shown"
        figures.append(
            SessionFigures(
                participant=name,
                condition=item.run.condition,
                position=item.run.position,
                agent=session.meta.agent or "",
                steps=session.n_steps,
                steps_to_threshold=float(above[0] + 1 if above.size else session.n_steps + 1),
                reached=bool(above.size),
                threshold_level=level,
                last_mean=float(read.mean()) if read.size else math.nan,
                best_signal=float(best_signal),
                best_signal_is=best_is,
            )
        )
    return sorted(figures, key=lambda f: (f.participant, f.position))


def learning_curves(study: Study, sessions: list[StudySession]) -> dict[str, dict[str, Any]]:
    """Per condition, the mean rolling-mean curve of its complete sessions with a 95% interval.

    Returns:
        Per condition: `mean`, `low`, `high` (lists, None where undefined) and `sessions`.
    """
    from laetitia.app.plots import mean_band, session_curve
    from laetitia.sessions import load_session

    curves: dict[str, dict[str, Any]] = {}
    for condition in study.conditions:
        folders = [s.folder for s in sessions if s.complete and s.run.condition == condition.name]
        if not folders:
            continue
        loaded = [load_session(f) for f in folders]
        # As `laetitia.app.plots.plot_mean_band` draws it: over the steps every session reached.
        common = min(s.n_steps for s in loaded)
        rolled = [session_curve(s, "rolling", study.analysis.window)[:common] for s in loaded]
        band = mean_band(rolled)
        curves[condition.name] = {
            "mean": _listed(band.mean),
            "low": _listed(band.low),
            "high": _listed(band.high),
            "sessions": len(folders),
        }
    return curves


def _listed(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values]


@dataclass(frozen=True)
class PairedComparison:
    """One condition against the reference on one figure, paired by participant."""

    metric: str
    condition: str
    reference: str
    differences: dict[str, float]
    """Each participant's figure in `condition` minus theirs in `reference`."""
    mean_difference: float
    interval95: tuple[float, float]
    """Bootstrap 95% interval of the mean difference (participants resampled)."""

    @property
    def n(self) -> int:
        """Participants with both figures."""
        return len(self.differences)


def bootstrap_mean_interval(
    values: np.ndarray, resamples: int, seed: int = 0
) -> tuple[float, float]:
    """The central 95% interval of the mean of `values` resampled with replacement."""
    from laetitia.app.bench_agents import interval95

    if values.size < 2:
        return math.nan, math.nan
    picks = np.random.default_rng(seed).integers(0, values.size, size=(resamples, values.size))
    low, high = interval95(values[picks].mean(axis=1))
    return low, high


def paired(study: Study, figures: list[SessionFigures]) -> list[PairedComparison]:
    """Every other condition against the first, on each of `METRICS`, paired by participant."""
    reference = study.conditions[0].name
    by = {(f.participant, f.condition): f for f in figures}
    people = sorted({f.participant for f in figures})
    comparisons = []
    for condition in study.conditions[1:]:
        for metric in METRICS:
            differences = {}
            for person in people:
                mine, theirs = by.get((person, condition.name)), by.get((person, reference))
                if mine is None or theirs is None:
                    continue
                difference = mine.value(metric) - theirs.value(metric)
                if math.isfinite(difference):
                    differences[person] = difference
            values = np.array(list(differences.values()), dtype=np.float64)
            comparisons.append(
                PairedComparison(
                    metric=metric,
                    condition=condition.name,
                    reference=reference,
                    differences=differences,
                    mean_difference=float(values.mean()) if values.size else math.nan,
                    interval95=bootstrap_mean_interval(values, study.analysis.bootstrap),
                )
            )
    return comparisons


def mixed_model(study: Study, figures: list[SessionFigures]) -> dict[str, Any]:
    """Statsmodels MixedLM of the last mean: condition and position fixed, participant random.

    The design is written out (an intercept, one column per condition but the first, one per
    position but the first), so the terms read "condition bayes" and "position 2".

    Returns:
        `fitted` and, when fitted, each fixed effect's estimate, standard error, 95% interval
        and p-value, the participants' variance, the residual variance, whether the fit
        converged and the warnings statsmodels gave; else `why` it was not fitted.
    """
    import pandas as pd
    from statsmodels.regression.mixed_linear_model import MixedLM

    rows = [f for f in figures if math.isfinite(f.last_mean)]
    people = sorted({f.participant for f in rows})
    conditions = [c.name for c in study.conditions]
    positions = sorted({f.position for f in rows})
    design = pd.DataFrame({"intercept": np.ones(len(rows))})
    for name in conditions[1:]:
        design[f"condition {name}"] = [float(f.condition == name) for f in rows]
    for position in positions[1:]:
        design[f"position {position}"] = [float(f.position == position) for f in rows]
    described = {
        "outcome": f"mean signal over the last {study.analysis.last_steps} steps",
        "reference": f"condition {conditions[0]} at position {positions[0] if positions else 1}",
        "participants": len(people),
        "sessions": len(rows),
    }
    if len(people) < 2 or len(rows) <= design.shape[1] + 1:
        why = f"{len(people)} participant(s) and {len(rows)} session(s) are too few to fit"
        return {**described, "fitted": False, "why": why}
    endog = pd.Series([f.last_mean for f in rows], name="last_mean")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = MixedLM(endog, design, groups=[f.participant for f in rows]).fit(reml=True)
        except (ValueError, np.linalg.LinAlgError) as error:
            return {**described, "fitted": False, "why": f"statsmodels could not fit: {error}"}
    intervals = result.conf_int()
    effects = {
        name: {
            "estimate": float(result.params[name]),
            "se": float(result.bse[name]),
            "interval95": [float(intervals.loc[name, 0]), float(intervals.loc[name, 1])],
            "p": float(result.pvalues[name]),
        }
        for name in design.columns
    }
    return {
        **described,
        "fitted": True,
        "fixed_effects": effects,
        "participant_variance": float(np.asarray(result.cov_re)[0, 0]),
        "residual_variance": float(result.scale),
        "converged": bool(result.converged),
        "warnings": sorted({str(w.message) for w in caught}),
    }


def order_effects(figures: list[SessionFigures]) -> dict[str, dict[str, dict[str, Any]]]:
    """Each condition's figures by position: the mean and count of each metric.

    Returns:
        condition -> position (as text) -> metric -> {"mean", "n"}.
    """
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for condition in sorted({f.condition for f in figures}):
        for position in sorted({f.position for f in figures if f.condition == condition}):
            at = [f for f in figures if f.condition == condition and f.position == position]
            entry = {}
            for metric in METRICS:
                values = np.array([f.value(metric) for f in at])
                values = values[np.isfinite(values)]
                entry[metric] = {
                    "mean": float(values.mean()) if values.size else None,
                    "n": int(values.size),
                }
            table.setdefault(condition, {})[str(position)] = entry
    return table

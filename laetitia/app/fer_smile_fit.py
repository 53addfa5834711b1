"""The population fit of the `fer-smile` signal: P(smile) from the FER model's happy log-odds.

    fit = fit_fer_smile(find_pairs("../shared/fixtures/london"))
    write_population_fit(fit, "laetitia/fer/weights/fer_smile.json")   # scripts/fit_fer_smile.py

A class-balanced, L2-regularised logistic regression (`laetitia.logistic.fit_logistic`) from
one feature, the log-odds of the FER model's P(happy) (`laetitia.signals.fer_features`, column
0), to whether the photo is of a smile: neutral photos 0, smiling ones 1, every person of the
folder both. It is fitted on the London set's development half only (the shared fixtures),
never on its other half nor on the videos. Its figures (`cross_validated`) are those of the same
fit left one person out at a time: each person's two photos are read by a map fitted on the
others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np

from laetitia.app.smiles import FacePairs, figures, read_photos
from laetitia.files import write_json_atomic
from laetitia.labels import HAPPY
from laetitia.logistic import fit_logistic
from laetitia.signals import PopulationFit, fer_features
from laetitia.types import FER_HAPPY

L2: Final = 0.01
"""The fit's penalty on its one standardised weight (a calibration's `L2_DEFAULT`)."""


def _features(reaction: Any) -> np.ndarray:
    return fer_features(reaction.probs, list(reaction.class_names).index(HAPPY))[:, :1]


def fit_fer_smile(
    pairs: FacePairs, detector: str | None = None, l2: float = L2, name: str = ""
) -> PopulationFit:
    """Fit `fer-smile`'s map on a folder of neutral and smiling faces.

    Args:
        pairs: The photos (`laetitia.app.smiles.find_pairs`).
        detector: Face detector name; None for the default (YuNet).
        l2: The penalty of the fit.
        name: What the photos are, for the record ("London set, dev half").

    Raises:
        DatasetError: If fewer than three people have a face read in both photos.
    """
    from laetitia.errors import DatasetError

    read, meter = read_photos(pairs, [FER_HAPPY], detector)
    neutral, smiling = _features(read["neutral"]), _features(read["smiling"])
    both = read["neutral"].has_face & read["smiling"].has_face
    if both.sum() < 3:
        raise DatasetError(f"{pairs.folder}: fewer than 3 people have both faces read.")
    people = np.flatnonzero(both)
    x = np.vstack([neutral[people], smiling[people]])
    y = np.r_[np.zeros(people.size), np.ones(people.size)]
    penalty = np.array([l2])
    fit = fit_logistic(x, y, penalty)
    held_out = np.full((2, people.size), np.nan)
    for k in range(people.size):  # one person out at a time: both of their photos
        keep = np.r_[np.arange(people.size) != k, np.arange(people.size) != k]
        left_out = fit_logistic(x[keep], y[keep], penalty)
        held_out[:, k] = left_out.predict(np.vstack([neutral[people[k]], smiling[people[k]]]))
    return PopulationFit(
        model_identity=meter.model.identity,
        features="happy_log_odds",
        mean=tuple(fit.mean.tolist()),
        scale=tuple(fit.scale.tolist()),
        weights=tuple(fit.weights.tolist()),
        bias=float(fit.bias),
        l2=l2,
        fitted_on={
            "photos": name or str(pairs.folder),
            "people": int(people.size),
            "images": int(2 * people.size),
            "detector": meter.detector.describe(),
        },
        cross_validated={
            "how": "leave one person out",
            **{k: round(v, 6) for k, v in figures(held_out[0], held_out[1]).items()},
        },
    )


def write_population_fit(fit: PopulationFit, path: Path | str) -> Path:
    """Write a fit as JSON (atomically), as `laetitia.signals.read_population_fit` reads it."""
    import dataclasses

    path = Path(path)
    write_json_atomic(path, dataclasses.asdict(fit))
    return path

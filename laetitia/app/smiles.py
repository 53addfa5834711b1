"""How well each smile signal tells a person's smile from their neutral face (`fer eval-smiles`).

    pairs = find_pairs("../shared/fixtures/london")          # FOLDER/neutral/ID.jpg, smiling/ID.jpg
    groups = read_groups("../shared/fixtures/london/people.csv")
    report = evaluate_smiles(pairs, ["smile", "fer-happy"], groups)
    print(report.table())

Every photo is read once, afresh (no tracking from one to the next), through the live pipeline
(`HappinessMeter.live`): the class probabilities always, and the face landmarker when a signal
asked for needs it; each signal's value is then computed from those readings
(`laetitia.signals`), so every signal sees the same faces. Per signal, over the people:

- `auc`: ROC AUC of the readings, smiling photos against neutral ones (ties count half);
- `smiling_read_high`: the share of smiling photos read 0.5 or above;
- `neutral_read_low`: the share of neutral photos read below 0.5;
- `paired`: the share of people whose smiling photo reads above their neutral one;
- `median_smiling`: the median reading of the smiling photos;

overall and in each group of each grouping column of a people CSV, each with a 95% percentile
bootstrap interval over people (people drawn with replacement, both their photos with them).
A photo in which no face is read counts for nothing (it is left out of every figure and
counted in `no_face`).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from laetitia.errors import DatasetError
from laetitia.signals import get_signal
from laetitia.types import Reaction

KINDS: Final = ("neutral", "smiling")
"""The two subfolders of a folder of faces: FOLDER/neutral/ID.jpg and FOLDER/smiling/ID.jpg."""
METRICS: Final = ("auc", "smiling_read_high", "neutral_read_low", "paired", "median_smiling")
"""The figures of each signal (see the module)."""
RESAMPLES: Final = 2000
"""Bootstrap resamples of the people."""
IMAGE_SUFFIXES: Final = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class FacePairs:
    """Each person's neutral and smiling photo."""

    people: tuple[str, ...]
    """The person ids (file stems), sorted."""
    neutral: tuple[Path, ...]
    smiling: tuple[Path, ...]
    folder: Path


def find_pairs(folder: Path | str) -> FacePairs:
    """The people of a folder of faces: those with a photo in both `neutral/` and `smiling/`.

    Raises:
        DatasetError: If a subfolder is missing, or no person has both photos.
    """
    folder = Path(folder)
    found: dict[str, dict[str, Path]] = {}
    for kind in KINDS:
        where = folder / kind
        if not where.is_dir():
            raise DatasetError(
                f"{folder} has no {kind}/ folder: a folder of faces holds neutral/ID.jpg and "
                "smiling/ID.jpg, one photo of each person in each."
            )
        for path in where.iterdir():
            if path.suffix.lower() in IMAGE_SUFFIXES:
                found.setdefault(path.stem, {})[kind] = path
    people = tuple(sorted(p for p, kinds in found.items() if len(kinds) == 2))
    if not people:
        raise DatasetError(f"{folder}: no person has both a neutral and a smiling photo.")
    return FacePairs(
        people,
        tuple(found[p]["neutral"] for p in people),
        tuple(found[p]["smiling"] for p in people),
        folder,
    )


def read_groups(path: Path | str, id_column: str | None = None) -> dict[str, dict[str, str]]:
    """The groups of each person from a CSV: for each grouping column, person id -> group.

    The id column is `id_column` (default: the first); the grouping columns are the others
    whose values are not all numbers (an age is no group).

    Raises:
        DatasetError: If the file cannot be read or has no such column.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DatasetError(f"cannot read the people CSV {path}: {err}.") from err
    columns = list(rows[0]) if rows else []
    key = id_column or (columns[0] if columns else "")
    if key not in columns:
        raise DatasetError(f"{path} has no column {key!r}; its columns are {columns}.")
    grouping = [c for c in columns if c != key and not all(_number(r[c]) for r in rows)]
    return {c: {r[key]: r[c] for r in rows if r[c] not in MISSING} for c in grouping}


MISSING: Final = ("", "NA", "N/A", "NaN", "nan")
"""How a people CSV writes an unknown value: such people belong to no group of that column."""


def _number(text: str) -> bool:
    if text in MISSING:
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Readings:
    """Each signal's reading of each person's two photos, NaN where no face was read."""

    neutral: dict[str, np.ndarray]
    """float64 (n_people,) per signal."""
    smiling: dict[str, np.ndarray]
    """float64 (n_people,) per signal."""


def read_photos(
    pairs: FacePairs, signals: Sequence[str], detector: str | None = None
) -> tuple[dict[str, Reaction], Any]:
    """Read every photo once, with what each signal needs.

    Args:
        pairs: The photos.
        signals: Signal names (`laetitia.signals.SIGNAL_NAMES`).
        detector: Face detector name; None for the default (YuNet).

    Returns:
        A reaction per kind ("neutral", "smiling"), one row per person; and the meter that
        read them (for its description).

    Raises:
        ConfigError: For an unknown signal or detector.
        DatasetError: For a photo that cannot be read.
    """
    import cv2

    from laetitia.faces import DETECTOR_NAMES
    from laetitia.images import read_image
    from laetitia.meter import HappinessMeter

    chosen = [get_signal(name) for name in signals]
    widest = next((s for s in chosen if s.needs_landmarks), chosen[0])
    meter = HappinessMeter.live(detector or DETECTOR_NAMES[0], signal=widest.name)
    read = {}
    for kind, paths in (("neutral", pairs.neutral), ("smiling", pairs.smiling)):
        images = [read_image(path, cv2.IMREAD_COLOR, DatasetError) for path in paths]
        read[kind] = dataclasses.replace(meter.read(images, related=False), frames=None)
    return read, meter


def read_pairs(
    pairs: FacePairs, signals: Sequence[str], detector: str | None = None
) -> tuple[Readings, Any]:
    """Read every photo once (`read_photos`) and compute each signal from what was read.

    Returns:
        The readings, and the meter that read them (for its description).
    """
    read, meter = read_photos(pairs, signals, detector)
    readings: dict[str, dict[str, np.ndarray]] = {"neutral": {}, "smiling": {}}
    for kind, reaction in read.items():
        for name in signals:
            values = get_signal(name).values(
                reaction.probs, reaction.measures, reaction.class_names
            )
            readings[kind][name] = np.where(reaction.has_face, values, np.nan)
    return Readings(readings["neutral"], readings["smiling"]), meter


def figures(neutral: np.ndarray, smiling: np.ndarray) -> dict[str, float]:
    """The figures of `METRICS` for these people's readings (NaN where none can be said)."""
    return {name: float(v[0]) for name, v in _resampled(neutral[None], smiling[None]).items()}


def _resampled(neutral: np.ndarray, smiling: np.ndarray) -> dict[str, np.ndarray]:
    """`figures` of many resamples at once: readings (B, n) in, each figure (B,) out.

    The AUC is the Mann-Whitney count over every neutral-smiling pair (ties half), the area
    `laetitia.app.calibration.fit.auc` gives, counted for every resample in one pass.
    """
    n_ok, s_ok = ~np.isnan(neutral), ~np.isnan(smiling)
    with np.errstate(invalid="ignore", divide="ignore"):
        pairs = n_ok[:, :, None] & s_ok[:, None, :]
        above = smiling[:, None, :] > neutral[:, :, None]
        tied = smiling[:, None, :] == neutral[:, :, None]
        auc = ((above + 0.5 * tied) * pairs).sum(axis=(1, 2)) / pairs.sum(axis=(1, 2))
        both = n_ok & s_ok
        out = {
            "auc": auc,
            "smiling_read_high": (s_ok & (smiling >= 0.5)).sum(1) / s_ok.sum(1),
            "neutral_read_low": (n_ok & (neutral < 0.5)).sum(1) / n_ok.sum(1),
            "paired": (both & (smiling > neutral)).sum(1) / both.sum(1),
        }
    median = np.full(smiling.shape[0], np.nan)
    some = s_ok.any(axis=1)
    median[some] = np.nanmedian(smiling[some], axis=1)
    return {**out, "median_smiling": median}


def bootstrap(
    neutral: np.ndarray, smiling: np.ndarray, resamples: int = RESAMPLES, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of each figure, resampling people with replacement."""
    rng = np.random.default_rng(seed)
    take = rng.integers(0, neutral.size, (resamples, neutral.size))
    drawn: dict[str, list[np.ndarray]] = {m: [] for m in METRICS}
    for chunk in np.array_split(take, max(1, resamples // 250)):  # bounded memory
        for name, values in _resampled(neutral[chunk], smiling[chunk]).items():
            drawn[name].append(values)
    intervals = {}
    for name in METRICS:
        values = np.concatenate(drawn[name])
        values = values[np.isfinite(values)]
        intervals[name] = (
            (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
            if values.size
            else (math.nan, math.nan)
        )
    return intervals


@dataclass(frozen=True)
class GroupFigures:
    """One signal's figures over one set of people."""

    people: int
    no_face: int
    """Photos of these people in which no face was read."""
    value: dict[str, float]
    ci95: dict[str, tuple[float, float]]

    def to_json(self) -> dict[str, Any]:
        """Plain data, NaN written as null."""
        return {
            "people": self.people,
            "no_face": self.no_face,
            **{
                m: {"value": _finite(self.value[m]), "ci95": [_finite(x) for x in self.ci95[m]]}
                for m in METRICS
            },
        }


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 6)


def group_figures(
    neutral: np.ndarray, smiling: np.ndarray, resamples: int = RESAMPLES
) -> GroupFigures:
    """Figures and their intervals for these people's readings."""
    return GroupFigures(
        people=int(neutral.size),
        no_face=int(np.isnan(neutral).sum() + np.isnan(smiling).sum()),
        value=figures(neutral, smiling),
        ci95=bootstrap(neutral, smiling, resamples),
    )


@dataclass(frozen=True)
class SmileReport:
    """Every signal's figures, overall and by group."""

    folder: str
    signals: dict[str, GroupFigures]
    """Overall, per signal."""
    groups: dict[str, dict[str, dict[str, GroupFigures]]] = field(default_factory=dict)
    """Per signal, per grouping column, per group."""
    pipeline: dict[str, Any] = field(default_factory=dict)
    """The meter's description (detector, models, the landmarker)."""
    resamples: int = RESAMPLES

    def to_json(self) -> dict[str, Any]:
        """The report as plain data."""
        return {
            "folder": self.folder,
            "bootstrap": {"resamples": self.resamples, "over": "people", "interval": "95%"},
            "signals": {
                name: {
                    "label": get_signal(name).label,
                    "all": overall.to_json(),
                    "groups": {
                        column: {g: f.to_json() for g, f in found.items()}
                        for column, found in self.groups.get(name, {}).items()
                    },
                }
                for name, overall in self.signals.items()
            },
            "pipeline": self.pipeline,
        }

    def table(self) -> str:
        """A readable table per signal: a row overall, then one per group."""
        head = (
            "| group | people | ROC AUC | smiling >= 0.5 | neutral < 0.5 | paired "
            "| median smiling |\n|---|---|---|---|---|---|---|"
        )
        blocks = []
        for name, overall in self.signals.items():
            rows = [_row("all", overall)]
            for column, found in self.groups.get(name, {}).items():
                rows += [_row(f"{column}={g}", f) for g, f in sorted(found.items())]
            title = f"signal {name} ({get_signal(name).label}), 95% intervals over people:"
            blocks.append("\n".join([title, "", head, *rows]))
        return "\n\n".join(blocks)


def _row(label: str, found: GroupFigures) -> str:
    def cell(metric: str, share: bool) -> str:
        value, (low, high) = found.value[metric], found.ci95[metric]
        if math.isnan(value):
            return "n/a"
        if share:
            return f"{100 * value:.0f}% [{100 * low:.0f}, {100 * high:.0f}]"
        return f"{value:.3f} [{low:.2f}, {high:.2f}]"

    cells = [cell(m, m not in ("auc", "median_smiling")) for m in METRICS]
    return f"| {label} | {found.people} | " + " | ".join(cells) + " |"


def evaluate_smiles(
    pairs: FacePairs,
    signals: Sequence[str],
    groups: Mapping[str, Mapping[str, str]] | None = None,
    detector: str | None = None,
    resamples: int = RESAMPLES,
    read: Callable[[FacePairs, Sequence[str], str | None], tuple[Readings, Any]] = read_pairs,
) -> SmileReport:
    """Read every photo and report each signal's figures, overall and by group.

    Args:
        pairs: The photos (`find_pairs`).
        signals: Signal names.
        groups: Per grouping column, person id -> group (`read_groups`); people missing from
            a column are left out of its groups.
        detector: Face detector name; None for the default.
        resamples: Bootstrap resamples.
        read: How the photos are read (`read_pairs`).
    """
    readings, meter = read(pairs, signals, detector)
    people = np.array(pairs.people)
    overall, by_group = {}, {}
    for name in signals:
        neutral, smiling = readings.neutral[name], readings.smiling[name]
        overall[name] = group_figures(neutral, smiling, resamples)
        by_group[name] = {
            column: {
                group: group_figures(neutral[mask], smiling[mask], resamples)
                for group in sorted(set(members.values()))
                if (mask := np.array([members.get(p) == group for p in people])).any()
            }
            for column, members in (groups or {}).items()
        }
    return SmileReport(str(pairs.folder), overall, by_group, meter.describe(), resamples)

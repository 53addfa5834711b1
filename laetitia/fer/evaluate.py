"""Evaluate a FER model on a labelled dataset: metrics, figures, predictions, sanity checks.

`evaluate_model` is what `laetitia fer eval` runs. Before predicting it prints and saves the
label distribution of each split and the model-input statistics of the evaluated set beside
those of the model's training data (stored next to models `laetitia fer train` writes) or of
the dataset's own training split, and stops on a mismatch (`check_input_stats`). The split is
made as the training run made it: the same seed and fractions and, on the run's own data, the
same people (`laetitia.fer.splits`); a val or test split that would hold people the model was
trained on is refused. When the data name each face's person, the figures are reported by
person as well (`metrics_by_person`); when they do not, the report says the split is by image.

The metrics are written here with numpy (no scikit-learn): accuracy, unweighted average recall
(UAR, the mean of the per-class recalls: chance is 1 / classes whatever the class balance),
per-class precision, recall and F1, the confusion matrix, and the ROC curve and its area for
"happy" against the rest (the reward's class).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from laetitia.errors import CheckpointError, ConfigError, LabelMismatchError, SplitError
from laetitia.fer.checkpoint import load_model, model_identity
from laetitia.fer.classifier import FerModel
from laetitia.fer.data import (
    SPLITS,
    FaceSet,
    InputStats,
    check_input_stats,
    input_stats,
    load_faces,
    select_classes,
    stats_dict,
    stats_table,
    write_input_stats,
)
from laetitia.fer.people import SHOWN_PEOPLE
from laetitia.fer.splits import Splits, SplitSpec, split_faces
from laetitia.fer.train_state import STATE_FORMAT
from laetitia.files import atomic_open, save_figure, write_json_atomic
from laetitia.labels import HAPPY, check_labels

BEST_MODEL = "best_model.safetensors"
"""File name of the best model in a training run's folder (a `save_model` file)."""

NOTES_FORMAT = "laetitia-fer-training-notes/1"
"""Value of "format" in the JSON written beside a trained model (`model_notes_path`)."""

PREDICT_CHUNK = 1024
"""Crops per progress-bar step when predicting."""


# ---------------------------------------------------------------------------------------------
# Metrics


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (C, C): row = true class, column = predicted class."""
    flat = np.asarray(labels, np.int64) * num_classes + np.asarray(predicted, np.int64)
    return np.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def unweighted_average_recall(confusion: np.ndarray) -> float:
    """Mean recall over the classes that occur (rows with a non-zero count)."""
    support = confusion.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(confusion)[present] / support[present]))


def classification_metrics(
    labels: np.ndarray, proba: np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, UAR, macro F1, per-class precision/recall/F1/support, confusion matrix.

    The prediction is the most probable class. A class never predicted has precision 0; a
    class absent from `labels` has recall NaN and is left out of UAR and macro F1.

    Args:
        labels: int (N,) true class positions, N >= 1.
        proba: (N, C) class probabilities (or any scores), columns as `class_names`.
        class_names: The C classes.

    Returns:
        JSON-ready dict: images, accuracy, uar, macro_f1, per_class {name: {precision, recall,
        f1, support}}, confusion_matrix (list of rows), class_names.
    """
    num_classes = len(class_names)
    predicted = np.asarray(proba).argmax(axis=1)
    confusion = confusion_matrix(labels, predicted, num_classes)
    hits = np.diag(confusion).astype(np.float64)
    support, chosen = confusion.sum(axis=1), confusion.sum(axis=0)
    precision = np.divide(hits, chosen, out=np.zeros(num_classes), where=chosen > 0)
    recall = np.divide(hits, support, out=np.full(num_classes, np.nan), where=support > 0)
    denom = precision + np.nan_to_num(recall)
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(num_classes), where=denom > 0)
    f1[support == 0] = np.nan
    present = support > 0
    return {
        "images": int(confusion.sum()),
        "accuracy": float(hits.sum() / max(confusion.sum(), 1)),
        "uar": unweighted_average_recall(confusion),
        "macro_f1": float(np.mean(f1[present])),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": _or_none(recall[i]),
                "f1": _or_none(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": confusion.tolist(),
        "class_names": list(class_names),
    }


def _or_none(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def roc_curve(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve of a score for one class against the rest.

    Args:
        positive: bool (N,), True for images of the class; both kinds must occur.
        score: (N,) the score, higher meaning more likely positive.

    Returns:
        (false positive rates, true positive rates, thresholds), from (0, 0) at threshold +inf
        to (1, 1); one point per distinct score.
    """
    positive = np.asarray(positive, bool)
    score = np.asarray(score, np.float64)
    order = np.argsort(-score, kind="stable")
    score, positive = score[order], positive[order]
    last_of_value = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(positive)[last_of_value]
    fps = last_of_value + 1 - tps
    fpr = np.r_[0.0, fps / fps[-1]]
    tpr = np.r_[0.0, tps / tps[-1]]
    return fpr, tpr, np.r_[np.inf, score[last_of_value]]


def roc_auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Area under a ROC curve (trapezoids)."""
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def check_subset(model_classes: Sequence[str], classes: Sequence[str]) -> None:
    """Refuse classes the model does not have.

    Raises:
        LabelMismatchError: Naming them.
    """
    unknown = [c for c in classes if c not in model_classes]
    if unknown:
        raise LabelMismatchError(
            f"the model has classes {list(model_classes)}, not {unknown}; evaluate it on its "
            "own classes or a subset of them (`classes`).",
            mentions=("classes",),
        )


def class_probabilities(
    model_proba: np.ndarray, model_classes: Sequence[str], classes: Sequence[str]
) -> np.ndarray:
    """The model's probabilities of `classes`, renormalised to sum to 1 when a subset.

    Columns are picked by name, never by position.

    Raises:
        LabelMismatchError: If a class is not one of the model's.
    """
    check_subset(model_classes, classes)
    columns = [list(model_classes).index(c) for c in classes]
    proba = np.asarray(model_proba, np.float64)[:, columns]
    if len(columns) < len(model_classes):
        proba = proba / np.maximum(proba.sum(axis=1, keepdims=True), 1e-12)
    return proba


# ---------------------------------------------------------------------------------------------
# Models and the notes beside them


def model_notes_path(model_path: str | Path) -> Path:
    """The JSON beside a trained model file (`best_model.json` for `best_model.safetensors`)."""
    return Path(model_path).with_suffix(".json")


def write_model_notes(model_path: str | Path, notes: Mapping[str, Any]) -> Path:
    """Write the notes of a trained model beside it, tied to the file by its sha256."""
    path = model_notes_path(model_path)
    record = {"format": NOTES_FORMAT, "model_sha256": model_identity(model_path), **notes}
    write_json_atomic(path, record, indent=1, sort_keys=False, allow_nan=False)
    return path


def read_model_notes(model_path: str | Path) -> dict[str, Any] | None:
    """The notes `laetitia fer train` wrote beside a model, or None if there are none for it.

    Notes that describe another file (the model was replaced) are ignored.
    """
    path = model_notes_path(model_path)
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or record.get("format") != NOTES_FORMAT:
        return None
    if record.get("model_sha256") != model_identity(model_path):
        return None
    return record


def resolve_device(name: str) -> torch.device:
    """The torch device a `device` setting names ("auto": CUDA when available, else the CPU).

    Raises:
        ConfigError: If CUDA is asked for and torch sees no GPU.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"device {name!r} asked for, but torch sees no CUDA GPU; use cpu.", field="device"
        )
    try:
        return torch.device(name)
    except RuntimeError as err:
        raise ConfigError(
            f"device {name!r} is unknown: use auto, cpu, cuda or cuda:N.", field="device"
        ) from err


def open_model(
    spec: str | Path, device: str | torch.device = "cpu"
) -> tuple[FerModel, Path | None]:
    """Load the model a `model` setting names: "default", a model file or a run folder.

    Returns:
        (the model, its file, or None for the shipped default).

    Raises:
        FileNotFoundError: If the file (or the run folder's best model) does not exist.
        CheckpointError: If the file is not a readable laetitia FER model.
        LabelMismatchError: If the model's classes are not label-map classes in label-map order.
    """
    if str(spec) == "default":
        path = None
    else:
        path = Path(spec)
        if path.is_dir():
            path = path / BEST_MODEL
        elif path.suffix == ".json" or _is_training_state(path):
            raise CheckpointError(
                f"{path} is part of a training state, not a model file; pass the run's "
                "best_model.safetensors or the run folder."
            )
    model = load_model(path, expected_classes=None, device=device)
    source = "the shipped default model" if path is None else f"FER model {path}"
    # A model is used under the one label map: its classes in label-map order, none unknown.
    check_labels(model.class_names, select_classes(model.class_names), source=source)
    return model, path


def _is_training_state(path: Path) -> bool:
    """True for the tensors of a `laetitia.fer.train_state` pair (their JSON sits beside them)."""
    try:
        record = json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("format") == STATE_FORMAT


# ---------------------------------------------------------------------------------------------
# The evaluation run


@dataclass(frozen=True)
class EvalConfig:
    """What `laetitia fer eval` evaluates and where it writes."""

    data: str
    """FER2013 CSV or image-folder dataset."""

    model: str
    """"default", a model file or a training run's folder."""

    out: str
    """Folder for the report."""

    classes: tuple[str, ...] | None = None
    """Classes to evaluate (a subset of the model's); None for all of the model's classes."""

    split: str = "test"
    """Which split to evaluate: train, val, test, or all (every split together)."""

    seed: int | None = None
    """Seed for carving splits the data lacks; None takes the training run's (from the
    model's notes), else `SplitSpec`'s default."""

    val_fraction: float | None = None
    """Share of each class carved for validation; None as for `seed`."""

    test_fraction: float | None = None
    """Share of each class carved for testing; None as for `seed`."""

    person_column: str | None = None
    """The column naming each face's person (of the CSV data or of `people`); None takes the
    training run's when the data are the run's own (from the model's notes)."""

    people: str | None = None
    """A people file for image folders (columns `file` and the person column); None as for
    `person_column`."""

    device: str = "auto"
    """Torch device: "auto" (a GPU when there is one), "cpu", "cuda" or "cuda:N"."""

    allow_stats_mismatch: bool = False
    """Evaluate even when the input statistics differ from the reference's."""


def evaluate_model(
    config: EvalConfig, log: Callable[[str], None] = print, progress: bool = True
) -> dict[str, Any]:
    """Evaluate a model on a dataset's split and write the report into `config.out`.

    Writes metrics.json, predictions.csv, confusion_matrix.png, roc_happy.png (when "happy" is
    evaluated), splits.json, splits.csv and input_stats.json.

    Args:
        config: Model, data, split and output folder.
        log: Where to print progress lines and tables.
        progress: Show a progress bar while predicting.

    Returns:
        The metrics (the content of metrics.json).

    Raises:
        LabelMismatchError: On classes the model does not have or out of label-map order.
        DatasetError, SplitError: On unreadable data or an evaluated split lacking a class.
        NormalizationMismatchError: If the evaluated inputs differ from the reference's.
    """
    if config.split not in (*SPLITS, "all"):
        raise ConfigError(
            f"split must be one of {[*SPLITS, 'all']}, got {config.split!r}.", field="split"
        )
    out = Path(config.out)
    model, model_path = open_model(config.model, device=resolve_device(config.device))
    notes = read_model_notes(model_path) if model_path is not None else None
    classes = select_classes(config.classes or model.class_names)
    check_subset(model.class_names, classes)
    spec = _split_spec(config, notes)
    log(f"model: {model!r}" + (f" ({model_path})" if model_path else " (shipped default)"))
    same_data = _is_training_data(config.data, notes)
    person_column, people = _person_source(config, notes if same_data else None)
    loaded = load_faces(config.data, classes, model.card.input_size, person_column, people)
    splits = split_faces(loaded, spec)
    log(f"data: {loaded.path} ({loaded.layout}); classes {list(classes)}")
    for note in loaded.notes:
        log(f"  {note}")
    log(splits.describe())
    log("label distribution:\n" + splits.table())
    out.mkdir(parents=True, exist_ok=True)
    splits.write(out)
    faces = _evaluated_set(splits, config.split, loaded.path)
    if same_data and notes is not None and config.split in ("val", "test"):
        _check_unseen(faces, notes, config.split)
    stats = _input_stats_columns(model, notes, splits, config.split, faces)
    log("model inputs:\n" + stats_table(stats))
    write_input_stats(out, stats)
    if not config.allow_stats_mismatch:
        _check_against_reference(stats, f"{config.split} (evaluated)")
    metrics = report(
        model,
        faces,
        classes,
        out,
        log=log,
        progress=progress,
        extra={
            "model": str(model_path) if model_path else "default",
            "data": str(loaded.path),
            "split": config.split,
            "split_origin": splits.origin.get(config.split, "all splits"),
            "split_kind": splits.kind,
            "caveat": splits.caveat(),
            "label_distribution": splits.counts(),
            "input_stats": stats_dict(stats),
        },
    )
    return metrics


def report(
    model: FerModel,
    faces: FaceSet,
    classes: Sequence[str],
    out: str | Path,
    log: Callable[[str], None] = print,
    progress: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Predict a labelled set and write the evaluation report into `out`.

    Writes metrics.json (`classification_metrics`, the happiness AUC, the model's identity and
    `extra`), predictions.csv (source, person when known, true and predicted class, one
    probability column per class), confusion_matrix.png and, when "happy" is among `classes`
    with both happy and other faces present, roc_happy.png. When the faces' people are known,
    the figures by person too (`metrics_by_person`, their spread in `people_summary`) in
    metrics.json and by_person.csv.

    Args:
        model: The model; its classes must include `classes`.
        faces: The labelled crops, sized for the model.
        classes: Classes of `faces.labels`; when a subset of the model's, the probabilities
            are renormalised over them.
        out: Folder for the report (created).
        log: Where the summary goes.
        progress: Show a progress bar while predicting.
        extra: More JSON-ready entries for metrics.json.

    Returns:
        The metrics written to metrics.json.
    """
    from laetitia.fer.figures import confusion_figure, roc_figure

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    classes = list(classes)
    proba = class_probabilities(_predict(model, faces.images, progress), model.class_names, classes)
    metrics = classification_metrics(faces.labels, proba, classes)
    metrics.update(
        model_identity=model.identity,
        model_name=model.card.name,
        renormalised=len(classes) < len(model.class_names),
        happy_auc=None,
        **(extra or {}),
    )
    confusion = np.asarray(metrics["confusion_matrix"])
    save_figure(confusion_figure(confusion, classes), out / "confusion_matrix.png")
    if HAPPY in classes:
        positive = faces.labels == classes.index(HAPPY)
        if positive.any() and not positive.all():
            fpr, tpr, _ = roc_curve(positive, proba[:, classes.index(HAPPY)])
            metrics["happy_auc"] = roc_auc(fpr, tpr)
            save_figure(roc_figure(fpr, tpr, metrics["happy_auc"], HAPPY), out / "roc_happy.png")
    if faces.persons is not None:
        metrics["by_person"] = metrics_by_person(faces.labels, proba, faces.persons, classes)
        metrics["people"] = people_summary(metrics["by_person"])
        _write_by_person(out / "by_person.csv", metrics["by_person"])
    _write_predictions(out / "predictions.csv", faces, proba, classes)
    write_json_atomic(out / "metrics.json", metrics, sort_keys=False, allow_nan=False)
    log(summary(metrics))
    log(f"report written to {out}/")
    return metrics


def metrics_by_person(
    labels: np.ndarray, proba: np.ndarray, persons: Sequence[str], class_names: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Each person's figures: images, accuracy, UAR (over the classes they show), happy AUC.

    Args:
        labels: int (N,) true class positions.
        proba: (N, C) class probabilities, columns as `class_names`.
        persons: (N,) the person of each face.
        class_names: The C classes.

    Returns:
        {person: {images, classes, accuracy, uar, happy_auc}}, people sorted; `happy_auc` is
        None unless the person has happy faces and others.
    """
    persons_array = np.asarray(persons, dtype=str)
    rows: dict[str, dict[str, Any]] = {}
    for person in sorted(set(persons_array.tolist())):
        mine = persons_array == person
        metrics = classification_metrics(labels[mine], proba[mine], class_names)
        happy_auc = None
        if HAPPY in class_names:
            positive = labels[mine] == list(class_names).index(HAPPY)
            if positive.any() and not positive.all():
                score = proba[mine][:, list(class_names).index(HAPPY)]
                happy_auc = roc_auc(*roc_curve(positive, score)[:2])
        rows[person] = {
            "images": metrics["images"],
            "classes": int(np.count_nonzero(np.bincount(labels[mine]))),
            "accuracy": metrics["accuracy"],
            "uar": metrics["uar"],
            "happy_auc": happy_auc,
        }
    return rows


def people_summary(by_person: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """How the figures spread over people: their count, and each figure's median and lowest."""
    summary: dict[str, Any] = {"count": len(by_person)}
    for key in ("accuracy", "uar", "happy_auc"):
        values = {p: row[key] for p, row in by_person.items() if row[key] is not None}
        if values:
            lowest = min(values, key=lambda p: (values[p], p))
            summary[key] = {
                "median": float(np.median(list(values.values()))),
                "lowest": values[lowest],
                "lowest_person": lowest,
                "people": len(values),
            }
    return summary


def _write_by_person(path: Path, by_person: Mapping[str, Mapping[str, Any]]) -> None:
    columns = ["person", "images", "classes", "accuracy", "uar", "happy_auc"]
    with atomic_open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for person, row in by_person.items():
            cells = [row[c] for c in columns[1:]]
            writer.writerow([person, *("" if v is None else _cell(v) for v in cells)])


def _cell(value: float | int) -> str:
    return f"{value:.6f}" if isinstance(value, float) else str(value)


def _evaluated_set(splits: Splits, split: str, path: Path) -> FaceSet:
    """The faces of `split` ("all": every split together), each class present.

    Raises:
        SplitError: If a class has no images there.
    """
    if split != "all":
        splits.require([split])
        return splits.sets[split]
    faces = FaceSet.concat(list(splits.sets.values()))
    missing = [c for c, n in faces.counts().items() if n == 0]
    if missing:
        raise SplitError(
            f"{path} has no images of {missing}; evaluate without them (`classes`).",
            mentions=("classes",),
        )
    return faces


def _check_against_reference(stats: Mapping[str, InputStats], evaluated: str) -> None:
    """Check the evaluated set's inputs against the first reference column, if there is one."""
    references = [k for k in stats if k != evaluated]
    if references:
        check_input_stats(references[0], stats[references[0]], {evaluated: stats[evaluated]})


def _is_training_data(data: str, notes: Mapping[str, Any] | None) -> bool:
    """True when `data` is the data the model was trained on (the path its notes name)."""
    if not notes or not isinstance(notes.get("data"), str):
        return False
    return Path(data).resolve() == Path(notes["data"]).resolve()


def _person_source(
    config: EvalConfig, notes: Mapping[str, Any] | None
) -> tuple[str | None, str | None]:
    """(person column, people file): the config's, else the training run's from its notes."""
    if config.person_column is not None or config.people is not None:
        return config.person_column, config.people
    source = (notes or {}).get("person_source") or {}
    return source.get("person_column"), source.get("people")


def _check_unseen(faces: FaceSet, notes: Mapping[str, Any], split: str) -> None:
    """Refuse evaluating the model's own data on people it was trained on.

    A split carved with settings other than the run's (another seed or fractions) can hold
    people of the run's training split.

    Raises:
        SplitError: Naming the people.
    """
    trained = set((notes.get("people") or {}).get("train", ()))
    seen = sorted(set(faces.persons or ()) & trained)
    if seen:
        named = ", ".join(repr(p) for p in seen[:SHOWN_PEOPLE])
        more = f" and {len(seen) - SHOWN_PEOPLE} more" if len(seen) > SHOWN_PEOPLE else ""
        raise SplitError(
            f"split {split!r} holds faces of {named}{more}, whom the model was trained on "
            f"(its training split); figures on them would not be a stranger's. Evaluate with "
            f"the run's own `seed`, `val_fraction` and `test_fraction` (leave them out).",
            mentions=("seed", "val_fraction", "test_fraction"),
        )


def _split_spec(config: EvalConfig, notes: Mapping[str, Any] | None) -> SplitSpec:
    """The config's carving settings, else the training run's, else the defaults."""
    values = dataclasses.asdict(SplitSpec())
    if notes and "split_spec" in notes:
        values.update(notes["split_spec"])
    for name in values:
        if getattr(config, name) is not None:
            values[name] = getattr(config, name)
    return SplitSpec(**values)


def summary(metrics: Mapping[str, Any]) -> str:
    """A few lines: accuracy, UAR, macro F1, happiness AUC and per-class precision/recall/F1."""
    auc = metrics.get("happy_auc")
    lines = [
        f"{metrics['images']} images: accuracy {metrics['accuracy']:.3f}, "
        f"UAR {metrics['uar']:.3f}, macro F1 {metrics['macro_f1']:.3f}"
        + (f", happiness AUC {auc:.3f}" if auc is not None else ""),
        f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name, row in metrics["per_class"].items():
        cells = [row["precision"], row["recall"], row["f1"]]
        text = "".join(f"{'-' if v is None else format(v, '.3f'):>10}" for v in cells)
        lines.append(f"{name:<10}{text}{row['support']:>10}")
    people = metrics.get("people")
    if people:
        lines.append(f"by person ({people['count']} people; by_person.csv):")
        for key, name in (("accuracy", "accuracy"), ("uar", "UAR"), ("happy_auc", "happy AUC")):
            if key in people:
                spread = people[key]
                lines.append(
                    f"  {name} per person: median {spread['median']:.3f}, lowest "
                    f"{spread['lowest']:.3f} ({spread['lowest_person']}; of {spread['people']})"
                )
    return "\n".join(lines)


def _input_stats_columns(
    model: FerModel, notes: Mapping[str, Any] | None, splits: Splits, split: str, faces: FaceSet
) -> dict[str, InputStats]:
    """Input statistics: the references first, then the evaluated set.

    The references are the model's training inputs (from its notes) and the data's own train
    split; the first one present is what the evaluated set is checked against.
    """
    columns: dict[str, InputStats] = {}
    if notes and "input_stats" in notes and "train" in notes["input_stats"]:
        columns["model's training data"] = InputStats.from_dict(notes["input_stats"]["train"])
    if split != "train" and "train" in splits.sets:
        columns["train (this data)"] = input_stats(splits.sets["train"].images, model.card)
    columns[f"{split} (evaluated)"] = input_stats(faces.images, model.card)
    return columns


def _predict(model: FerModel, images: np.ndarray, progress: bool) -> np.ndarray:
    chunks = []
    with tqdm(total=len(images), desc="predicting", unit="face", disable=not progress) as bar:
        for start in range(0, len(images), PREDICT_CHUNK):
            chunks.append(model.predict_proba(images[start : start + PREDICT_CHUNK]))
            bar.update(len(chunks[-1]))
    return np.concatenate(chunks)


def _write_predictions(
    path: Path, faces: FaceSet, proba: np.ndarray, classes: Sequence[str]
) -> None:
    predicted = proba.argmax(axis=1)
    person = [] if faces.persons is None else ["person"]
    with atomic_open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["source", *person, "true", "predicted", "correct", *(f"p_{c}" for c in classes)]
        )
        for i, source in enumerate(faces.sources):
            true, guess = classes[faces.labels[i]], classes[predicted[i]]
            whose = [] if faces.persons is None else [faces.persons[i]]
            writer.writerow(
                [source, *whose, true, guess, int(true == guess), *(f"{p:.6f}" for p in proba[i])]
            )

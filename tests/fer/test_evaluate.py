import csv
import dataclasses
import json

import cv2
import numpy as np
import pytest
from conftest import FOUR, SHAPES, fer_cli, write_fer2013_csv, write_folders

from laetitia.errors import (
    CheckpointError,
    ConfigError,
    LabelMismatchError,
    NormalizationMismatchError,
)
from laetitia.fer import MiniXception, read_card, save_model
from laetitia.fer.evaluate import (
    EvalConfig,
    class_probabilities,
    classification_metrics,
    evaluate_model,
    resolve_device,
    roc_auc,
    roc_curve,
)
from laetitia.labels import EMOTIONS

METRIC_KEYS = {
    "images",
    "accuracy",
    "uar",
    "macro_f1",
    "per_class",
    "confusion_matrix",
    "class_names",
    "happy_auc",
    "model_identity",
    "label_distribution",
    "input_stats",
    "split",
}


def _is_image(path):
    image = cv2.imread(str(path))
    return image is not None and image.shape[0] > 100 and image.std() > 0


def test_metrics_match_a_hand_computed_example():
    labels = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 1, 0, 0])
    proba = np.eye(3)[predicted]
    m = classification_metrics(labels, proba, ["a", "b", "c"])
    assert m["confusion_matrix"] == [[2, 1, 0], [1, 1, 0], [1, 0, 0]]
    assert m["accuracy"] == pytest.approx(3 / 6)
    assert m["per_class"]["a"] == {
        "precision": pytest.approx(2 / 4),
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3)),
        "support": 3,
    }
    assert m["per_class"]["c"]["precision"] == 0.0 and m["per_class"]["c"]["f1"] == 0.0
    assert m["uar"] == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)


def test_roc_auc_equals_the_rank_statistic():
    rng = np.random.default_rng(0)
    positive = rng.random(300) < 0.3
    score = np.round(rng.random(300) + positive * 0.5, 1)  # with ties
    fpr, tpr, thresholds = roc_curve(positive, score)
    pos, neg = score[positive], score[~positive]
    wins = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert roc_auc(fpr, tpr) == pytest.approx(wins)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1) and thresholds[0] == np.inf
    assert roc_auc(*roc_curve(positive, positive.astype(float))[:2]) == 1.0


def test_subset_probabilities_are_picked_by_name_and_renormalised():
    proba = np.array([[0.1, 0.2, 0.3, 0.4]])
    sub = class_probabilities(proba, ("angry", "happy", "sad", "neutral"), ("happy", "neutral"))
    assert sub.tolist() == [[pytest.approx(1 / 3), pytest.approx(2 / 3)]]
    with pytest.raises(LabelMismatchError, match="fear"):
        class_probabilities(proba, ("angry", "happy", "sad", "neutral"), ("fear",))


def test_the_shipped_model_is_evaluated_on_a_fer2013_csv(tmp_path):
    data = write_fer2013_csv(tmp_path / "fer2013.csv", per_class=10, classes=tuple(SHAPES))
    out = tmp_path / "report"
    code = fer_cli(
        ["eval", "--data", str(data), "--model", "default", "--out", str(out), "--no-progress"]
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert METRIC_KEYS <= set(metrics)
    assert metrics["class_names"] == list(EMOTIONS) and metrics["images"] == 7
    assert metrics["split"] == "test" and metrics["model"] == "default"
    assert set(metrics["per_class"]["happy"]) == {"precision", "recall", "f1", "support"}
    assert 0.0 <= metrics["happy_auc"] <= 1.0
    rows = list(csv.DictReader(open(out / "predictions.csv")))
    assert len(rows) == 7 and {f"p_{c}" for c in EMOTIONS} <= set(rows[0])
    assert sum(float(rows[0][f"p_{c}"]) for c in EMOTIONS) == pytest.approx(1, abs=1e-4)
    assert _is_image(out / "confusion_matrix.png") and _is_image(out / "roc_happy.png")
    stats = json.loads((out / "input_stats.json").read_text())
    assert list(stats) == ["train (this data)", "test (evaluated)"]
    assert (out / "splits.json").is_file()


def test_a_trained_model_is_evaluated_on_its_classes(trained_run, fer_csv, tmp_path):
    metrics = evaluate_model(
        EvalConfig(data=str(fer_csv), model=str(trained_run.out), out=str(tmp_path)),
        log=lambda line: None,
        progress=False,
    )
    assert metrics["class_names"] == list(FOUR) and not metrics["renormalised"]
    assert metrics["uar"] == pytest.approx(trained_run.test_metrics["uar"])
    # The model's own training statistics are the reference.
    assert "model's training data" in metrics["input_stats"]
    happy_only = evaluate_model(
        EvalConfig(
            data=str(fer_csv),
            model=str(trained_run.best_model),
            out=str(tmp_path / "two"),
            classes=("happy", "sad"),
            split="all",
        ),
        log=lambda line: None,
        progress=False,
    )
    assert happy_only["renormalised"] and happy_only["images"] == 80
    state = trained_run.out / "checkpoints" / "last.safetensors"
    config = EvalConfig(data=str(fer_csv), model=str(state), out=str(tmp_path / "three"))
    with pytest.raises(CheckpointError, match="training state, not a model file"):
        evaluate_model(config, progress=False)


def test_eval_refuses_data_scaled_unlike_the_models_training_data(trained_run, tmp_path):
    root = write_folders(tmp_path / "data", per_class=10, classes=FOUR)
    for image in root.rglob("*.png"):
        cv2.imwrite(str(image), (cv2.imread(str(image), 0) / 255.0).round().astype(np.uint8))
    config = EvalConfig(data=str(root), model=str(trained_run.best_model), out=str(tmp_path / "r"))
    with pytest.raises(NormalizationMismatchError, match="model's training data"):
        evaluate_model(config, log=lambda line: None, progress=False)
    allowed = dataclasses.replace(config, allow_stats_mismatch=True)
    assert evaluate_model(allowed, log=lambda line: None, progress=False)["images"] == 4


def test_eval_refuses_models_whose_classes_disagree_with_the_label_map(tmp_path, fer_csv):
    card = dataclasses.replace(read_card(), class_names=("happy", "angry"))  # out of order
    path = save_model(MiniXception(num_classes=2), card, tmp_path / "swapped.safetensors")
    config = EvalConfig(data=str(fer_csv), model=str(path), out=str(tmp_path / "r"))
    with pytest.raises(LabelMismatchError, match="same names, same order"):
        evaluate_model(config, log=lambda line: None, progress=False)
    default = EvalConfig(data=str(fer_csv), model="default", out=str(tmp_path), classes=("x",))
    with pytest.raises(LabelMismatchError, match="'x'"):
        evaluate_model(default, log=lambda line: None, progress=False)


def test_unknown_split_or_device_is_an_error_naming_its_field(tmp_path, fer_csv):
    config = EvalConfig(data=str(fer_csv), model="default", out=str(tmp_path), split="tset")
    with pytest.raises(ConfigError, match="split must be one of") as error:
        evaluate_model(config)
    assert error.value.field == "split"
    with pytest.raises(ConfigError, match="device 'tpu' is unknown") as error:
        resolve_device("tpu")
    assert error.value.field == "device"

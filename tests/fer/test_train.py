import csv
import json
import shutil

import cv2
import numpy as np
import pytest
import torch
from conftest import FOUR, QUICK, SHAPES, fer_cli, make_faces, write_fer2013_csv, write_folders

from laetitia.errors import (
    ConfigError,
    LabelMismatchError,
    NormalizationMismatchError,
)
from laetitia.fer import load_model
from laetitia.fer.schedule import cosine_lr
from laetitia.fer.train import TrainConfig, parse_class_weights, resume, train
from laetitia.fer.train_state import load_state

SILENT = dict(progress=False, log=lambda line: None)


def _history(result):
    """History rows without wall time, the one column that is not reproducible."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in result.history]


def test_training_beats_chance_and_writes_the_run(trained_run):
    out = trained_run.out
    # 4 classes: chance UAR is 0.25.
    assert trained_run.best_val_uar >= 0.75
    assert trained_run.test_metrics["uar"] >= 0.7
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    lrs = [float(r["lr"]) for r in rows]
    assert lrs[0] == pytest.approx(5e-3) and lrs[-1] == pytest.approx(2.5e-4)  # the floor
    assert (out / "history.png").stat().st_size > 1000
    for name in ("splits.json", "splits.csv", "input_stats.json", "events.json"):
        assert (out / name).is_file()
    assert set(json.loads((out / "input_stats.json").read_text())) == {"train", "val", "test"}
    assert (out / "test" / "metrics.json").is_file()
    # The best model is a save_model file: the meter's loader reads it, for its own classes.
    model = load_model(trained_run.best_model, expected_classes=FOUR)
    assert model.class_names == FOUR
    tensors, record = load_state(out / "checkpoints" / "best.json")
    assert record["progress"]["best_epoch"] == trained_run.best_epoch
    assert any(k.startswith("optim.") for k in tensors) and "rng.sampler" in tensors


def test_a_model_for_a_class_subset_is_refused_where_all_classes_are_expected(trained_run):
    with pytest.raises(LabelMismatchError, match="same names, same order"):
        load_model(trained_run.best_model)  # expects the seven FER2013 classes


def test_training_on_class_folders_beats_chance(tmp_path, fer_folders):
    config = TrainConfig(
        data=str(fer_folders), out=str(tmp_path / "run"), classes=FOUR, epochs=4, **QUICK
    )
    result = train(config, **SILENT)
    assert result.test_metrics["uar"] >= 0.7
    assert "seed 0" in json.loads((tmp_path / "run" / "splits.json").read_text())["origin"]["val"]


def test_resume_continues_exactly_and_logs_changed_weights(tmp_path):
    # Exactness needs no learning: a small dataset keeps the four runs short.
    data = write_fer2013_csv(tmp_path / "small.csv", per_class=10)
    settings = dict(data=str(data), classes=FOUR, epochs=3, **QUICK)
    whole = train(TrainConfig(out=str(tmp_path / "whole"), **settings), **SILENT)

    cut = TrainConfig(out=str(tmp_path / "cut"), **settings)
    stopped = train(cut, **SILENT, callback=lambda result: result.epoch < 2)
    assert stopped.epochs_done == 2 and stopped.test_metrics is None
    shutil.copytree(tmp_path / "cut", tmp_path / "reweighted")
    lines = []
    resumed = resume(tmp_path / "cut", progress=False, log=lines.append)
    assert _history(resumed) == _history(whole)  # same history, same next-epoch loss
    a, _ = load_state(tmp_path / "whole" / "checkpoints" / "last")
    b, _ = load_state(tmp_path / "cut" / "checkpoints" / "last")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any("resuming after epoch 2" in line for line in lines)
    # Resuming an earlier state into the folder would overwrite later epochs: refused.
    earlier = tmp_path / "reweighted"
    with pytest.raises(ConfigError, match="would overwrite its last checkpoint"):
        resume(earlier, out=str(tmp_path / "cut"), **SILENT)

    # Resuming with new sampling weights (through the CLI) is allowed and logged; into a new
    # folder, the run's best model so far comes along.
    folder = tmp_path / "branch"
    state = earlier / "checkpoints" / "last.json"
    argv = ["train", "--resume", str(state), "--out", str(folder), "--weight", "happy=2.0"]
    assert fer_cli([*argv, "--no-progress"]) == 0
    assert (folder / "best_model.safetensors").is_file() and (folder / "test").is_dir()
    events = json.loads((folder / "events.json").read_text())
    assert [e["event"] for e in events] == ["start", "resume"]
    change = events[1]["changes"]["sampling_weights"]
    assert change["from"]["happy"] == 1.0 and change["to"]["happy"] == 2.0
    rows = list(csv.DictReader(open(folder / "history.csv")))
    assert len(rows) == 3 and float(rows[2]["train_loss"]) != whole.history[2]["train_loss"]


def test_resume_refuses_changed_fixed_settings(trained_run):
    with pytest.raises(ConfigError, match="`lr`: 0.005 -> 0.1"):
        resume(trained_run.out, lr=0.1, **SILENT)
    with pytest.raises(ConfigError, match="`classes`: "):
        resume(trained_run.out, classes=("happy", "sad"), **SILENT)
    # A finished run resumed as is has nothing left to do.
    again = resume(trained_run.out, **SILENT)
    assert _history(again) == _history(trained_run)


def test_a_new_run_into_a_used_folder_is_refused(trained_run, fer_csv):
    config = TrainConfig(data=str(fer_csv), out=str(trained_run.out), classes=FOUR, **QUICK)
    with pytest.raises(ConfigError, match="already holds a training run"):
        train(config, **SILENT)


def test_unknown_or_unselected_class_weights_are_refused(fer_csv, tmp_path, capsys):
    with pytest.raises(LabelMismatchError, match="smile"):
        parse_class_weights(["smile=2"])
    with pytest.raises(ConfigError, match="CLASS=NUMBER"):
        parse_class_weights(["happy:2"])
    assert parse_class_weights(["happy=2", "fear=3.5"]) == {"happy": 2.0, "fear": 3.5}
    with pytest.raises(ConfigError, match="does not train on"):
        TrainConfig(data="x", out="y", classes=FOUR, sampling_weights={"fear": 3.0})
    with pytest.raises(ConfigError, match="positive"):
        TrainConfig(data="x", out="y", loss_weights={"fear": 0.0})
    argv = ["train", "--data", str(fer_csv), "--out", str(tmp_path), "--weight", "smile=2"]
    assert fer_cli(argv) == 2
    assert "unknown emotion class(es) ['smile']" in capsys.readouterr().err


def test_learning_rate_floor_and_schedule():
    with pytest.raises(ConfigError, match="lr_min"):
        TrainConfig(data="x", out="y", lr=1e-3, lr_min=0.0)
    with pytest.raises(ConfigError, match="lr_min"):
        TrainConfig(data="x", out="y", lr=1e-3, lr_min=1e-2)
    lrs = [cosine_lr(e, 5, 1e-3, 1e-5) for e in range(5)]
    assert lrs[0] == 1e-3 and lrs[-1] == pytest.approx(1e-5) and lrs == sorted(lrs, reverse=True)


def test_training_refuses_test_data_scaled_unlike_training_data(tmp_path):
    root = write_folders(tmp_path / "data", per_class=10, splits=True)
    for image in (root / "test").rglob("*.png"):
        # Exported from 0-1 floats as 0-255 integers: every pixel 0 or 1.
        cv2.imwrite(str(image), (cv2.imread(str(image), 0) / 255.0).round().astype(np.uint8))
    config = TrainConfig(data=str(root), out=str(tmp_path / "run"), classes=FOUR, **QUICK)
    with pytest.raises(NormalizationMismatchError, match="model inputs of test"):
        train(config, **SILENT)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_fine_tuning_from_the_shipped_model_keeps_its_class_rows(tmp_path, fer_csv):
    config = TrainConfig(
        data=str(fer_csv),
        out=str(tmp_path / "run"),
        classes=FOUR,
        epochs=1,
        init="default",
        **{**QUICK, "lr": 1e-9, "lr_min": 1e-9, "augment": False},
    )
    result = train(config, **SILENT)
    shipped = load_model().module.state_dict()
    tuned = load_model(result.best_model, expected_classes=FOUR).module.state_dict()
    rows = [0, 3, 4, 5]  # angry, happy, sad, surprise in the label map
    assert torch.allclose(tuned["classifier.weight"], shipped["classifier.weight"][rows], atol=1e-6)
    assert torch.allclose(tuned["conv1.weight"], shipped["conv1.weight"], atol=1e-6)


def test_a_seven_class_model_plugs_into_the_happiness_meter(tmp_path):
    from laetitia.meter import HappinessMeter

    data = write_fer2013_csv(tmp_path / "seven.csv", per_class=10, classes=tuple(SHAPES))
    config = TrainConfig(data=str(data), out=str(tmp_path / "run"), epochs=1, **QUICK)
    result = train(config, **SILENT)
    meter = HappinessMeter.default(detector="none", model_path=result.best_model)
    frame = cv2.cvtColor(make_faces(1, seed=0, classes=("happy",))[0][0], cv2.COLOR_GRAY2BGR)
    reaction = meter.read([frame])
    assert reaction.probs.shape == (1, 7) and reaction.has_face.all()
    assert reaction.probs.sum() == pytest.approx(1, abs=1e-5)

"""The FER training config: checked fields, strict reading back, and what a resume may change."""

import json
import shutil

import pytest
from conftest import FOUR, fer_cli

from laetitia.errors import CheckpointError, ConfigError
from laetitia.fer.run_folder import state_path
from laetitia.fer.train import TrainConfig, resume
from laetitia.fer.train_config import changed_config, resume_changes
from laetitia.records import from_dict

SILENT = dict(progress=False, log=lambda line: None)


def test_config_round_trips_through_plain_data():
    config = TrainConfig(data="x.csv", out="run", classes=FOUR, sampling_weights={"happy": 2})
    again = from_dict(TrainConfig, json.loads(json.dumps(config.to_dict())), source="run")
    assert again == config and again.sampling_weights["happy"] == 2.0
    # Keys left out take the defaults, as in a config written by an older version.
    plain = {"data": "x.csv", "out": "run"}
    assert from_dict(TrainConfig, plain, source="run") == TrainConfig("x.csv", "run")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"data": "x", "out": "y", "epohcs": 3}, "unknown key\\(s\\) 'epohcs'"),
        ({"data": "x"}, "the key 'out' of TrainConfig is missing"),
        ({"data": "x", "out": "y", "epochs": "3"}, "'epochs' should be int, found '3'"),
        ({"data": "x", "out": "y", "epochs": 0}, "epochs must be at least 1"),
    ],
)
def test_reading_a_config_back_names_the_key_and_the_source(data, message):
    with pytest.raises(ConfigError, match="last.json: config: " + message):
        from_dict(TrainConfig, data, source="last.json: config")


def test_a_bad_value_is_an_error_naming_its_field_first():
    with pytest.raises(ConfigError) as error:
        TrainConfig(data="x", out="y", epochs=0, lr_min=1.0)
    assert error.value.field == "epochs"
    assert str(error.value).startswith("epochs must be at least 1, got 0; `lr_min` must be")


def test_only_resumable_settings_may_change():
    saved = TrainConfig(data="x", out="y", classes=FOUR, epochs=3)
    config = changed_config(saved, {"epochs": 5, "patience": None, "sampling_weights": None})
    assert config.epochs == 5 and config.patience == saved.patience
    assert resume_changes(saved, config) == {"epochs": {"from": 3, "to": 5}}
    with pytest.raises(ConfigError, match="`seed`: 0 -> 1"):
        resume_changes(saved, changed_config(saved, {"seed": 1}))
    with pytest.raises(TypeError):
        changed_config(saved, {"epohcs": 5})


def test_resuming_a_state_with_an_unknown_config_key_names_the_key_and_the_file(
    trained_run, tmp_path, capsys
):
    run = tmp_path / "run"
    shutil.copytree(trained_run.out, run)
    last = state_path(run).with_suffix(".json")
    record = json.loads(last.read_text())
    record["config"]["surprise"] = 1
    last.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match=f"{last}: config: unknown key\\(s\\) 'surprise'"):
        resume(run, **SILENT)
    assert fer_cli(["train", "--resume", str(run), "--no-progress"]) == 2
    error = capsys.readouterr().err.strip()
    assert "'surprise'" in error and str(last) in error and "\n" not in error


def test_the_command_line_names_flags_for_the_fields_at_fault(trained_run, fer_csv, capsys):
    assert fer_cli(["train", "--resume", str(trained_run.out), "--lr", "0.1"]) == 2
    assert "--lr: 0.005 -> 0.1" in capsys.readouterr().err
    argv = ["train", "--data", str(fer_csv), "--out", "unused", "--epochs", "0"]
    assert fer_cli([*argv, "--device", "cpu"]) == 2
    assert "error: --epochs must be at least 1, got 0." in capsys.readouterr().err

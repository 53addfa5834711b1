"""`laetitia fer train` and `fer eval` with people named: split by person, recorded as such,
reported by person; without people, the split by image is recorded and said plainly."""

import csv
import json

import pytest
from conftest import FOUR, fer_cli, make_people, write_people_csv

from laetitia.fer import read_card
from laetitia.fer.evaluate import EvalConfig, evaluate_model, metrics_by_person, people_summary
from laetitia.fer.splits import SPLITS


@pytest.fixture(scope="module")
def person_run(tmp_path_factory):
    """A one-epoch run through the CLI on 30 people's faces, split by the `subject` column."""
    root = tmp_path_factory.mktemp("person_run")
    data = write_people_csv(root / "people.csv", make_people(30, seed=1))
    out = root / "run"
    argv = ["train", "--data", str(data), "--out", str(out), "--person-column", "subject"]
    argv += ["--classes", *FOUR, "--epochs", "1", "--input-size", "32", "--batch-size", "8"]
    assert fer_cli([*argv, "--device", "cpu", "--no-progress"]) == 0
    return data, out


def test_fer_train_with_a_person_column_splits_by_person_and_records_it(person_run, capsys):
    data, out = person_run
    splits = json.loads((out / "splits.json").read_text())
    assert splits["split_kind"] == "by person" and splits["caveat"] == ""
    people = {name: set(splits["people"][name]) for name in SPLITS}
    assert all(people[name] for name in SPLITS)
    assert not (people["train"] & people["val"] or people["train"] & people["test"])
    assert not people["val"] & people["test"]
    assert read_card(out / "best_model.safetensors").data_split == "by person"
    notes = json.loads((out / "best_model.json").read_text())
    assert notes["split_kind"] == "by person"
    assert notes["person_source"] == {"person_column": "subject", "people": None}
    # The test report is by person: every test person, and by_person.csv.
    metrics = json.loads((out / "test" / "metrics.json").read_text())
    assert set(metrics["by_person"]) == people["test"]
    assert metrics["people"]["count"] == len(people["test"])
    rows = list(csv.DictReader(open(out / "test" / "by_person.csv")))
    assert {row["person"] for row in rows} == people["test"]


def test_fer_eval_reports_by_person_as_the_run_split(person_run, tmp_path, capsys):
    data, out = person_run
    assert fer_cli(["eval", "--data", str(data), "--model", str(out), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "split by person (each face's person from the CSV's column 'subject')" in printed
    assert "by person (" in printed and "accuracy per person: median" in printed
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    test_people = set(json.loads((out / "splits.json").read_text())["people"]["test"])
    assert metrics["split_kind"] == "by person" and set(metrics["by_person"]) == test_people
    predictions = list(csv.DictReader(open(tmp_path / "predictions.csv")))
    assert {row["person"] for row in predictions} == test_people


def test_fer_eval_refuses_a_test_split_holding_people_the_model_trained_on(
    person_run, tmp_path, capsys
):
    data, out = person_run
    argv = ["eval", "--data", str(data), "--model", str(out), "--out", str(tmp_path)]
    assert fer_cli([*argv, "--seed", "5"]) == 2
    error = capsys.readouterr().err
    assert "split 'test' holds faces of 'p" in error and "whom the model was trained on" in error
    assert "--seed" in error


def test_a_run_on_data_naming_no_person_records_its_split_by_image(trained_run):
    out = trained_run.out
    assert read_card(trained_run.best_model).data_split == "by image"
    splits = json.loads((out / "splits.json").read_text())
    assert splits["split_kind"] == "by image" and "may be optimistic" in splits["caveat"]
    notes = json.loads((out / "best_model.json").read_text())
    assert notes["split_kind"] == "by image" and notes["caveat"] == splits["caveat"]
    metrics = json.loads((out / "test" / "metrics.json").read_text())
    assert "by_person" not in metrics


def test_figures_by_person_are_each_persons_own():
    import numpy as np

    labels = np.array([0, 1, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    rows = metrics_by_person(labels, proba, ["a", "a", "b", "b", "b"], ["sad", "happy"])
    assert rows["a"] == {"images": 2, "classes": 2, "accuracy": 1.0, "uar": 1.0, "happy_auc": 1.0}
    assert rows["b"]["accuracy"] == pytest.approx(1 / 3) and rows["b"]["uar"] == 0.25
    summary = people_summary(rows)
    assert summary["count"] == 2 and summary["accuracy"]["lowest_person"] == "b"


def test_eval_takes_the_person_column_given_for_other_data(tmp_path, person_run):
    data, out = person_run
    other = write_people_csv(tmp_path / "other.csv", make_people(12, seed=9))
    config = EvalConfig(
        data=str(other),
        model=str(out),
        out=str(tmp_path / "r"),
        split="all",
        person_column="subject",
    )
    metrics = evaluate_model(config, log=lambda line: None, progress=False)
    assert metrics["people"]["count"] == 12
    # Other data do not take the run's person column: named by no one, split by image.
    plain = EvalConfig(data=str(other), model=str(out), out=str(tmp_path / "p"), split="all")
    metrics = evaluate_model(plain, log=lambda line: None, progress=False)
    assert metrics["split_kind"] == "by image" and "by_person" not in metrics

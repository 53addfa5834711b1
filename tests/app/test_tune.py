"""`laetitia tune`: Ray Tune over an agent's settings, and the settings file it writes."""

import json
from types import SimpleNamespace

import pytest

from laetitia.app.agent_settings import (
    AgentSettings,
    agent_args_with_file,
    read_agent_settings,
    write_agent_settings,
)
from laetitia.app.sweep import ray_runtime
from laetitia.app.tune import (
    BEST_FILE,
    OBJECTIVE,
    CannotWin,
    TuneConfig,
    objective,
    parse_dimension,
    read_config,
    trial_from,
    trial_metrics,
)
from laetitia.cli import main
from laetitia.errors import ConfigError
from laetitia.sessions import load_session


def test_a_dimension_is_a_range_a_list_or_a_fixed_value_of_the_settings_type() -> None:
    sigma = parse_dimension("cma-es", "sigma=0.1:0.8:log")
    assert (sigma.low, sigma.high, sigma.log, sigma.integer) == (0.1, 0.8, True, False)
    population = parse_dimension("cma-es", "population=4:12")
    assert population.integer and (population.low, population.high) == (4, 12)
    assert parse_dimension("cma-es", "separable=true,false").choices == (True, False)
    assert parse_dimension("cma-es", "sigma=1").choices == (1.0,)  # a float setting
    assert parse_dimension("cma-es", "sigma=1").fixed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sigma", "is not one of"),
        ("popsize=4:8", "has no setting 'popsize'"),
        ("population=4.5:8", "takes a whole number"),
        ("separable=0:1", "is not a number"),
        ("sigma=0.8:0.1", "LOW < HIGH"),
        ("sigma=0:1:log", "LOW > 0"),
        ("population=1:8", "population must be at least 2"),  # the agent's own check
    ],
)
def test_a_bad_dimension_is_refused_naming_the_space(text, message) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        parse_dimension("cma-es", text)
    assert raised.value.field == "space" and str(raised.value).startswith("space ")


def test_a_search_searches_a_setting_named_once_or_scores_the_given_ones(tmp_path) -> None:
    with pytest.raises(ConfigError, match="names no setting to search"):
        TuneConfig(agent="cma-es", space=("sigma=0.3",), out=tmp_path)
    scored = TuneConfig(agent="cma-es", space=("sigma=0.3",), out=tmp_path, samples=1)
    assert scored.searched() == [] and scored.fixed() == {"sigma": 0.3}
    with pytest.raises(ConfigError, match=r"names \['sigma'\] more than once"):
        TuneConfig(agent="cma-es", space=("sigma=0.3", "sigma=0.1:0.5"), out=tmp_path)


def test_the_objective_orders_by_median_then_happiness() -> None:
    assert objective(100.0, 0.0) < objective(100.5, 1.0)  # a lower median always wins
    assert objective(100.0, 0.6) < objective(100.0, 0.5)  # happiness breaks ties


def test_a_trial_reports_the_best_objective_it_could_still_reach() -> None:
    early = trial_metrics([300, 300], [0.2, 0.2], runs=4, people=2)
    assert early["median_steps_to_90"] == 300 and early["people"] == 2
    # The two runs to come could reach 90% at step 1 with happiness 1: median (1 + 300) / 2.
    assert early["objective_bound"] == pytest.approx(objective(150.5, 0.6))
    done = trial_metrics([300, 300, 300], [0.2] * 3, runs=4, people=3)
    assert done["objective_bound"] == pytest.approx(objective(300, 0.4))
    stopper = CannotWin(people=4)
    assert not stopper("a", early)  # nothing has finished yet
    assert not stopper("b", trial_metrics([150, 200, 200, 250], [0.4] * 4, runs=4, people=4))
    assert not stopper("a", early)  # could still reach 150.5, below b's 200
    assert stopper("a", done)  # cannot get below 300 any more


def test_a_trial_is_finished_stopped_failed_or_unfinished(tmp_path) -> None:
    config = TuneConfig(agent="cma-es", space=("sigma=0.1:0.8",), out=tmp_path, viewers=4)

    def state(people, done=False, error=None):
        metrics = {"people": people, "done": done, OBJECTIVE: 1.0}
        result = SimpleNamespace(metrics=metrics, config={"sigma": 0.2}, error=error, path=None)
        return trial_from(config, result).state

    assert state(4) == "finished"
    assert state(2, done=True) == "stopped"  # Tune marks the report its stopper ended on
    assert state(2) == "unfinished"  # interrupted: resume the search
    assert state(2, error=RuntimeError("worker died")) == "failed"


def test_a_settings_file_round_trips_and_flags_override_it(tmp_path) -> None:
    path = write_agent_settings(
        tmp_path / "s.json", AgentSettings("cma-es", {"sigma": 0.3, "population": 8})
    )
    assert read_agent_settings(path, "cma-es") == {"sigma": 0.3, "population": 8}
    merged = agent_args_with_file("cma-es", path, {"population": 10})
    assert merged == {"sigma": 0.3, "population": 10}
    assert agent_args_with_file("cma-es", None, {"sigma": 0.2}) == {"sigma": 0.2}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"agent": "cma-es", "settings": {"popsize": 8}}, r"no setting\(s\) \['popsize'\]"),
        ({"agent": "cma-es", "settings": {"sigma": "wide"}}, "setting sigma takes a number"),
        ({"agent": "cma-es", "settings": {"sigma": 5}}, r"setting sigma must be in \(0, 2\]"),
        ({"agent": "cma-es", "settings": {}, "extra": 1}, "unknown key"),
        ({"settings": {}}, "'agent' of AgentSettings is missing"),
        ({"agent": "hill-climb", "settings": {}}, "settings of agent 'hill-climb'"),
    ],
)
def test_a_bad_settings_file_is_refused_naming_the_key_and_the_file(
    tmp_path, content, message
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigError, match=message) as raised:
        read_agent_settings(path, "cma-es")
    assert raised.value.field == "agent_config" and str(path) in str(raised.value)


def test_train_refuses_an_unknown_setting_in_the_file_by_its_flag(tmp_path, capsys) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"agent": "cma-es", "settings": {"popsize": 8}}))
    args = ["train", "--agent", "cma-es", "--viewer", "sim", "--steps", "2"]
    code = main([*args, "--agent-config", str(path), "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"--agent-config {path}" in err and "popsize" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.expensive
def test_tune_finds_the_better_of_two_settings_and_train_takes_its_file(
    tmp_path, capsys, no_ray_left
) -> None:
    # One local runtime for the search and its resume (each command alone starts its own, as
    # the bench's test shows): a second start costs as much as the search.
    with ray_runtime(1, None):
        search_then_resume(tmp_path, capsys)
    import ray

    assert not ray.is_initialized()


def search_then_resume(tmp_path, capsys) -> None:
    out = tmp_path / "search"
    grid = ["--viewers", "4", "--seeds", "1", "--steps", "250", "--samples", "3", "--workers", "1"]
    # sigma 0.005 barely moves from the first emoticon: it never reaches 90% of anyone's best.
    code = main(
        ["tune", "--agent", "cma-es", "--space", "sigma=0.4,0.005", *grid, "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    best = json.loads((out / BEST_FILE).read_text())
    assert best["agent"] == "cma-es" and best["settings"] == {"sigma": 0.4}
    assert best["found_by"]["median_steps_to_90"] < 250  # 239, 196, never, 60: 217.5
    assert f"written to {out / BEST_FILE}" in printed
    # Both settings were tried; the poor one was stopped once it could no longer win.
    results = {}
    for folder in out.glob("run_trial_*"):
        reports = [json.loads(line) for line in (folder / "result.json").read_text().splitlines()]
        results.setdefault(reports[-1]["config"]["sigma"], []).append(reports[-1])
    assert set(results) == {0.4, 0.005}
    assert all(r["people"] < 4 for r in results[0.005])
    assert list(out.glob("run_trial_*/events.out.tfevents.*"))  # TensorBoard reads the folder
    assert read_config(out).agent == "cma-es"
    # The file is a setting source for `laetitia train`; --agent-arg overrides it.
    run = tmp_path / "run"
    args = ["train", "--agent", "cma-es", "--viewer", "sim", "--steps", "3", "--out", str(run)]
    assert main([*args, "--agent-config", str(out / BEST_FILE), "--agent-arg", "population=4"]) == 0
    assert load_session(run).meta.config["agent_args"] == {"sigma": 0.4, "population": 4}
    # A finished search resumes to the same best; one that exists is not started over.
    assert main(["tune", "--resume", str(out)]) == 0
    assert json.loads((out / BEST_FILE).read_text())["settings"] == {"sigma": 0.4}
    capsys.readouterr()
    again = ["tune", "--agent", "cma-es", "--space", "sigma=0.4,0.005", "--out", str(out)]
    assert main(again) == 2
    assert "--out" in capsys.readouterr().err

import json

import numpy as np
import pytest

from laetitia.app.bench_agents import (
    BASELINES,
    BenchConfig,
    Run,
    bootstrap_medians,
    format_table,
    parse_agent_spec,
    parse_people,
    run_metrics,
    run_once,
    summarize,
)
from laetitia.cli import main
from laetitia.errors import ConfigError
from laetitia.viewers.people import SUITE_VERSION, V2_HELD_OUT, suite_viewer


def test_steps_to_90_counts_from_one_and_is_censored_at_the_budget() -> None:
    viewer = suite_viewer(0)
    floor, top = viewer.floor(), viewer.attainable_max()
    near = floor + 0.9 * (top - floor)
    shown = np.array([floor, floor + 0.5 * (top - floor), near, top])
    metrics = run_metrics(shown, viewer)
    assert metrics.steps_to_90 == 3 and metrics.reached
    assert metrics.best == top and metrics.best_fraction == pytest.approx(1.0)
    assert metrics.mean_first_100 == pytest.approx(shown.mean())
    never = run_metrics(np.full(7, floor + 0.5 * (top - floor)), viewer)
    assert never.steps_to_90 == 7 and not never.reached
    assert never.best_fraction == pytest.approx(0.5)


def test_the_bench_runs_end_to_end_and_writes_the_documented_json(tmp_path, capsys) -> None:
    out = tmp_path / "bench.json"
    code = main(
        [
            "bench",
            "agents",
            "--agents",
            "hill-climb",
            "cma-es",
            "--viewers",
            "2",
            "--seeds",
            "1",
            "--steps",
            "12",
            "--workers",
            "1",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    document = json.loads(out.read_text())
    assert document["suite"] == SUITE_VERSION
    assert set(document["agents"]) == {"hill-climb", "cma-es"}
    for summary in document["agents"].values():
        assert 1 <= summary["median_steps_to_90"] <= 12
        # The median is only a lower bound exactly when at least half the runs never got there.
        assert summary["median_censored"] == (summary["censored_fraction"] >= 0.5)
        assert 0 < summary["mean_happiness_first_100"] < 1
        assert 0 < summary["median_best"] < 1
        assert len(summary["curves"]["best_so_far_median"]) == 12
    assert len(document["runs"]) == 4
    assert document["agents"]["cma-es"]["step_size"] == 1.0
    assert document["agents"]["hill-climb"]["step_size"] == 0.1
    printed = capsys.readouterr().out
    assert "cma-es" in printed and str(out) in printed


def test_a_bad_configuration_is_refused(capsys) -> None:
    with pytest.raises(ConfigError, match="unknown agent 'nope'"):
        BenchConfig(agents=("nope",))
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        BenchConfig(agents=("hill-climb:remeasure_every",))
    with pytest.raises(ConfigError, match=r"people \[48\]"):
        BenchConfig(agents=("hill-climb",), suite="people-v2", people=(47, 48))
    with pytest.raises(ConfigError, match="people-v1 has no split 'held-out'"):
        parse_people("held-out", "people-v1")
    with pytest.raises(ConfigError, match="viewers"):
        BenchConfig(agents=("hill-climb",), viewers=99)
    with pytest.raises(ConfigError, match="steps"):
        BenchConfig(agents=("hill-climb",), steps=0)
    with pytest.raises(ConfigError, match="step size"):
        BenchConfig(agents=("hill-climb",), step_sizes={"cma-es": 0.5})
    assert main(["bench", "agents", "--step-size", "hill-climb", "--json", "x.json"]) == 2
    assert "AGENT=SIZE" in capsys.readouterr().err


def test_a_step_size_can_be_set_per_agent(tmp_path) -> None:
    out = tmp_path / "b.json"
    args = ["bench", "agents", "--agents", "hill-climb", "--viewers", "1", "--seeds", "1"]
    args += ["--steps", "5", "--workers", "1", "--step-size", "hill-climb=0.3", "--json", str(out)]
    assert main(args) == 0
    assert json.loads(out.read_text())["agents"]["hill-climb"]["step_size"] == 0.3


def test_agent_specs_and_people_are_read_as_documented() -> None:
    assert parse_agent_spec("hill-climb") == ("hill-climb", {})
    assert parse_agent_spec("hill-climb:remeasure_every=10,name=x") == (
        "hill-climb",
        {"remeasure_every": 10, "name": "x"},
    )
    assert parse_people("0-2,7", "people-v1") == (0, 1, 2, 7)
    assert parse_people("held-out", "people-v2") == V2_HELD_OUT
    assert parse_people("all", "people-v2") == tuple(range(48))


def test_a_spec_s_settings_reach_the_agent() -> None:
    """The re-measuring hill-climber shows its incumbent again every 10 steps: with the same
    seed its shown emoticons differ from the plain one's exactly from then on."""
    config = BenchConfig(agents=BASELINES, steps=30, workers=1)
    plain, remeasuring = (run_once(spec, 0, 0, config).shown for spec in BASELINES)
    assert not np.allclose(plain, remeasuring)


def _run(agent: str, viewer: int, seed: int, steps_to_90: int, reached: bool = True) -> Run:
    metrics = run_metrics(np.zeros(1), suite_viewer(0))
    metrics = type(metrics)(steps_to_90, reached, 0.5, 0.9, 0.9)
    return Run(agent, viewer, seed, metrics, np.zeros(steps_to_90), 0.0)


def test_intervals_resample_people_and_ratios_are_paired() -> None:
    """Agent b takes twice agent a's steps on every person: the people differ a lot, so b's
    own interval is wide, but the paired ratio is exactly 2 on every resample."""
    people = range(8)
    runs = [
        _run(agent, p, s, (10 + 20 * p + s) * (2 if agent == "cma-es" else 1))
        for agent in ("hill-climb", "cma-es")
        for p in people
        for s in range(2)
    ]
    config = BenchConfig(agents=("hill-climb", "cma-es"), viewers=8, seeds=2, steps=400)
    document = summarize(runs, config)
    cma = document["agents"]["cma-es"]
    low, high = cma["median_steps_to_90_ci95"]
    assert low < cma["median_steps_to_90"] < high and high - low > 100
    ratio = cma["ratios"]["baseline"]
    assert ratio["to"] == "hill-climb"
    assert ratio["ratio"] == pytest.approx(2.0) and ratio["ci95"] == pytest.approx([2.0, 2.0])
    assert document["agents"]["hill-climb"]["ratios"]["cma-es"]["ratio"] == pytest.approx(0.5)


def test_the_bootstrap_keeps_each_person_s_seeds_together() -> None:
    """One person with two seeds: every resample's median is that person's."""
    medians = bootstrap_medians({"a": np.array([[3.0, 5.0]])}, resamples=50)
    assert np.all(medians["a"] == 4.0)


def test_the_stronger_baseline_is_the_one_ratios_are_stated_against() -> None:
    runs = [
        _run(agent, p, 0, steps)
        for p in range(4)
        for agent, steps in (("hill-climb", 300), (BASELINES[1], 100), ("cma-es", 50))
    ]
    config = BenchConfig(agents=("hill-climb", BASELINES[1], "cma-es"), viewers=4, seeds=1)
    ratio = summarize(runs, config)["agents"]["cma-es"]["ratios"]["baseline"]
    assert ratio["to"] == BASELINES[1] and ratio["ratio"] == pytest.approx(0.5)


def test_stopping_at_90_keeps_the_steps_to_90_and_the_first_100() -> None:
    full = BenchConfig(agents=("cma-es",), steps=400, workers=1)
    stopped = BenchConfig(agents=("cma-es",), steps=400, workers=1, stop_at_90=True)
    whole, cut = run_once("cma-es", 1, 0, full), run_once("cma-es", 1, 0, stopped)
    assert whole.metrics.reached and whole.metrics.steps_to_90 < 300
    assert cut.metrics.steps_to_90 == whole.metrics.steps_to_90
    assert cut.metrics.mean_first_100 == pytest.approx(whole.metrics.mean_first_100)
    assert len(cut.shown) == max(100, cut.metrics.steps_to_90) < len(whole.shown)
    np.testing.assert_allclose(cut.shown, whole.shown[: len(cut.shown)])


def test_the_table_of_a_grid_of_non_responders_alone_has_no_rows():
    """Only people who react have shown-emoticon figures: a grid of none still prints."""
    document = {"config": {"steps": 50}, "suite": "people-v3", "agents": {}}
    assert format_table(document).splitlines()[0] == "suite people-v3"

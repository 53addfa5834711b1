import json

import numpy as np
import pytest

from laetitia.app.bench_agents import BenchConfig, run_metrics
from laetitia.cli import main
from laetitia.errors import ConfigError
from laetitia.viewers.people import SUITE_VERSION, suite_viewer


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
    with pytest.raises(ConfigError, match="unknown agents"):
        BenchConfig(agents=("nope",))
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

"""A session's best emoticon is asked for one way (`laetitia.sessions.best.session_best`)."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from laetitia.app.training import TrainConfig, train
from laetitia.app.truth import simulated_truth
from laetitia.sessions import load_session
from laetitia.sessions.best import BEST_FILE, session_best
from laetitia.viewers.spec import make_viewer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("best") / "run"
    train(TrainConfig(out=out, viewer="sim:4", steps=12, frames=2), progress=False)
    return out


def test_one_function_gives_a_session_s_best():
    defined = [
        f"{path.relative_to(ROOT)}"
        for folder in ("laetitia", "envs", "agents")
        for path in (ROOT / folder).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name in ("session_best", "honest_best")
    ]
    assert defined == ["laetitia/sessions/best.py"]


def test_the_best_a_run_wrote_is_the_session_s_best(run):
    written = json.loads((run / BEST_FILE).read_text())
    best = session_best(load_session(run))
    assert list(best.params) == written["params"] and best.chosen_by == "the agent's best guess"
    # The run said the noise-free happiness of its best from its own viewer.
    truth = make_viewer("sim:4").true_happiness(np.array(best.params))
    assert best.true_happiness == pytest.approx(truth)


def test_without_a_written_best_the_readings_give_it_with_the_truth_when_known(run, tmp_path):
    import shutil

    copy = Path(shutil.copytree(run, tmp_path / "killed"))
    (copy / BEST_FILE).unlink()  # as a run killed before its end leaves it
    session = load_session(copy)
    by_readings = session_best(session)
    assert by_readings.chosen_by == "the highest mean reading"
    assert by_readings.true_happiness is None  # nothing said of what is not known
    said = session_best(session, truth=simulated_truth(session))
    assert said.params == by_readings.params
    assert said.true_happiness == pytest.approx(
        make_viewer("sim:4").true_happiness(np.array(said.params))
    )

"""The headline metric: what the agent recommends, in a person's time, recorded and scored."""

import json
import math

import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import agent_class
from laetitia.app.bench_agents import BenchConfig, run_once, summarize
from laetitia.app.bench_metrics import recommendation_metrics
from laetitia.app.training import TrainConfig, train
from laetitia.envs.make import make_env
from laetitia.run_settings import RunSettings
from laetitia.sessions import load_session
from laetitia.sessions.best import BestEmoticon


def test_reaching_90_and_staying_counts_from_the_last_dip_in_the_persons_seconds():
    fraction = np.array([np.nan, 0.5, 0.95, 0.8, 0.92, 0.97, 0.91])
    person_s = np.full(7, 0.8)
    metrics = recommendation_metrics(fraction, person_s, np.full(7, 0.01))
    assert metrics.reached and metrics.steps_to_90 == 5  # the dip at step 4 does not count
    assert metrics.person_s_to_90 == pytest.approx(5 * 0.8)
    assert metrics.wait_s_to_90 == pytest.approx(5 * 0.01)
    assert metrics.at_steps["end"] == 0.91
    assert metrics.at_seconds["15"] is not None and math.isnan(
        metrics.at_seconds["15"]
    )  # too short
    timed = recommendation_metrics(fraction, np.full(7, 5.0), np.zeros(7))
    assert timed.at_seconds["15"] == 0.95  # after 3 steps of 5 s
    assert math.isnan(timed.at_seconds["120"])
    never = recommendation_metrics(np.array([0.95, 0.99, 0.89]), person_s, np.zeros(3))
    assert not never.reached and never.steps_to_90 == math.inf == never.person_s_to_90


class _AskEveryStep(BaseCallback):
    """Asks the agent for its recommendation after every step, as the bench and a session do."""

    def __init__(self, agent):
        super().__init__()
        self.agent = agent

    def _on_step(self):
        self.agent.best_params()
        self.agent.responds()
        return True


class _Shown(BaseCallback):
    def __init__(self):
        super().__init__()
        self.params = []

    def _on_step(self):
        self.params += [np.asarray(i["params"]) for i in self.locals["infos"]]
        return True


@pytest.mark.parametrize("name", ["bayes-opt", "cma-es"])
def test_asking_for_the_recommendation_changes_nothing_the_agent_does(name):
    runs = []
    for ask in (False, True):
        env = make_env("laetitia/Smile-v0", "person:v3:45", RunSettings(step_size=1.0))
        agent = agent_class(name)(
            env, seed=3, **({"refit_every": 3} if name == "bayes-opt" else {})
        )
        shown = _Shown()
        agent.learn(24, callback=[shown, *([_AskEveryStep(agent)] if ask else [])])
        runs.append(np.array(shown.params))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_a_training_records_the_recommendation_after_each_step_and_its_verdict(tmp_path):
    out = tmp_path / "run"
    result = train(
        TrainConfig(out=out, agent="cma-es", viewer="person:v3:45", steps=8, keep_frames=False),
        progress=False,
    )
    session = load_session(out)
    assert session.meta.recommended
    recommended = session.recommended()
    assert recommended is not None and recommended.shape == (8, len(session.param_names))
    assert np.isfinite(recommended).all()  # cma-es has a mean from its start
    best = json.loads((out / "best.json").read_text())
    np.testing.assert_allclose(recommended[-1], best["params"])
    assert best["responds"] is None and result.best is not None
    assert np.isnan(session.steps["responds"]).all()  # cma-es gives no verdict


def test_no_reliable_reaction_is_said_of_the_best():
    best = BestEmoticon((0.0,), "the agent's best guess", 3, 2, 0.01, responds=False)
    assert best.describe().startswith("no reliable reaction")
    assert (
        not BestEmoticon((0.0,), "the agent's best guess", 3, 2, 0.01)
        .describe()
        .startswith("no reliable")
    )


def test_the_bench_scores_the_recommendation_in_the_persons_time_and_leaves_non_responders_out():
    config = BenchConfig(
        agents=("cma-es",),
        suite="people-v3",
        people=(40, 42),
        seeds=1,
        steps=30,
        workers=1,
        settle_s=0.4,
        camera_fps=20.0,
    )
    responder = run_once("cma-es", 42, 0, config)
    assert responder.kind == "faint" and responder.recommendation is not None
    assert responder.person_s == pytest.approx(np.full(30, 0.4 + 10 / 20.0))
    assert np.isfinite(responder.recommended).all() and (responder.wait_s >= 0).all()
    assert responder.responds is None
    quiet = run_once("cma-es", 40, 0, config)
    assert quiet.kind == "none" and quiet.recommendation is None
    document = summarize([responder, quiet], config)
    assert document["recommended"]["people"] == {"none": 1, "faint": 1, "clear": 0, "drifting": 0}
    assert document["recommended"]["responders"]["cma-es"]["runs"] == 1
    assert [r["kind"] for r in document["runs"]] == ["faint", "none"]
    assert len(document["agents"]["cma-es"]["curves"]["recommended_median"]) == 30

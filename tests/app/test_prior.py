"""A prior learned from other people's sessions: where they smiled, and only from their files."""

import dataclasses

import numpy as np
import pytest

from laetitia.app.prior import learn_prior, load_prior, save_prior
from laetitia.emoticon.params import PARAM_SPACE, Param, ParamSpace
from laetitia.errors import ConfigError
from laetitia.sessions import SessionRecorder, load_session, new_meta
from laetitia.types import Reaction
from laetitia.viewers.simulated import frame_probs

FAVOURITE = np.array([0.3, -0.4, 0.2, 0.1, 0.7, -0.2, 0.0, 0.4])


def _person_sessions(tmp_path, favourites, steps=120, seed=0):
    """Sessions of people who smile near their favourite (readings only: no hidden taste kept)."""
    rng = np.random.default_rng(seed)
    folders = []
    for i, favourite in enumerate(favourites):
        folder = tmp_path / f"person-{i}"
        level = rng.uniform(0.05, 0.3)  # people read higher or lower overall
        with SessionRecorder(folder, new_meta(viewer={"kind": "person"}, agent="test")) as rec:
            for _ in range(steps):
                unit = np.clip(favourite + rng.normal(0, 0.5, 8), -1, 1)
                taste = level + 0.6 * np.exp(-0.5 * np.sum((unit - favourite) ** 2) / 0.4**2)
                happy = np.clip(taste + rng.normal(0, 0.08, 10), 0, 1)
                reaction = Reaction(probs=frame_probs(happy, rng), has_face=np.ones(10, bool))
                rec.record(0, float(happy.mean()), PARAM_SPACE.denormalize(unit), reaction)
        folders.append(folder)
    return [load_session(f) for f in folders]


def test_a_prior_from_people_around_one_favourite_points_to_it(tmp_path):
    rng = np.random.default_rng(1)
    favourites = [np.clip(FAVOURITE + rng.normal(0, 0.1, 8), -0.9, 0.9) for _ in range(8)]
    prior = learn_prior(_person_sessions(tmp_path, favourites))
    first = prior.warm_start(3)
    default = PARAM_SPACE.normalize(PARAM_SPACE.defaults)
    assert np.linalg.norm(first[0] - FAVOURITE) < 0.5 * np.linalg.norm(default - FAVOURITE)
    elsewhere = np.random.default_rng(2).uniform(-1, 1, (200, 8))
    assert prior.mean(FAVOURITE[None])[0] > np.quantile(prior.mean(elsewhere), 0.95)
    # Spread apart: the warm start is not three copies of one emoticon.
    assert min(np.linalg.norm(first[i] - first[j]) for i in range(3) for j in range(i)) > 0.1


def test_a_prior_from_unrelated_people_is_nearly_flat(tmp_path):
    rng = np.random.default_rng(3)
    favourites = [rng.uniform(-0.9, 0.9, 8) for _ in range(8)]
    flat = learn_prior(_person_sessions(tmp_path, favourites))
    rng = np.random.default_rng(1)
    near = [np.clip(FAVOURITE + rng.normal(0, 0.1, 8), -0.9, 0.9) for _ in range(8)]
    peaked = learn_prior(_person_sessions(tmp_path / "near", near))
    points = np.random.default_rng(4).uniform(-1, 1, (300, 8))
    assert np.ptp(flat.mean(points)) < 0.5 * np.ptp(peaked.mean(np.vstack([points, near])))


def test_the_prior_round_trips_and_is_refused_for_another_parameter_space(tmp_path):
    prior = learn_prior(_person_sessions(tmp_path, [FAVOURITE, -FAVOURITE], steps=40))
    save_prior(prior, tmp_path / "prior")
    again = load_prior(tmp_path / "prior", PARAM_SPACE)
    points = np.random.default_rng(0).uniform(-1, 1, (20, 8))
    np.testing.assert_array_equal(again.mean(points), prior.mean(points))
    np.testing.assert_array_equal(again.warm_start(2), prior.warm_start(2))
    assert again.bandwidth == prior.bandwidth and len(again.sources) == 2
    wider = ParamSpace(
        (*PARAM_SPACE.params[:-1], dataclasses.replace(PARAM_SPACE.params[-1], high=2.0))
    )
    with pytest.raises(ConfigError, match="another parameter space"):
        load_prior(tmp_path / "prior", wider)
    more = ParamSpace((*PARAM_SPACE.params, Param("z", 0.0, 1.0, 0.5, "an extra parameter")))
    with pytest.raises(ConfigError, match="another parameter space"):
        load_prior(tmp_path / "prior", more)
    (tmp_path / "prior" / "prior.safetensors").write_bytes(b"not tensors")
    with pytest.raises(ConfigError, match="damaged"):
        load_prior(tmp_path / "prior", PARAM_SPACE)


def test_a_prior_needs_two_peoples_readings(tmp_path):
    sessions = _person_sessions(tmp_path, [FAVOURITE], steps=10)
    with pytest.raises(ConfigError, match="at least two"):
        learn_prior(sessions)


def _first_shown(agent_prior, favourites_root, steps=3, seed=0):
    import gymnasium as gym

    from laetitia.agents.bayes_opt import BayesOpt

    env = gym.make("laetitia/Smile-v0", viewer="sim:5", frames=4, step_size=1.0)
    shown = []
    from stable_baselines3.common.callbacks import BaseCallback

    class Shown(BaseCallback):
        def _on_step(self):
            shown.extend(PARAM_SPACE.normalize(i["params"]) for i in self.locals["infos"])
            return True

    kwargs = {}
    if agent_prior is not None:
        kwargs = agent_prior.agent_arguments()
    BayesOpt(env, seed=seed, **kwargs).learn(steps, callback=Shown())
    return np.array(shown)


def test_a_prior_from_people_around_one_favourite_moves_the_agents_first_emoticons_to_it(
    tmp_path,
):
    rng = np.random.default_rng(1)
    favourites = [np.clip(FAVOURITE + rng.normal(0, 0.1, 8), -0.9, 0.9) for _ in range(8)]
    prior = learn_prior(_person_sessions(tmp_path, favourites))
    with_prior = _first_shown(prior, tmp_path)
    without = _first_shown(None, tmp_path)
    distance = lambda shown: np.linalg.norm(shown - FAVOURITE, axis=1).mean()  # noqa: E731
    assert distance(with_prior) < 0.6 * distance(without)


def test_train_with_a_prior_keeps_it_in_the_session_and_resumes_without_the_sources(tmp_path):
    import shutil

    from laetitia.app.training import PRIOR_DIR, TrainConfig, resume, train

    sources = tmp_path / "earlier"
    _person_sessions(sources, [FAVOURITE, FAVOURITE * 0.8, FAVOURITE * 0.9], steps=30)
    out = tmp_path / "run"
    config = TrainConfig(
        out=out, agent="bayes-opt", viewer="sim:2", steps=4, frames=2, prior=(sources,)
    )
    train(config, progress=False)
    kept = load_prior(out / PRIOR_DIR, PARAM_SPACE)
    assert len(kept.sources) == 3
    shown = load_session(out).params()
    np.testing.assert_allclose(
        PARAM_SPACE.normalize(shown[0]), kept.warm_start(1)[0], atol=1e-6
    )  # the prior's best first
    shutil.rmtree(sources)  # a resume needs only the session's own copy
    resumed = resume(out, steps=2, progress=False)
    assert resumed.session.n_steps == 6
    with pytest.raises(ConfigError, match="takes no prior"):
        TrainConfig(out=tmp_path / "x", agent="cma-es", viewer="sim", prior=(out,)).checked()


def test_the_bench_gives_the_prior_to_the_agents_that_take_one(tmp_path):
    from laetitia.app.bench_agents import BenchConfig, run_grid
    from laetitia.viewers.people import suite_viewer

    sources = tmp_path / "earlier"
    _person_sessions(sources, [FAVOURITE, FAVOURITE * 0.8, FAVOURITE * 0.9], steps=30)
    agents = ("bayes-opt", "cma-es")
    plain = BenchConfig(agents=agents, suite="people-v2", people=(30,), seeds=1, steps=3)
    primed = dataclasses.replace(plain, prior=sources)
    without = run_grid(dataclasses.replace(plain, workers=1), progress=False).results
    runs = run_grid(dataclasses.replace(primed, workers=1), progress=False).results
    viewer = suite_viewer(30, suite="people-v2")
    first = PARAM_SPACE.denormalize(
        learn_prior([load_session(f) for f in sorted(sources.iterdir())]).warm_start(1)[0]
    )
    floor, top = viewer.floor(), viewer.attainable_max()
    expected = (viewer.true_happiness(first) - floor) / (top - floor)
    assert runs["bayes-opt", 30, 0].shown[0] == pytest.approx(expected)
    assert runs["bayes-opt", 30, 0].shown[0] != pytest.approx(without["bayes-opt", 30, 0].shown[0])
    np.testing.assert_allclose(runs["cma-es", 30, 0].shown, without["cma-es", 30, 0].shown)


@pytest.mark.expensive
def test_a_prior_from_unrelated_people_does_not_make_the_agent_worse_beyond_noise(tmp_path):
    """A lab's earlier participants liked emoticons nothing like this person's favourite: the
    agent must discount the prior as the person's readings come in. Paired over people-v1
    members and seeds: the best emoticon found by step 60 (fraction of the way from floor to
    max) with the prior is not below the one found without it by more than two standard
    errors of the paired difference."""
    from laetitia.app.bench_agents import BenchConfig, run_once

    rng = np.random.default_rng(7)
    unrelated = learn_prior(
        _person_sessions(tmp_path, [rng.uniform(-0.9, 0.9, 8) for _ in range(6)])
    )
    config = BenchConfig(agents=("bayes-opt",), steps=60, workers=1)
    differences = []
    for person, seed in [(p, s) for p in (0, 1, 2, 5) for s in (0, 1)]:
        with_prior = run_once("bayes-opt", person, seed, config, prior=unrelated).shown.max()
        without = run_once("bayes-opt", person, seed, config).shown.max()
        differences.append(with_prior - without)
    differences = np.array(differences)
    margin = 2 * differences.std(ddof=1) / np.sqrt(differences.size)
    assert differences.mean() >= -max(margin, 0.02), differences


def _recommending_session(folder, recommended, responds, seed):
    """A training's session around its recommendation, with the agent's verdict after each step."""
    from laetitia.sessions import recommended_columns

    rng = np.random.default_rng(seed)
    meta = new_meta(viewer={"kind": "person"}, agent="test", recommended=True)
    with SessionRecorder(folder, meta, extra_columns=recommended_columns()) as rec:
        for _ in range(40):
            unit = np.clip(recommended + rng.normal(0, 0.5, 8), -1, 1)
            near = np.exp(-0.5 * np.sum((unit - recommended) ** 2) / 0.4**2)
            happy = np.clip(0.1 + 0.5 * responds * near + rng.normal(0, 0.05, 10), 0, 1)
            reaction = Reaction(probs=frame_probs(happy, rng), has_face=np.ones(10, bool))
            extra = [*PARAM_SPACE.denormalize(recommended), float(responds)]
            rec.record(0, float(happy.mean()), PARAM_SPACE.denormalize(unit), reaction, extra=extra)
    return load_session(folder)


def test_a_prior_learns_from_the_agents_recommendations_and_not_from_non_responders(tmp_path):
    """Each person's favourite is their agent's last honest best guess; one said to give no
    reliable reaction says nothing of where people smile and is left out."""
    rng = np.random.default_rng(5)
    elsewhere = -FAVOURITE
    sessions = [
        _recommending_session(tmp_path / f"p{i}", FAVOURITE + rng.normal(0, 0.05, 8), 1, i)
        for i in range(4)
    ]
    sessions += [_recommending_session(tmp_path / f"n{i}", elsewhere, 0, 9 + i) for i in range(4)]
    prior = learn_prior(sessions)
    assert len(prior.sources) == 4  # the four who react
    assert prior.warm_start(1)[0] == pytest.approx(FAVOURITE, abs=0.15)
    assert prior.mean(FAVOURITE[None])[0] > prior.mean(elsewhere[None])[0]


def test_a_persons_second_session_does_not_vouch_for_their_first(tmp_path):
    """Four people with unrelated favourites, each recorded twice: folds by person stay flat."""
    rng = np.random.default_rng(3)
    favourites = [rng.uniform(-0.9, 0.9, 8) for _ in range(4)]
    sessions = _person_sessions(tmp_path, [f for f in favourites for _ in range(2)], seed=5)
    by_session = learn_prior(sessions)  # each session taken for a person of its own
    by_person = learn_prior(sessions, people=[f"p{i // 2}" for i in range(8)])
    points = np.vstack([np.random.default_rng(4).uniform(-1, 1, (300, 8)), favourites])
    # A session's twin favourite predicts it: by session, a narrow peak at each favourite wins.
    assert by_session.bandwidth < by_person.bandwidth
    assert np.ptp(by_person.mean(points)) < 0.5 * np.ptp(by_session.mean(points))
    with pytest.raises(ConfigError, match="at least two people"):
        learn_prior(sessions[:2], people=["p0", "p0"])
    with pytest.raises(ConfigError, match="one per session"):
        learn_prior(sessions, people=["p0"])

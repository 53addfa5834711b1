import dataclasses
import threading

import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import AGENTS, agent_class
from laetitia.agents.bayes_opt import BayesOpt
from laetitia.agents.habituation import habituation_load
from laetitia.emoticon import PARAM_SPACE
from laetitia.envs.smile import SmileEnv
from laetitia.envs.smile_discrete import SmileDiscreteEnv
from laetitia.errors import ConfigError
from laetitia.types import Reaction
from laetitia.viewers.people import Behaviour, PersonViewer, suite_viewer
from laetitia.viewers.simulated import SimulatedViewer

SMALL = {"initial_points": 4, "candidates": 64, "local_candidates": 64, "refit_every": 3}
"""Tiny budgets: the same code paths, a few milliseconds a step."""
N = len(PARAM_SPACE)


class Shown(BaseCallback):
    def __init__(self):
        super().__init__()
        self.units = []

    def _on_step(self):
        self.units += [PARAM_SPACE.normalize(i["params"]) for i in self.locals["infos"]]
        return True


def env_for(viewer=None):
    return SmileEnv(viewer=viewer or SimulatedViewer(seed=2, frames=4), step_size=1.0)


def test_it_is_registered_for_laetitia_train() -> None:
    assert agent_class("bayes-opt") is BayesOpt
    assert AGENTS["bayes-opt"].env_id == "laetitia/Smile-v1"
    assert BayesOpt.preferred_step_size == 1.0


def test_each_step_shows_the_chosen_emoticon_and_reads_it() -> None:
    shown = Shown()
    agent = BayesOpt(env_for(), seed=0, **SMALL).learn(10, callback=[shown])
    assert agent.values.size == 10 and agent.target is None
    np.testing.assert_allclose(agent.points, np.array(shown.units), atol=1e-5)
    np.testing.assert_allclose(agent.points[:4], agent.design, atol=1e-5)  # design first
    assert len({tuple(np.round(u, 6)) for u in shown.units}) == 10


@pytest.mark.parametrize("read_start", [True, False])
def test_the_start_emoticon_is_read_first_as_cma_es_starts_from_it(read_start: bool) -> None:
    start = PARAM_SPACE.normalize(PARAM_SPACE.defaults)
    shown = Shown()
    agent = BayesOpt(env_for(), seed=0, read_start=read_start, **SMALL).learn(6, callback=[shown])
    assert agent.design.shape[0] == SMALL["initial_points"]  # the start is one of the design
    first_is_start = np.allclose(shown.units[0], start, atol=1e-5)
    assert first_is_start == read_start
    assert np.allclose(agent.design[0], start, atol=1e-5) == read_start
    assert sum(np.allclose(u, start, atol=1e-5) for u in shown.units) == int(read_start)


def test_an_agent_saved_before_its_first_step_still_reads_the_start_once(tmp_path) -> None:
    BayesOpt(env_for(), seed=1, **SMALL).save(tmp_path / "bo")
    loaded = BayesOpt.load(tmp_path / "bo", env=env_for())
    assert loaded.design.shape[0] == SMALL["initial_points"] - 1
    loaded.learn(5)
    np.testing.assert_allclose(
        loaded.points[0], PARAM_SPACE.normalize(PARAM_SPACE.defaults), atol=1e-5
    )
    assert loaded.design.shape[0] == SMALL["initial_points"]


@pytest.mark.parametrize("steps", [3, 9])  # in the design, and after the GP has chosen
def test_a_loaded_agent_continues_exactly_like_the_saved_one(tmp_path, steps: int) -> None:
    agent = BayesOpt(env_for(), seed=3, **SMALL).learn(steps)
    agent.save(tmp_path / "bo")
    loaded = BayesOpt.load(tmp_path / "bo", env=env_for())
    obs = np.append(PARAM_SPACE.normalize(PARAM_SPACE.defaults), 0.0).astype(np.float32)
    np.testing.assert_array_equal(
        loaded.predict(obs, deterministic=True)[0], agent.predict(obs, deterministic=True)[0]
    )
    rng = np.random.default_rng(0)
    for _ in range(7):  # across a refit of the hyperparameters
        a, b = agent._act(obs), loaded._act(obs)
        np.testing.assert_array_equal(a, b)
        info = {"scored": True, "reaction": None}
        next_obs = np.append(agent.target, 0.5).astype(np.float32)
        reward = float(rng.uniform(0.1, 0.9))
        agent._observe(obs, a, reward, next_obs, info)
        loaded._observe(obs, b, reward, next_obs, info)
    np.testing.assert_array_equal(agent.raw.numpy(), loaded.raw.numpy())
    np.testing.assert_array_equal(agent.best_point(), loaded.best_point())


class NoFace:
    nondeterministic = False
    needs_image = False

    def reset(self, seed=None):
        pass

    def react(self, image, params):
        return Reaction(probs=np.full((3, 7), np.nan, np.float32), has_face=np.zeros(3, bool))

    def show_reward(self, reward, scored):
        pass

    def describe(self):
        return {"kind": "no-face"}

    def close(self):
        pass


def test_a_step_without_a_face_updates_nothing_and_shows_the_same_emoticon_again() -> None:
    env = env_for(NoFace())
    agent = BayesOpt(env, seed=0, **SMALL).learn(1)
    target = agent.target.copy()
    agent.learn(4)
    assert agent.values.size == 0 and agent.points.size == 0 and agent.raw is None
    np.testing.assert_array_equal(agent.target, target)
    np.testing.assert_allclose(env._unit, target, atol=1e-5)


def feed(agent: BayesOpt, points: np.ndarray, values: np.ndarray) -> None:
    """Readings of chosen emoticons, through the agent's own hook."""
    obs = np.zeros(N + 1, dtype=np.float32)
    for point, value in zip(points, values, strict=True):
        next_obs = np.append(point, value).astype(np.float32)
        agent._observe(obs, None, float(value), next_obs, {"scored": True, "reaction": None})


def test_the_recommendation_is_the_best_posterior_mean_not_the_luckiest_reading() -> None:
    rng = np.random.default_rng(0)
    good, poor = np.full(N, 0.5), np.full(N, -0.5)
    # Twelve readings around the true best (0.6) and twelve around a poor emoticon (0.3), one
    # of which read 0.75 by luck: the best reading is the poor emoticon's.
    points = np.vstack(
        [good + 0.03 * rng.standard_normal((12, N)), poor + 0.03 * rng.standard_normal((12, N))]
    )
    values = np.concatenate(
        [0.6 + 0.04 * rng.standard_normal(12), 0.3 + 0.04 * rng.standard_normal(12)]
    )
    values[17] = 0.75
    agent = BayesOpt(env_for(), seed=0, **SMALL, habituation_input=False, mood_input=False)
    feed(agent, points, values)
    assert np.argmax(values) == 17
    best = agent.best_point()
    assert np.linalg.norm(best - good) < 0.2, best
    assert agent.model().noise_sd() > 0.02  # the noise was learned, not interpolated


def calm_person(index: int, seed: int) -> PersonViewer:
    """A suite member's taste, read through frame noise alone (no lag, tiring, mood or away)."""
    calm = Behaviour(habituation_depth=0.0, away_rate=0.0, mood_sd=0.0, lag_frames=0.01)
    return PersonViewer(suite_viewer(index).taste, calm, frames=10, seed=seed)


def test_on_a_calm_simulated_person_it_beats_random_search_in_few_steps() -> None:
    steps, found, random = 40, [], []
    for index, seed in [(3, 0), (7, 1)]:  # tastes that three of the parameters decide
        viewer = calm_person(index, seed)
        shown = Shown()
        BayesOpt(env_for(viewer), seed=seed).learn(steps, callback=[shown])
        found.append(max(viewer.taste.appeal(u) for u in shown.units))
        draws = np.random.default_rng(seed).uniform(-1.0, 1.0, (steps, N))
        random.append(max(viewer.taste.appeal(u) for u in draws))
    # appeal: the way from the person's floor (0) to their best emoticon (1)
    assert min(found) > 0.95 and all(f > r for f, r in zip(found, random, strict=True))
    assert np.mean(found) > np.mean(random) + 0.1, (found, random)


def test_the_habituation_load_counts_near_recent_emoticons() -> None:
    point = np.zeros(N)
    assert habituation_load(point, np.empty((0, N)), 0.25, 10.0) == 0.0
    assert habituation_load(point, point[None], 0.25, 10.0) == pytest.approx(1.0)
    older = np.vstack([point, np.ones(N)])  # the same emoticon, then a far one
    assert habituation_load(point, older, 0.25, 10.0) == pytest.approx(0.5**0.1, rel=1e-6)


def test_a_warm_start_is_shown_first_and_a_prior_mean_must_come_back_on_load(tmp_path) -> None:
    warm = np.full((2, N), 0.25)
    warm[1] = -0.25
    shown = Shown()
    agent = BayesOpt(
        env_for(),
        seed=0,
        prior_mean=lambda x: 0.5 - 0.1 * np.sum(x**2, axis=1),
        warm_start=warm,
        **SMALL,
    ).learn(8, callback=[shown])
    np.testing.assert_allclose(np.array(shown.units[:2]), warm, atol=1e-5)
    # The warm start is the first of the initial points; the design fills only the rest.
    assert agent.design.shape[0] == SMALL["initial_points"] - 2
    np.testing.assert_allclose(np.array(shown.units[2:4]), agent.design, atol=1e-5)
    assert agent.raw is not None and agent.priors[0] == pytest.approx(0.5 - 0.1 * 8 * 0.0625)
    agent.save(tmp_path / "bo")
    with pytest.raises(ConfigError, match="prior_mean"):
        BayesOpt.load(tmp_path / "bo", env=env_for())
    loaded = BayesOpt.load(tmp_path / "bo", env=env_for(), prior_mean=agent.prior_mean)
    np.testing.assert_array_equal(loaded.best_point(), agent.best_point())


def test_it_refuses_a_discrete_env_and_bad_settings() -> None:
    with pytest.raises(ConfigError, match="Smile-v1"):
        BayesOpt(SmileDiscreteEnv(viewer="sim"))
    for bad, match in [
        ({"initial_points": 0}, "initial_points"),
        ({"skip_frames": -1}, "skip_frames"),
        ({"habituation_width": 0.0}, "habituation_width"),
        ({"window": 10}, "window"),
        ({"acquisition": "pi"}, "acquisition"),
        ({"refit_every": 1.5}, "whole number"),
        ({"popsize": 6}, "no setting"),
    ]:
        with pytest.raises(ConfigError, match=match):
            BayesOpt(env_for(), **bad)
    with pytest.raises(ConfigError, match="warm_start"):
        BayesOpt(env_for(), warm_start=np.zeros((2, 3)))


def test_refitting_in_the_background_changes_when_the_work_is_done_not_the_choices() -> None:
    runs = [
        BayesOpt(env_for(), seed=4, **SMALL, background_fit=background).learn(16)
        for background in (True, False)
    ]
    np.testing.assert_array_equal(runs[0].points, runs[1].points)
    np.testing.assert_array_equal(runs[0].raw.numpy(), runs[1].raw.numpy())


def test_no_refit_thread_outlives_learn() -> None:
    # The first fit after the 4-point design, a refit every 3 readings: the one started when
    # the eighth emoticon was chosen would still be running while it is read.
    agent = BayesOpt(env_for(), seed=4, **SMALL, background_fit=True).learn(8)
    assert agent._fitting is None
    assert not [t for t in threading.enumerate() if t.name == "bayes-opt-fit"]
    assert agent.fitted_at == 7  # and its hyperparameters are taken in


@pytest.mark.parametrize("sign, weight", [(1.0, (0.6, 1.4)), (-1.0, (-1.0, 0.3))])
def test_the_prior_means_weight_is_fitted_so_a_wrong_prior_is_not_followed(sign, weight) -> None:
    """A prior mean that is the taste keeps w near 1; one that says the opposite gets w < 0.3."""

    def taste(x):
        return 0.6 - 0.05 * np.sum(x**2, axis=1)

    rng = np.random.default_rng(1)
    points = rng.uniform(-1.0, 1.0, (30, N))
    values = taste(points) + 0.01 * rng.standard_normal(30)
    agent = BayesOpt(env_for(), seed=0, prior_mean=lambda x: 0.6 + sign * (taste(x) - 0.6), **SMALL)
    feed(agent, points, values)
    fitted = float(agent.model().raw[N + 1 + 5])  # w, after the k = N + 1 length scales
    assert weight[0] < fitted < weight[1], fitted


def feed_in_order(agent: BayesOpt, points: np.ndarray, values: np.ndarray) -> None:
    """Readings taken one after another: each emoticon follows the one before it on screen."""
    obs = np.append(points[0], 0.0).astype(np.float32)
    for point, value in zip(points, values, strict=True):
        agent.num_timesteps += 1
        next_obs = np.append(point, value).astype(np.float32)
        agent._observe(obs, None, float(value), next_obs, {"scored": True, "reaction": None})
        obs = next_obs


def test_the_share_a_reading_carries_over_from_the_emoticon_before_is_learned() -> None:
    """A face that still shows 40% of the previous emoticon's response: the fit finds about 0.4."""

    def taste(x):
        return 0.5 + 0.2 * x[:, 0] - 0.15 * x[:, 1] + 0.1 * x[:, 2] * x[:, 3]

    rng = np.random.default_rng(4)
    points = rng.uniform(-1.0, 1.0, (60, N))
    now = taste(points)
    values = 0.6 * now + 0.4 * np.append(now[0], now[:-1]) + 0.005 * rng.standard_normal(60)
    flat = {"habituation_input": False, "mood_input": False, "quadratic_trend": False}
    agent = BayesOpt(env_for(), seed=0, **SMALL, **flat, carry_over=True)
    feed_in_order(agent, points, values)
    assert 0.3 < float(agent.model().carried()) < 0.5
    plain = BayesOpt(env_for(), seed=0, **SMALL, **flat)
    feed_in_order(plain, points, values)
    assert float(plain.model().carried()) == 0.0
    assert agent.model().noise_sd() < 0.5 * plain.model().noise_sd()  # the mix, not noise


def test_a_taste_that_moves_is_followed_when_the_taste_may_drift() -> None:
    """Readings favour A for 60 steps, then B: a drifting model recommends B, now."""
    rng = np.random.default_rng(5)
    a, b = np.full(N, -0.4), np.full(N, 0.4)

    def taste(x, centre):
        return 0.2 + 0.5 * np.exp(-np.sum((x - centre) ** 2, axis=1) / 2.0)

    points = rng.uniform(-1.0, 1.0, (120, N))
    points[::3] = np.where(np.arange(0, 120, 3)[:, None] < 60, a, b) + 0.1 * rng.standard_normal(
        (40, N)
    )
    values = np.concatenate([taste(points[:60], a), taste(points[60:], b)])
    values += 0.01 * rng.standard_normal(120)
    gaps = {}
    for drift in (False, True):
        agent = BayesOpt(env_for(), seed=0, **SMALL, habituation_input=False, taste_drift=drift)
        feed_in_order(agent, points, values)
        means = agent._posterior(np.stack([a, b]))[0].numpy()
        gaps[drift] = means[1] - means[0]
    assert gaps[True] > gaps[False] + 0.1, gaps


def test_a_person_who_does_not_react_is_said_so_and_one_who_does_is_not() -> None:
    from laetitia.viewers.simulated import GaussianTaste

    verdicts = {}
    for name, peak in (("flat", 0.3), ("reacts", 0.8)):
        viewer = SimulatedViewer(seed=2, frames=4, noise=0.1)
        viewer.taste = GaussianTaste(
            viewer.taste.favourite, viewer.taste.relevance, width=0.8, floor=0.3, peak=peak
        )
        # This viewer's readings are independent: the threshold of a standard normal holds.
        agent = BayesOpt(env_for(viewer), seed=1, **SMALL, verdict_after=30, verdict_z=1.64)
        assert agent.responds() is None  # nothing to go on yet
        agent.learn(60)
        verdicts[name] = (agent.responds(), agent.reaction_evidence())
    assert verdicts["flat"][0] is False and verdicts["reacts"][0] is True, verdicts


def test_a_recommendation_may_ask_to_be_measured_well_enough_to_stay() -> None:
    """One lucky reading far off against a well-read emoticon: recommend_sd prefers the latter."""
    rng = np.random.default_rng(1)
    good, lone = np.full(N, 0.4), np.full(N, -0.6)
    points = np.vstack([good + 0.03 * rng.standard_normal((12, N)), lone[None, :]])
    values = np.append(0.6 + 0.08 * rng.standard_normal(12), 0.63)
    agent = BayesOpt(env_for(), seed=0, **SMALL, habituation_input=False, mood_input=False)
    feed(agent, points, values)
    agent.model()  # the fit's hyperparameters, not the priors' medians
    chosen = {}
    for sd in (0.0, 3.0):  # the same posterior, each rule
        agent.settings = dataclasses.replace(agent.settings, recommend_sd=sd)
        agent._best = None
        chosen[sd] = agent.best_point()
    assert np.allclose(chosen[0.0], lone)  # the best posterior mean: one reading's word
    assert np.linalg.norm(chosen[3.0] - good) < 0.2  # the best mean less three deviations
    with pytest.raises(ConfigError, match="recommend_sd"):
        BayesOpt(env_for(), seed=0, recommend_sd=-1.0)

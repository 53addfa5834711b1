from pathlib import Path

import numpy as np
import pytest

from laetitia.agents import AGENTS, agent_class
from laetitia.agents.particle import FrameFilter, FrameNoise, ParticleFilter
from laetitia.app.prior import read_prior
from laetitia.emoticon import PARAM_SPACE
from laetitia.envs.smile import SmileEnv
from laetitia.errors import ConfigError
from laetitia.viewers.people_v3 import SUITE_V3, v3_kind
from laetitia.viewers.suites import suite_viewer

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
"""An overflow is a hypothesis outside the prior being read: an error here."""

SMALL = {"particles": 300, "moves": 2}
"""A small cloud: the same code paths, a few milliseconds a step."""
N = len(PARAM_SPACE)
PRIOR = Path(__file__).parents[2] / "laetitia" / "priors" / "people-v3"
"""The prior laetitia ships, learned from people-v3's prior split."""


def person(member: int, seed: int = 0):
    return suite_viewer(member, seed=seed, frames=10, suite=SUITE_V3)


def env_for(viewer) -> SmileEnv:
    return SmileEnv(viewer=viewer, step_size=1.0)


def fraction_of_the_way(viewer, agent, shown: int) -> float:
    best = agent.best_params()
    floor, top = viewer.floor(), viewer.attainable_max()
    return (viewer.true_happiness(best, shown=shown) - floor) / (top - floor)


def test_it_is_registered_for_laetitia_train() -> None:
    assert agent_class("particle") is ParticleFilter
    assert AGENTS["particle"].env_id == "laetitia/Smile-v1"
    assert ParticleFilter.preferred_step_size == 1.0 and ParticleFilter.takes_prior


def test_it_finds_a_faint_reactors_smile_from_the_frames() -> None:
    """A people-v3 faint reactor (a best emoticon lifting the signal by about 0.1 over a
    resting face): after 100 steps the recommendation is most of the way to their best, far
    beyond where it started."""
    member = 2  # of the prior split: no figure is scored on it
    assert v3_kind(member) == "faint"
    viewer = person(member)
    warm = read_prior([PRIOR]).warm_start(8)
    agent = ParticleFilter(env_for(viewer), seed=0, warm_start=warm)
    start = (viewer.true_happiness(PARAM_SPACE.defaults, shown=0) - viewer.floor()) / (
        viewer.attainable_max() - viewer.floor()
    )
    agent.learn(100)
    assert fraction_of_the_way(viewer, agent, 100) > max(0.85, start + 0.3)


def test_a_person_who_does_not_react_is_said_so_and_one_who_does_is_not() -> None:
    verdicts = {}
    for member in (0, 2, 11):  # a non-responder, a faint and a clear reactor (prior split)
        agent = ParticleFilter(env_for(person(member)), seed=1, **SMALL)
        assert agent.responds() is None  # nothing to go on yet
        agent.learn(60)
        verdicts[v3_kind(member)] = (agent.responds(), agent.reaction_evidence())
    assert verdicts["none"][0] is False, verdicts
    assert verdicts["faint"][0] is True and verdicts["clear"][0] is True, verdicts


def test_the_favourite_is_drawn_around_the_warm_start() -> None:
    """With a prior, the first emoticons shown (Thompson draws from the prior) lie near the
    warm-start emoticons, bar the share drawn anywhere."""
    warm = np.array([np.full(N, 0.5), np.full(N, -0.5)])
    agent = ParticleFilter(
        env_for(person(11)), seed=0, warm_start=warm, prior_spread=0.05, prior_elsewhere=0.1
    )
    centres = agent.theta["centre"]
    near = np.min(np.linalg.norm(centres[:, None] - warm[None], axis=2), axis=1) < 0.05 * 6
    assert 0.85 < near.mean() < 0.95
    alone = ParticleFilter(env_for(person(11)), seed=0)
    assert (
        np.mean(
            np.min(np.linalg.norm(alone.theta["centre"][:, None] - warm[None], axis=2), axis=1)
            < 0.3
        )
        < 0.05
    )


def test_frames_without_a_face_are_skipped_and_the_step_still_counts() -> None:
    """A step read with no face still showed the emoticon (the face's level moved on); its
    frames carry no evidence, so the weights do not change."""
    agent = ParticleFilter(env_for(person(11)), seed=0, **SMALL)
    unit = np.zeros(N)
    agent.take(unit, 0.0, np.arange(10) / 30.0 + 0.5, np.full(10, 0.2))
    before = agent.logw.copy()
    agent.take(unit, 1.0, np.arange(10) / 30.0 + 1.5, np.full(10, np.nan))
    assert len(agent.steps) == 2 and agent.steps[1].times.size == 0
    np.testing.assert_array_equal(agent.logw, before)


def test_the_recommendation_does_not_change_what_the_agent_does_next() -> None:
    """Asking for the best guess (the recorder asks every step) draws no random number."""
    runs = []
    for ask in (False, True):
        agent = ParticleFilter(env_for(person(11)), seed=3, **SMALL)
        shown = []
        for _ in range(15):
            agent.learn(1)
            shown.append(agent.target.copy())
            if ask:
                agent.best_params()
        runs.append(np.array(shown))
    np.testing.assert_array_equal(runs[0], runs[1])


def expected_appeal(agent: ParticleFilter, point: np.ndarray) -> float:
    return float(agent._weights() @ agent._appeal(agent.theta, point))


def test_the_recommendation_is_a_summit_of_the_expected_appeal() -> None:
    """The mean-shift climb ends where no nearby emoticon is expected to please more, and
    above the best of the candidates it starts from (the favourites of single hypotheses)."""
    agent = ParticleFilter(env_for(person(11)), seed=2, **SMALL)
    agent.learn(30)
    best = agent.best_point()
    assert np.all(np.abs(best) < 1.0)  # inside the box: a summit, not a wall
    top = expected_appeal(agent, best)
    rng = np.random.default_rng(0)
    for direction in rng.standard_normal((40, N)):
        nearby = best + 0.02 * direction / np.linalg.norm(direction)
        assert expected_appeal(agent, nearby) <= top + 1e-6
    unrefined = ParticleFilter(env_for(person(11)), seed=2, **SMALL, refine=0)
    unrefined.learn(30)
    assert expected_appeal(agent, best) > expected_appeal(agent, unrefined.best_point()) + 1e-3


def test_the_moves_of_a_moving_taste_keep_the_prior_when_nothing_is_read() -> None:
    """With no evidence, the reversible jump between a still and a moving taste, and the
    velocities' random walk about the pivot, leave the prior where it is: a quarter of the
    hypotheses move, with velocities of `drift_sd`, even from a cloud whose moving hypotheses
    all share one velocity (the proposal fitted to them is then far from the prior)."""
    agent = ParticleFilter(None, seed=0, particles=4000)
    sd, share = agent.settings.drift_sd, agent.settings.drift_share
    agent.theta["velocity"][agent.theta["moves"] > 0.5] = 2.0 * sd
    for _ in range(60):
        agent._flip_moving()
        agent._shift_velocity()
    moving = agent.theta["moves"] > 0.5
    assert moving.mean() == pytest.approx(share, abs=0.03)
    assert agent.theta["velocity"][moving].mean() == pytest.approx(0.0, abs=0.1 * sd)
    assert agent.theta["velocity"][moving].std() == pytest.approx(sd, rel=0.1)


def test_it_learns_how_a_moving_taste_moves_and_that_a_still_one_stays() -> None:
    """Two clear reactors of the prior split: one whose favourite travels 0.47 units over 300
    emoticons, one whose favourite stays. After 300 steps the first is held to move, at the
    speed and in the direction it does; the second is held to stay."""
    warm = read_prior([PRIOR]).warm_start(8)
    verdicts = {}
    for member in (12, 16):
        viewer = person(member)
        agent = ParticleFilter(env_for(viewer), seed=0, warm_start=warm)
        agent.learn(300)
        w = agent._weights()
        moving = agent.theta["moves"] > 0.5
        verdicts[member] = float(w @ agent.theta["moves"])
        if member == 12:
            velocity = w[moving] @ agent.theta["velocity"][moving] / w[moving].sum()
            truth = viewer.person.drift
            cosine = velocity @ truth / np.linalg.norm(velocity) / np.linalg.norm(truth)
            assert cosine > 0.93
            assert 0.8 < np.linalg.norm(velocity) / np.linalg.norm(truth) < 1.25
    assert verdicts[12] > 0.9 and verdicts[16] < 0.2, verdicts


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"forget": 0.2}, "forget"),
        ({"prior_elsewhere": 1.5}, "prior_elsewhere"),
        ({"habituation_depth": 1.0}, "habituation_depth"),
        ({"particles": 10}, "particles"),
        ({"responds_above": 0.0}, "responds_above"),
    ],
)
def test_it_refuses_bad_settings_naming_them(changes, field) -> None:
    with pytest.raises(ConfigError, match=field):
        ParticleFilter(env_for(person(11)), seed=0, **changes)


def test_it_refuses_a_warm_start_of_the_wrong_size() -> None:
    with pytest.raises(ConfigError, match="warm_start"):
        ParticleFilter(env_for(person(11)), seed=0, warm_start=np.zeros((2, N + 1)))


def test_the_frame_filter_whitens_the_noise_it_models() -> None:
    """Frames of a known mood (over steps), wander (over seconds) and jitter: the filter's
    standardised innovations are white, unit-variance noise, and its log-likelihood is the
    exact Gaussian one (a filter with the wrong noise is surer, or less sure, than it is)."""
    noise = FrameNoise(jitter=0.2, wander=0.3, wander_s=1.0, mood=0.25, mood_steps=20.0)
    rng = np.random.default_rng(0)
    standardised, truth_loglik, wrong_loglik = [], 0.0, 0.0
    right, wrong = FrameFilter(noise), FrameFilter(FrameNoise(0.1, 0.1, 1.0, 0.1, 20.0))
    mood, wander, clock = noise.mood * rng.standard_normal(), 0.0, 0.0
    wander = noise.wander * rng.standard_normal()
    right_mean, wrong_mean = np.zeros((1, 2)), np.zeros((1, 2))
    for step in range(400):
        if step:
            rho = np.exp(-1.0 / noise.mood_steps)
            mood = rho * mood + noise.mood * np.sqrt(1 - rho**2) * rng.standard_normal()
        times = clock + 0.5 + np.arange(10) / 30.0
        values = []
        for now in times:
            rho = np.exp(-(now - clock) / noise.wander_s)
            wander = rho * wander + noise.wander * np.sqrt(1 - rho**2) * rng.standard_normal()
            clock = now
            values.append(mood + wander + noise.jitter * rng.standard_normal())
        clock = times[-1] + 1.0 / 30.0
        residual = np.array(values)[None, :]
        maps = right.maps(times, first=step == 0)
        innovation = right_mean @ maps.G.T + residual @ maps.D.T
        standardised += list(innovation[0] / np.sqrt(maps.S))
        loglik, right_mean = maps.read(right_mean, residual)
        truth_loglik += float(loglik[0])
        loglik, wrong_mean = wrong.maps(times, first=step == 0).read(wrong_mean, residual)
        wrong_loglik += float(loglik[0])
    z = np.array(standardised)
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05, (z.mean(), z.std())
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.05  # white: nothing left to predict
    assert truth_loglik > wrong_loglik + 100

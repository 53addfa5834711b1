import numpy as np
import pytest

from laetitia.agents.hill_climb import HillClimber
from laetitia.emoticon import PARAM_SPACE
from laetitia.envs.smile import SmileEnv
from laetitia.envs.smile_discrete import SmileDiscreteEnv
from laetitia.errors import ConfigError
from laetitia.viewers.simulated import SimulatedViewer


class RewardLog:
    """Collects (reward, info) pairs through the SB3 callback interface."""

    def __init__(self):
        from stable_baselines3.common.callbacks import BaseCallback

        log = self.log = []

        class _Callback(BaseCallback):
            def _on_step(self):
                log.extend(self.locals["infos"])
                return True

        self.callback = _Callback()


def test_after_200_steps_the_best_emoticon_is_clearly_happier_than_the_start():
    gains = []
    for seed in range(6):
        viewer = SimulatedViewer(seed=seed, frames=10)
        agent = HillClimber(SmileEnv(viewer=viewer), seed=seed).learn(200)
        # True (noise-free) happiness: a lucky reading alone cannot pass this test.
        gains.append(
            viewer.true_happiness(agent.best_params()) - viewer.true_happiness(PARAM_SPACE.defaults)
        )
    assert np.mean(gains) > 0.05
    assert sum(gain > 0 for gain in gains) >= 5


def test_a_worse_candidate_is_rejected_and_the_incumbent_restored():
    env = SmileEnv(viewer=SimulatedViewer(seed=0, frames=10))
    log = RewardLog()
    agent = HillClimber(env, seed=0).learn(60, callback=log.callback)
    rewards = np.array([info["reward"] for info in log.log])
    shown = np.array([PARAM_SPACE.normalize(info["params"]) for info in log.log])
    # The incumbent is the best reading, and it is the emoticon that was shown then.
    best = int(np.argmax(rewards))
    assert agent.best_reward == pytest.approx(rewards[best])
    np.testing.assert_allclose(agent.incumbent, shown[best], atol=1e-5)
    # Every candidate differs from the incumbent of its time in exactly one parameter.
    incumbent = shown[0]
    for i in range(1, len(shown)):
        assert np.count_nonzero(~np.isclose(shown[i], incumbent, atol=1e-5)) <= 1
        if rewards[i] > rewards[:i].max():
            incumbent = shown[i]


def test_every_parameter_gets_moved_eyebrow_slant_included():
    env = SmileEnv(viewer=SimulatedViewer(seed=0, frames=2))
    log = RewardLog()
    HillClimber(env, seed=0).learn(200, callback=log.callback)
    shown = np.array([info["params"] for info in log.log])
    assert (np.ptp(shown, axis=0) > 0).all()


def test_remeasuring_averages_the_incumbents_readings():
    env = SmileEnv(viewer=SimulatedViewer(seed=0, frames=2, noise=0.3))
    agent = HillClimber(env, seed=0, remeasure_every=5).learn(100)
    assert agent.readings > 1
    original = HillClimber(SmileEnv(viewer=SimulatedViewer(seed=0, frames=2, noise=0.3)), seed=0)
    original.learn(100)
    # One lucky reading holds the original's best; averaging pulls the estimate down to truth.
    assert agent.best_reward < original.best_reward


def test_no_face_never_replaces_the_incumbent():
    env = SmileEnv(viewer=SimulatedViewer(seed=0, frames=2))
    agent = HillClimber(env, seed=0).learn(5)
    before = (agent.incumbent.copy(), agent.best_reward)
    obs = np.append(np.ones(8), 1.0).astype(np.float32)
    agent._observe(obs, None, 1.0, obs, {"scored": False})
    np.testing.assert_array_equal(agent.incumbent, before[0])
    assert agent.best_reward == before[1]


def test_save_and_load_predict_the_same_actions(tmp_path):
    env = SmileEnv(viewer=SimulatedViewer(seed=0, frames=2))
    agent = HillClimber(env, seed=0).learn(40)
    agent.save(tmp_path / "agent")
    loaded = HillClimber.load(tmp_path / "agent", env=env)
    obs = np.append(np.zeros(8), 0.5).astype(np.float32)
    np.testing.assert_array_equal(
        agent.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0]
    )
    np.testing.assert_array_equal(agent.predict(obs)[0], loaded.predict(obs)[0])  # same rng
    assert loaded.num_timesteps == 40


def test_the_hill_climber_needs_continuous_actions():
    with pytest.raises(ConfigError, match="Smile-v1"):
        HillClimber(SmileDiscreteEnv())


def test_unknown_settings_and_zero_steps_are_refused():
    with pytest.raises(ConfigError, match="no setting"):
        HillClimber(SmileEnv(), stepsize=0.3)
    with pytest.raises(ConfigError, match="at least 1"):
        HillClimber(SmileEnv()).learn(0)

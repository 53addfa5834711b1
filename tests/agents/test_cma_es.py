import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import AGENTS, agent_class
from laetitia.agents.cma_es import CmaEs
from laetitia.app.bench_agents import BenchConfig, run_once
from laetitia.emoticon import PARAM_SPACE
from laetitia.envs.smile import SmileEnv
from laetitia.envs.smile_discrete import SmileDiscreteEnv
from laetitia.errors import ConfigError
from laetitia.types import Reaction
from laetitia.viewers.simulated import SimulatedViewer


class Shown(BaseCallback):
    def __init__(self):
        super().__init__()
        self.units = []

    def _on_step(self):
        self.units += [PARAM_SPACE.normalize(i["params"]) for i in self.locals["infos"]]
        return True


def test_it_is_registered_for_laetitia_train() -> None:
    assert agent_class("cma-es") is CmaEs
    assert AGENTS["cma-es"].env_id == "laetitia/Smile-v0"


def test_each_step_shows_the_emoticon_cma_es_asked_for_and_tells_generations() -> None:
    env = SmileEnv(viewer=SimulatedViewer(seed=1), step_size=1.0)
    shown = Shown()
    agent = CmaEs(env, seed=0, population=4).learn(10, callback=[shown])
    assert agent.history_values.size == 8  # two generations of four told
    assert len(agent.told) == 2 and agent.target is None
    told = np.vstack([agent.history_points, [p for p, _ in agent.told]])
    assert np.allclose(told, np.array(shown.units), atol=1e-5)
    assert len({tuple(np.round(u, 6)) for u in shown.units}) == 10  # a new emoticon each step


def test_with_a_small_step_size_it_walks_and_tells_only_what_it_chose() -> None:
    env = SmileEnv(viewer=SimulatedViewer(seed=1), step_size=0.05)
    shown = Shown()
    with pytest.warns(UserWarning, match="step_size 1.0"):
        agent = CmaEs(env, seed=0, population=4)
    agent.learn(12, callback=[shown])
    moves = np.abs(np.diff(np.array(shown.units), axis=0)).max(axis=1)
    assert np.all(moves <= 0.1 + 1e-5)
    assert len(agent.told) + agent.history_values.size < 12


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


def test_a_step_without_a_face_shows_the_same_emoticon_again() -> None:
    env = SmileEnv(viewer=NoFace(), step_size=1.0)
    agent = CmaEs(env, seed=0).learn(2)
    target = agent.target.copy()
    agent.learn(3)
    assert not agent.told and np.array_equal(agent.target, target)
    assert np.allclose(env._unit, target, atol=1e-5)


@pytest.mark.parametrize("steps", [9, 12])  # mid-generation and right after a tell
def test_a_loaded_agent_continues_exactly_like_the_saved_one(tmp_path, steps: int) -> None:
    def env():
        return SmileEnv(viewer=SimulatedViewer(seed=2), step_size=1.0)

    agent = CmaEs(env(), seed=3, population=4).learn(steps)
    agent.save(tmp_path / "cma")
    loaded = CmaEs.load(tmp_path / "cma", env=env())
    obs = np.append(PARAM_SPACE.normalize(PARAM_SPACE.defaults), 0.0).astype(np.float32)
    assert np.array_equal(
        loaded.predict(obs, deterministic=True)[0], agent.predict(obs, deterministic=True)[0]
    )
    for _ in range(6):  # the next asked emoticons, across a generation boundary
        a, b = agent._act(obs), loaded._act(obs)
        assert np.array_equal(a, b)
        info = {"scored": True}
        next_obs = np.append(agent.target, 0.5).astype(np.float32)
        agent._observe(obs, a, 0.5, next_obs, info)
        loaded._observe(obs, b, 0.5, next_obs, info)
    assert np.array_equal(agent._cma.mean, loaded._cma.mean)


def test_it_refuses_a_discrete_env_and_bad_settings() -> None:
    with pytest.raises(ConfigError, match="Smile-v0"):
        CmaEs(SmileDiscreteEnv(viewer="sim"))
    with pytest.raises(ConfigError, match="population"):
        CmaEs(SmileEnv(viewer="sim", step_size=1.0), population=1)
    with pytest.raises(ConfigError, match="sigma"):
        CmaEs(SmileEnv(viewer="sim", step_size=1.0), sigma=0.0)
    with pytest.raises(ConfigError, match="no setting"):
        CmaEs(SmileEnv(viewer="sim", step_size=1.0), popsize=6)


def test_it_refuses_a_continuous_env_that_is_no_emoticon() -> None:
    env = gym.make("Pendulum-v1")
    with pytest.raises(ConfigError, match="PendulumEnv is not laetitia/Smile-v0"):
        CmaEs(env)
    env.close()


def test_it_finds_happier_emoticons_than_the_hill_climber_on_simulated_people() -> None:
    config = BenchConfig(agents=("hill-climb", "cma-es"), steps=100, workers=1)
    best = {
        name: np.mean(
            [
                run_once(name, viewer, seed, config).metrics.best_fraction
                for viewer in (0, 1, 3)
                for seed in (0, 1)
            ]
        )
        for name in ("hill-climb", "cma-es")
    }
    assert best["cma-es"] > best["hill-climb"] + 0.2

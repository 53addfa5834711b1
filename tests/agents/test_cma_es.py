import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import AGENTS, agent_class
from laetitia.agents.cma_es import CmaEs
from laetitia.agents.symmetric_cma import SymmetricRootCMA
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
    assert AGENTS["cma-es"].env_id == "laetitia/Smile-v1"


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
    with pytest.raises(ConfigError, match="Smile-v1"):
        CmaEs(SmileDiscreteEnv(viewer="sim"))
    with pytest.raises(ConfigError, match="population"):
        CmaEs(SmileEnv(viewer="sim", step_size=1.0), population=1)
    with pytest.raises(ConfigError, match="sigma"):
        CmaEs(SmileEnv(viewer="sim", step_size=1.0), sigma=0.0)
    with pytest.raises(ConfigError, match="no setting"):
        CmaEs(SmileEnv(viewer="sim", step_size=1.0), popsize=6)


def test_it_refuses_a_continuous_env_that_is_no_emoticon() -> None:
    env = gym.make("Pendulum-v1")
    with pytest.raises(ConfigError, match="PendulumEnv is not laetitia/Smile-v1"):
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


def test_after_one_generation_the_next_emoticon_does_not_depend_on_the_eigenbasis() -> None:
    env = SmileEnv(viewer=SimulatedViewer(seed=1), step_size=1.0)
    cma = CmaEs(env, seed=0, population=6).learn(6)._cma
    assert isinstance(cma, SymmetricRootCMA) and cma.generation == 1
    B, D = cma._eigen_decomposition()
    # Six points in eight dimensions: C is now c*I plus a rank-6 update, so two eigenvalues
    # are equal and any rotation within their plane, with any signs, is as good a basis.
    i = int(np.argmin(np.diff(D)))
    assert D[i + 1] - D[i] < 1e-12
    turn = np.array([[np.cos(1.0), -np.sin(1.0)], [np.sin(1.0), np.cos(1.0)]])
    other = B * np.where(np.arange(8) % 2, -1.0, 1.0)
    other[:, i : i + 2] = other[:, i : i + 2] @ turn
    assert np.allclose((other * D**2) @ other.T, cma._C, atol=1e-12)
    state = cma._rng.get_state()
    point = cma._sample_solution()
    cma._B = other
    cma._rng.set_state(state)
    assert np.allclose(cma._sample_solution(), point, rtol=0, atol=1e-12)


ASKED = """
import sys
import numpy as np
from laetitia.agents.symmetric_cma import SymmetricRootCMA
cma = SymmetricRootCMA(
    mean=np.zeros(8), sigma=0.4, bounds=np.tile([-1.0, 1.0], (8, 1)), seed=0, population_size=6
)
asked = []
for _ in range(20):
    points = [cma.ask() for _ in range(6)]
    cma.tell([(x, float(np.sum(np.arange(1, 9) * (x - 0.3) ** 2))) for x in points])
    asked += points
np.save(sys.argv[1], np.array(asked))
"""


def test_the_points_are_the_same_with_another_cpus_blas_kernels(tmp_path) -> None:
    """OpenBLAS's Katmai (its name for Prescott's) and Nehalem kernels, which any x86-64 CPU
    runs, round differently; with B D z in place of the symmetric root the 7th point (the
    second generation's first) already differs by about 1."""
    asked = []
    for core in ("Katmai", "Nehalem"):
        out = tmp_path / f"{core}.npy"
        env = {**os.environ, "OPENBLAS_CORETYPE": core, "OPENBLAS_VERBOSE": "2"}
        child = subprocess.run(
            [sys.executable, "-c", ASKED, str(out)], env=env, capture_output=True, text=True
        )
        assert child.returncode == 0, child.stderr
        if f"Core: {core}" not in child.stderr:
            pytest.skip(f"numpy's BLAS here cannot be told to use OpenBLAS's {core} kernels")
        asked.append(np.load(out))
    assert asked[0].shape == (120, 8)
    assert np.allclose(asked[0], asked[1], rtol=0, atol=1e-9)

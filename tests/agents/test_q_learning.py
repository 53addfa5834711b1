import json
import shutil

import gymnasium as gym
import numpy as np
import pytest
from safetensors.numpy import load_file

from laetitia.agents.q_learning import QLearning
from laetitia.app.training import TrainConfig, train
from laetitia.emoticon import PARAM_SPACE
from laetitia.errors import ConfigError, SessionError
from laetitia.sessions import load_session


def discrete_env(seed=0, episode_steps=50):
    return gym.make(
        "laetitia/SmileDiscrete-v0", viewer=f"sim:{seed}", frames=2, max_episode_steps=episode_steps
    )


@pytest.fixture(scope="module")
def hill_climb_session(tmp_path_factory):
    out = tmp_path_factory.mktemp("hc") / "session"
    train(TrainConfig(out=out, viewer="sim:4", steps=30, frames=2), progress=False)
    return out


def test_episodes_start_from_the_best_emoticon_of_a_hill_climbing_session(
    hill_climb_session, tmp_path
):
    # The session's best as the run said it (best.json: the hill-climber's incumbent).
    best = np.array(json.loads((hill_climb_session / "best.json").read_text())["params"])
    assert not np.allclose(best, load_session(hill_climb_session).params()[-1])
    env = discrete_env()
    agent = QLearning(env, seed=0, start_from=str(hill_climb_session))
    np.testing.assert_allclose(agent.reset_options()["params"], best)
    agent.learn(1)
    # The first step is one move (or none) away from the session's best emoticon.
    moved = PARAM_SPACE.normalize(env.unwrapped.params) - PARAM_SPACE.normalize(best)
    assert np.count_nonzero(np.abs(moved) > 1e-9) <= 1
    assert np.abs(moved).max() <= 2 * env.unwrapped.step_size + 1e-9
    # The saved agent names the emoticon itself, not the folder: it loads without it.
    agent.save(tmp_path / "agent")
    copy = tmp_path / "moved"
    shutil.move(hill_climb_session, copy)
    try:
        loaded = QLearning.load(tmp_path / "agent", env=discrete_env())
    finally:
        shutil.move(copy, hill_climb_session)
    np.testing.assert_allclose(loaded.reset_options()["params"], best)
    saved = json.loads((tmp_path / "agent" / "agent.json").read_text())
    np.testing.assert_allclose(saved["settings"]["start_from"], best)


def test_start_from_refuses_what_is_not_a_session_or_an_emoticon(tmp_path):
    with pytest.raises(SessionError, match="not a session folder"):
        QLearning(discrete_env(), start_from=str(tmp_path))
    with pytest.raises(ConfigError, match="start_from"):
        QLearning(discrete_env(), start_from=3)
    agent = QLearning(discrete_env(), start_from=[0.0] * len(PARAM_SPACE))
    np.testing.assert_allclose(agent.reset_options()["params"], PARAM_SPACE.clip([0.0] * 8))


def test_the_same_moves_in_another_order_reach_the_same_cell():
    env = discrete_env()
    agent = QLearning(env, seed=0)
    cells = []
    for order in ([1, 3, 5, 2, 9], [9, 2, 5, 3, 1]):
        env.reset(seed=0)
        for action in order:
            obs, *_ = env.step(action)
        cells.append(agent.cell(obs))
    assert cells[0] == cells[1]


def test_the_q_table_is_saved_as_arrays_of_cells_and_values(tmp_path):
    agent = QLearning(discrete_env(), seed=0).learn(80)
    agent.save(tmp_path / "agent")
    document = json.loads((tmp_path / "agent" / "agent.json").read_text())
    arrays = load_file(tmp_path / "agent" / document["tensors"])
    assert set(arrays) == {"cells", "values"}
    assert arrays["cells"].shape == (len(agent.table), len(PARAM_SPACE))
    assert arrays["values"].shape == (len(agent.table), 17)
    loaded = QLearning.load(tmp_path / "agent", env=discrete_env())
    assert loaded.table.keys() == agent.table.keys()
    for cell, values in agent.table.items():
        np.testing.assert_array_equal(loaded.table[cell], values)


def test_a_step_without_a_face_teaches_nothing_and_an_unknown_cell_keeps_the_emoticon():
    agent = QLearning(discrete_env(), seed=0).learn(20)
    table = {cell: values.copy() for cell, values in agent.table.items()}
    obs = np.append(np.full(8, 0.95), 0.5).astype(np.float32)
    agent._observe(obs, 3, 0.9, obs, {"scored": False})
    assert agent.table.keys() == table.keys()
    assert agent.predict(obs, deterministic=True)[0] == 0


def test_epsilon_falls_linearly_then_stays():
    agent = QLearning(discrete_env(), epsilon_decay_steps=100)
    assert agent.epsilon() == pytest.approx(1.0)
    agent.num_timesteps = 50
    assert agent.epsilon() == pytest.approx(0.525)
    agent.num_timesteps = 1000
    assert agent.epsilon() == pytest.approx(0.05)


@pytest.mark.parametrize(
    "setting", [{"bins": 1}, {"discount": 1.0}, {"learning_rate": 1.5}, {"epsilon_end": -0.1}]
)
def test_out_of_range_settings_are_refused(setting):
    with pytest.raises(ConfigError, match="q-learning"):
        QLearning(discrete_env(), **setting)


def test_q_learning_needs_discrete_moves():
    with pytest.raises(ConfigError, match="SmileDiscrete-v1"):
        QLearning(gym.make("laetitia/Smile-v0"))

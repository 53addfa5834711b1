import importlib.util
import json

import gymnasium as gym
import numpy as np
import pytest
from safetensors.numpy import load_file

from laetitia.agents.callbacks import AgentCheckpoint
from laetitia.agents.dqn import DQNAgent
from laetitia.agents.ppo import PPOAgent
from laetitia.app.training import TrainConfig, train
from laetitia.errors import ConfigError


def continuous_env(seed=0):
    return gym.make("laetitia/Smile-v0", viewer=f"sim:{seed}", frames=2)


def discrete_env(seed=0):
    return gym.make("laetitia/SmileDiscrete-v0", viewer=f"sim:{seed}", frames=2)


def test_the_saved_folder_is_json_and_safetensors_not_a_pickle(tmp_path):
    agent = DQNAgent(discrete_env(), seed=0).learn(60)
    agent.save(tmp_path / "agent")
    files = sorted(p.name for p in (tmp_path / "agent").iterdir())
    assert files == ["agent.json", "tensors-60.safetensors"]
    arrays = load_file(tmp_path / "agent" / "tensors-60.safetensors")
    assert {key.split("/")[0] for key in arrays} == {"policy", "optimizer", "replay"}
    document = json.loads((tmp_path / "agent" / "agent.json").read_text())
    assert document["settings"]["gamma"] == DQNAgent.defaults["gamma"]


def test_a_loaded_dqn_keeps_its_replay_buffer_and_optimizer(tmp_path):
    agent = DQNAgent(discrete_env(), seed=0).learn(80)
    agent.save(tmp_path / "agent")
    loaded = DQNAgent.load(tmp_path / "agent", env=discrete_env())
    before, after = agent.model.replay_buffer, loaded.model.replay_buffer
    assert after.pos == before.pos == 80
    np.testing.assert_array_equal(after.observations[:80], before.observations[:80])
    np.testing.assert_array_equal(after.actions[:80], before.actions[:80])
    moments = agent.model.policy.optimizer.state_dict()["state"]
    restored = loaded.model.policy.optimizer.state_dict()["state"]
    for index, values in moments.items():
        for key, value in values.items():
            np.testing.assert_array_equal(restored[index][key].numpy(), value.numpy())
    assert loaded.model.exploration_rate == agent.model.exploration_rate


def test_ppo_learns_from_whole_rollouts_and_stops_at_the_exact_step():
    agent = PPOAgent(continuous_env(), seed=0, n_steps=32, batch_size=16, n_epochs=2)
    agent.learn(80)  # two whole rollouts, then 16 steps shown but not learned from
    assert agent.num_timesteps == 80
    assert agent.model._n_updates == 2 * 2
    agent.learn(48)  # a fresh rollout of 32 from where the env stands, then 16 more
    assert agent.num_timesteps == 128
    assert agent.model._n_updates == 3 * 2


def test_ppo_is_checkpointed_after_each_update_not_each_step(tmp_path):
    saves = []

    class Spy(PPOAgent):
        def save(self, path):
            saves.append(self.num_timesteps)

    agent = Spy(continuous_env(), seed=0, n_steps=32, batch_size=16, n_epochs=1)
    agent.learn(100, callback=[AgentCheckpoint(tmp_path, every=agent.checkpoint_every)])
    assert saves == [32, 64, 96]


def test_an_agent_loaded_without_an_env_still_predicts(tmp_path):
    agent = PPOAgent(continuous_env(), seed=0).learn(64)
    agent.save(tmp_path / "agent")
    loaded = PPOAgent.load(tmp_path / "agent")
    obs = continuous_env().observation_space.sample()
    np.testing.assert_array_equal(
        loaded.predict(obs, deterministic=True)[0], agent.predict(obs, deterministic=True)[0]
    )
    with pytest.raises(ConfigError, match="no environment"):
        loaded.learn(1)


def test_each_sb3_agent_refuses_an_env_it_cannot_drive():
    with pytest.raises(ConfigError, match="Discrete action space"):
        DQNAgent(continuous_env())


def test_tensorboard_is_offered_to_the_sb3_agents_only(tmp_path):
    with pytest.raises(ConfigError, match="does not log to TensorBoard"):
        TrainConfig(out=tmp_path / "x", agent="hill-climb", viewer="sim", tensorboard=tmp_path)
    if importlib.util.find_spec("tensorboard") is None:
        with pytest.raises(ConfigError, match=r"laetitia\[tensorboard\]"):
            TrainConfig(
                out=tmp_path / "x", agent="ppo", viewer="sim", tensorboard=tmp_path
            ).checked()
        return
    logs = tmp_path / "tb"
    config = TrainConfig(
        out=tmp_path / "run", agent="ppo", viewer="sim", steps=70, frames=2, tensorboard=logs
    )
    train(config, progress=False)
    assert list((logs / "run_0").glob("events.out.tfevents.*"))

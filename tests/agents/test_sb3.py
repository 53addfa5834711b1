import json

import gymnasium as gym
import numpy as np
import pytest
from safetensors.numpy import load_file

from laetitia.agents.callbacks import AgentCheckpoint
from laetitia.agents.dqn import DQNAgent
from laetitia.agents.ppo import PPOAgent
from laetitia.app.training import TrainConfig, train
from laetitia.emoticon.params import PARAM_SPACE
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
    assert document["settings"] == DQNAgent.settings_class().to_dict()


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


def _run_and_keep_saves(name, tmp_path, steps):
    import laetitia.agents.callbacks as callbacks
    from laetitia.agents.callbacks import AgentCheckpoint

    saves = tmp_path / "saves"

    class Keeps(AgentCheckpoint):
        def _on_step(self):
            super()._on_step()
            self.model.save(saves / str(self.model.num_timesteps))
            return True

    out = tmp_path / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(callbacks, "AgentCheckpoint", Keeps)
        train(TrainConfig(out=out, agent=name, viewer="sim:2", steps=steps, frames=2), False)
    return out, saves


def test_dqn_behind_its_session_takes_the_missed_steps_into_its_replay_buffer(tmp_path):
    from laetitia.agents import load_agent
    from laetitia.app.recording import recorded_steps
    from laetitia.sessions import load_session

    out, saves = _run_and_keep_saves("dqn", tmp_path, 20)
    env = gym.make("laetitia/SmileDiscrete-v0", viewer="sim:2", frames=2)
    behind = load_agent(saves / "17", env=env)
    never_stopped = load_agent(saves / "20", env=env)
    assert behind.num_timesteps == 16  # saved during step 17: its transition not stored yet
    assert behind.catch_up(recorded_steps(load_session(out))) == 4
    mine, theirs = behind.model.replay_buffer, never_stopped.model.replay_buffer
    assert mine.pos == 20 and theirs.pos == 19  # a save holds the steps before the current one
    for field in ("observations", "next_observations", "actions", "rewards"):
        np.testing.assert_allclose(getattr(mine, field)[:19], getattr(theirs, field)[:19])


def test_ppo_resumed_part_way_through_a_rollout_learns_from_the_recorded_steps(tmp_path):
    from laetitia.agents import load_agent
    from laetitia.app.recording import recorded_steps
    from laetitia.sessions import load_session

    out, _ = _run_and_keep_saves("ppo", tmp_path, 70)  # one rollout of 64, then 6 steps
    session = load_session(out)
    env = gym.make("laetitia/Smile-v0", viewer="sim:2", frames=2, step_size=0.1)
    agent = load_agent(out / "agent", env=env)
    assert agent.num_timesteps == 64  # the save holds the policy as the rollout began
    assert agent.catch_up(recorded_steps(session)) == 6 and agent.num_timesteps == 70
    agent.learn(10)
    buffer = agent.model.rollout_buffer
    # The 6 recorded steps, then the new ones (SB3 keeps the step it stops on for the next).
    assert buffer.pos == 6 + 9
    units = np.stack([PARAM_SPACE.normalize(p) for p in session.params()])
    np.testing.assert_allclose(buffer.observations[1:6, 0, :-1], units[64:69], atol=1e-6)
    np.testing.assert_allclose(buffer.rewards[:5, 0], session.steps["reward"][64:69], atol=1e-6)


def test_ppo_killed_before_its_first_update_resumes_without_replaying_its_first_moves(tmp_path):
    import laetitia.app.recording as recording
    from laetitia.app.training import resume
    from laetitia.sessions import load_session

    class DiesAtStep10(recording.SessionCallback):
        def _on_step(self):
            if self.recorder.next_step == 10:
                raise KeyboardInterrupt  # stands in for SIGKILL
            return super()._on_step()

    out = tmp_path / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(recording, "SessionCallback", DiesAtStep10)
        with pytest.raises(KeyboardInterrupt):
            train(TrainConfig(out=out, agent="ppo", viewer="sim:2", steps=30, frames=2), False)
    resume(out, steps=10, progress=False)
    params = load_session(out).params()
    assert params.shape[0] == 20
    # Each episode starts from the original emoticon; the moves after it must be new ones.
    assert not np.allclose(params[10:20], params[:10])

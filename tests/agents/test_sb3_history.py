"""PPO and DQN with `history=K`: they observe the last K shown emoticons, saved and resumed."""

import gymnasium as gym
import numpy as np
import pytest

from laetitia.agents.dqn import DQNAgent
from laetitia.agents.ppo import PPOAgent
from laetitia.agents.sb3 import MAX_HISTORY
from laetitia.app.training import TrainConfig, resume, train
from laetitia.cli import main
from laetitia.envs.history import ShownHistory
from laetitia.errors import ConfigError

OWN, ROW = 9, 10
AGENTS = {PPOAgent: "laetitia/Smile-v0", DQNAgent: "laetitia/SmileDiscrete-v0"}


def env_for(cls, episode_steps=50):
    return gym.make(AGENTS[cls], viewer="sim:2", frames=2, max_episode_steps=episode_steps)


@pytest.mark.parametrize("cls", list(AGENTS))
def test_without_history_the_agent_observes_the_env_as_it_is(cls):
    env = env_for(cls)
    agent = cls(env, seed=0)
    assert agent.env is env and agent.model.observation_space.shape == (OWN,)


@pytest.mark.parametrize("cls", list(AGENTS))
def test_an_agent_with_history_learns_saves_and_loads_to_the_same_policy(cls, tmp_path):
    agent = cls(env_for(cls, episode_steps=20), seed=0, history=3).learn(70)
    assert isinstance(agent.env, ShownHistory) and agent.env.k == 3
    assert agent.model.observation_space.shape == (OWN + 3 * ROW,)
    agent.save(tmp_path / "agent")
    with_env = cls.load(tmp_path / "agent", env=env_for(cls))
    without_env = cls.load(tmp_path / "agent")
    assert with_env.settings.history == 3 and isinstance(with_env.env, ShownHistory)
    assert without_env.model.observation_space == agent.model.observation_space
    for obs in np.random.default_rng(0).uniform(0, 1, (5, OWN + 3 * ROW)).astype(np.float32):
        action = agent.predict(obs, deterministic=True)[0]
        np.testing.assert_array_equal(with_env.predict(obs, deterministic=True)[0], action)
        np.testing.assert_array_equal(without_env.predict(obs, deterministic=True)[0], action)


@pytest.mark.parametrize("cls", list(AGENTS))
@pytest.mark.parametrize("history", [-1, MAX_HISTORY + 1, 10**9])
def test_a_history_out_of_range_is_a_config_error_naming_the_setting(cls, history):
    with pytest.raises(ConfigError, match=f"setting history .* from 0 .* to {MAX_HISTORY}") as e:
        cls(env_for(cls), history=history)
    assert e.value.field == "agent_args"


def test_laetitia_train_refuses_a_bad_history_in_one_line(tmp_path, capsys):
    out = tmp_path / "x"
    args = ["train", "--agent", "ppo", "--agent-arg", "history=-3", "--viewer", "sim"]
    assert main([*args, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "setting history" in error and "got -3" in error
    assert not out.exists()


def test_an_env_already_carrying_the_history_is_not_wrapped_twice():
    env = ShownHistory(env_for(PPOAgent), 2)
    assert PPOAgent(env, history=2).env is env
    with pytest.raises(ConfigError, match="already carries 2"):
        PPOAgent(env, history=4)


def test_evaluating_an_agent_with_history_steps_the_env_it_observes():
    from laetitia.app.evaluation import evaluate

    agent = PPOAgent(env_for(PPOAgent), seed=0, history=2).learn(64)
    result = evaluate(agent, env_for(PPOAgent, episode_steps=5), episodes=2, seed=0)
    assert result.steps == 10


def _train_watching(tmp_path, name, steps, saves=False):
    """Train `name` with history=4 in episodes of 8; the live run's observations and saves."""
    import laetitia.agents.callbacks as callbacks

    seen = {"new_obs": [], "env": None}
    kept = tmp_path / "saves"

    class Watches(callbacks.AgentCheckpoint):
        def _on_step(self):
            super()._on_step()
            seen["new_obs"].append(np.array(self.locals["new_obs"][0]))
            seen["env"] = self.model.env
            if saves:
                self.model.save(kept / str(self.model.num_timesteps))
            return True

    out = tmp_path / "run"
    config = TrainConfig(
        out=out,
        agent=name,
        viewer="sim:2",
        steps=steps,
        frames=2,
        max_episode_steps=8,
        agent_args={"history": 4},
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(callbacks, "AgentCheckpoint", Watches)
        train(config, False)
    return out, kept, seen


def _history(obs):
    return np.asarray(obs)[OWN:].reshape(4, ROW)


def test_dqn_behind_its_session_catches_up_with_the_observations_the_live_run_gave(tmp_path):
    from laetitia.agents import load_agent
    from laetitia.app.recording import recorded_steps
    from laetitia.sessions import load_session

    out, saves, live = _train_watching(tmp_path, "dqn", 20, saves=True)
    env = gym.make("laetitia/SmileDiscrete-v0", viewer="sim:2", frames=2, max_episode_steps=8)
    behind = load_agent(saves / "13", env=env)  # saved during step 13: 12 steps stored
    straight = load_agent(saves / "20", env=env)
    assert behind.catch_up(recorded_steps(load_session(out))) == 8
    # Every transition caught up on (steps 13-20, across the episode boundary at 16) carries
    # the history the live run's wrapper gave, as does the run that never stopped.
    mine, theirs = behind.model.replay_buffer, straight.model.replay_buffer
    for field in ("observations", "next_observations", "actions", "rewards"):
        np.testing.assert_allclose(
            getattr(mine, field)[:19], getattr(theirs, field)[:19], atol=1e-6
        )
    np.testing.assert_allclose(mine.observations[12:20, 0], live["new_obs"][11:19], atol=1e-6)
    assert np.all(_history(mine.observations[19, 0])[:, -1] == 1.0)
    # And the env's history is the session's last 4 steps, as the live wrapper's was.
    np.testing.assert_allclose(behind.env.shown, live["env"].shown, atol=1e-6)


def test_ppo_resumed_part_way_through_a_rollout_sees_the_history_the_person_saw(tmp_path):
    from laetitia.agents import load_agent
    from laetitia.app.recording import recorded_steps
    from laetitia.sessions import load_session

    out, _, live = _train_watching(tmp_path, "ppo", 70)  # a rollout of 64, then 6 steps
    env = gym.make("laetitia/Smile-v0", viewer="sim:2", frames=2, max_episode_steps=8)
    agent = load_agent(out / "agent", env=env)
    assert agent.num_timesteps == 64
    assert agent.catch_up(recorded_steps(load_session(out))) == 6
    # Steps 65-70 as the rollout will learn from them: chosen from the observation the live
    # run gave after the step before (a reset one after step 64, which ended an episode).
    for t in agent.model.prefill:
        assert t.obs.shape == (OWN + 4 * ROW,)
    np.testing.assert_allclose(
        [t.obs for t in agent.model.prefill], live["new_obs"][63:69], atol=1e-6
    )
    np.testing.assert_allclose(agent.env.shown, live["env"].shown, atol=1e-6)


def test_a_resumed_session_starts_from_the_history_the_person_saw(tmp_path):
    from laetitia.agents import load_agent

    out, _, live = _train_watching(tmp_path, "dqn", 12)  # stopped part-way through episode 2
    resume(out, steps=3, progress=False, log=lambda _: None)
    buffer = load_agent(out / "agent").model.replay_buffer
    assert buffer.pos == 15
    # The resumed run starts a new episode: the starting emoticon, and the 4 steps before it,
    # newest first, as the live run's wrapper held them when it stopped.
    opening = buffer.observations[12, 0]
    np.testing.assert_allclose(opening[:OWN], live["new_obs"][7][:OWN], atol=1e-6)  # a start
    np.testing.assert_allclose(_history(opening)[:, :OWN], live["env"].shown[::-1], atol=1e-6)
    np.testing.assert_array_equal(_history(opening)[:, -1], 1.0)

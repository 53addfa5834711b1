"""Every agent in the registry answers the same contract: learn, predict, save, load, resume."""

import dataclasses
import json

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback

from laetitia.agents import AGENTS, agent_class, load_agent
from laetitia.agents.base import Agent
from laetitia.app.evaluation import EvaluationConfig, evaluate, evaluate_saved
from laetitia.app.recording import recorded_steps
from laetitia.app.training import AGENT_DIR, TrainConfig, resume, train
from laetitia.cli import main
from laetitia.emoticon import PARAM_SPACE
from laetitia.errors import ConfigError, SessionError
from laetitia.sessions import load_session

NAMES = sorted(AGENTS)


def make_env(name, seed=0, frames=2, episode_steps=50):
    return gym.make(
        AGENTS[name].env_id,
        viewer=f"sim:{seed}",
        frames=frames,
        max_episode_steps=episode_steps,
        step_size=agent_class(name).preferred_step_size,
    )


class StepLog(BaseCallback):
    """Every step's info, through the stable-baselines3 callback contract."""

    def __init__(self):
        super().__init__()
        self.infos = []

    def _on_step(self):
        self.infos.extend(self.locals["infos"])
        return True

    def rewards(self):
        return np.array([info["reward"] for info in self.infos])

    def observations(self):
        """The observations that followed each step: normalised parameters, then the reward."""
        return np.array(
            [np.append(PARAM_SPACE.normalize(i["params"]), i["reward"]) for i in self.infos],
            dtype=np.float32,
        )


@pytest.mark.parametrize("name", NAMES)
def test_a_loaded_agent_predicts_the_same_actions_as_the_saved_one(name, tmp_path):
    log = StepLog()
    agent = agent_class(name)(make_env(name), seed=0).learn(64, callback=log)
    assert agent.num_timesteps == 64
    assert len(log.infos) == 64  # every step reached the callbacks, SB3's included
    agent.save(tmp_path / "agent")
    loaded = agent_class(name).load(tmp_path / "agent", env=make_env(name))
    assert type(loaded) is type(agent) and loaded.num_timesteps == 64
    space = loaded.env.observation_space
    space.seed(1)
    observations = [*log.observations(), *(space.sample() for _ in range(20))]
    for obs in observations:
        before, _ = agent.predict(obs, deterministic=True)
        after, _ = loaded.predict(obs, deterministic=True)
        np.testing.assert_array_equal(before, after)
    # The kind is read from agent.json when the caller does not know it.
    assert type(load_agent(tmp_path / "agent", env=make_env(name))) is type(agent)


@pytest.mark.parametrize("name", NAMES)
def test_an_unknown_setting_is_refused(name):
    with pytest.raises(ConfigError, match="no setting"):
        agent_class(name)(make_env(name), seed=0, no_such_setting=1)


@pytest.mark.parametrize("name", NAMES)
def test_learn_takes_exactly_the_steps_asked_and_continues_the_count(name):
    agent = agent_class(name)(make_env(name, episode_steps=20), seed=0)
    log = StepLog()
    agent.learn(30, callback=[log]).learn(45, callback=[log])
    assert agent.num_timesteps == 75 and len(log.infos) == 75
    with pytest.raises(ConfigError, match="at least 1"):
        agent.learn(0)


@pytest.mark.parametrize("name", NAMES)
def test_train_then_resume_from_the_command_line_continues_the_step_count(name, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--agent", name, "--viewer", "sim:1", "--frames", "2"]
    assert main([*args, "--out", str(out), "--steps", "20", "--episode-steps", "15"]) == 0
    assert main(["train", "--resume", str(out), "--steps", "12"]) == 0
    session = load_session(out)
    np.testing.assert_array_equal(session.steps["step"], np.arange(32))
    assert session.steps["episode"][-1] == 2  # 32 steps of 15: the third episode
    assert not np.isnan(session.probs()).any()  # each step's reaction was recorded
    saved = json.loads((out / AGENT_DIR / "agent.json").read_text())
    assert saved["agent"] == name
    # The agent as saved, with the steps it takes back in from the session, has seen all 32.
    assert _caught_up(name, out).num_timesteps == 32


def _caught_up(name, out):
    agent = load_agent(out / AGENT_DIR, env=make_env(name))
    agent.catch_up(recorded_steps(load_session(out)))
    return agent


@pytest.mark.expensive
@pytest.mark.parametrize("name", NAMES)
def test_a_run_killed_mid_way_resumes_from_its_last_checkpoint(name, tmp_path, monkeypatch):
    import laetitia.app.recording as recording

    class DiesBeforeStep70(recording.SessionCallback):
        """Stands in for SIGKILL: the process dies before recording step 70."""

        def _on_step(self):
            if self.recorder.next_step == 70:
                raise KeyboardInterrupt
            return super()._on_step()

    out = tmp_path / "run"
    config = TrainConfig(out=out, agent=name, viewer="sim:2", steps=80, frames=2)
    monkeypatch.setattr(recording, "SessionCallback", DiesBeforeStep70)
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    monkeypatch.undo()
    saved = json.loads((out / AGENT_DIR / "agent.json").read_text())["num_timesteps"]
    # Saved at the last step (DQN: the transitions it has stored, one step behind), or (PPO)
    # as its last rollout began; a resume takes the rest back in from the session.
    assert 0 < saved <= 70 and (saved >= 69 or agent_class(name).checkpoint_every == 0)
    assert load_session(out).n_steps == 70
    result = resume(out, progress=False)
    assert result.session.n_steps == 80
    np.testing.assert_array_equal(result.session.steps["step"], np.arange(80))
    assert _caught_up(name, out).num_timesteps == 80


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_evaluation_is_a_number_and_repeats_with_the_same_seed(name, tmp_path):
    agent = agent_class(name)(make_env(name), seed=0).learn(64)
    agent.save(tmp_path / "agent")
    config = EvaluationConfig(
        agent_path=tmp_path / "agent", viewer="sim:3", episodes=2, max_episode_steps=10, seed=7
    )
    first, second = evaluate_saved(config, progress=False), evaluate_saved(config, progress=False)
    assert 0.0 <= first.mean_happiness <= 1.0
    assert first.steps == 20 and len(first.episode_happiness) == 2
    assert first == second
    other = evaluate_saved(dataclasses.replace(config, seed=8), progress=False)
    assert other.mean_happiness != first.mean_happiness  # the seed reaches the viewer's noise


LEARNING_STEPS = {"q-learning": 1000, "bayes-opt": 100, "particle": 100}
"""Steps each agent learns for in the learning test (500 unless named): tabular Q-learning
needs about 1000 to beat a random walk on the simulated viewer (at 500 its margin over one,
on these 10 seeds, is 0.04 +- 0.04; at 1000, 0.11 +- 0.03); the Bayesian optimiser and the
particle filter, whose steps cost the most, are asked to beat one within 100."""
LEARNING_SEEDS = 10


def _at_random_last_50(env, steps):
    """Mean noise-free happiness of the last 50 of `steps` emoticons an agent acting at random
    shows (its actions drawn from the action space)."""
    shown = []
    env.reset()
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        shown.append(env.unwrapped.viewer.true_happiness(info["params"]))
        if terminated or truncated:
            env.reset()
    return float(np.mean(shown[-50:]))


class TrueHappiness(BaseCallback):
    def __init__(self):
        super().__init__()
        self.shown = []

    def _on_step(self):
        viewer = self.model.get_env().unwrapped.viewer
        self.shown += [viewer.true_happiness(i["params"]) for i in self.locals["infos"]]
        return True


@pytest.mark.expensive
@pytest.mark.parametrize("name", NAMES)
def test_every_agent_beats_an_agent_acting_at_random_on_the_same_people(name):
    """Scored on the viewer's noise-free happiness, paired by seed, with a margin of two
    standard errors: an agent that acts at random passes it about one time in forty."""
    steps = LEARNING_STEPS.get(name, 500)
    margins = []
    for seed in range(LEARNING_SEEDS):
        log = TrueHappiness()
        agent_class(name)(make_env(name, seed=seed, frames=10), seed=seed).learn(steps, log)
        learned = float(np.mean(log.shown[-50:]))
        env = make_env(name, seed=seed, frames=10)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        at_random = _at_random_last_50(env, steps)
        margins.append(learned - at_random)
    margins = np.array(margins)
    standard_error = margins.std(ddof=1) / np.sqrt(margins.size)
    assert margins.mean() > 2 * standard_error, np.round(margins, 3)


def test_evaluate_from_the_command_line_prints_the_happiness_and_records_a_session(
    tmp_path, capsys
):
    agent = agent_class("q-learning")(make_env("q-learning", episode_steps=12), seed=0).learn(30)
    agent.save(tmp_path / "agent")
    out = tmp_path / "eval"
    args = ["evaluate", "--agent-path", str(tmp_path / "agent"), "--viewer", "sim:1"]
    assert main([*args, "--episodes", "3", "--frames", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "episode 2: mean happiness" in printed and "mean happiness:" in printed
    session = load_session(out)
    assert session.n_steps == 36  # the episode length the agent was trained with
    figures = json.loads((out / "evaluation.json").read_text())
    assert figures["agent"] == "q-learning" and figures["steps"] == 36


def test_evaluating_a_folder_without_an_agent_is_a_clear_error(tmp_path, capsys):
    assert main(["evaluate", "--agent-path", str(tmp_path), "--viewer", "sim"]) == 2
    assert "no saved agent" in capsys.readouterr().err
    with pytest.raises(SessionError):
        load_agent(tmp_path)


def test_the_hill_climber_is_evaluated_from_its_best_emoticon():
    env = make_env("hill-climb", episode_steps=5)
    agent = agent_class("hill-climb")(env, seed=0).learn(60)
    log = evaluate(agent, env, episodes=1, seed=0)
    assert log.steps == 5
    np.testing.assert_allclose(env.unwrapped.params, agent.best_params(), atol=1e-6)


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_a_run_killed_after_a_few_steps_resumes(name, tmp_path, monkeypatch):
    """Killed before any save the agent makes as it learns (PPO's first rollout is 64 steps)."""
    from laetitia.app.training import TrainConfig, resume, train
    from laetitia.sessions import load_session
    from laetitia.viewers.simulated import SimulatedViewer

    react = SimulatedViewer.react
    calls = {"n": 0}

    def dies_at_step_five(self, image, params):
        calls["n"] += 1
        if calls["n"] > 4:
            raise RuntimeError("the process is killed here")
        return react(self, image, params)

    monkeypatch.setattr(SimulatedViewer, "react", dies_at_step_five)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="killed"):
        train(TrainConfig(out=out, agent=name, viewer="sim:1", steps=30, frames=2), progress=False)
    assert load_session(out).n_steps == 4
    monkeypatch.setattr(SimulatedViewer, "react", react)
    result = resume(out, steps=6, progress=False)
    np.testing.assert_array_equal(result.session.steps["step"], np.arange(10))


class SavesEveryStep(BaseCallback):
    """Keeps a save of the agent after every step, as a run killed at any step would leave."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def _on_step(self):
        self.model.save(self.folder / str(self.model.num_timesteps))
        return True


@pytest.mark.parametrize("name", [n for n in NAMES if issubclass(agent_class(n), Agent)])
def test_an_agent_saved_behind_its_session_catches_up_exactly(name, tmp_path):
    """A kill between a step's row and the agent's save leaves the agent behind; on resume it
    takes the missed steps in and is the agent that never stopped (ten frames a step: an agent
    that reads the frames, not only the reward, gets them back from the session)."""
    out = tmp_path / "run"
    saves = tmp_path / "saves"
    config = TrainConfig(out=out, agent=name, viewer="sim:3", steps=30, frames=10)
    import laetitia.agents.callbacks as callbacks

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(callbacks, "AgentCheckpoint", lambda path, every: SavesEveryStep(saves))
        train(config, progress=False)
    behind = load_agent(saves / "26", env=make_env(name, frames=10))
    assert behind.catch_up(recorded_steps(load_session(out))) == 4
    never_stopped = load_agent(saves / "30", env=make_env(name, frames=10))
    assert behind.num_timesteps == never_stopped.num_timesteps == 30
    state, arrays = behind._state()
    expected_state, expected_arrays = never_stopped._state()
    assert json.dumps(state, sort_keys=True) == json.dumps(expected_state, sort_keys=True)
    assert arrays.keys() == expected_arrays.keys()
    for key, value in arrays.items():
        np.testing.assert_array_equal(value, expected_arrays[key])
    assert behind.rng.bit_generator.state == never_stopped.rng.bit_generator.state


def test_an_agent_ahead_of_its_session_is_refused(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(out=out, agent="hill-climb", viewer="sim", steps=5, frames=2), False)
    agent = load_agent(out / AGENT_DIR, env=make_env("hill-climb"))
    session = load_session(out)
    shorter = recorded_steps(session)
    shorter = dataclasses.replace(
        shorter,
        params=shorter.params[:3],
        rewards=shorter.rewards[:3],
        scored=shorter.scored[:3],
        episodes=shorter.episodes[:3],
    )
    with pytest.raises(SessionError, match="later point than the session"):
        agent.catch_up(shorter)


def test_a_session_that_is_not_the_agents_is_refused_on_catch_up(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(out=out, agent="cma-es", viewer="sim", steps=6, frames=2), False)
    first = load_agent(out / AGENT_DIR, env=make_env("cma-es"))
    other = agent_class("cma-es")(make_env("cma-es"), seed=99)  # another agent, 0 steps
    with pytest.raises(SessionError, match="do not belong together"):
        other.catch_up(recorded_steps(load_session(out)))
    assert first.catch_up(recorded_steps(load_session(out))) == 0

"""The stable-baselines3 internals exact resume relies on hold, and a changed one is named.

Each internal is changed here by monkeypatching SB3 as a new release might change it; the
check (`laetitia.agents.sb3_contract`) must then fail loudly, naming it, rather than let
resume go wrong silently.
"""

import importlib.metadata
import tomllib
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from packaging.requirements import Requirement
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from laetitia.agents import sb3_contract
from laetitia.agents.dqn import DQNAgent
from laetitia.agents.ppo import PPOAgent
from laetitia.agents.sb3 import Transition
from laetitia.errors import DependencyError

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def smile_env():
    return gym.make("laetitia/Smile-v0", viewer="sim:0", frames=1)


def _pin():
    """pyproject's stable-baselines3 requirement."""
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return next(d for d in dependencies if d.startswith("stable-baselines3"))


def test_sb3_is_pinned_below_a_release_resume_was_not_proved_with():
    pin = Requirement(_pin())
    assert any(spec.operator == "<" for spec in pin.specifier), pin
    assert pin.specifier.contains(importlib.metadata.version("stable-baselines3"))


def test_the_installed_sb3_offers_every_internal_resume_relies_on():
    assert sb3_contract.broken_internals() == []
    sb3_contract.require_model_internals(PPOAgent(smile_env(), seed=0).model)
    dqn = DQNAgent(gym.make("laetitia/SmileDiscrete-v0", viewer="sim:0", frames=1), seed=0)
    sb3_contract.require_model_internals(dqn.model, DQNAgent.model_attributes)


def _rollouts_with_another_signature(self, env, callback, rollout_buffer, n_steps):
    return True


def _rollouts_without_a_reset(self, env, callback, rollout_buffer, n_rollout_steps):
    return True


def _setup_learn_that_always_resets(self, total_timesteps, *args, **kwargs):
    self._last_obs = self.env.reset()


def _store_transition_keeping_the_last_obs(
    self, replay_buffer, buffer_action, new_obs, reward, dones, infos
):
    replay_buffer.add(self._last_obs, new_obs, buffer_action, reward, dones, infos)


def _add_with_another_signature(self, obs, next_obs, action, reward, done):
    pass


def _ppo_without_a_buffer_class(self, policy, env, learning_rate=3e-4):
    pass


class _ReplayBufferWithoutTimeouts(ReplayBuffer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.timeouts


@pytest.mark.parametrize(
    "owner, attribute, replacement, named",
    [
        (
            OnPolicyAlgorithm,
            "collect_rollouts",
            _rollouts_with_another_signature,
            "OnPolicyAlgorithm.collect_rollouts takes (self, env, callback, rollout_buffer, "
            "n_steps)",
        ),
        (
            OnPolicyAlgorithm,
            "collect_rollouts",
            _rollouts_without_a_reset,
            "rollout_buffer.reset() before the loop no longer has `rollout_buffer.reset()`",
        ),
        (
            BaseAlgorithm,
            "_setup_learn",
            _setup_learn_that_always_resets,
            "BaseAlgorithm._setup_learn: the env is reset when _last_obs is None no longer has",
        ),
        (
            OffPolicyAlgorithm,
            "_store_transition",
            _store_transition_keeping_the_last_obs,
            "OffPolicyAlgorithm._store_transition no longer has `self._last_obs = new_obs`",
        ),
        (
            ReplayBuffer,
            "add",
            _add_with_another_signature,
            "ReplayBuffer.add takes (self, obs, next_obs, action, reward, done)",
        ),
        (PPO, "__init__", _ppo_without_a_buffer_class, "takes no rollout_buffer_class"),
        (
            sb3_contract,
            "ReplayBuffer",
            _ReplayBufferWithoutTimeouts,
            "ReplayBuffer's arrays, pos, full and buffer_size has no array(s) ['timeouts']",
        ),
    ],
)
def test_a_changed_internal_is_named(monkeypatch, owner, attribute, replacement, named):
    monkeypatch.setattr(owner, attribute, replacement)
    broken = sb3_contract.broken_internals()
    assert broken and any(named in problem for problem in broken), broken
    assert all("used for:" in problem for problem in broken)


def test_an_sb3_agent_is_not_built_on_a_changed_internal(monkeypatch):
    monkeypatch.setattr(OnPolicyAlgorithm, "collect_rollouts", _rollouts_with_another_signature)
    monkeypatch.setattr(sb3_contract, "_checked", False)
    with pytest.raises(DependencyError) as raised:
        PPOAgent(smile_env(), seed=0)
    message = str(raised.value)
    assert "OnPolicyAlgorithm.collect_rollouts takes" in message
    asked = message.split("pip install '")[1].split("'")[0]  # the pin, from the install
    assert Requirement(asked).specifier == Requirement(_pin()).specifier


def test_a_model_without_an_attribute_resume_sets_is_refused():
    model = DQNAgent(gym.make("laetitia/SmileDiscrete-v0", viewer="sim:0", frames=1)).model
    del model._n_calls
    with pytest.raises(DependencyError, match="CountingDQN has no attribute _n_calls"):
        sb3_contract.require_model_internals(model, DQNAgent.model_attributes)
    model._n_calls = 0.5
    with pytest.raises(DependencyError, match="CountingDQN._n_calls is a float, not a int"):
        sb3_contract.require_model_internals(model, DQNAgent.model_attributes)


def test_a_rollout_loop_without_the_locals_the_callbacks_read_is_refused():
    with pytest.raises(DependencyError, match=r"locals have no \['new_obs'\]"):
        sb3_contract.step_locals({"dones": np.array([False]), "infos": [{}]})


def _recorded(agent, count):
    obs = np.zeros(agent.model.observation_space.shape, dtype=np.float32)
    action = np.zeros(agent.model.action_space.shape, dtype=np.float32)
    return [Transition(obs, action, 0.5, obs, i == 0, False) for i in range(count)]


def _rollouts_that_collect_nothing(self, env, callback, rollout_buffer, n_rollout_steps):
    rollout_buffer.reset()
    return True


@pytest.mark.parametrize(
    "loop, named",
    [
        (_rollouts_without_a_reset, "no longer resets the rollout buffer"),
        (_rollouts_that_collect_nothing, "left the rollout buffer at 5 of 64 steps"),
    ],
)
def test_a_resumed_rollout_fails_loudly_when_sb3s_loop_changed(monkeypatch, loop, named):
    agent = PPOAgent(smile_env(), seed=0)
    model = agent.model
    model.prefill = _recorded(agent, 5)
    monkeypatch.setattr(OnPolicyAlgorithm, "collect_rollouts", loop)
    with pytest.raises(DependencyError, match=named):
        model.collect_rollouts(model.get_env(), CallbackList([]), model.rollout_buffer, 64)
    assert not model.rollout_buffer.keep_next_reset

"""`ShownHistory`: the last K shown emoticons and their rewards, newest first, across episodes."""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from laetitia.envs.history import ShownHistory, history_rows
from laetitia.errors import ConfigError

OWN = 9  # the smile envs' own observation: 8 normalised parameters, the last reward
ROW = OWN + 1  # and a present flag


def smile(episode_steps=50):
    return gym.make("laetitia/Smile-v0", viewer="sim:3", frames=2, max_episode_steps=episode_steps)


def rows(obs, k):
    return obs[OWN:].reshape(k, ROW)


def test_the_history_is_the_last_k_shown_steps_newest_first_across_an_episode_boundary():
    k = 4
    env = ShownHistory(smile(episode_steps=3), k)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    assert np.all(rows(obs, k) == 0.0)  # nothing shown yet: all padding, flags 0
    start = obs[:OWN]
    shown, seen = [], []
    for _ in range(3):
        obs, _, _, truncated, _ = env.step(rng.uniform(-1, 1, 8).astype(np.float32))
        shown.append(obs[:OWN])
        seen.append(obs)
    assert truncated
    # Step 2 saw step 1; step 3 saw steps 2 and 1, newest first; the rest is padding.
    np.testing.assert_array_equal(rows(seen[1], k)[0], [*shown[0], 1.0])
    np.testing.assert_array_equal(rows(seen[1], k)[1:], 0.0)
    np.testing.assert_array_equal(rows(seen[2], k)[:2, :OWN], [shown[1], shown[0]])
    np.testing.assert_array_equal(rows(seen[2], k)[:, -1], [1, 1, 0, 0])

    obs, _ = env.reset()
    # A new episode, the same person: the history goes on; the reset emoticon is not shown.
    np.testing.assert_array_equal(obs[:OWN], start)
    np.testing.assert_array_equal(rows(obs, k)[:3, :OWN], [shown[2], shown[1], shown[0]])
    np.testing.assert_array_equal(rows(obs, k)[:, -1], [1, 1, 1, 0])
    for _ in range(2):
        obs, *_ = env.step(rng.uniform(-1, 1, 8).astype(np.float32))
        shown.append(obs[:OWN])
    expected = [shown[3], shown[2], shown[1], shown[0]]  # steps 4, 3, 2, 1: not the reset
    np.testing.assert_array_equal(rows(obs, k)[:, :OWN], expected)
    np.testing.assert_array_equal(rows(obs, k)[:, -1], 1.0)
    np.testing.assert_array_equal(obs[:OWN], shown[4])
    np.testing.assert_array_equal(env.shown, shown[1:])  # oldest first, the last K


def test_history_rows_builds_what_the_wrapper_shows():
    env = ShownHistory(smile(episode_steps=2), 3)
    env.reset(seed=1)
    own = []
    for _ in range(5):
        obs, _, _, truncated, _ = env.step(np.full(8, 0.3, dtype=np.float32))
        own.append(obs[:OWN])
        np.testing.assert_array_equal(
            obs[OWN:], history_rows(np.array(own[:-1]).reshape(-1, OWN), 3)
        )
        if truncated:
            obs, _ = env.reset()
            np.testing.assert_array_equal(obs[OWN:], history_rows(np.array(own), 3))


def test_the_observation_space_bounds_every_row_and_passes_sb3s_checker():
    k = 3
    env = ShownHistory(smile(), k)
    space = env.observation_space
    assert isinstance(space, gym.spaces.Box) and space.shape == (OWN + ROW * k,)
    assert space.dtype == np.float32
    inner = env.env.observation_space
    for row in range(k):
        part = slice(OWN + row * ROW, OWN + (row + 1) * ROW)
        np.testing.assert_array_equal(space.low[part], [*inner.low, 0.0])
        np.testing.assert_array_equal(space.high[part], [*inner.high, 1.0])
    sb3_check_env(env)
    obs, _ = env.reset(seed=0)
    for _ in range(5):
        assert space.contains(obs)
        obs, *_ = env.step(np.ones(8, dtype=np.float32))
    assert space.contains(obs)


def test_v0s_observation_is_unchanged_without_the_wrapper():
    env = smile()
    assert env.observation_space.shape == (OWN,)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (OWN,)
    assert env.step(np.zeros(8, dtype=np.float32))[0].shape == (OWN,)


def test_rewards_infos_and_the_envs_own_observation_pass_through_unchanged():
    plain, wrapped = smile(), ShownHistory(smile(), 2)
    plain.reset(seed=5)
    wrapped.reset(seed=5)
    for action in np.random.default_rng(1).uniform(-1, 1, (6, 8)).astype(np.float32):
        obs, reward, _, _, info = plain.step(action)
        obs_h, reward_h, _, _, info_h = wrapped.step(action)
        np.testing.assert_array_equal(obs_h[:OWN], obs)
        assert reward_h == reward
        assert info_h.keys() == info.keys()
        np.testing.assert_array_equal(info_h["params"], info["params"])
        assert info_h["reward"] == info["reward"] and info_h["scored"] == info["scored"]


class _RunsOut(gym.Env):
    """Shows two emoticons, then a recording runs out (that step showed nothing)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(1)

    def __init__(self):
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        info = {"recording_over": "the video ended."} if self.t == 3 else {}
        return np.full(2, self.t / 10, np.float32), 0.0, False, self.t == 3, info


def test_a_step_at_which_the_recording_ran_out_is_not_in_the_history():
    env = ShownHistory(_RunsOut(), 3)
    env.reset()
    for _ in range(3):
        obs, *_ = env.step(0)
    np.testing.assert_allclose(env.shown, [[0.1, 0.1], [0.2, 0.2]])
    np.testing.assert_allclose(obs[2:].reshape(3, 3)[:, -1], [1, 1, 0])


def test_remember_sets_what_a_resumed_person_already_saw():
    env = ShownHistory(smile(), 2)
    env.remember(np.arange(27, dtype=np.float32).reshape(3, 9))
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(rows(obs, 2)[:, :OWN], [np.arange(18, 27), np.arange(9, 18)])


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_a_history_of_no_whole_number_of_steps_is_refused(k):
    with pytest.raises(ConfigError, match="k, the shown steps the history holds, is at least 1"):
        ShownHistory(smile(), k)

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import laetitia
from laetitia.emoticon import PARAM_SPACE
from laetitia.envs.smile import SmileEnv
from laetitia.envs.smile_discrete import SmileDiscreteEnv
from laetitia.errors import ConfigError

ENV_IDS = [
    "laetitia/Smile-v0",
    "laetitia/SmileDiscrete-v0",
    "laetitia/Smile-v1",
    "laetitia/SmileDiscrete-v1",
]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_passes_gymnasium_and_sb3_checkers(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    check_env(env.unwrapped)
    sb3_check_env(env.unwrapped)


def test_registration_is_idempotent_and_sets_the_horizon():
    laetitia.register_envs()
    laetitia.register_envs()
    for env_id in ENV_IDS:
        assert gym.spec(env_id).max_episode_steps == 50


@pytest.mark.parametrize("cls", [SmileEnv, SmileDiscreteEnv])
def test_docstring_observation_table_matches_the_parameter_space(cls):
    rows = re.findall(r"^\s*\| (\d+) \| (.+?) \| (-?\d+) \| (-?\d+) \|$", cls.__doc__, re.M)
    names = [re.match(r"`(\w+)`", meaning).group(1) for _, meaning, _, _ in rows[:-1]]
    assert names == list(PARAM_SPACE.names)
    assert [int(i) for i, *_ in rows] == list(range(len(PARAM_SPACE) + 1))
    assert "last reward" in rows[-1][1]


def test_same_seed_same_trajectory_and_other_seed_differs():
    def run(seed):
        env = gym.make("laetitia/Smile-v0", viewer="sim:3")
        env.reset(seed=seed)
        return [env.step(np.full(8, 0.5, dtype=np.float32))[1] for _ in range(5)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_episode_is_truncated_after_the_horizon():
    env = gym.make("laetitia/SmileDiscrete-v0", max_episode_steps=7)
    env.reset(seed=0)
    ends = [env.step(0)[3] for _ in range(7)]
    assert ends == [False] * 6 + [True]


def test_discrete_actions_move_one_parameter_by_one_step():
    env = SmileDiscreteEnv(step_size=0.1)
    obs, _ = env.reset(seed=0)
    up_b = 1 + 2 * PARAM_SPACE.names.index("b")
    after, *_ = env.step(up_b)
    moved = np.flatnonzero(~np.isclose(after[:8], obs[:8]))
    assert moved.tolist() == [PARAM_SPACE.names.index("b")]
    assert after[4] - obs[4] == pytest.approx(0.2, abs=1e-6)  # 10% of the range = 0.2 normalised
    down_b, *_ = env.step(up_b + 1)
    np.testing.assert_allclose(down_b[:8], obs[:8], atol=1e-6)
    kept, *_ = env.step(0)
    np.testing.assert_allclose(kept[:8], obs[:8], atol=1e-6)


def test_continuous_action_moves_all_parameters_and_clips_to_bounds():
    env = SmileEnv(step_size=0.5)
    env.reset(seed=0)
    for _ in range(5):
        obs, *_ = env.step(np.ones(8, dtype=np.float32))
    np.testing.assert_allclose(obs[:8], 1.0)
    np.testing.assert_allclose(env.params, PARAM_SPACE.high)


def test_reward_and_info_come_from_the_viewer_reaction():
    env = SmileEnv(viewer="sim:0", frames=7)
    env.reset(seed=0)
    obs, reward, _, _, info = env.step(np.zeros(8, dtype=np.float32))
    assert info["frames"] == 7 and info["faces"] == 7 and info["scored"]
    assert reward == pytest.approx(float(np.mean(info["reaction"].happiness())))
    assert obs[-1] == pytest.approx(reward)
    np.testing.assert_allclose(info["params"], PARAM_SPACE.defaults)


def test_reset_can_start_from_given_parameters():
    env = SmileEnv()
    target = PARAM_SPACE.low + 0.25 * (PARAM_SPACE.high - PARAM_SPACE.low)
    env.reset(seed=0, options={"params": target})
    np.testing.assert_allclose(env.params, target)


def test_rgb_array_render_is_the_emoticon_on_show():
    env = gym.make("laetitia/Smile-v0", render_mode="rgb_array", image_size=96)
    env.reset(seed=0)
    before = env.render()
    env.step(np.ones(8, dtype=np.float32))
    assert before.shape == (96, 96, 3)
    assert not np.array_equal(before, env.render())


def test_human_render_opens_a_window_only_when_drawing():
    import pygame

    env = SmileEnv(render_mode="human", image_size=64)
    assert not pygame.display.get_init()  # __init__ opens no window
    env.reset(seed=0)
    env.step(np.zeros(8, dtype=np.float32))
    assert pygame.display.get_surface().get_size() == (64, 64)
    env.close()
    assert not pygame.display.get_init()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"render_mode": "ascii"}, "render_mode"),
        ({"step_size": 0.0}, "step_size"),
        ({"start": "middle"}, "start"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SmileEnv(**kwargs)


def test_wrong_action_length_is_refused():
    env = SmileEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="8 entries"):
        env.step(np.zeros(3))


def test_make_marks_person_viewers_nondeterministic():
    class Person:
        nondeterministic = True
        needs_image = False
        signal = "fer-happy"

    env = gym.make("laetitia/Smile-v0", viewer=Person())
    assert env.spec.nondeterministic
    assert not gym.make("laetitia/Smile-v0", viewer="sim").spec.nondeterministic
    # A live viewer named by its spec string, as a user writes it: nothing opens yet.
    assert gym.make("laetitia/Smile-v0", viewer="webcam").spec.nondeterministic
    assert gym.make("laetitia/Smile-v0", viewer="webcam:1").unwrapped.spec.nondeterministic


def test_the_viewer_hears_the_reward_the_env_gives():
    """A live window draws the env's reward, not one of its own (the carry resets per episode)."""
    from laetitia.viewers.simulated import SimulatedViewer

    class Listening(SimulatedViewer):
        heard: list[tuple[float, bool]] = []

        def react(self, image, params):
            reaction = super().react(image, params)
            if len(self.heard) in (2, 3):  # two faceless steps, the second after a reset
                reaction.has_face[:] = False
                reaction.probs[:] = np.nan
            return reaction

        def show_reward(self, reward, scored):
            self.heard.append((reward, scored))

    env = gym.make("laetitia/Smile-v0", viewer=Listening(frames=2), max_episode_steps=3)
    env.reset(seed=0)
    given = []
    for _ in range(3):
        _, reward, _, _, info = env.step(env.action_space.sample())
        given.append((reward, info["scored"]))
    env.reset()
    _, reward, _, _, info = env.step(env.action_space.sample())
    given.append((reward, info["scored"]))
    assert Listening.heard == given
    assert given[2] == (given[1][0], False) and given[3] == (0.0, False)


def test_the_observation_is_the_shown_emoticon_as_its_recorded_parameters_give_it() -> None:
    """On a float32 tie, float32(unit) and float32(normalize(params)) differ by one ulp; a
    session records the parameters, so the observation must be the second, or an agent
    catching up from the session sees another emoticon than it saw live."""
    env = SmileEnv(step_size=1.0)
    env.reset(seed=0)
    unit = PARAM_SPACE.normalize(PARAM_SPACE.defaults)
    unit[6] = -0.08426154032349586  # halfway between two float32s, met in a bayes-opt run
    recorded = PARAM_SPACE.normalize(PARAM_SPACE.denormalize(unit))
    assert np.float32(unit[6]) != np.float32(recorded[6])  # the tie the round trip breaks
    env._unit = unit
    obs = env._observation()
    np.testing.assert_array_equal(obs[:-1], recorded.astype(np.float32))

"""A wrongly typed or refused `--agent-arg` is one clear line naming the setting."""

import gymnasium as gym
import pytest

from laetitia.agents import AGENTS, agent_class
from laetitia.agents.base import setting_type_error
from laetitia.cli import main
from laetitia.errors import ConfigError


@pytest.mark.parametrize(
    "agent, arg, expected",
    [
        ("ppo", "n_steps=abc", "takes a whole number"),  # was a TypeError inside SB3
        ("dqn", "learning_rate=-1", "Invalid learning rate"),  # was SB3's ValueError
        ("hill-climb", 'step="x"', "takes a number"),  # was a TypeError comparing "x" to 0.0
    ],
)
def test_a_bad_agent_setting_is_one_line_naming_it_and_leaves_no_folder(
    tmp_path, capsys, agent, arg, expected
):
    out = tmp_path / "x"
    args = ["train", "--agent", agent, "--agent-arg", arg, "--viewer", "sim", "--out", str(out)]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("laetitia train: error:")
    assert arg.partition("=")[0] in error and expected in error
    assert not out.exists()


@pytest.mark.parametrize(
    "value, default, ok",
    [
        (3, 64, True),
        (True, 64, False),
        (3.0, 64, False),
        (3, 0.5, True),
        (0.25, 0.5, True),
        (False, 0.5, False),
        ("0.5", 0.5, False),
        (True, False, True),
        (1, False, False),
        ("cpu", "cpu", True),
        ([32, 32], [64, 64], True),
        ((32, 32), [64, 64], True),
        (64, [64, 64], False),
        ("anything", None, True),
    ],
)
def test_a_setting_takes_its_defaults_type(value, default, ok):
    assert (setting_type_error(value, default) is None) == ok


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_every_agent_takes_its_own_defaults_given_explicitly(name):
    cls = agent_class(name)
    env = gym.make(AGENTS[name].env_id, viewer="sim", frames=1, step_size=cls.preferred_step_size)
    assert cls(env, seed=0, **cls.defaults).settings == cls.defaults


def test_the_python_interface_refuses_the_same_way():
    with pytest.raises(ConfigError, match="bins takes a whole number"):
        agent_class("q-learning")(None, bins="4")

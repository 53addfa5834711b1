"""Agent settings are frozen dataclasses, checked as they are built, naming the setting at fault."""

import ast
import dataclasses
import inspect
import json
import typing
from dataclasses import dataclass
from typing import ClassVar, Literal

import gymnasium as gym
import pytest

from laetitia.agents import AGENTS, agent_class
from laetitia.agents.settings import Settings
from laetitia.cli import main
from laetitia.errors import ConfigError


@dataclass(frozen=True)
class Example(Settings):
    """One field of each kind a setting may be."""

    agent: ClassVar[str] = "example"
    count: int = 64
    rate: float = 0.5
    flag: bool = False
    device: str = "cpu"
    layers: tuple[int, ...] = (64, 64)
    mode: Literal["fast", "slow"] = "fast"
    start: str | tuple[float, ...] | None = None


@pytest.mark.parametrize(
    "name, value, held",
    [
        ("count", 3, 3),
        ("rate", 3, 3.0),  # a whole number is a number
        ("rate", 0.25, 0.25),
        ("flag", True, True),
        ("device", "cuda", "cuda"),
        ("layers", [32, 32], (32, 32)),  # JSON has no tuples
        ("layers", (8,), (8,)),
        ("mode", "slow", "slow"),
        ("start", "runs/x", "runs/x"),
        ("start", [0, 0.5], (0.0, 0.5)),
        ("start", None, None),
    ],
)
def test_a_setting_takes_values_of_its_type_as_its_type(name, value, held):
    settings = Example.from_dict({name: value})
    assert getattr(settings, name) == held
    assert type(getattr(settings, name)) is type(held)


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("count", True, "a whole number"),  # true or false is no number
        ("count", 3.0, "a whole number"),
        ("count", "3", "a whole number"),
        ("rate", False, "a number"),
        ("rate", "0.5", "a number"),
        ("flag", 1, "true or false"),
        ("device", 0, "a string"),
        ("layers", 64, "a list of whole numbers"),
        ("layers", [64, 0.5], "a list of whole numbers"),
        ("mode", "medium", "one of 'fast', 'slow'"),
        ("start", 3, "a string or a list of numbers or null"),
    ],
)
def test_a_value_not_of_its_settings_type_is_refused_naming_it(name, value, expected):
    for build in (lambda: Example.from_dict({name: value}), lambda: Example(**{name: value})):
        with pytest.raises(ConfigError, match=f"setting {name} takes {expected}") as raised:
            build()
        assert raised.value.field == "agent_args" and "give e.g." in str(raised.value)


def test_an_unknown_setting_is_refused_listing_the_valid_ones():
    with pytest.raises(ConfigError, match=r"no setting\(s\) \['size'\]") as raised:
        Example.from_dict({"size": 3})
    assert str(Example.names()) in str(raised.value) and raised.value.field == "agent_args"
    with pytest.raises(ConfigError, match="no setting"):
        Example().replace(size=3)


def test_settings_are_frozen_and_written_as_json_as_they_are_read():
    settings = Example.from_dict({"layers": [8, 8], "start": [0.5]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.count = 1  # type: ignore[misc]
    as_json = settings.to_dict()
    assert as_json["layers"] == [8, 8] and as_json["start"] == [0.5]
    assert Example.from_dict(json.loads(json.dumps(as_json))) == settings


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_every_agent_reads_typed_documented_settings(name):
    cls = agent_class(name)
    settings = cls.settings_class
    assert settings.agent == cls.name
    # The agent's `settings` attribute is declared as its own settings class.
    assert typing.get_type_hints(cls)["settings"] is settings
    # Every field has a docstring under it (CleanRL's `Args`).
    documented = set()
    for klass in settings.__mro__:
        if klass is Settings or not dataclasses.is_dataclass(klass):
            continue
        body = ast.parse(inspect.getsource(klass)).body[0].body
        for field, after in zip(body, body[1:], strict=False):
            if isinstance(field, ast.AnnAssign) and isinstance(after, ast.Expr):
                documented.add(field.target.id)
    assert set(settings.names()) <= documented


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_every_agent_takes_its_own_defaults_given_explicitly(name):
    cls = agent_class(name)
    env = gym.make(AGENTS[name].env_id, viewer="sim", frames=1, step_size=cls.preferred_step_size)
    defaults = cls.settings_class()
    assert cls(env, seed=0, **defaults.to_dict()).settings == defaults
    assert cls(env, seed=0, settings=defaults).settings == defaults


def test_an_agent_refuses_the_settings_of_another():
    cma = agent_class("cma-es")
    with pytest.raises(ConfigError, match="CmaEsSettings, not HillClimbSettings"):
        cma(None, settings=agent_class("hill-climb").settings_class())


@pytest.mark.parametrize(
    "agent, arg, expected",
    [
        ("ppo", "n_steps=abc", "takes a whole number"),  # was a TypeError inside SB3
        ("dqn", "learning_rate=-1", "Invalid learning rate"),  # was SB3's ValueError
        ("hill-climb", 'step="x"', "takes a number"),  # was a TypeError comparing "x" to 0.0
        ("bayes-opt", 'acquisition="ei"', "takes one of 'thompson', 'log-ei', 'ucb'"),
        ("cma-es", "population=1", "population must be at least 2"),
    ],
)
def test_a_bad_agent_setting_is_one_line_naming_it_and_leaves_no_folder(
    tmp_path, capsys, agent, arg, expected
):
    out = tmp_path / "x"
    args = ["train", "--agent", agent, "--agent-arg", arg, "--viewer", "sim", "--out", str(out)]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("laetitia train: error: --agent-arg")
    assert arg.partition("=")[0] in error and expected in error
    assert not out.exists()


def test_the_python_interface_refuses_the_same_way():
    with pytest.raises(ConfigError, match="bins takes a whole number"):
        agent_class("q-learning")(None, bins="4")

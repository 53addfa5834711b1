"""Agents saved by earlier versions of laetitia load, settings and state alike.

`old_agents/` holds one saved agent of each kind (settings beside their defaults, 21 steps on
`sim:5`), written by laetitia at commit e620bc9, before agent settings became dataclasses;
`expected.json` holds each saved agent's deterministic actions on three observations.
"""

import json
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from laetitia.agents import AGENTS, agent_class, load_agent
from laetitia.errors import SessionError

OLD = Path(__file__).parent / "old_agents"
EXPECTED = json.loads((OLD / "expected.json").read_text())


def _env(name):
    return gym.make(
        AGENTS[name].env_id,
        viewer="sim:5",
        frames=2,
        max_episode_steps=10,
        step_size=agent_class(name).preferred_step_size,
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))  # the agents that existed at e620bc9
def test_an_agent_saved_before_typed_settings_loads_and_acts_as_it_did(name, tmp_path):
    saved = json.loads((OLD / name / "agent.json").read_text())
    agent = load_agent(OLD / name, env=_env(name))
    assert type(agent) is agent_class(name) and agent.num_timesteps == saved["num_timesteps"]
    expected = EXPECTED[name]
    for obs, action in zip(expected["observations"], expected["actions"], strict=True):
        got, _ = agent.predict(np.asarray(obs, dtype=np.float32), deterministic=True)
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), action, atol=1e-6)
    # Saved again, the settings are written as they were read; those added since, at their
    # defaults.
    agent.save(tmp_path / "again")
    again = json.loads((tmp_path / "again" / "agent.json").read_text())
    defaults = agent_class(name).settings_class().to_dict()
    assert again["settings"] == {**defaults, **saved["settings"]}
    agent.learn(3)  # and it goes on learning


@pytest.mark.parametrize(
    "change, named",
    [
        ({"popsize": 8}, r"no setting\(s\) \['popsize'\]"),
        ({"sigma": "wide"}, "setting sigma takes a number"),
        ({"population": 1}, "setting population must be at least 2"),
    ],
)
def test_a_saved_agent_whose_settings_this_version_refuses_is_a_session_error(
    tmp_path, change, named
):
    folder = tmp_path / "cma-es"
    shutil.copytree(OLD / "cma-es", folder)
    document = json.loads((folder / "agent.json").read_text())
    document["settings"].update(change)
    (folder / "agent.json").write_text(json.dumps(document))
    with pytest.raises(SessionError, match=named) as raised:
        load_agent(folder, env=_env("cma-es"))
    assert str(folder / "agent.json") in str(raised.value)

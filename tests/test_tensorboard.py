"""`--tensorboard DIR` logs every agent's steps; read back with TensorBoard's own reader."""

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from laetitia.agents import AGENTS
from laetitia.app.training import TrainConfig, resume, train
from laetitia.emoticon.params import PARAM_SPACE
from laetitia.sessions import load_session


def _read(folder):
    events = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    return events


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_every_agent_logs_its_steps(agent, tmp_path):
    logs = tmp_path / "tb"
    out = tmp_path / "run"
    steps = 30
    config = TrainConfig(
        out=out, agent=agent, viewer="sim:1", steps=steps, frames=2, tensorboard=logs
    )
    train(config, progress=False)
    events = _read(logs / "run")
    tags = set(events.Tags()["scalars"])
    # The happiness is named by its signal: a simulated viewer gives P(happy), fer-happy.
    expected = {"reward", "faces", "happiness/fer-happy", "noise_free_happiness"}
    expected |= {"best_so_far/noise_free"}
    assert expected | {f"params/{name}" for name in PARAM_SPACE.names} <= tags
    session = load_session(out)
    rewards = [e.value for e in events.Scalars("reward")]
    np.testing.assert_allclose(rewards, session.steps["reward"], rtol=1e-6)
    best = [e.value for e in events.Scalars("best_so_far/noise_free")]
    assert np.all(np.diff(best) >= -1e-9)  # a running best, of noise-free values
    assert [e.step for e in events.Images("emoticon")] == [0, 25]


def test_a_resumed_run_logs_on_from_the_sessions_step(tmp_path):
    logs = tmp_path / "tb"
    out = tmp_path / "run"
    config = TrainConfig(out=out, viewer="sim:1", steps=10, frames=2, tensorboard=logs)
    train(config, progress=False)
    # A place outside the session comes from the resume's caller, never from the session.
    lines: list[str] = []
    resume(out, steps=2, progress=False, log=lines.append)
    assert any("TensorBoard" in line for line in lines)
    assert sorted({e.step for e in _read(logs / "run").Scalars("reward")}) == list(range(10))
    resume(out, steps=3, progress=False, asked={"tensorboard": logs})
    steps = sorted({e.step for e in _read(logs / "run").Scalars("reward")})
    assert steps == [*range(10), 12, 13, 14]

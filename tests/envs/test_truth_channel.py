"""Agents see only what a live agent could see: the simulated truth has a channel of its own.

What a step returns (observation and info) and what a session records (the files a prior
learns from) hold readings only; a simulated viewer's noise-free happiness, taste, mood and
habituation are read from the viewer itself (`laetitia.types.KnownTruth`), by benchmarks and
plots.
"""

import csv
import json

import numpy as np
import pytest

from laetitia.app.training import TrainConfig, train
from laetitia.app.truth import simulated_truth, true_happiness
from laetitia.envs.make import make_env
from laetitia.run_settings import RunSettings
from laetitia.sessions import load_session
from laetitia.sessions.layout import frame_columns, step_columns
from laetitia.types import KnownTruth, Reaction

SIMULATED = ["sim:1", "person:3", "person:v2:30", "person:v3:45", "person:v3:44"]
"""A simulated viewer of each kind; people-v3 member 44 has a taste that moves."""
INFO_KEYS = {"params", "reaction", "reward", "happiness", "signal", "frames", "faces", "scored"}
"""What a step's info may hold: the emoticon, the reading, the signal's name, the reward's terms."""
HIDDEN_WORDS = ("taste", "behaviour", "favourite", "mood", "habituation", "true", "felt", "peak")
"""Words naming what a simulated person hides."""


def _numbers(value: object) -> list[float]:
    """Every number in a step's info, arrays and a reaction's fields included."""
    if isinstance(value, Reaction):
        parts = [value.probs, value.values, value.measures, value.has_face, value.boxes]
        parts += [value.times_s, value.extras]
        return [n for part in parts for n in _numbers(part)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, np.ndarray):
        return [float(v) for v in value.ravel() if np.isfinite(v)]
    if isinstance(value, bool | int | float):
        return [float(value)]
    return []


@pytest.mark.parametrize("spec", SIMULATED)
def test_nothing_a_step_returns_carries_the_simulated_truth(spec):
    env = make_env("laetitia/Smile-v0", spec, RunSettings(step_size=1.0))
    viewer = env.unwrapped.viewer
    assert isinstance(viewer, KnownTruth)  # the truth's own channel: the viewer itself
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(12):
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        obs, reward, _, _, info = env.step(action)
        assert set(info) <= INFO_KEYS
        reaction = info["reaction"]
        assert reaction.extras == {} and reaction.frames is None and reaction.boxes is None
        # The observation is the emoticon on show and the reward: nothing else.
        space = env.unwrapped.space
        assert np.allclose(obs[:-1], space.normalize(info["params"]), atol=1e-6)
        assert obs[-1] == np.float32(reward)
        if info["scored"]:  # the reward is the mean reading of the frames with a face
            read = reaction.signal_values()[reaction.has_face]
            assert reward == pytest.approx(float(np.mean(read)))
        truth = viewer.true_happiness(info["params"])
        assert truth not in _numbers(info)


@pytest.mark.parametrize("spec", ["person:v2:30", "person:v3:44"])
def test_a_simulated_session_records_no_hidden_truth_and_plots_get_it_by_their_channel(
    spec, tmp_path
):
    out = tmp_path / "run"
    train(TrainConfig(out=out, agent="cma-es", viewer=spec, steps=6, keep_frames=False), False)
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert set(meta["viewer"]) <= {"kind", "name", "seed", "frames", "settle_s", "camera_fps"} | {
        "signal"
    }
    text = json.dumps(meta).lower()
    assert not [word for word in HIDDEN_WORDS if f'"{word}' in text]
    session = load_session(out)
    with open(out / "steps.csv", newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    space, classes = session.meta.space(), session.meta.class_names
    assert header[: len(step_columns(space, classes))] == step_columns(space, classes)
    with open(out / "frames.csv", newline="", encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == frame_columns(classes)
    # The noise-free curve is the rebuilt viewer's, each step at its own time.
    rebuilt = true_happiness(session)
    env = make_env("laetitia/Smile-v0", spec, RunSettings(step_size=1.0))
    viewer = env.unwrapped.viewer
    expected = [viewer.true_happiness(p, shown=k) for k, p in enumerate(session.params())]
    assert rebuilt is not None and np.allclose(rebuilt, expected)
    truth = simulated_truth(session)
    assert truth is not None
    assert truth(session.params()[0]) == viewer.true_happiness(session.params()[0], shown=6)

"""The progress bar names the reward by the signal it was read with."""

import numpy as np

from laetitia.agents.callbacks import ProgressCallback
from laetitia.labels import EMOTIONS
from laetitia.types import FER_HAPPY, SMILE, Reaction


def reaction(signal):
    probs = np.full((2, len(EMOTIONS)), 1 / len(EMOTIONS), np.float32)
    values = np.array([0.4, 0.6], np.float32)
    return Reaction(probs=probs, has_face=np.ones(2, bool), signal=signal, values=values)


def step(callback, info):
    callback.locals = {"infos": [info], "dones": [False]}
    callback._on_step()


def shown(callback):
    return str(callback._bar)  # the bar's line as tqdm draws it


def test_the_bar_names_the_reward_by_its_signal_and_keeps_it_over_an_unscored_step():
    callback = ProgressCallback(total=3)
    scored = {"reward": 0.5, "happiness": 0.5, "scored": True}
    step(callback, {**scored, "reaction": reaction(SMILE)})
    assert f"{SMILE}=0.500" in shown(callback) and "mean10=0.500" in shown(callback)
    step(callback, {"reward": 0.5, "happiness": float("nan"), "scored": False, "reaction": None})
    assert f"{SMILE}=0.500" in shown(callback)
    other = ProgressCallback(total=1)
    step(other, {**scored, "reward": 0.25, "reaction": reaction(FER_HAPPY)})
    assert f"{FER_HAPPY}=0.250" in shown(other)

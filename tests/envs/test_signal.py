"""Which signal an env's reward averages: v1's smile for a face, a simulated viewer's own."""

import gymnasium as gym
import numpy as np
import pytest

from laetitia.envs.make import make_env
from laetitia.envs.registration import DEFAULT_SIGNALS
from laetitia.errors import ConfigError
from laetitia.run_settings import RunSettings


def test_v1_scores_a_face_by_smile_and_v0_by_p_happy(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.touch()  # nothing opens until the first step
    assert DEFAULT_SIGNALS["laetitia/Smile-v1"] == "smile"
    assert gym.make("laetitia/Smile-v1", viewer=f"video:{clip}").unwrapped.signal == "smile"
    assert gym.make("laetitia/Smile-v0", viewer=f"video:{clip}").unwrapped.signal == "fer-happy"
    asked = gym.make("laetitia/SmileDiscrete-v1", viewer=f"video:{clip}", signal="fer-smile")
    assert asked.unwrapped.signal == "fer-smile"


@pytest.mark.parametrize("viewer", ["sim:3", "person:2", "person:v2:30"])
def test_a_simulated_viewer_gives_its_own_signal_and_refuses_another(viewer):
    env = gym.make("laetitia/Smile-v1", viewer=viewer)  # no signal: the viewer's own
    assert env.unwrapped.signal == "fer-happy"
    env.reset(seed=0)
    info = env.step(env.action_space.sample())[4]
    assert info["signal"] == "fer-happy" and info["reaction"].signal == "fer-happy"
    assert gym.make("laetitia/Smile-v1", viewer=viewer, signal="fer-happy")  # its own: fine
    with pytest.raises(ConfigError, match="simulates fer-happy") as refused:
        gym.make("laetitia/Smile-v1", viewer=viewer, signal="smile")
    assert refused.value.field == "signal"
    with pytest.raises(ConfigError, match="unknown"):
        make_env("laetitia/Smile-v1", viewer, RunSettings(signal="no-such-signal"))


def test_the_run_setting_reaches_the_env_and_the_reward(fixtures_dir):
    video = f"video:{fixtures_dir / 'single_face.mp4'}"
    run = RunSettings(frames=4, settle_s=0.0, signal="fer-happy")
    env = make_env("laetitia/Smile-v1", video, run, window=False)
    env.reset(seed=0)
    info = env.step(env.action_space.sample())[4]
    reaction = info["reaction"]
    assert info["signal"] == reaction.signal == "fer-happy"
    assert info["reward"] == pytest.approx(float(np.mean(reaction.happiness())))
    env.close()
    smile = make_env("laetitia/Smile-v1", video, RunSettings(frames=4, settle_s=0.0), window=False)
    smile.reset(seed=0)
    info = smile.step(smile.action_space.sample())[4]
    reaction = info["reaction"]
    assert info["signal"] == "smile" and set(reaction.measures) == {
        "mouthSmileLeft",
        "mouthSmileRight",
    }
    mean = (reaction.measures["mouthSmileLeft"] + reaction.measures["mouthSmileRight"]) / 2
    assert info["reward"] == pytest.approx(float(np.mean(mean)), abs=1e-6)
    smile.close()

"""The live viewer behind the Viewer API: a video read as if live, and a webcam that is absent."""

import numpy as np
import pytest

from laetitia.errors import CameraError, VideoEndedError
from laetitia.meter import HappinessMeter
from laetitia.reward import reward_from
from laetitia.types import Viewer
from laetitia.viewers.live import LiveViewer
from laetitia.viewers.spec import make_viewer

IMAGE = np.zeros((32, 32, 3), np.uint8)
PARAMS = np.zeros(8)


@pytest.fixture(scope="module")
def haar_meter():
    return HappinessMeter.default("haar", detect_every=5)


def test_a_video_reads_as_live_steps_with_frames_and_rewards(fixtures_dir, haar_meter):
    viewer = LiveViewer.from_video(
        fixtures_dir / "single_face.mp4", frames=10, settle_s=0.1, meter=haar_meter
    )
    assert isinstance(viewer, Viewer) and not viewer.nondeterministic
    viewer.reset(seed=0)
    rewards, previous, times = [], 0.0, []
    for _ in range(5):  # 72 frames: 5 steps of 3 settle frames + 10 frames
        reaction = viewer.react(IMAGE, PARAMS)
        assert reaction.n_frames == 10 and len(reaction.frames) == 10
        assert reaction.frames[0].shape == (360, 640, 3)
        assert reaction.boxes.shape == (10, 4) and reaction.has_face.all()
        terms = reward_from(reaction, previous)
        assert terms.scored and terms.faces == 10
        rewards.append(previous := terms.reward)
        times.append(reaction.times_s)
    # Settle frames are skipped: step k reads frames 13k+3 .. 13k+12 of the 30 fps video.
    np.testing.assert_allclose(times[1], (13 + 3 + np.arange(10)) / 30.0)
    assert rewards[0] < 0.2 and min(rewards[2:]) > 0.7  # neutral first, smiling later
    with pytest.raises(VideoEndedError, match="after 5 steps"):
        viewer.react(IMAGE, PARAMS)
    described = viewer.describe()
    assert described["kind"] == "video" and described["meter"]["detector"]["name"] == "haar"
    viewer.close()


def test_a_missing_webcam_opens_nothing_until_react_then_names_alternatives():
    viewer = make_viewer("webcam:99", frames=3, settle_s=0.0)
    assert isinstance(viewer, LiveViewer) and viewer.nondeterministic
    viewer.show = False
    with pytest.raises(CameraError) as caught:
        viewer.react(IMAGE, PARAMS)
    message = str(caught.value)
    assert "the viewer `video:PATH`" in message and "the viewer `sim`" in message
    viewer.close()


def test_make_viewer_builds_a_video_viewer(fixtures_dir):
    viewer = make_viewer(f"video:{fixtures_dir / 'single_face.mp4'}", frames=4, settle_s=0.0)
    assert isinstance(viewer, LiveViewer) and not viewer.realtime
    viewer.close()


def test_a_gymnasium_loop_over_a_video_env_runs_to_the_end_of_the_recording(fixtures_dir):
    """From Python as from the CLI: the detector is chosen at `gym.make`, the recording running
    out truncates the episode (nothing shown, the reason in info), and the next reset says the
    recording is over."""
    import gymnasium as gym

    env = gym.make(
        "laetitia/Smile-v0",
        viewer=f"video:{fixtures_dir / 'single_face.mp4'}",
        frames=10,
        settle_s=0.1,
        detector="haar",
        max_episode_steps=3,
    )
    env.reset(seed=0)
    steps, episodes, rng = 0, 1, np.random.default_rng(0)
    while True:
        _, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, 8).astype(np.float32))
        assert np.isfinite(reward)
        if info.get("recording_over"):
            assert truncated and not terminated and info["frames"] == 0 and not info["scored"]
            break
        steps += 1
        assert info["frames"] == 10
        if truncated:  # the 3-step horizon: the loop resets and goes on reading the video
            env.reset()
            episodes += 1
    assert steps == 5 and episodes == 2  # 72 frames: 5 steps of 3 settle frames + 10 read
    assert "single_face.mp4 ended after 5 steps" in info["recording_over"]
    with pytest.raises(VideoEndedError, match="the recording is over"):
        env.reset()
    env.close()

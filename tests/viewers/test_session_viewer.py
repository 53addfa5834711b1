import numpy as np
import pytest

from laetitia.emoticon import PARAM_SPACE
from laetitia.errors import SessionError
from laetitia.labels import EMOTIONS, HAPPY
from laetitia.reward import reward_from
from laetitia.sessions import SessionRecorder, new_meta
from laetitia.types import Reaction
from laetitia.viewers.session import SessionReplayViewer
from laetitia.viewers.spec import make_viewer

HAPPY_COL = EMOTIONS.index(HAPPY)


def _reaction(happy, faces=(True, True, False)):
    faces = np.asarray(faces, dtype=bool)
    probs = np.full((faces.size, len(EMOTIONS)), (1 - happy) / 6, dtype=np.float32)
    probs[:, HAPPY_COL] = happy
    probs[~faces] = np.nan
    return Reaction(probs=probs, has_face=faces)


def _unit(values):
    return PARAM_SPACE.denormalize(np.asarray(values, dtype=np.float64))


@pytest.fixture
def session(tmp_path):
    """Three emoticons seen: far left (happy 0.2), centre (0.5), far right (0.9); one faceless."""
    shown = [
        (_unit([-0.8] * 8), _reaction(0.2)),
        (_unit([0.0] * 8), _reaction(0.5, faces=(True, False, True))),
        (_unit([0.8] * 8), _reaction(0.9)),
        (_unit([0.1] * 8), _reaction(0.0, faces=(False, False, False))),
    ]
    with SessionRecorder(
        tmp_path / "rec", new_meta(agent="test", viewer={"kind": "test"})
    ) as recorder:
        for params, reaction in shown:
            recorder.record(0, reward_from(reaction).reward, params, reaction)
    return tmp_path / "rec"


def test_each_emoticon_gets_the_nearest_recorded_reaction(session):
    viewer = SessionReplayViewer(session, frames=3)
    assert viewer.needs_image is False and viewer.nondeterministic is False
    cases = [([-0.6] * 8, 0, 0.2), ([0.6] * 8, 2, 0.9), ([0.08] * 8, 1, 0.5)]
    for unit, step, happy in cases:
        reaction = viewer.react(None, _unit(unit))
        assert reaction.extras["source_step"] == step  # the faceless step 3 is never used
        np.testing.assert_allclose(reaction.happiness()[reaction.has_face], happy, rtol=1e-6)
    # The per-frame record comes back as it was: the centre step's second frame had no face.
    centre = viewer.react(None, _unit([0.0] * 8))
    np.testing.assert_array_equal(centre.has_face, [True, False, True])
    assert centre.extras["distance"] == 0.0
    assert np.isnan(centre.probs[1]).all()


def test_replay_is_deterministic_and_cycles_frames(session):
    viewer = make_viewer(f"session:{session}", frames=5)
    assert isinstance(viewer, SessionReplayViewer)
    a = viewer.react(None, _unit([0.7] * 8))
    viewer.reset(seed=3)
    b = viewer.react(None, _unit([0.7] * 8))
    assert a == b and a.n_frames == 5
    np.testing.assert_array_equal(a.has_face, [True, True, False, True, True])


def test_means_are_repeated_when_the_session_has_no_frame_index(session):
    (session / "frames.csv").unlink()
    reaction = SessionReplayViewer(session, frames=4).react(None, _unit([0.9] * 8))
    assert reaction.n_faces == 4
    np.testing.assert_allclose(reaction.happiness(), 0.9, rtol=1e-6)


def test_a_session_without_faces_is_refused(tmp_path):
    with SessionRecorder(
        tmp_path / "rec", new_meta(agent="test", viewer={"kind": "test"})
    ) as recorder:
        recorder.record(0, 0.0, PARAM_SPACE.defaults, _reaction(0.0, faces=(False,)))
    with pytest.raises(SessionError, match="no step with a face"):
        SessionReplayViewer(tmp_path / "rec")


@pytest.fixture
def smile_session(tmp_path):
    """Two emoticons seen, scored by smile: P(happy) says 0.1 where the smile says 0.7."""
    measures = ["mouthSmileLeft", "mouthSmileRight"]
    meta = new_meta(
        agent="test", viewer={"kind": "test"}, signal={"name": "smile", "measures": measures}
    )
    with SessionRecorder(tmp_path / "smile", meta) as recorder:
        for unit, smile in (([-0.5] * 8, 0.7), ([0.5] * 8, 0.2)):
            base = _reaction(0.1)
            values = np.where(base.has_face, smile, np.nan).astype(np.float32)
            reaction = Reaction(
                probs=base.probs,
                has_face=base.has_face,
                signal="smile",
                values=values,
                measures={"mouthSmileLeft": values - 0.05, "mouthSmileRight": values + 0.05},
            )
            recorder.record(0, reward_from(reaction).reward, _unit(unit), reaction)
    return tmp_path / "smile"


def test_a_session_answers_with_its_own_signal_or_one_its_table_can_compute(smile_session):
    own = SessionReplayViewer(smile_session, frames=2)
    assert own.signal == "smile"
    reaction = own.react(None, _unit([-0.5] * 8))
    assert reaction.signal == "smile" and reaction_mean(reaction) == pytest.approx(0.7)
    fer = SessionReplayViewer(smile_session, frames=2, signal="fer-happy")
    reaction = fer.react(None, _unit([-0.5] * 8))
    assert reaction.signal == "fer-happy" and reaction_mean(reaction) == pytest.approx(0.1)
    assert fer.describe()["signal"]["name"] == "fer-happy"


def test_a_signal_the_session_did_not_measure_is_refused(session):
    from laetitia.errors import ConfigError

    with pytest.raises(ConfigError, match="mouthSmileLeft, mouthSmileRight") as refused:
        SessionReplayViewer(session, frames=2, signal="smile")
    assert refused.value.field == "signal"
    assert make_viewer(f"session:{session}", signal="fer-happy").signal == "fer-happy"


def reaction_mean(reaction):
    return float(np.mean(reaction.signal_values()[reaction.has_face]))


def test_a_viewer_that_simulates_smile_is_recorded_and_replayed_by_its_values(tmp_path):
    """A simulated viewer of another signal (people-v3 simulates smile) needs no measures."""
    import dataclasses

    import gymnasium as gym

    from laetitia.viewers.simulated import SimulatedViewer
    from laetitia.viewers.spec import signal_record

    class SmilingSim(SimulatedViewer):
        signal = "smile"

        def react(self, image, params):
            read = super().react(image, params)
            return dataclasses.replace(read, signal="smile", values=read.happiness().copy())

    viewer = SmilingSim(seed=1, frames=3)
    env = gym.make("laetitia/Smile-v1", viewer=viewer)
    assert env.unwrapped.signal == "smile"
    meta = new_meta(agent="test", viewer=viewer.describe(), signal=signal_record(viewer))
    env.reset(seed=0)
    shown = []
    with SessionRecorder(tmp_path / "s", meta) as recorder:
        for _ in range(3):
            _, reward, _, _, info = env.step(env.action_space.sample())
            recorder.record(0, reward, info["params"], info["reaction"])
            shown.append(info["reaction"])
    from laetitia.sessions import load_session

    session = load_session(tmp_path / "s")
    assert session.meta.signal_name == "smile" and session.meta.measures == ()
    replay = SessionReplayViewer(tmp_path / "s", frames=3)
    again = replay.react(None, session.params()[0])
    assert replay.signal == again.signal == "smile"
    np.testing.assert_array_equal(again.signal_values(), shown[0].signal_values())

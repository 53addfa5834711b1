import json

import numpy as np
import pytest

from laetitia.emoticon import PARAM_SPACE
from laetitia.errors import SessionError
from laetitia.labels import EMOTIONS
from laetitia.sessions import STEPS_FILE, SessionRecorder, load_session, new_meta, step_columns
from laetitia.types import Reaction
from laetitia.viewers.simulated import SimulatedViewer


def _record(folder, n, viewer=None):
    viewer = viewer or SimulatedViewer(seed=0, frames=3)
    with SessionRecorder(folder, new_meta(agent="test", viewer=viewer.describe())) as recorder:
        for i in range(n):
            params = PARAM_SPACE.defaults + 0.01 * i
            reaction = viewer.react(None, params)
            recorder.record(0, float(reaction.happiness().mean()), params, reaction)
    return folder


def test_steps_csv_has_the_design_columns_and_one_row_per_step(tmp_path):
    _record(tmp_path / "s", 4)
    header = (tmp_path / "s" / STEPS_FILE).read_text().splitlines()[0].split(",")
    assert header == ["step", "episode", "t", "reward", "faces", *PARAM_SPACE.names, *EMOTIONS]
    assert header == step_columns()
    session = load_session(tmp_path / "s")
    assert session.n_steps == 4
    np.testing.assert_array_equal(session.steps["step"], [0, 1, 2, 3])
    np.testing.assert_allclose(session.params()[2], PARAM_SPACE.defaults + 0.02)
    np.testing.assert_allclose(session.probs().sum(axis=1), 1.0, rtol=1e-5)


def test_meta_records_space_classes_and_versions(tmp_path):
    _record(tmp_path / "s", 1)
    meta = json.loads((tmp_path / "s" / "meta.json").read_text())
    assert [p["name"] for p in meta["parameter_space"]] == list(PARAM_SPACE.names)
    assert meta["class_names"] == list(EMOTIONS)
    assert {"python", "numpy", "gymnasium", "torch"} <= set(meta["versions"])
    assert meta["viewer"] == {"kind": "sim", "seed": 0, "frames": 3, "noise": 0.1}


def test_each_step_is_on_disk_before_the_next_one(tmp_path):
    viewer = SimulatedViewer(seed=0, frames=2)
    recorder = SessionRecorder(tmp_path / "s", new_meta(agent="test", viewer=viewer.describe()))
    for i in range(3):
        recorder.record(0, 0.5, PARAM_SPACE.defaults, viewer.react(None, PARAM_SPACE.defaults))
        assert load_session(tmp_path / "s").n_steps == i + 1  # readable without close()
    recorder.close()


def test_a_row_torn_by_a_crash_is_ignored_and_resume_appends_cleanly(tmp_path):
    folder = _record(tmp_path / "s", 3)
    with open(folder / STEPS_FILE, "a") as handle:
        handle.write("3,0,0.1,0.4")  # a crash in the middle of a row
    assert load_session(folder).n_steps == 3
    viewer = SimulatedViewer(seed=0, frames=2)
    with SessionRecorder.resume(folder) as recorder:
        step = recorder.record(
            1, 0.7, PARAM_SPACE.defaults, viewer.react(None, PARAM_SPACE.defaults)
        )
    session = load_session(folder)
    assert step == 3 and session.n_steps == 4
    assert session.steps["reward"][-1] == 0.7


def test_faceless_steps_have_empty_class_columns(tmp_path):
    probs = np.full((2, len(EMOTIONS)), np.nan, dtype=np.float32)
    reaction = Reaction(probs=probs, has_face=np.zeros(2, dtype=bool))
    with SessionRecorder(
        tmp_path / "s", new_meta(agent="test", viewer={"kind": "test"})
    ) as recorder:
        recorder.record(0, 0.0, PARAM_SPACE.defaults, reaction)
    session = load_session(tmp_path / "s")
    assert session.steps["faces"][0] == 0
    assert np.isnan(session.probs()[0]).all()
    with pytest.raises(SessionError, match="no step with a face"):
        session.best_step()


def test_an_existing_session_is_never_overwritten(tmp_path):
    folder = _record(tmp_path / "s", 2)
    with pytest.raises(SessionError, match="already holds a session"):
        _record(folder, 1)
    assert load_session(folder).n_steps == 2


def test_an_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SessionError, match="cannot write the session folder"):
        _record(blocker / "s", 1)


def test_a_folder_that_is_not_a_session_is_refused(tmp_path):
    with pytest.raises(SessionError, match="not a session folder"):
        load_session(tmp_path)
    _record(tmp_path / "s", 1)
    (tmp_path / "s" / "meta.json").write_text("{broken")
    with pytest.raises(SessionError, match="corrupt"):
        load_session(tmp_path / "s")


# ----- frames: images, index, durability ------------------------------------------------------


def _camera_reaction(rng, n=3, faces=None, size=(24, 32)):
    """A reaction with pixels, boxes and times, as a camera viewer returns it."""
    faces = np.ones(n, dtype=bool) if faces is None else np.asarray(faces, dtype=bool)
    probs = rng.dirichlet(np.ones(len(EMOTIONS)), size=n).astype(np.float32)
    probs[~faces] = np.nan
    boxes = np.tile(np.array([3.5, 4.25, 10.0, 10.0], np.float32), (n, 1))
    boxes[~faces] = np.nan
    frames = tuple(rng.integers(0, 256, size=(*size, 3), dtype=np.uint8) for _ in range(n))
    return Reaction(
        probs=probs, has_face=faces, boxes=boxes, frames=frames, times_s=np.arange(n) * 0.04
    )


def test_frames_are_kept_losslessly_with_their_index(tmp_path):
    from laetitia.sessions import FRAMES_FILE

    rng = np.random.default_rng(0)
    reactions = [_camera_reaction(rng), _camera_reaction(rng, faces=[True, False, True])]
    with SessionRecorder(
        tmp_path / "s", new_meta(agent="test", viewer={"kind": "test"})
    ) as recorder:
        for r in reactions:
            recorder.record(0, 0.5, PARAM_SPACE.defaults, r)
    session = load_session(tmp_path / "s")
    assert session.frames_kept and session.meta.recording.frames == "png"
    header = (tmp_path / "s" / FRAMES_FILE).read_text().splitlines()[0].split(",")
    assert header == [
        *("step", "frame", "t", "file", "face", "x", "y", "w", "h"),
        *EMOTIONS,
        "signal",  # the session's signal (fer-happy here), what the reward averaged
    ]
    index = session.frame_index
    np.testing.assert_array_equal(index.step, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(index.frame, np.arange(6))
    for step, original in enumerate(reactions):
        back = session.reaction(step, with_frames=True)
        for a, b in zip(back.frames, original.frames, strict=True):
            np.testing.assert_array_equal(a, b)  # bit-exact pixels
        np.testing.assert_array_equal(back.probs, original.probs)  # float32 exact, NaN kept
        np.testing.assert_array_equal(back.has_face, original.has_face)
        np.testing.assert_array_equal(back.boxes, original.boxes)
        assert np.all(np.diff(back.times_s) > 0)


def test_no_frames_keeps_probabilities_and_boxes_but_no_image(tmp_path):
    rng = np.random.default_rng(1)
    reaction = _camera_reaction(rng)
    with SessionRecorder(
        tmp_path / "s", new_meta(agent="test", viewer={"kind": "test"}, keep_frames=False)
    ) as recorder:
        recorder.record(0, 0.5, PARAM_SPACE.defaults, reaction)
    session = load_session(tmp_path / "s")
    assert not session.frames_kept and not (tmp_path / "s" / "frames").exists()
    np.testing.assert_array_equal(session.reaction(0).probs, reaction.probs)
    np.testing.assert_array_equal(session.reaction(0).boxes, reaction.boxes)
    with pytest.raises(SessionError, match="frames turned off"):
        session.read_frames(0)


def test_resume_drops_frames_of_a_step_the_crash_interrupted_and_numbers_on(tmp_path):
    from laetitia.sessions import FRAMES_FILE

    rng = np.random.default_rng(2)
    folder = tmp_path / "s"
    with SessionRecorder(folder, new_meta(agent="test", viewer={"kind": "test"})) as recorder:
        recorder.record(0, 0.5, PARAM_SPACE.defaults, _camera_reaction(rng))
    # A crash after step 1's frames and index rows, before its steps.csv row:
    (folder / "frames" / "00000003.png").write_bytes(b"\x89PNG half")
    with open(folder / FRAMES_FILE, "a") as handle:
        handle.write("1,3,0.5,frames/00000003.png,1,1,1,1,1" + ",0.1" * 8 + "\n1,4,0.")
    assert load_session(folder).frame_index.n_frames == 3  # ignored on read
    with SessionRecorder.resume(folder) as recorder:
        assert recorder.keep_frames
        recorder.record(0, 0.6, PARAM_SPACE.defaults, _camera_reaction(rng, n=2))
    session = load_session(folder)
    np.testing.assert_array_equal(session.frame_index.step, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(session.frame_index.frame, np.arange(5))
    assert len(session.read_frames(1)) == 2
    assert sorted(p.name for p in (folder / "frames").iterdir()) == [
        f"{i:08d}.png" for i in range(5)
    ]


def test_step_times_and_the_eye_angle_t_are_both_read_back(tmp_path):
    # steps.csv has a time column `t` and an emoticon parameter `t`: neither hides the other.
    viewer = SimulatedViewer(seed=0, frames=2)
    params = PARAM_SPACE.defaults
    with SessionRecorder(
        tmp_path / "s", new_meta(agent="test", viewer={"kind": "test"})
    ) as recorder:
        for i in range(3):
            recorder.record(0, 0.5, params, viewer.react(None, params), t=5.0 + i)
    session = load_session(tmp_path / "s")
    np.testing.assert_array_equal(session.time_s, [5.0, 6.0, 7.0])
    np.testing.assert_array_equal(session.params()[:, PARAM_SPACE.names.index("t")], params[1])
    np.testing.assert_array_equal(session.frame_index.t, [5.0] * 2 + [6.0] * 2 + [7.0] * 2)


def test_a_session_from_before_the_signal_column_resumes_in_its_own_columns(tmp_path):
    """frames.csv of format 3 has no signal column: a resume goes on without one."""
    from laetitia.sessions import FRAMES_FILE

    rng = np.random.default_rng(4)
    folder = tmp_path / "s"
    with SessionRecorder(folder, new_meta(agent="test", viewer={"kind": "test"})) as recorder:
        recorder.record(0, 0.5, PARAM_SPACE.defaults, _camera_reaction(rng))
    table = folder / FRAMES_FILE
    lines = table.read_text().splitlines()
    table.write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in lines))  # as v3 wrote
    old = load_session(folder)
    assert old.frame_index.values is None  # read off the "happy" column
    np.testing.assert_array_equal(
        old.reaction(0).signal_values(), old.frame_index.probs[:, EMOTIONS.index("happy")]
    )
    with SessionRecorder.resume(folder) as recorder:
        recorder.record(0, 0.6, PARAM_SPACE.defaults, _camera_reaction(rng, n=2))
    header = table.read_text().splitlines()[0].split(",")
    assert header[-1] == EMOTIONS[-1] and "signal" not in header
    assert load_session(folder).frame_index.n_frames == 5

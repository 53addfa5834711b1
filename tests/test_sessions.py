import json

import numpy as np
import pytest

from laetitia.emoticon import PARAM_SPACE
from laetitia.errors import SessionError
from laetitia.labels import EMOTIONS
from laetitia.sessions import STEPS_FILE, SessionRecorder, load_session, step_columns
from laetitia.viewers import Reaction, SimulatedViewer


def _record(folder, n, viewer=None):
    viewer = viewer or SimulatedViewer(seed=0, frames=3)
    with SessionRecorder(folder, {"agent": "test", "viewer": viewer.describe()}) as recorder:
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
    recorder = SessionRecorder(tmp_path / "s", {"agent": "test", "viewer": viewer.describe()})
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
    with SessionRecorder(folder, {}, resume=True) as recorder:
        step = recorder.record(
            1, 0.7, PARAM_SPACE.defaults, viewer.react(None, PARAM_SPACE.defaults)
        )
    session = load_session(folder)
    assert step == 3 and session.n_steps == 4
    assert session.steps["reward"][-1] == 0.7


def test_faceless_steps_have_empty_class_columns(tmp_path):
    probs = np.full((2, len(EMOTIONS)), np.nan, dtype=np.float32)
    reaction = Reaction(probs=probs, has_face=np.zeros(2, dtype=bool))
    with SessionRecorder(tmp_path / "s", {"agent": "test"}) as recorder:
        recorder.record(0, 0.0, PARAM_SPACE.defaults, reaction)
    session = load_session(tmp_path / "s")
    assert session.steps["faces"][0] == 0
    assert np.isnan(session.probs()[0]).all()
    with pytest.raises(SessionError, match="no step with a face"):
        session.best_step()


def test_an_existing_session_is_never_overwritten(tmp_path):
    folder = _record(tmp_path / "s", 2)
    with pytest.raises(SessionError, match="--resume"):
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

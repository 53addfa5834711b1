import json

import numpy as np
import pytest

from laetitia.app.replay import RECORDED_REWARD, SUMMARY_FILE, replay_session, summarize
from laetitia.cli import main
from laetitia.emoticon import PARAM_SPACE
from laetitia.errors import SessionError
from laetitia.reward import reward_from
from laetitia.sessions import SessionRecorder, load_session, new_meta


def _frames(path, picks):
    from laetitia.cameras import VideoFile

    with VideoFile(path) as video:
        frames = list(video)
    return [frames[i] for i in picks]


@pytest.fixture(scope="module")
def recorded(fixtures_dir, tmp_path_factory):
    """A session scored live-style with the Haar meter: 3 steps of 2 frames, one faceless."""
    from laetitia.meter import HappinessMeter

    meter = HappinessMeter.default("haar")
    face = _frames(fixtures_dir / "single_face.mp4", [2, 3, 60, 61])
    empty = _frames(fixtures_dir / "no_face.mp4", [10, 11])
    folder = tmp_path_factory.mktemp("rec") / "session"
    rewards = {}  # the last reward of each episode; a new episode starts from 0.0
    meta = new_meta(viewer={"kind": "video", "meter": meter.describe()}, seed=0)
    with SessionRecorder(folder, meta) as recorder:
        for episode, frames in ((0, face[:2]), (0, empty), (1, face[2:])):
            reaction = meter.read(frames)
            terms = reward_from(reaction, previous_reward=rewards.get(episode, 0.0))
            rewards[episode] = terms.reward
            recorder.record(episode, terms.reward, PARAM_SPACE.defaults, reaction)
    return folder


def test_the_same_model_and_detector_reproduce_the_rewards_exactly(recorded, tmp_path):
    result = replay_session(recorded, tmp_path / "out", progress=False)
    source = load_session(recorded)
    assert result.summary.exact and result.summary.same_model and result.summary.same_detector
    np.testing.assert_array_equal(result.session.steps["reward"], source.steps["reward"])
    np.testing.assert_array_equal(result.session.steps[RECORDED_REWARD], source.steps["reward"])
    np.testing.assert_array_equal(result.session.frame_index.probs, source.frame_index.probs)
    np.testing.assert_array_equal(result.session.frame_index.boxes, source.frame_index.boxes)
    np.testing.assert_array_equal(result.session.time_s, source.time_s)
    assert result.summary.status_changed == [] and result.summary.scored_recorded == 2
    # The re-scored session keeps no image: the frames stay in the source.
    assert not (tmp_path / "out" / "frames").exists()
    assert json.loads((tmp_path / "out" / SUMMARY_FILE).read_text())["exact"] is True


def test_another_detector_shows_how_the_rewards_differ(recorded, tmp_path, capsys):
    out = tmp_path / "mtcnn"
    assert main(["replay", str(recorded), "--out", str(out), "--detector", "mtcnn"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["same_detector"] is False and summary["same_model"] is True
    assert summary["max_abs_diff"] > 0 and not summary["exact"]
    assert "identical to the recorded ones" in printed
    assert "detector not the recorded one" in printed
    meta = json.loads((out / "meta.json").read_text())
    assert meta["viewer"]["detector"]["name"] == "mtcnn"
    assert meta["replay"]["source_viewer"]["meter"]["detector"]["name"] == "haar"


def test_a_no_frames_session_cannot_be_re_scored(tmp_path, capsys):
    from laetitia.viewers.simulated import SimulatedViewer

    viewer = SimulatedViewer(frames=2)
    with SessionRecorder(
        tmp_path / "s", new_meta(viewer=viewer.describe(), keep_frames=False)
    ) as r:
        r.record(0, 0.5, PARAM_SPACE.defaults, viewer.react(None, PARAM_SPACE.defaults))
    with pytest.raises(SessionError, match="recorded without frames"):
        replay_session(tmp_path / "s", tmp_path / "out", progress=False)
    assert main(["replay", str(tmp_path / "s"), "--out", str(tmp_path / "out")]) == 2
    assert "cannot be re-scored" in capsys.readouterr().err


def test_summary_counts_differences_only_where_both_saw_a_face():
    recorded = np.array([0.5, 0.6, 0.6, 0.9])
    replayed = np.array([0.5, 0.7, 0.2, 0.9])
    summary = summarize(
        recorded,
        replayed,
        np.array([True, True, False, True]),
        np.array([True, True, True, True]),
    )
    assert summary.identical == 2 and summary.status_changed == [2]
    assert summary.max_abs_diff == pytest.approx(0.1)
    assert summary.mean_abs_diff == pytest.approx(0.1 / 3)


def test_a_session_scored_with_an_unknown_model_asks_for_its_file(recorded, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(recorded, copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["viewer"]["meter"]["model"]["identity"] = "0" * 64
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SessionError, match="model_path"):
        replay_session(copy, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def written_at_version_2(tmp_path, viewer):
    """The record of a session with this viewer as laetitia wrote it at format version 2, read."""
    from laetitia.sessions import read_meta

    path = tmp_path / "meta.json"
    path.write_text(json.dumps({**new_meta(viewer=viewer).to_json(), "format_version": 2}))
    return read_meta(path)


@pytest.mark.parametrize("detector", ["mtcnn", "haar"])
def test_a_session_recorded_before_the_miss_retry_is_rebuilt_with_its_old_tracking(
    detector, tmp_path
):
    from laetitia.app.replay import build_meter
    from laetitia.meter import HappinessMeter

    described = HappinessMeter.default(detector, detect_every=5).describe()
    for newer in ("redetect_after_miss", "absent_every", "scout"):  # what such a meta.json lacks
        del described["detector"][newer]
    old = written_at_version_2(tmp_path, {"kind": "video", **described})
    meter, same_model, same_detector = build_meter(old)
    assert same_model and same_detector and meter.detector.name == detector
    assert meter.detector.redetect_after_miss is False
    haar = HappinessMeter.default("haar", detect_every=5).describe()
    fresh, _, same = build_meter(new_meta(viewer={"kind": "video", **haar}))
    assert same and fresh.detector.redetect_after_miss is True


def test_a_session_recorded_before_absent_every_detects_on_every_frame_without_a_face(tmp_path):
    from laetitia.app.replay import build_meter
    from laetitia.meter import HappinessMeter

    described = HappinessMeter.default("yunet", detect_every=5).describe()
    assert described["detector"]["absent_every"] == 2
    del described["detector"]["absent_every"]  # what such a session's meta.json holds
    old = written_at_version_2(tmp_path, {"kind": "video", **described})
    meter, _, same_detector = build_meter(old)
    assert same_detector and meter.detector.redetect_after_miss is True
    assert meter.detector.absent_every == 1
    # Re-scored with another detector, the recorded tracking goes with it.
    other, _, same = build_meter(old, detector="haar")
    assert not same and other.detector.absent_every == 1


@pytest.mark.parametrize("detect_every", [1, 5])
def test_a_yunet_session_is_rebuilt_from_its_description(detect_every):
    from laetitia.faces import detector_from_description as detector_from
    from laetitia.faces import make_detector

    detector = make_detector("yunet", detect_every=detect_every)
    assert detector_from(detector.describe()).describe() == detector.describe()


@pytest.fixture(scope="module")
def smiled(fixtures_dir, tmp_path_factory):
    """A session scored by smile (Haar for the FER model, the landmarker for the smile)."""
    from laetitia.meter import HappinessMeter

    meter = HappinessMeter.default("haar", signal="smile")
    face = _frames(fixtures_dir / "single_face.mp4", [2, 3, 4, 40, 41, 42])
    folder = tmp_path_factory.mktemp("smiled") / "session"
    described = meter.describe()
    meta = new_meta(viewer={"kind": "video", "meter": described}, signal=described["signal"])
    previous = 0.0
    with SessionRecorder(folder, meta) as recorder:
        for frames in (face[:3], face[3:]):
            terms = reward_from(meter.read(frames), previous_reward=previous)
            previous = terms.reward
            recorder.record(0, terms.reward, PARAM_SPACE.defaults, meter.read(frames))
    return folder


def test_a_smile_session_replays_from_its_frames_exactly(smiled, tmp_path):
    source = load_session(smiled)
    assert source.meta.signal_name == "smile"
    assert set(source.frame_index.measures) == {"mouthSmileLeft", "mouthSmileRight"}
    result = replay_session(smiled, tmp_path / "out", progress=False)
    summary = result.summary
    assert summary.exact and summary.signal == "smile" and summary.source == "frames"
    np.testing.assert_array_equal(result.session.frame_index.values, source.frame_index.values)
    for name, kept in source.frame_index.measures.items():
        np.testing.assert_array_equal(result.session.frame_index.measures[name], kept)


def test_another_signal_is_computed_from_the_kept_columns_without_a_frame(smiled, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(smiled, copy)
    shutil.rmtree(copy / "frames")  # no image is read: the table holds what fer-happy needs
    out = tmp_path / "fer"
    assert main(["replay", str(copy), "--out", str(out), "--signal", "fer-happy"]) == 0
    assert (
        "by the signal fer-happy (not the recorded one; from frames.csv)" in capsys.readouterr().out
    )
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["source"] == "table" and not summary["same_signal"]
    source, rescored = load_session(smiled), load_session(out)
    assert rescored.meta.signal_name == "fer-happy"
    happy = source.frame_index.probs[:, 3]  # the "happy" column, as recorded
    for step in range(source.n_steps):
        rows = source.frame_index.rows(step)
        expected = np.mean(happy[rows], dtype=np.float64)
        assert rescored.steps["reward"][step] == expected
    # Its own signal from the table: the recorded rewards, bit for bit.
    own = replay_session(copy, tmp_path / "own", progress=False, signal="smile")
    assert own.summary.exact and own.summary.source == "table"


def test_a_signal_neither_kept_nor_readable_from_frames_is_refused(fixtures_dir, tmp_path):
    from laetitia.meter import HappinessMeter

    meter = HappinessMeter.default("haar")
    meta = new_meta(viewer={"kind": "video", "meter": meter.describe()}, keep_frames=False)
    reaction = meter.read(_frames(fixtures_dir / "single_face.mp4", [2, 3]))
    with SessionRecorder(tmp_path / "s", meta) as recorder:
        recorder.record(0, reward_from(reaction).reward, PARAM_SPACE.defaults, reaction)
    with pytest.raises(SessionError, match="does not keep what the signal smile needs"):
        replay_session(tmp_path / "s", tmp_path / "out", progress=False, signal="smile")
    # fer-happy's own column is kept: a session without frames re-scores by it.
    kept = replay_session(tmp_path / "s", tmp_path / "fer", progress=False, signal="fer-happy")
    assert kept.summary.exact and kept.summary.source == "table"


def test_a_p_happy_session_re_scored_by_smile_reads_its_frames(recorded, tmp_path):
    result = replay_session(recorded, tmp_path / "out", progress=False, signal="smile")
    assert result.summary.source == "frames" and result.summary.signal == "smile"
    assert result.session.meta.signal_name == "smile"
    assert result.summary.scored_replayed == 2  # the same faces; the step without one stays so

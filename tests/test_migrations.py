"""Sessions written by every older laetitia read as current records, resume and replay.

Each older version's `meta.json` is written here as that version wrote it (literal JSON, the
parameter space aside), and read through `read_meta`, which migrates it one version at a time.
"""

import copy
import json

import numpy as np
import pytest

from laetitia.cli import main
from laetitia.emoticon import PARAM_SPACE
from laetitia.errors import SessionError
from laetitia.sessions import FORMAT_VERSION, load_session, migrate, read_meta
from laetitia.sessions.migrations import STEPS

CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
MODEL = {
    "name": "mini_xception_fer2013",
    "identity": "0" * 64,
    "classes": CLASSES,
    "input_size": 48,
    "crop": "haar",
}


def version_1_training():
    """A training on a video from before the record had a version or a choice of detector.

    Its tracker is MTCNN's of then: no retry after a miss, no `absent_every`, no scout.
    """
    return {
        "agent": "hill-climb",
        "class_names": CLASSES,
        "command": ["laetitia", "train", "--viewer", "video:/data/me.mp4", "--out", "runs/me"],
        "config": {
            "agent": "hill-climb",
            "agent_args": {},
            "episode_steps": 20,
            "frames": 10,
            "keep_frames": True,
            "out": "runs/me",
            "seed": 0,
            "settle_s": 0.5,
            "step_size": 0.1,
            "steps": 200,
            "viewer": "video:/data/me.mp4",
            "window": False,
        },
        "created": "2026-11-20T10:00:00+0000",
        "env_id": "laetitia/Smile-v0",
        "parameter_space": PARAM_SPACE.describe(),
        "recording": {
            "frame_index": "frames.csv",
            "frames": "png",
            "frames_dir": "frames",
            "png_compression": 1,
        },
        "resumed": [],
        "seed": 0,
        "versions": {"laetitia": "0.1.0"},
        "viewer": {
            "kind": "video",
            "frames": 10,
            "settle_s": 0.5,
            "source": {"kind": "video", "path": "/data/me.mp4"},
            "meter": {
                "detector": {"name": "mtcnn", "detect_every": 5, "tracker": "template"},
                "model": MODEL,
            },
        },
    }


def version_2_evaluation():
    """An evaluation of version 2, its episode length named `steps_per_episode`."""
    return {
        "agent": "cma-es",
        "class_names": CLASSES,
        "evaluation": {
            "agent_path": "runs/me/agent",
            "viewer": "video:/data/me.mp4",
            "episodes": 5,
            "steps_per_episode": 12,
            "seed": 0,
            "deterministic": True,
            "frames": 10,
            "settle_s": 0.5,
            "step_size": None,
            "out": "runs/me-eval",
            "detector": "haar",
            "model": None,
            "profile": None,
            "window": None,
            "keep_frames": None,
        },
        "format_version": 2,
        "parameter_space": PARAM_SPACE.describe(),
        "pipeline_from_training": ["model", "profile"],
        "viewer": {
            "kind": "video",
            "frames": 10,
            "settle_s": 0.5,
            "source": {"kind": "video", "path": "/data/me.mp4"},
            "meter": {
                "detector": {
                    "name": "haar",
                    "detect_every": 10,
                    "tracker": "template",
                    "redetect_after_miss": True,
                    "absent_every": 2,
                },
                "model": MODEL,
            },
        },
    }


def version_2_replay():
    """A re-scoring of version 2: the meter at the top of `viewer`, the source's in `replay`."""
    old_tracker = {"name": "haar", "detect_every": 10, "tracker": "template"}
    return {
        "class_names": CLASSES,
        "format_version": 2,
        "parameter_space": PARAM_SPACE.describe(),
        "replay": {
            "source": "/runs/me",
            "source_viewer": {"kind": "video", "meter": {"detector": old_tracker, "model": MODEL}},
            "same_model": True,
            "same_detector": True,
        },
        "viewer": {"detector": old_tracker, "model": MODEL},
    }


def write(folder, record):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.json").write_text(json.dumps(record), encoding="utf-8")
    return folder / "meta.json"


def test_a_version_1_training_reads_as_a_current_record(tmp_path):
    meta = read_meta(write(tmp_path, version_1_training()))
    assert meta.format_version == FORMAT_VERSION == 4
    # Before the choice of detector, faces were read with MTCNN.
    assert meta.config["detector"] == "mtcnn"
    assert meta.config["max_episode_steps"] == 20 and "episode_steps" not in meta.config
    # Its tracker ran without the options that came later: they are written out as such.
    assert meta.viewer["meter"]["detector"] == {
        "name": "mtcnn",
        "detect_every": 5,
        "tracker": "template",
        "redetect_after_miss": False,
        "absent_every": 1,
        "scout": None,
    }


def test_a_version_3_session_reads_as_scored_by_fer_happy_and_resumes_with_it(tmp_path):
    meta = read_meta(write(tmp_path, version_3_training()))
    assert meta.signal_name == "fer-happy" and meta.measures == ()
    assert meta.signal["fer_model_sha256"] == MODEL["identity"]
    # A camera's run names the signal, so a resume goes on scoring by P(happy), not smile.
    assert meta.config["signal"] == "fer-happy"
    evaluation = read_meta(write(tmp_path / "eval", version_2_evaluation()))
    assert evaluation.evaluation["signal"] == "fer-happy"
    simulated = version_1_training()
    simulated["config"]["viewer"] = "sim:3"
    assert read_meta(write(tmp_path / "sim", simulated)).config["signal"] is None  # its own


def test_a_version_2_evaluation_and_replay_read_as_current_records(tmp_path):
    evaluation = read_meta(write(tmp_path / "eval", version_2_evaluation()))
    assert evaluation.evaluation["max_episode_steps"] == 12
    assert "steps_per_episode" not in evaluation.evaluation
    assert evaluation.evaluation["detector"] == "haar"  # a name, not a description: as it was
    assert evaluation.viewer["meter"]["detector"]["scout"] is None
    assert evaluation.viewer["meter"]["detector"]["redetect_after_miss"] is True  # kept
    replay = read_meta(write(tmp_path / "replay", version_2_replay()))
    for detector in (
        replay.viewer["detector"],
        replay.replay["source_viewer"]["meter"]["detector"],
    ):
        assert detector["redetect_after_miss"] is False and detector["absent_every"] == 1


def test_a_current_record_is_read_as_it_is(tmp_path):
    current = migrate(version_1_training(), "meta.json")
    assert migrate(current, "meta.json") == current


def version_3_training():
    """A training on a webcam at version 3, scored through a profile: before signals had names."""
    record = version_1_training()
    record["config"] = {
        **record["config"],
        "max_episode_steps": 20,
        "viewer": "webcam",
        "detector": "yunet",
        "profile": "/data/me.json",
    }
    del record["config"]["episode_steps"]
    record["viewer"]["meter"] = {
        "detector": {"name": "yunet", "detect_every": 5, "tracker": "template"},
        "model": MODEL,
        "profile": {"model_identity": "0" * 64},
    }
    return {**record, "format_version": 3}


OLDER = {1: version_1_training, 2: version_2_evaluation, 3: version_3_training}
"""A record as each older version wrote it."""


def test_every_older_version_has_a_record_here():
    assert sorted(OLDER) == list(range(1, FORMAT_VERSION))


@pytest.mark.parametrize("version", sorted(OLDER))
def test_each_step_is_a_pure_function_of_the_record(version):
    record = OLDER[version]()
    before = copy.deepcopy(record)
    upgraded = STEPS[version - 1](record)
    assert record == before and upgraded is not record  # the input is left as it was
    assert STEPS[version - 1](before) == upgraded


def test_a_record_from_a_newer_laetitia_is_refused_in_one_line_saying_to_upgrade(tmp_path):
    path = write(tmp_path, {**version_1_training(), "format_version": FORMAT_VERSION + 1})
    with pytest.raises(SessionError) as refused:
        read_meta(path)
    message = str(refused.value)
    assert "\n" not in message and "Upgrade laetitia" in message
    assert f"format version {FORMAT_VERSION + 1}" in message and str(FORMAT_VERSION) in message


def test_a_version_1_session_resumes_with_its_own_episode_length(tmp_path, capsys):
    """Its `episode_steps` is its episode length still, and it is written back as current."""
    out = tmp_path / "run"
    args = ["train", "--viewer", "sim:1", "--out", str(out), "--frames", "2"]
    assert main([*args, "--steps", "4", "--max-episode-steps", "3"]) == 0
    record = json.loads((out / "meta.json").read_text())
    del record["format_version"]  # as version 1 wrote it: no version,
    record["config"]["episode_steps"] = record["config"].pop("max_episode_steps")  # the old name
    del record["config"]["detector"]  # and no detector to choose
    (out / "meta.json").write_text(json.dumps(record))
    assert main(["train", "--resume", str(out), "--steps", "5"]) == 0
    steps = load_session(out).steps
    # Episodes of 3 (not the default 50): the resume starts episode 2, and episode 3 after 3.
    np.testing.assert_array_equal(steps["episode"], [0, 0, 0, 1, 2, 2, 2, 3, 3])
    written = json.loads((out / "meta.json").read_text())
    assert written["format_version"] == FORMAT_VERSION
    assert written["config"]["max_episode_steps"] == 3 and "episode_steps" not in written["config"]


def test_a_version_1_session_replays_exactly_with_the_tracking_it_ran(fixtures_dir, tmp_path):
    """Its detector's description lacks the tracking options of later versions: it ran without."""
    from laetitia.app.replay import replay_session
    from laetitia.cameras import VideoFile
    from laetitia.faces import FaceTracker, make_detector
    from laetitia.fer import load_model
    from laetitia.meter import HappinessMeter
    from laetitia.reward import reward_from
    from laetitia.sessions import SessionRecorder, new_meta

    with VideoFile(fixtures_dir / "single_face.mp4") as video:
        frames = list(video)[:12]
    # A tracker of then: no retry after a miss, and a detection on every frame without a face.
    then = FaceTracker(
        make_detector("haar"), detect_every=5, redetect_after_miss=False, absent_every=1
    )
    meter = HappinessMeter(then, load_model())
    folder = tmp_path / "old"
    with SessionRecorder(
        folder, new_meta(viewer={"kind": "video", "meter": meter.describe()})
    ) as r:
        for step in range(3):
            reaction = meter.read(frames[4 * step : 4 * step + 4])
            r.record(0, reward_from(reaction).reward, PARAM_SPACE.defaults, reaction)
    record = json.loads((folder / "meta.json").read_text())
    del record["format_version"]  # as version 1 wrote it, naming none of the later options
    for later in ("redetect_after_miss", "absent_every", "scout"):
        del record["viewer"]["meter"]["detector"][later]
    (folder / "meta.json").write_text(json.dumps(record))
    result = replay_session(folder, tmp_path / "again", progress=False)
    assert result.summary.same_detector and result.summary.same_model and result.summary.exact

"""`laetitia evaluate` scores with the face pipeline the agent was trained with.

Its detector and model are taken from the training session (the model when it is the shipped
one); a profile is named on the command line, never opened because the session names it.
"""

import json
import shutil

import pytest

from laetitia.cli import main

FAST = ["--frames", "2", "--settle", "0"]


@pytest.fixture(scope="module")
def trained(fixtures_dir, tmp_path_factory):
    """A hill-climber trained on single_face.mp4 with Haar and a profile of that face."""
    from laetitia.app.calibration import CalibrationConfig, calibrate_video

    video = fixtures_dir / "single_face.mp4"
    folder = tmp_path_factory.mktemp("trained")
    profile = folder / "me.json"
    config = CalibrationConfig(out=profile, keep_frames=False)
    calibrate_video(video, ["0-0.3"], ["1-1.3"], config, detector="haar")
    run = folder / "run"
    args = ["train", "--agent", "hill-climb", "--viewer", f"video:{video}", "--out", str(run)]
    pipeline = ["--detector", "haar", "--profile", str(profile), "--no-window", "--no-frames"]
    pipeline += ["--signal", "fer-happy"]  # the profile calibrates P(happy)
    assert main([*args, *pipeline, *FAST, "--steps", "4", "--episode-steps", "2"]) == 0
    return video, run, profile


def evaluate(video, agent, out, *options):
    args = ["evaluate", "--agent-path", str(agent), "--viewer", f"video:{video}", "--episodes"]
    return main([*args, "1", *FAST, "--out", str(out), *options])


def test_evaluate_scores_with_the_training_sessions_detector_and_profile(trained, tmp_path, capsys):
    video, run, profile = trained
    assert evaluate(video, run / "agent", tmp_path / "eval", "--profile", str(profile)) == 0
    printed = capsys.readouterr().out
    line = next(line for line in printed.splitlines() if line.startswith("scored by"))
    assert "the signal fer-happy" in line  # the training's, not the v1 default smile
    assert "detector haar" in line and f"profile {profile}" in line
    assert line.endswith("(detector, model, signal from the training session)")
    meta = json.loads((tmp_path / "eval" / "meta.json").read_text())
    assert meta["evaluation"]["detector"] == "haar"
    assert meta["evaluation"]["profile"] == str(profile)
    assert meta["evaluation"]["signal"] == "fer-happy" and meta["signal"]["name"] == "fer-happy"
    assert meta["pipeline_from_training"] == ["detector", "model", "signal"]
    meter = meta["viewer"]["meter"]
    assert meter["detector"]["name"] == "haar" and "profile" in meter


def test_an_explicit_detector_overrides_the_training_sessions(trained, tmp_path, capsys):
    video, run, profile = trained
    options = ("--detector", "mtcnn", "--profile", str(profile))
    assert evaluate(video, run / "agent", tmp_path / "eval", *options) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("scored by"))
    assert "detector mtcnn" in line
    assert line.endswith("(model, signal from the training session)")
    meta = json.loads((tmp_path / "eval" / "meta.json").read_text())
    assert meta["viewer"]["meter"]["detector"]["name"] == "mtcnn"
    assert meta["evaluation"]["profile"] == str(profile)  # as given


def test_a_training_sessions_profile_is_asked_for_never_opened_from_the_session(
    trained, tmp_path, capsys
):
    video, run, profile = trained
    copy = shutil.copytree(run, tmp_path / "run")
    meta = json.loads((copy / "meta.json").read_text())
    meta["config"]["profile"] = str(tmp_path / "elsewhere.json")  # a file the sender names
    (copy / "meta.json").write_text(json.dumps(meta))
    (tmp_path / "elsewhere.json").write_text("{not what the session says")
    assert evaluate(video, copy / "agent", tmp_path / "eval") == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "training session" in error and "--profile" in error
    assert "elsewhere.json" not in error  # asked for by what it is, not by the sender's path
    assert not (tmp_path / "eval").exists()
    # Named, it is the user's own file that scores.
    assert evaluate(video, copy / "agent", tmp_path / "eval", "--profile", str(profile)) == 0


def test_a_training_session_from_before_detector_choice_scores_with_mtcnn(
    trained, tmp_path, capsys
):
    video, run, profile = trained
    old = tmp_path / "old"
    shutil.copytree(run, old)
    meta = json.loads((old / "meta.json").read_text())
    for key in ("detector", "model", "profile"):  # what sessions of then recorded
        meta["config"].pop(key, None)
    meta["config"]["episode_steps"] = meta["config"].pop("max_episode_steps")
    del meta["format_version"]  # the record had no version then
    (old / "meta.json").write_text(json.dumps(meta))
    assert evaluate(video, old / "agent", tmp_path / "eval", "--profile", str(profile)) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("scored by"))
    # MTCNN was the default then, though YuNet is now.
    assert "detector mtcnn" in line

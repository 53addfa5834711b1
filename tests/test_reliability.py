"""Nothing lost, nothing silent: one test per fault found by attacking sessions and inputs.

Kills at every write are in test_fault_injection.py, mutated files in test_fuzz_readers.py;
these are the cases found by hand, each of which failed before it was fixed.
"""

import dataclasses
import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from processes import CLI, CLI_ENV, kill_group, run_bounded, start_cli, wait_for_lines

from laetitia.app.training import AGENT_DIR, TrainConfig, resume, train
from laetitia.cli import main
from laetitia.emoticon.params import PARAM_SPACE
from laetitia.errors import CheckpointError, ConfigError, DatasetError, SessionError
from laetitia.sessions import load_session, repair_session


def _session(tmp_path: Path, steps: int = 6, agent: str = "hill-climb") -> Path:
    out = tmp_path / "run"
    train(TrainConfig(out=out, agent=agent, viewer="sim:1", steps=steps, frames=2), False)
    return out


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


# ----- damaged sessions: refused naming the line, repaired only when asked --------------------


def test_a_torn_row_in_the_middle_of_steps_csv_is_refused_naming_the_line(tmp_path):
    out = _session(tmp_path)
    lines = _lines(out / "steps.csv")
    lines[3] = lines[3][:20] + "\n"  # a row cut short, then complete rows after it
    (out / "steps.csv").write_text("".join(lines))
    with pytest.raises(SessionError, match=r"steps.csv, line 4: .*fields"):
        load_session(out)
    with pytest.raises(SessionError, match="line 4"):
        resume(out, steps=2, progress=False)
    assert (out / "steps.csv").read_text() == "".join(lines)  # refused: nothing touched


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda lines: lines.insert(3, lines[3]), "step 2 repeats"),
        (lambda lines: lines.pop(3), "step 3 skips"),
        (lambda lines: lines.__setitem__(2, lines[2].replace("0.", "x.", 1)), "not a number"),
    ],
)
def test_a_duplicated_missing_or_garbled_row_is_never_renumbered_silently(tmp_path, damage, reason):
    out = _session(tmp_path)
    lines = _lines(out / "steps.csv")
    damage(lines)
    (out / "steps.csv").write_text("".join(lines))
    with pytest.raises(SessionError, match=reason):
        load_session(out)


def test_binary_content_in_steps_csv_is_refused_naming_the_line(tmp_path):
    out = _session(tmp_path)
    data = (out / "steps.csv").read_bytes()
    cut = data.index(b"\n", data.index(b"\n") + 1) + 1  # after the header and the first row
    (out / "steps.csv").write_bytes(data[:cut] + b"\xff\x00\xfe garbage\n" + data[cut:])
    with pytest.raises(SessionError, match=r"steps.csv, line 3: not UTF-8"):
        load_session(out)


def test_repair_keeps_the_steps_before_the_damage_and_resume_numbers_on(tmp_path, capsys):
    out = _session(tmp_path)
    lines = _lines(out / "steps.csv")
    lines.insert(4, lines[4])  # step 3 twice
    (out / "steps.csv").write_text("".join(lines))
    (out / "notes.txt").write_text("mine")  # a file the session did not write
    assert main(["train", "--resume", str(out), "--steps", "2"]) == 2
    assert "repair" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--steps", "2", "--repair"]) == 0
    assert "kept 4 steps" in capsys.readouterr().out
    session = load_session(out)
    np.testing.assert_array_equal(session.steps["step"], np.arange(6))
    assert (out / "notes.txt").read_text() == "mine"


def test_repair_never_deletes_a_file_it_did_not_write(tmp_path):
    out = _session(tmp_path)
    frames = out / "frames"
    frames.mkdir(exist_ok=True)
    for name in ("my-notes.txt", "00000099.jpg", "cover.png"):
        (frames / name).write_text("keep me")
    repair_session(out)
    assert sorted(p.name for p in frames.iterdir()) == ["00000099.jpg", "cover.png", "my-notes.txt"]


def test_a_torn_last_frame_row_never_reuses_a_recorded_frame_number(tmp_path):
    from laetitia.emoticon.params import PARAM_SPACE
    from laetitia.sessions import SessionRecorder, new_meta
    from laetitia.types import Reaction

    def reaction(n=2):
        probs = np.full((n, 7), 1 / 7, np.float32)
        frames = tuple(np.full((8, 8, 3), 9, np.uint8) for _ in range(n))
        return Reaction(probs=probs, has_face=np.ones(n, bool), frames=frames)

    folder = tmp_path / "s"
    with SessionRecorder(folder, new_meta(viewer={"kind": "video"})) as recorder:
        recorder.record(0, 0.5, PARAM_SPACE.defaults, reaction())
        recorder.record(0, 0.5, PARAM_SPACE.defaults, reaction())
    # A crash during step 2: its images and its first frame row are on disk, its last row torn.
    (folder / "frames" / "00000004.png").write_bytes(
        (folder / "frames" / "00000000.png").read_bytes()
    )
    with open(folder / "frames.csv", "a") as handle:
        handle.write("2,4,0.1,frames/00000004.png,1,")
    with SessionRecorder.resume(folder) as recorder:
        assert recorder.next_frame == 4  # frames 0-3 belong to the two completed steps
        recorder.record(1, 0.5, PARAM_SPACE.defaults, reaction())
    index = load_session(folder).frame_index
    np.testing.assert_array_equal(index.frame, np.arange(6))
    assert index.files[4] == "frames/00000004.png"


# ----- privacy: --no-frames belongs to the session --------------------------------------------


def test_a_resume_asked_for_other_settings_than_the_sessions_is_refused(tmp_path, capsys):
    out = _session(tmp_path)
    for flags, setting in (
        (["--no-frames"], "--no-frames"),
        (["--agent", "cma-es"], "--agent"),
        (["--viewer", "sim:2"], "--viewer"),
        (["--frames", "5"], "--frames"),
    ):
        assert main(["train", "--resume", str(out), "--steps", "1", *flags]) == 2
        error = capsys.readouterr().err
        assert setting in error and "this session" in error
    assert load_session(out).n_steps == 6
    # The session's own values are no change: accepted.
    assert main(["train", "--resume", str(out), "--steps", "1", "--frames", "2"]) == 0


def test_an_evaluation_keeps_no_frames_when_its_training_session_kept_none(tmp_path, capsys):
    out = tmp_path / "run"
    config = TrainConfig(out=out, viewer="sim", steps=3, frames=2, keep_frames=False)
    train(config, progress=False)
    args = ["evaluate", "--agent-path", str(out / AGENT_DIR), "--viewer", "sim", "--episodes"]
    assert main([*args, "1", "--max-episode-steps", "2", "--out", str(tmp_path / "eval")]) == 0
    assert not load_session(tmp_path / "eval").frames_kept


# ----- nothing half-written --------------------------------------------------------------------


def test_a_failed_evaluation_leaves_no_folder(tmp_path, capsys):
    out = _session(tmp_path, steps=2)
    (out / AGENT_DIR / "agent.json").write_text("{broken")
    target = tmp_path / "eval"
    args = ["evaluate", "--agent-path", str(out / AGENT_DIR), "--viewer", "sim"]
    assert main([*args, "--out", str(target)]) == 2
    assert not target.exists()


def test_a_full_disk_at_the_first_save_leaves_no_folder_and_says_which_file(
    tmp_path, monkeypatch, capsys
):
    import laetitia.files as files

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_json_atomic", full)
    monkeypatch.setattr("laetitia.agents.base.write_json_atomic", full)
    out = tmp_path / "run"
    assert main(["train", "--viewer", "sim", "--steps", "2", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "No space left" in error and str(out / AGENT_DIR) in error
    assert not out.exists()


def test_a_kill_between_the_session_files_and_the_first_step_leaves_it_resumable(tmp_path):
    import gymnasium as gym

    from laetitia.agents.hill_climb import HillClimber

    out = _session(tmp_path, steps=1)
    # As a kill right after the session started leaves it: the agent as saved before its
    # first step (the same seed), the tables with their headers only.
    env = gym.make("laetitia/Smile-v0", viewer="sim:1", frames=2)
    HillClimber(env, seed=0).save(out / AGENT_DIR)
    for table in ("steps.csv", "frames.csv"):
        (out / table).write_text(_lines(out / table)[0])
    shutil.rmtree(out / "frames", ignore_errors=True)
    resume(out, steps=3, progress=False)
    np.testing.assert_array_equal(load_session(out).steps["step"], np.arange(3))


# ----- one clear line for every bad input -------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--seed", "-1"], "--seed must be 0 or more"),
        (["--settle", "nan"], "--settle must be a finite number"),
        (["--settle", "inf"], "--settle must be a finite number"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--frames", "1000000000"], "--frames must be at most 10000"),
        (["--steps", "1.5"], "--steps must be a whole number"),
        (["--out", ""], "--out must name a file or folder, got an empty path"),
        (["--agent", "ppo", "--agent-arg", "n_steps=100000000000"], "n_steps must be at most"),
        (["--agent", "dqn", "--agent-arg", "buffer_size=10000000000"], "buffer_size must be at"),
    ],
)
def test_bad_numbers_are_one_line_and_leave_nothing(tmp_path, capsys, monkeypatch, flags, said):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    argv = ["train", "--viewer", "sim", "--out", str(out), *flags]
    try:
        code = main(argv)
    except SystemExit as refused:  # refused as the command line is read (argparse)
        code = refused.code
    assert code == 2
    error = capsys.readouterr().err
    assert said in error and error.count("\n") == 1
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing, here either


def test_a_webcam_index_out_of_any_range_is_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--viewer", "webcam:99999999999", "--out", str(out), "--no-window"]) == 2
    assert "webcam" in capsys.readouterr().err
    assert not out.exists()


def test_corrupt_agent_tensors_on_resume_are_one_line(tmp_path, capsys):
    out = _session(tmp_path)
    tensors = next((out / AGENT_DIR).glob("tensors-*.safetensors"))
    tensors.write_bytes(tensors.read_bytes()[:40])
    assert main(["train", "--resume", str(out), "--steps", "1"]) == 2
    error = capsys.readouterr().err
    assert "cannot be restored" in error and str(out / AGENT_DIR) in error


def test_a_meta_json_config_of_the_wrong_types_is_one_line(tmp_path, capsys):
    out = _session(tmp_path)
    meta = json.loads((out / "meta.json").read_text())
    meta["config"]["frames"] = "ten"
    (out / "meta.json").write_text(json.dumps(meta))
    assert main(["train", "--resume", str(out)]) == 2
    assert "'frames' should be int" in capsys.readouterr().err


def test_a_model_whose_weights_are_nan_stops_the_run_naming_the_model(tmp_path, capsys):
    import torch

    from laetitia.fer import load_model, save_model

    shipped = load_model()
    with torch.no_grad():
        for parameter in shipped.module.parameters():
            parameter.fill_(float("nan"))
    path = save_model(shipped.module, shipped.card, tmp_path / "nan.safetensors")
    frames = np.full((1, 64, 64, 3), 128, np.uint8)
    from laetitia.faces import make_detector
    from laetitia.meter import HappinessMeter

    meter = HappinessMeter(make_detector("none"), load_model(path))
    with pytest.raises(CheckpointError, match="mini_xception.*not finite"):
        meter.read(list(frames))


def test_a_model_card_asking_for_an_absurd_input_size_is_refused_before_allocating():
    from laetitia.fer import load_model
    from laetitia.fer.card import ModelCard

    card = load_model().card
    with pytest.raises(ConfigError, match="input_size must be between 8 and 512"):
        ModelCard(**{**card.to_dict(), "input_size": 100_000})


def test_fer2013_csv_faults_name_the_file_and_line(tmp_path):
    from laetitia.fer.data import load_faces
    from laetitia.labels import EMOTIONS

    pixels = " ".join(["128"] * 2304)
    good = f"emotion,pixels,Usage\n3,{pixels},Training\n"
    cases = {
        "short row": (good + "3\n").encode(),
        "not UTF-8": good.encode() + b"3,\xff\xfe\x00,Training\n",
        "field over the limit": (good + f"3,{'1 ' * 600_000},Training\n").encode(),
    }
    for what, data in cases.items():
        path = tmp_path / "fer.csv"
        path.write_bytes(data)
        with pytest.raises(DatasetError, match=r"fer.csv line 3") as raised:
            load_faces(path, EMOTIONS, 64)
        assert str(raised.value), what


def test_a_zero_byte_image_in_a_class_folder_is_one_line(tmp_path):
    import cv2

    from laetitia.fer.data import load_faces

    (tmp_path / "happy").mkdir()
    (tmp_path / "sad").mkdir()
    cv2.imwrite(str(tmp_path / "happy" / "a.png"), np.zeros((48, 48), np.uint8))
    cv2.imwrite(str(tmp_path / "sad" / "a.png"), np.zeros((48, 48), np.uint8))
    (tmp_path / "sad" / "b.png").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"b\.png is not an image laetitia reads") as raised:
        load_faces(tmp_path, ("happy", "sad"), 64)
    assert "\n" not in str(raised.value)


def test_a_video_damaged_in_the_middle_is_not_a_normal_end(tmp_path):
    import cv2

    from laetitia.cameras import VideoFile
    from laetitia.errors import CameraError

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(40):
        writer.write(np.full((48, 64, 3), i * 6, np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle - 4000 : middle + 4000] = bytes(8000)  # a damaged stretch mid-file
    path.write_bytes(bytes(data))
    video = VideoFile(path)
    with pytest.raises(CameraError, match="damaged"):
        while video.read() is not None:
            pass


# ----- issue 25: a session folder is untrusted input, one writer, nothing of yours deleted ------


def _image(path: Path) -> Path:
    import cv2

    cv2.imwrite(str(path), np.full((48, 64, 3), 128, np.uint8))
    return path


def _clip(tmp_path: Path) -> Path:
    """A 20-frame synthetic video (no face: the `none` detector reads the whole frame)."""
    import cv2

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(20):
        writer.write(np.full((48, 64, 3), i * 10, np.uint8))
    writer.release()
    return video


def test_a_run_that_fails_before_its_first_step_deletes_nothing_it_did_not_make(tmp_path, capsys):
    # (1) The viewer cannot give a step's frames (one image, ten frames a step): the run fails
    # after saving its agent. The user's own files in agent/ and prior/ stay, and so do those
    # folders; what the run made is gone.
    out = tmp_path / "d"
    (out / "agent").mkdir(parents=True)
    (out / "prior").mkdir()
    (out / "agent" / "notes.txt").write_text("mine")
    (out / "prior" / "data.txt").write_text("mine too")
    args = ["train", "--agent", "hill-climb", "--viewer", f"video:{_image(tmp_path / 'one.png')}"]
    assert (
        main([*args, "--no-window", "--steps", "2", "--detector", "none", "--out", str(out)]) == 2
    )
    assert capsys.readouterr().err.count("\n") == 1
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == [
        "agent",
        "agent/notes.txt",
        "prior",
        "prior/data.txt",
    ]
    assert (out / "agent" / "notes.txt").read_text() == "mine"


def test_a_new_session_never_writes_over_files_it_did_not_make(tmp_path, capsys):
    out = tmp_path / "d"
    (out / "frames").mkdir(parents=True)
    (out / "frames" / "00000000.png").write_text("someone's frame")
    assert main(["train", "--viewer", "sim", "--steps", "1", "--out", str(out)]) == 2
    assert "frame images of another run" in capsys.readouterr().err
    (out / "frames" / "00000000.png").unlink()
    (out / "frames.csv").write_text("my own table\nwith rows\n")
    assert main(["train", "--viewer", "sim", "--steps", "1", "--out", str(out)]) == 2
    assert "already holds a session" in capsys.readouterr().err
    assert (out / "frames.csv").read_text() == "my own table\nwith rows\n"


def test_a_linked_frames_or_agent_folder_is_refused_and_nothing_outside_is_touched(
    tmp_path, capsys
):
    # (2) `frames` or `agent` a link to a folder elsewhere: the resume once deleted the PNGs
    # there and wrote the camera's frames and the agent into it.
    out = _session(tmp_path, steps=3)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for i in range(9):
        (elsewhere / f"{i:08d}.png").write_bytes(b"yours")
    (out / "frames").symlink_to(elsewhere)
    assert main(["train", "--resume", str(out), "--steps", "1"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    (out / "frames").unlink()
    shutil.move(out / AGENT_DIR, tmp_path / "agent-elsewhere")
    (out / AGENT_DIR).symlink_to(tmp_path / "agent-elsewhere")
    before = {p.name: p.read_bytes() for p in (tmp_path / "agent-elsewhere").iterdir()}
    assert main(["train", "--resume", str(out), "--steps", "1"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert sorted(p.name for p in elsewhere.iterdir()) == [f"{i:08d}.png" for i in range(9)]
    after = {p.name: p.read_bytes() for p in (tmp_path / "agent-elsewhere").iterdir()}
    assert after == before
    assert load_session(out).n_steps == 3


def test_places_a_session_names_are_never_taken_from_it_and_a_resume_is_given_them(tmp_path):
    # (2) `config.tensorboard` naming a folder elsewhere: nothing is written there, and a
    # resume takes --tensorboard; a model elsewhere is never opened.
    out = _session(tmp_path, steps=3)
    meta = json.loads((out / "meta.json").read_text())
    meta["config"]["tensorboard"] = str(tmp_path / "theirs")
    meta["config"]["model"] = str(tmp_path / "theirs.safetensors")  # sim: no face pipeline
    (out / "meta.json").write_text(json.dumps(meta))
    lines: list[str] = []
    resume(out, steps=1, progress=False, log=lines.append)
    assert not (tmp_path / "theirs").exists()
    assert any("TensorBoard" in line for line in lines)
    resume(out, steps=1, progress=False, asked={"tensorboard": tmp_path / "mine"})
    assert list((tmp_path / "mine").rglob("events.out.tfevents.*"))
    assert not (tmp_path / "theirs").exists()
    assert load_session(out).n_steps == 5


def test_a_recorded_model_file_is_asked_for_and_checked_never_opened_from_the_session(
    tmp_path, capsys
):
    from laetitia.app.places import recorded_model
    from laetitia.fer import default_model_path, model_identity
    from laetitia.sessions import read_meta

    video = _clip(tmp_path)
    mine = tmp_path / "mine.safetensors"
    shutil.copy(default_model_path(), mine)
    out = tmp_path / "run"
    base = ["--frames", "2", "--settle", "0", "--no-window", "--detector", "none"]
    args = ["train", "--viewer", f"video:{video}", *base, "--steps", "2", "--model", str(mine)]
    assert main([*args, "--out", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    meta["config"]["model"] = str(tmp_path / "theirs.safetensors")
    identity = "ab" * 32  # a model that is not the shipped one
    meta["viewer"]["meter"]["model"]["identity"] = identity
    (out / "meta.json").write_text(json.dumps(meta))
    record = read_meta(out / "meta.json")
    with pytest.raises(SessionError, match="name that model's file"):
        recorded_model(record, None)
    with pytest.raises(ConfigError, match="not abababababab"):
        recorded_model(record, mine)
    assert model_identity(mine) == model_identity(None)  # the shipped model, as recorded before
    resumed = ["train", "--resume", str(out), "--steps", "1", "--viewer", f"video:{video}"]
    capsys.readouterr()
    assert main(resumed) == 2
    error = capsys.readouterr().err
    assert "--model" in error and error.count("\n") == 1
    assert not (tmp_path / "theirs.safetensors").exists()


def test_two_writers_on_one_session_never_damage_it_and_the_second_is_told_who_writes(tmp_path):
    # (3) Two `train --resume DIR` (or two `--out DIR`) at once once damaged the session.
    out = tmp_path / "s"
    argv = ["train", "--viewer", "sim:1", "--frames", "1", "--steps", "100000", "--out", str(out)]
    first = start_cli(argv)
    try:
        wait_for_lines(first, out / "steps.csv", 2, timeout=120)
        for second in (
            ["--resume", str(out), "--steps", "5"],
            ["--viewer", "sim", "--out", str(out)],
        ):
            done = run_bounded([*CLI, "train", *second], 120, env={**os.environ, **CLI_ENV})
            said = done.stderr.decode()
            assert done.returncode == 2 and said.count("\n") == 1, said
            assert f"being written by another process (process {first.pid})" in said
        assert load_session(out).n_steps >= 1  # a reader reads it meanwhile
    finally:
        kill_group(first)
    kept = load_session(out).n_steps
    # The kernel dropped the killed writer's lock: the session resumes, numbered on.
    resume(out, steps=2, progress=False)
    np.testing.assert_array_equal(load_session(out).steps["step"], np.arange(kept + 2))
    assert not (out / "writer.lock").exists()


def test_a_full_disk_at_the_agents_tensors_is_one_line_naming_the_file(
    tmp_path, capsys, monkeypatch
):
    # (4) ENOSPC while writing the agent's tensors was a SafetensorError traceback.
    import laetitia.files as files

    fsync = files.fsync_file

    def full(path):
        if Path(path).name.startswith("tensors-"):
            raise OSError(errno.ENOSPC, "No space left on device")
        fsync(path)

    monkeypatch.setattr(files, "fsync_file", full)
    out = tmp_path / "run"
    assert main(["train", "--viewer", "sim", "--steps", "3", "--out", str(out)]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert "No space left on device" in error and "free space" in error
    assert "tensors-" in error and "previous save" in error and "Traceback" not in error
    # The hill-climber has tensors from its first step: that step is kept, and resumes.
    monkeypatch.setattr(files, "fsync_file", fsync)
    kept = load_session(out).n_steps
    assert kept >= 1
    assert main(["train", "--resume", str(out), "--steps", "2"]) == 0
    assert load_session(out).n_steps == kept + 2


def test_an_io_error_during_the_first_step_leaves_no_image_of_the_person(
    tmp_path, capsys, monkeypatch
):
    # (4) An fsync EIO during step 0 left the person's frames/*.png in a folder that was no
    # longer a session.
    import laetitia.sessions.recorder as recorder

    real = os.fsync

    def failing(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".png"):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(recorder.os, "fsync", failing)
    video = _clip(tmp_path)
    out = tmp_path / "run"
    args = ["train", "--viewer", f"video:{video}", "--frames", "2", "--settle", "0"]
    assert main([*args, "--no-window", "--detector", "none", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Input/output error" in error and ".png" in error
    assert not out.exists()


def test_a_session_folder_deleted_mid_run_stops_it_in_one_line(tmp_path):
    # (4) 362 steps were written into deleted files before "is not a session folder".
    out = tmp_path / "s"
    argv = ["train", "--viewer", "sim:1", "--frames", "1", "--steps", "1000000", "--out", str(out)]
    run = start_cli(argv, stderr=subprocess.PIPE)
    try:
        wait_for_lines(run, out / "steps.csv", 3, timeout=120)
        # Gone from its place at once (the writer keeps writing meanwhile), then deleted.
        os.rename(out, tmp_path / "deleted")
        shutil.rmtree(tmp_path / "deleted", ignore_errors=True)
        _, error = run.communicate(timeout=120)
    finally:
        kill_group(run)  # a run that did not stop is killed, with all it started
    assert run.returncode == 2
    text = error.decode()
    assert text.count("\n") == 1 and "deleted or replaced" in text, text
    # No session was written in its place (an agent's save racing the deletion may leave an
    # `agent/` folder there: the save makes its folder's parents).
    assert not (out / "meta.json").exists() and not (out / "steps.csv").exists()


def test_a_resume_that_fails_at_its_first_step_changes_no_file(tmp_path, capsys):
    # (4) Each failed resume appended a `resumed` entry to meta.json.
    out = _session(tmp_path, steps=3)
    meta = json.loads((out / "meta.json").read_text())
    meta["config"]["viewer"] = f"video:{tmp_path / 'clip.png'}"  # one image, two frames a step
    meta["config"]["detector"] = "none"
    (out / "meta.json").write_text(json.dumps(meta))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    viewer = f"video:{_image(tmp_path / 'clip.png')}"
    for _ in range(2):
        assert main(["train", "--resume", str(out), "--steps", "2", "--viewer", viewer]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert load_session(out).meta.resumed == ()


def test_a_fifo_frame_and_a_decompression_bomb_are_refused_before_they_are_read(tmp_path, capsys):
    # (5) A FIFO named frames/00000000.png hung `video` and `replay` forever; a 1 MB PNG that
    # decodes to 20000 x 20000 took gigabytes (and `fer predict` took it).
    import signal
    import zlib

    from laetitia.sessions import SessionRecorder, new_meta
    from laetitia.types import Reaction

    folder = tmp_path / "s"
    viewer = {"kind": "video", "meter": {"detector": {"name": "none"}, "model": {}}}
    with SessionRecorder(folder, new_meta(viewer=viewer)) as recorder:
        frames = (np.full((8, 8, 3), 9, np.uint8),) * 2
        reaction = Reaction(probs=np.full((2, 7), 1 / 7, np.float32), has_face=np.ones(2, bool))
        recorder.record(0, 0.5, PARAM_SPACE.defaults, dataclasses.replace(reaction, frames=frames))
    frames = [folder / "frames" / f"0000000{i}.png" for i in range(2)]

    def blocked(signum, frame):
        raise TimeoutError("a FIFO was opened and blocked the reader")

    # A read that blocks fails the test instead of hanging it: the alarm's handler raises in
    # the blocked call.
    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(60)
    try:
        for frame in frames:
            frame.unlink()
            os.mkfifo(frame)
        video = ["video", str(folder), "--out", str(tmp_path / "v.mp4")]
        for command in (video, ["replay", str(folder), "--out", str(tmp_path / "r")]):
            assert main(command) == 2
            assert "FIFO" in capsys.readouterr().err

        def chunk(kind, data):
            crc = zlib.crc32(kind + data).to_bytes(4, "big")
            return len(data).to_bytes(4, "big") + kind + data + crc

        header = (20000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
        bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        bomb += chunk(b"IDAT", zlib.compress(bytes(10**6)))
        for frame in frames:
            frame.unlink()
            frame.write_bytes(bomb)
        assert main(video) == 2
        assert "20000x20000 pixels, over the limit" in capsys.readouterr().err
        (tmp_path / "bomb.png").write_bytes(bomb)
        assert main(["fer", "predict", str(tmp_path / "bomb.png")]) == 2
        assert "over the limit" in capsys.readouterr().err
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_figure_too_large_for_memory_is_refused_before_it_is_drawn(tmp_path, capsys):
    # (5) `plot --dpi 100000` was a MemoryError traceback, `--dpi 5000` killed by the kernel.
    out = _session(tmp_path, steps=3)
    for dpi in ("100000", "5000"):
        assert main(["plot", str(out), "--out", str(tmp_path / "p.png"), "--dpi", dpi]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "--dpi must be from 10 to 2400" in error
    assert main(["plot", str(out), "--out", str(tmp_path / "p.png"), "--dpi", "2400"]) == 2
    assert "pixels, over the limit" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


def test_a_prior_whose_files_disagree_or_miss_one_says_which(tmp_path):
    # (5) A prior whose JSON and tensors disagreed was accepted; a missing prior.safetensors
    # said "(None is missing)".
    from laetitia.app.prior import ARRAYS_FILE, PopulationPrior, PriorSource, load_prior, save_prior

    prior = PopulationPrior(
        space=PARAM_SPACE,
        favourites=np.zeros((2, len(PARAM_SPACE))),
        bandwidth=0.3,
        level=0.5,
        offset=0.0,
        height=0.1,
        sources=(PriorSource("a", 10), PriorSource("b", 10)),
    )
    folder = save_prior(prior, tmp_path / "prior")
    load_prior(folder, PARAM_SPACE)
    save_prior(dataclasses.replace(prior, sources=prior.sources[:1]), tmp_path / "other")
    shutil.copy(tmp_path / "other" / "prior.json", folder / "prior.json")
    with pytest.raises(ConfigError, match="not of one prior"):
        load_prior(folder, PARAM_SPACE)
    (folder / ARRAYS_FILE).unlink()
    with pytest.raises(ConfigError, match=f"{ARRAYS_FILE} is missing"):
        load_prior(folder, PARAM_SPACE)

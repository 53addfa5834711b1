"""Nothing lost, nothing silent: one test per fault found by attacking sessions and inputs.

Kills at every write are in test_fault_injection.py, mutated files in test_fuzz_readers.py;
these are the cases found by hand, each of which failed before it was fixed.
"""

import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from laetitia.app.training import AGENT_DIR, TrainConfig, resume, train
from laetitia.cli import main
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
    with pytest.raises(DatasetError, match=r"b.png as an image"):
        load_faces(tmp_path, ("happy", "sad"), 64)


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

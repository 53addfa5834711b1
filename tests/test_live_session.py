"""Live sessions end to end: a recorded video behind the camera interface, the live window
drawn headless (SDL_VIDEODRIVER=dummy), the Haar detector for speed."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from laetitia.app.training import TrainConfig, resume, train
from laetitia.cli import main
from laetitia.errors import SessionError
from laetitia.labels import EMOTIONS
from laetitia.sessions import FRAMES_FILE, load_session

FRAMES = 3
KILL_AFTER = 3
"""Completed steps to wait for before the SIGKILL."""


def _video_frames(path):
    from laetitia.cameras import VideoFile

    with VideoFile(path) as video:
        return list(video)


def _rows(path):
    try:
        return len(path.read_text().splitlines()) - 1
    except FileNotFoundError:
        return 0


def _check_frames_on_disk(session, video):
    """Every completed step has its frames indexed, on disk, decodable, and from the video."""
    index = session.frame_index
    np.testing.assert_array_equal(np.unique(index.step), np.arange(session.n_steps))
    np.testing.assert_array_equal(index.frame, np.arange(index.n_frames))
    for step in range(session.n_steps):
        rows = index.rows(step)
        assert rows.size == FRAMES
        assert int(index.has_face[rows].sum()) == session.steps["faces"][step]
        for k, frame in enumerate(session.read_frames(step)):
            # --settle 0: step s read video frames s*FRAMES .. s*FRAMES + FRAMES - 1.
            np.testing.assert_array_equal(frame, video[step * FRAMES + k])
    files = sorted(
        p.relative_to(session.folder).as_posix() for p in session.folder.glob("frames/*")
    )
    assert files == sorted(index.files)  # no orphan image of an unfinished step


def test_a_killed_live_session_keeps_every_step_and_resume_continues_it(fixtures_dir, tmp_path):
    video_path = fixtures_dir / "single_face.mp4"
    out = tmp_path / "live"
    command = [
        sys.executable,
        "-c",
        "from laetitia.cli import main; raise SystemExit(main())",
        "train",
        "--viewer",
        f"video:{video_path}",
        "--out",
        str(out),
        "--steps",
        "50",
        "--settle",
        "0",
        "--frames",
        str(FRAMES),
        "--detector",
        "haar",
    ]
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 180
        while _rows(out / "steps.csv") < KILL_AFTER:
            if process.poll() is not None:
                pytest.fail(
                    f"the session exited before {KILL_AFTER} steps: {process.stderr.read()}"
                )
            assert time.monotonic() < deadline, "no steps recorded in 180 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL

    video = _video_frames(video_path)
    killed = load_session(out)
    assert killed.n_steps >= KILL_AFTER
    _check_frames_on_disk(killed, video)
    assert (out / "agent" / "agent.json").is_file()

    # The video is outside the session: a resume is given it, never takes it from the session.
    with pytest.raises(SessionError, match="name it"):
        resume(out, steps=2, progress=False)
    result = resume(out, steps=2, progress=False, asked={"viewer": f"video:{video_path}"})
    session = result.session
    assert result.stopped_early is None
    assert session.n_steps == killed.n_steps + 2
    np.testing.assert_array_equal(session.steps["step"], np.arange(session.n_steps))
    _check_frames_on_disk(session, video)  # the video went on from the next unread frame
    assert session.meta.resumed[-1].at_step == killed.n_steps
    assert np.all(np.diff(session.time_s) >= 0)


def test_no_frames_writes_no_image_of_the_person(fixtures_dir, tmp_path):
    out = tmp_path / "private"
    args = ["train", "--viewer", f"video:{fixtures_dir / 'single_face.mp4'}", "--out", str(out)]
    args += ["--steps", "2", "--settle", "0", "--frames", "2", "--detector", "haar", "--no-frames"]
    assert main(args) == 0
    session = load_session(out)
    assert session.n_steps == 2 and session.meta.config["keep_frames"] is False
    assert session.frame_index.has_face.all()  # probabilities and boxes are still recorded
    assert np.isfinite(session.frame_index.boxes).all()
    # The two figures a run draws are the emoticon and a plot, not camera images.
    drawings = {"best_emoticon.png", "learning_curve.png"}
    magic = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"GIF8", b"BM", b"\x00\x00\x00")
    for path in out.rglob("*"):
        if path.is_dir() or path.name in drawings:
            continue
        data = path.read_bytes()
        assert not data.startswith(magic), f"{path} holds image data"
        assert len(data) < 64_000, f"{path} is large enough to hold pixels ({len(data)} bytes)"
    assert not (out / "frames").exists()


def test_a_face_that_leaves_is_recorded_and_never_scored_as_sadness(fixtures_dir, tmp_path):
    # face_noface.mov: the man, then a title card with no face. A 1 s settle at 26.4 fps skips
    # 26 frames, so five steps of three frames reach the title card.
    config = TrainConfig(
        out=tmp_path / "away",
        viewer=f"video:{fixtures_dir / 'face_noface.mov'}",
        steps=5,
        frames=FRAMES,
        settle_s=1.0,
        detector="haar",
    )
    session = train(config, progress=False).session
    faces = session.steps["faces"]
    assert faces[0] > 0 and faces[-1] == 0
    gone = np.flatnonzero(faces == 0)
    first_gone = int(gone[0])
    assert first_gone > 0
    rewards = session.steps["reward"]
    np.testing.assert_array_equal(rewards[gone], rewards[first_gone - 1])  # carried, not zero
    assert np.isnan(session.probs()[gone]).all()
    index = session.frame_index
    lost = np.isin(index.step, gone)
    assert not index.has_face[lost].any() and np.isnan(index.probs[lost]).all()
    assert np.isnan(index.boxes[lost]).all()
    assert np.isnan(index.values[lost]).all()  # no face: no smile either, never a zero
    assert np.isfinite(index.values[~lost & index.has_face]).all()
    header = (session.folder / FRAMES_FILE).read_text().splitlines()[0].split(",")
    after = header.index("h") + 1
    assert header[after : after + len(EMOTIONS)] == list(EMOTIONS)
    # A video is scored by smile (the -v1 default): its blendshapes are kept to re-score it.
    assert header[after + len(EMOTIONS) :] == ["signal", "mouthSmileLeft", "mouthSmileRight"]
    assert session.meta.signal_name == "smile" and session.meta.env_id == "laetitia/Smile-v1"


def test_a_camera_that_runs_out_ends_the_session_cleanly(fixtures_dir, tmp_path, capsys):
    # 72 frames; a 1 s settle (30 frames) and 10 frames per step leave room for one step only.
    out = tmp_path / "short"
    args = ["train", "--viewer", f"video:{fixtures_dir / 'single_face.mp4'}", "--out", str(out)]
    assert (
        main([*args, "--steps", "5", "--settle", "1", "--frames", "10", "--detector", "haar"]) == 0
    )
    printed = capsys.readouterr().out
    assert "stopped early" in printed and "ended after 1 steps" in printed
    session = load_session(out)
    assert session.n_steps == 1 and len(session.read_frames(0)) == 10
    assert (out / "agent" / "agent.json").is_file()


def test_q_in_the_live_window_ends_the_session_and_keeps_the_steps(
    fixtures_dir, tmp_path, monkeypatch
):
    import pygame

    from laetitia.viewers.live_window import LiveWindow

    shown = LiveWindow.show_reaction

    def press_q_after_two_steps(self, reaction):
        if self.state.step == 1:  # the person presses q while step 1's result is shown
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q))
        shown(self, reaction)

    monkeypatch.setattr(LiveWindow, "show_reaction", press_q_after_two_steps)
    config = TrainConfig(
        out=tmp_path / "quit",
        viewer=f"video:{fixtures_dir / 'single_face.mp4'}",
        steps=10,
        frames=2,
        settle_s=0.0,
        detector="haar",
    )
    result = train(config, progress=False)
    assert "ended from the live window" in result.stopped_early
    assert result.session.n_steps == 2  # step 1 completed and was saved
    assert len(result.session.read_frames(1)) == 2
    assert (config.out / "agent" / "agent.json").is_file()


def test_the_viewer_reads_no_frame_while_the_person_has_paused(fixtures_dir):
    import threading

    import pygame

    from laetitia.emoticon import PARAM_SPACE
    from laetitia.emoticon.render import render
    from laetitia.meter import HappinessMeter
    from laetitia.viewers.live import LiveViewer

    viewer = LiveViewer.from_video(
        fixtures_dir / "single_face.mp4",
        frames=2,
        settle_s=0.0,
        show=True,
        meter=HappinessMeter.default("haar"),
    )
    read_while_paused = []

    def unpause():
        read_while_paused.append(viewer.frames_read)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))

    params = PARAM_SPACE.defaults
    viewer.react(render(params, 64), params)  # opens the window
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))
    threading.Timer(0.3, unpause).start()
    reaction = viewer.react(render(params, 64), params)
    assert read_while_paused == [2]  # only the first step's frames, none during the pause
    assert reaction.n_frames == 2 and viewer.frames_read == 4
    viewer.close()

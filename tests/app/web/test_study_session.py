"""A session run like a study from the command line: the participant's screen and a dashboard.

A recorded video stands in for the person (its window drawn off-screen, SDL_VIDEODRIVER=dummy).
"""

import json

import pytest

from laetitia.app.training import TrainConfig
from laetitia.cli import main
from laetitia.errors import ConfigError
from laetitia.sessions import load_session


def test_a_participant_s_screen_and_a_dashboard_record_the_same_session(
    fixtures_dir, tmp_path, capsys
):
    out = tmp_path / "study"
    argv = ["train", "--viewer", f"video:{fixtures_dir / 'single_face.mp4'}", "--out", str(out)]
    argv += ["--steps", "3", "--frames", "2", "--settle", "0", "--detector", "haar"]
    argv += ["--screen", "participant:320x240", "--blank", "0.05"]
    argv += ["--dashboard", "127.0.0.1:0", "--instructions", str(tmp_path / "none.txt")]
    assert main(argv) == 2  # an instructions file that is not there is said by its flag
    assert "--instructions" in capsys.readouterr().err
    assert main(argv[:-2]) == 0
    printed = capsys.readouterr().out
    assert "dashboard: http://127.0.0.1:" in printed
    session = load_session(out)
    assert session.n_steps == 3 and len(session.read_frames(2)) == 2
    config = json.loads((out / "meta.json").read_text())["config"]
    assert (config["screen"], config["blank_s"], config["instructions"]) == (
        "participant:320x240",
        0.05,
        None,
    )
    assert "dashboard" not in config  # how the session was watched is not what it records


def test_serving_off_this_machine_without_a_certificate_is_refused_by_its_flags(tmp_path, capsys):
    argv = ["train", "--viewer", "browser:0.0.0.0:0", "--out", str(tmp_path / "x"), "--steps", "1"]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "--viewer: serving on 0.0.0.0, off this machine, needs HTTPS" in error
    assert "(--tls-cert, --tls-key)" in error
    assert not (tmp_path / "x").exists()


def test_a_participant_s_screen_needs_a_viewer_that_shows_one():
    with pytest.raises(ConfigError) as refused:
        TrainConfig(out="unused", viewer="sim", screen="participant")
    assert refused.value.field == "screen"
    # A browser participant's page shows the emoticon alone whatever the screen setting.
    config = TrainConfig(out="unused", viewer="browser", blank_s=0.3, instructions="Look.")
    assert config.presentation().kind == "participant" and config.presentation().blank_s == 0.3

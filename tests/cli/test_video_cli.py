import pytest

from laetitia.app.video import END_HOLD_S
from laetitia.cli import main

av = pytest.importorskip("av")


def test_video_of_a_trained_sim_session_plays_as_h264(tmp_path, capsys):
    session = tmp_path / "sim"
    train = ["train", "--viewer", "sim:0", "--out", str(session), "--steps", "6", "--frames", "2"]
    assert main(train) == 0
    capsys.readouterr()
    out = tmp_path / "videos" / "sim.mp4"  # its folder is made
    args = ["video", str(session), "--out", str(out), "--sim-step", "0.4", "--fps", "5"]
    assert main([*args, "--width", "320", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "6 steps drawn" in printed and "no camera" in printed and str(out) in printed
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and (stream.width, stream.height) == (320, 200)
        frames = sum(1 for _ in container.decode(stream))
    assert frames == 6 * 2 + round(END_HOLD_S * 5)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--speed", "0"], "--speed must be above 0"),
        (["--width", "333"], "--width must be an even number"),
        (["--sim-step", "-1"], "--sim-step must be above 0"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_flag(tmp_path, capsys, flags, says):
    assert main(["video", str(tmp_path), "--out", str(tmp_path / "v.mp4"), *flags]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_a_folder_that_is_not_a_session_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "v.mp4"
    assert main(["video", str(tmp_path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is not a session folder" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []

"""`laetitia fer predict`: summary, CSV rows and columns, timeline plot, folders, errors."""

import csv
import shutil

import cv2
import pytest

from laetitia.cli import main
from laetitia.labels import EMOTIONS


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_video_gives_one_row_per_frame_and_a_plot(fixtures_dir, tmp_path, capsys):
    out, plot = tmp_path / "frames.csv", tmp_path / "timeline.png"
    video = fixtures_dir / "single_face.mp4"
    args = ["fer", "predict", str(video), "--csv", str(out), "--plot", str(plot)]
    assert main([*args, "--detector", "haar", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "72 frames, 72 with a face" in printed and "dominant emotion: happy" in printed
    rows = _rows(out)
    smile = ["signal", "mouthSmileLeft", "mouthSmileRight"]  # the default signal and its inputs
    assert list(rows[0]) == ["frame", "t", "face", "x", "y", "w", "h", *EMOTIONS, *smile]
    assert len(rows) == 72 and [int(r["frame"]) for r in rows] == list(range(72))
    assert float(rows[30]["t"]) == 1.0 and rows[30]["face"] == "1"
    assert abs(sum(float(rows[30][name]) for name in EMOTIONS) - 1.0) < 1e-4
    # signal is the mean of the two blendshapes: the value the reward would average.
    left, right = float(rows[30]["mouthSmileLeft"]), float(rows[30]["mouthSmileRight"])
    assert float(rows[30]["signal"]) == pytest.approx((left + right) / 2, abs=2e-6)
    assert float(rows[0]["signal"]) < 0.1 < 0.5 < float(rows[30]["signal"])  # neutral, then a grin
    assert "signal smile (smile): mean" in printed
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_signal_names_the_column_a_reward_would_average(fixtures_dir, tmp_path):
    out = tmp_path / "fer.csv"
    image = fixtures_dir / "single_face.jpg"
    args = ["fer", "predict", str(image), "--csv", str(out), "--detector", "haar"]
    assert main([*args, "--signal", "fer-happy"]) == 0
    row = _rows(out)[0]
    assert list(row)[-1] == "signal" and row["signal"] == row["happy"]


def test_a_folder_gives_rows_in_file_name_order_with_a_file_column(fixtures_dir, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(fixtures_dir / "single_face.jpg", folder / "b_smile.jpg")
    cv2.imwrite(str(folder / "a_blank.png"), cv2.imread(str(fixtures_dir / "single_face.jpg")) * 0)
    out = tmp_path / "images.csv"
    assert main(["fer", "predict", str(folder), "--csv", str(out), "--detector", "haar"]) == 0
    rows = _rows(out)
    assert list(rows[0])[:4] == ["frame", "file", "t", "face"]
    assert [r["file"] for r in rows] == ["a_blank.png", "b_smile.jpg"]
    assert [r["face"] for r in rows] == ["0", "1"]
    assert rows[0]["happy"] == "" and rows[0]["x"] == "" and rows[0]["t"] == ""
    assert max(EMOTIONS, key=lambda name: float(rows[1][name])) == "happy"


def test_a_missing_path_is_a_one_line_error(tmp_path, capsys):
    assert main(["fer", "predict", str(tmp_path / "nothing.mp4"), "--detector", "haar"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    "option, target, message",
    [
        ("--csv", "{tmp}", "is a folder"),
        ("--plot", "{tmp}", "cannot save a figure"),
        ("--plot", "/proc/no/such/place.png", "choose a path you can write to"),
    ],
)
def test_an_unwritable_output_is_refused_before_any_frame_is_read(
    tmp_path, capsys, option, target, message
):
    image = tmp_path / "x.png"  # never read: the output check comes first
    image.write_bytes(b"")
    assert main(["fer", "predict", str(image), option, target.format(tmp=tmp_path)]) == 2
    assert message in capsys.readouterr().err

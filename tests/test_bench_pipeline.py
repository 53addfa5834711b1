"""The pipeline benchmark's figures: structure, accuracy and stages (no timing assertions)."""

import numpy as np

from laetitia.app.bench_pipeline import (
    STAGES,
    PipelineSetting,
    agreement,
    format_table,
    run_pipeline_bench,
)


def test_pipeline_bench_reports_fps_and_agreement_per_setting(fixtures_dir):
    settings = [PipelineSetting("haar every 10", "haar", 10)]
    figures = run_pipeline_bench(
        fixtures_dir / "single_face.mp4", settings, repeats=1, model_seconds=0.01, fer_settings=()
    )
    (row,) = figures["settings"]
    assert row["fps"] > 0 and row["frames_with_face"] == 72
    assert row["face_agreement"] == 1.0 and 0 <= row["p_happy_abs_diff_mean"] < 0.1
    assert row["frames_lost"] == 0 and row["longest_loss"] == 0
    assert 0 <= row["p_happy_window_abs_diff_mean"] <= row["p_happy_window_abs_diff_max"] < 0.1
    # The stages add up to the pass: decode, detect, track, classify and the rest.
    stages = row["stages_ms_per_frame"]
    assert set(stages) == set(STAGES) and min(stages.values()) >= 0
    assert np.isclose(sum(stages.values()), row["ms_per_frame"])
    assert row["detections"] == 8  # every 10th frame of 72, each read of 10 starting afresh
    assert figures["video"] == {
        "path": str(fixtures_dir / "single_face.mp4"),
        "frames": 72,
        "width": 640,
        "height": 360,
    }
    assert figures["model"]["ms_per_face_batch32"] > 0 and figures["fer_package"] == []
    table = format_table(figures)
    assert "| haar every 10 |" in table and "| 1.000 | 0 (0) |" in table
    assert "not installed" in table


def test_a_landmark_signal_shows_the_landmark_model_in_the_stages(fixtures_dir):
    settings = [
        PipelineSetting("yunet every 5, smile", "yunet", 5, signal="smile"),
        PipelineSetting("yunet every 5", "yunet", 5),
    ]
    figures = run_pipeline_bench(
        fixtures_dir / "single_face.mp4", settings, repeats=1, model_seconds=0.01, fer_settings=()
    )
    smile, happy = figures["settings"]
    assert smile["signal"] == "smile" and smile["frames_with_face"] == 72
    stages = smile["stages_ms_per_frame"]
    assert stages["landmark model"] > 0 and stages["landmarker"] > 0
    assert np.isclose(sum(stages.values()), smile["ms_per_frame"])
    # A fer-happy meter pays nothing for landmarks.
    assert happy["stages_ms_per_frame"]["landmark model"] == 0
    assert "face_agreement" not in smile and "face_agreement" in happy
    assert "| yunet every 5, smile |" in format_table(figures)


def test_agreement_counts_the_frames_a_setting_loses_and_their_longest_run():
    nan = np.nan
    reference = np.array([0.9, 0.9, 0.9, 0.9, 0.9, nan, 0.1, 0.1, 0.1, 0.1], np.float32)
    values = np.array([0.8, nan, nan, 0.9, nan, 0.5, 0.1, 0.1, 0.1, 0.2], np.float32)
    figures = agreement(values, reference, per_call=5)
    assert figures["frames_lost"] == 3 and figures["longest_loss"] == 2
    assert figures["frames_extra"] == 1 and figures["face_agreement"] == 0.6
    # Windows of 5: means 0.85 vs 0.9, and 0.2 vs 0.1 (the extra face's 0.5 counts).
    assert np.isclose(figures["p_happy_window_abs_diff_max"], 0.1, atol=1e-6)


def test_the_table_shows_ratios_to_the_fer_package_and_agreement():
    stages = dict.fromkeys(STAGES, 0.5)
    ours = {
        "label": "yunet every 5",
        "fps": 300.0,
        "ms_per_frame": 2.5,
        "stages_ms_per_frame": stages,
        "detections": 15,
        "face_agreement": 0.99,
        "frames_lost": 2,
        "longest_loss": 1,
        "p_happy_window_abs_diff_mean": 0.01,
        "p_happy_window_abs_diff_max": 0.03,
        "p_happy_abs_diff_mean": 0.02,
        "p_happy_abs_diff_max": 0.2,
        "cpu_ms_per_frame": 3.0,
        "x_fer_mtcnn": 12.5,
        "x_fer_mtcnn_cpu": 14.0,
    }
    fer = {
        "label": "fer package: FER(mtcnn=True)",
        "key": "fer_mtcnn",
        "fps": 24.0,
        "cpu_ms_per_frame": 42.0,
    }
    figures = {
        "settings": [ours],
        "fer_package": [fer],
        "model": dict.fromkeys(
            [
                "ms_per_face_batch1",
                "ms_per_face_batch32",
                "ms_per_face_batch1_2_threads",
                "ms_per_face_batch32_2_threads",
            ],
            1.0,
        ),
        "decode_fps": 1000.0,
    }
    table = format_table(figures)
    assert "| x fer mtcnn: fps / CPU |" in table
    cells = "| 300 | 3.0 | 12.5 / 14.0 | 0.990 | 2 (1) | 0.010 / 0.030 | 0.020 / 0.200 |"
    assert f"| yunet every 5 {cells}" in table
    assert "| fer package: FER(mtcnn=True) | 24.0 | 42.0 | — |" in table


def test_the_bench_runs_on_a_video_without_faces(fixtures_dir):
    settings = [
        PipelineSetting("yunet every 5", "yunet", 5),
        PipelineSetting("yunet every 5, no scout", "yunet", 5, scout_side_px=0),
    ]
    figures = run_pipeline_bench(
        fixtures_dir / "no_face.mp4", settings, repeats=1, model_seconds=0.01, fer_settings=()
    )
    scouted, alone = figures["settings"]
    assert scouted["frames_with_face"] == 0 and scouted["frames_extra"] == 0
    # Nothing is found, so every other frame of each step of 10 is looked at, from its first:
    # a face that appears is found on its first or second frame. Each step's first look is the
    # detector's; the scout takes the others, and without it the detector takes them all.
    n = figures["video"]["frames"]
    steps = [min(10, n - start) for start in range(0, n, 10)]
    looks = sum((frames + 1) // 2 for frames in steps)
    assert (scouted["detections"], scouted["scout_runs"]) == (len(steps), looks - len(steps))
    assert (alone["detections"], alone["scout_runs"]) == (looks, 0)
    assert f"| {scouted['detections']} (+{scouted['scout_runs']} scout) |" in format_table(figures)
    assert figures["model"]["ms_per_face_batch1"] > 0

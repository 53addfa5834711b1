"""The pipeline benchmark's figures: structure and accuracy columns (no timing assertions)."""

from laetitia.app.bench_pipeline import PipelineSetting, format_table, run_pipeline_bench


def test_pipeline_bench_reports_fps_and_agreement_per_setting(fixtures_dir):
    settings = [PipelineSetting("haar every 10", "haar", 10)]
    figures = run_pipeline_bench(
        fixtures_dir / "single_face.mp4", settings, repeats=1, model_seconds=0.01
    )
    (row,) = figures["settings"]
    assert row["fps"] > 0 and row["frames_with_face"] == 72
    assert row["face_agreement"] == 1.0 and 0 <= row["p_happy_abs_diff_mean"] < 0.1
    assert figures["video"] == {
        "path": str(fixtures_dir / "single_face.mp4"),
        "frames": 72,
        "width": 640,
        "height": 360,
    }
    assert figures["model"]["ms_per_face_batch32"] > 0
    assert "| haar every 10 |" in format_table(figures)

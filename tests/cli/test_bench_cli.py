from laetitia.cli import build_parser, main


def test_bench_has_agents_and_pipeline() -> None:
    parser = build_parser()
    args = parser.parse_args(["bench", "agents", "--quick", "--json", "out.json"])
    assert args.quick and args.func.__name__ == "run_agents"
    args = parser.parse_args(["bench", "pipeline", "--video", "v.mp4", "--json", "out.json"])
    assert args.func.__name__ == "run_pipeline"


def test_bench_pipeline_refuses_a_missing_video(tmp_path, capsys) -> None:
    out = tmp_path / "o.json"
    code = main(["bench", "pipeline", "--video", str(tmp_path / "nope.mp4"), "--json", str(out)])
    assert code == 2
    assert "is not a file" in capsys.readouterr().err
    assert not out.exists()

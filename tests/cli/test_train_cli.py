import json

import numpy as np
import pytest

from laetitia.cli import COMMAND_MODULES, build_parser, main
from laetitia.sessions import Resumption, load_session


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in COMMAND_MODULES:
        assert command in out


def test_demo_writes_a_session_a_best_emoticon_and_a_learning_curve(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--agent", "cma-es", "--steps", "40", "--out", str(out), "--seed", "2"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "best_emoticon.png" in printed
    assert "noise-free" in printed  # the best is said with what the person truly felt
    session = load_session(out)
    assert session.n_steps == 40
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 2 and meta["viewer"]["name"] == "people-v3/55"
    assert meta["config"]["prior"] == []  # cma-es takes no prior


def test_the_default_demo_ends_with_a_smiling_emoticon(tmp_path, capsys):
    """What `make demo` runs: particle, from the shipped prior, recommends a smile it found."""
    from laetitia.cli.demo import DEMO_PERSON
    from laetitia.emoticon.params import PARAM_SPACE
    from laetitia.viewers.people_v3 import V3_TEST, v3_viewer

    assert DEMO_PERSON not in V3_TEST  # never a person of the sealed test split
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    best = json.loads((out / "best.json").read_text())
    assert best["responds"] is True and best["chosen_by"] == "the agent's best guess"
    assert best["params"][PARAM_SPACE.names.index("b")] > 0  # the mouth curves up
    assert "the emoticon it recommends smiles" in printed
    person = v3_viewer(DEMO_PERSON)
    way = (best["true_happiness"] - person.floor()) / (person.attainable_max() - person.floor())
    assert way >= 0.8  # the honest best, most of the way from the person's floor to their best
    if best["mean_reading"] is None:  # a guess between the emoticons shown: said so
        assert "not shown during the session" in printed
    else:
        assert f"smile {best['mean_reading']:.3f} over" in printed  # the signal, named as it is
    assert f"noise-free {best['true_happiness']:.3f}" in printed
    meta = json.loads((out / "meta.json").read_text())
    assert meta["config"]["prior"] and meta["config"]["agent"] == "particle"
    import matplotlib.pyplot as plt

    for name in ("best_emoticon.png", "learning_curve.png"):
        image = plt.imread(out / name)
        assert image.ndim == 3 and image.std() > 0.01  # a picture, not a blank


def test_train_then_resume_continues_the_step_count(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--viewer", "sim:1", "--out", str(out), "--steps", "12", "--frames", "3"]
    assert main(args) == 0
    assert main(["train", "--resume", str(out), "--steps", "8"]) == 0
    session = load_session(out)
    np.testing.assert_array_equal(session.steps["step"], np.arange(20))
    assert session.meta.resumed == (Resumption(at_step=12, steps=8),)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--viewer", "simx"], "unknown viewer 'simx'"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--frames", "0"], "--frames must be at least 1"),
        (["--agent-arg", "nokey"], "KEY=VALUE"),
        (["--agent-arg", "bogus=1"], "no setting"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, capsys, args, message):
    code = main(["train", "--viewer", "sim", "--out", str(tmp_path / "x"), *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_an_unwritable_out_folder_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["train", "--viewer", "sim", "--out", str(blocker / "run")]) == 2
    assert "cannot write the session folder" in capsys.readouterr().err


def test_resume_of_a_finished_run_says_how_to_add_steps(tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--viewer", "sim", "--out", str(out), "--steps", "5"])
    assert main(["train", "--resume", str(out)]) == 2
    assert "(--steps)" in capsys.readouterr().err


def test_the_webcam_is_the_default_viewer_for_train():
    args = build_parser().parse_args(["train", "--out", "x"])
    assert args.viewer == "webcam"


@pytest.mark.parametrize(
    "viewer, message",
    [("webcam:7", "--viewer video:PATH"), ("video:{bad}", "cannot be opened as a video")],
)
def test_a_camera_that_never_delivers_is_an_error_that_leaves_no_session(
    tmp_path, capsys, viewer, message
):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    out = tmp_path / "run"
    code = main(["train", "--viewer", viewer.format(bad=bad), "--out", str(out), "--steps", "3"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing recorded, nothing left: the same --out works next time


def test_bad_settings_leave_no_folder_behind(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--viewer", "sim", "--out", str(out), "--agent-arg", "step=5"]) == 2
    assert not out.exists()


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda meta: meta["config"].update(no_such_setting=1), "'no_such_setting'"),
        (lambda meta: meta.update(surprise=True), "'surprise'"),
        (lambda meta: meta["config"].update(steps="many"), "'steps'"),
        (lambda meta: meta.pop("viewer"), "'viewer'"),
        (lambda meta: meta.update(format_version=99), "format version 99"),
    ],
)
def test_resume_of_a_meta_json_it_cannot_read_is_one_line_naming_the_key(
    tmp_path, capsys, edit, named
):
    out = tmp_path / "run"
    args = ["train", "--viewer", "sim", "--out", str(out), "--steps", "2", "--frames", "2"]
    assert main(args) == 0
    capsys.readouterr()
    meta = json.loads((out / "meta.json").read_text())
    edit(meta)
    (out / "meta.json").write_text(json.dumps(meta))
    assert main(["train", "--resume", str(out), "--steps", "1"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("laetitia train: error:") and "\n" not in error
    assert named in error and "meta.json" in error
    assert json.loads((out / "meta.json").read_text()) == meta


def test_a_library_error_names_the_field_and_the_cli_names_the_flag(tmp_path, capsys):
    from laetitia.app.training import TrainConfig
    from laetitia.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^settle_s must be a finite number") as raised:
        TrainConfig(out=tmp_path / "x", settle_s=float("nan"))
    assert raised.value.field == "settle_s"
    assert main(["train", "--viewer", "sim", "--out", str(tmp_path / "y"), "--settle", "-1"]) == 2
    assert "error: --settle must be a finite number" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()


def test_resuming_a_session_whose_meta_has_an_unknown_key_is_one_line_naming_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(["train", "--viewer", "sim:1", "--out", str(out), "--steps", "3", "--frames", "2"])
        == 0
    )
    meta = json.loads((out / "meta.json").read_text())
    meta["config"]["stepz"] = 3
    (out / "meta.json").write_text(json.dumps(meta))
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--steps", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "meta.json: config: unknown key(s) 'stepz'" in err
    assert load_session(out).n_steps == 3  # nothing was written or lost

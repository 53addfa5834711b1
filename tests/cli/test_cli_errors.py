"""The CLI names the fields an error carries by their flags, and keeps old flags working."""

import argparse
import json

import pytest

from laetitia.cli import build_parser, error_line, given_options, main
from laetitia.errors import CameraError, ConfigError, SessionError
from laetitia.sessions import load_session


def command_parser(*argv):
    return build_parser().parse_args(list(argv)).command_parser


def test_the_field_at_fault_and_the_fields_mentioned_are_shown_as_flags():
    train = command_parser("train", "--out", "x")
    error = ConfigError("settle_s must be a finite number, got nan.", field="settle_s")
    assert error_line(error, train) == "--settle must be a finite number, got nan."
    error = SessionError("ask for more steps (`steps`) to add them.", mentions=("steps",))
    assert error_line(error, train) == "ask for more steps (--steps) to add them."
    error = CameraError(
        "use a recorded video (the viewer `video:PATH`).", mentions=("viewer=video:PATH",)
    )
    assert error_line(error, train) == "use a recorded video (--viewer video:PATH)."
    # A field at fault that does not start the message is named before it.
    error = ConfigError("a bad value of episodes", field="max_episode_steps")
    assert error_line(error, train) == "--max-episode-steps: a bad value of episodes"


def test_what_an_error_does_not_carry_as_a_field_is_left_as_written():
    """The wording is not read: a word in backquotes is a field only when the error says so."""
    train = command_parser("train", "--out", "x")
    error = SessionError("frames must be `steps` apart; steps must differ.", mentions=())
    assert error_line(error, train) == str(error)
    # A field the command has no option for stays as it is written.
    error = ConfigError("name more (`classes`).", field="space", mentions=("classes",))
    assert error_line(error, train) == str(error)


def test_a_mention_missing_from_its_message_is_a_mistake_caught_where_it_is_made():
    with pytest.raises(AssertionError, match="steps"):
        ConfigError("ask for more.", mentions=("steps",))


def test_every_option_of_every_command_is_known_by_the_field_it_sets():
    def commands(parser):
        for action in parser._actions:  # a test may look inside argparse; the CLI does not
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from commands(sub)
        if parser.get_default("func") is not None:
            yield parser

    found = list(commands(build_parser()))
    assert len(found) >= 12
    for parser in found:
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.dest in parser.flags, (parser.prog, action.option_strings)


def test_the_options_typed_are_found_without_changing_the_parser():
    parser = command_parser("train", "--out", "x")
    argv = ["--resume", "run", "--frames", "10", "--agent-arg", "a=1", "--agent-arg", "b=2"]
    given = given_options(parser, argv)
    # The default typed is given; what was not typed is not.
    assert given == {"resume": given["resume"], "frames": 10, "agent_args": ["a=1", "b=2"]}
    again = parser.parse_args(["--out", "x"])
    assert again.frames == 10 and again.agent_args == [] and again.max_episode_steps == 50


def test_a_renamed_flag_works_and_says_once_on_stderr_to_use_the_new_one(tmp_path, capsys):
    old, new = "--episode-steps", "--max-episode-steps"
    out = tmp_path / "run"
    args = ["train", "--viewer", "sim:1", "--frames", "2", "--out", str(out), "--steps", "5"]
    assert main([*args, old, "3"]) == 0
    assert json.loads((out / "meta.json").read_text())["config"]["max_episode_steps"] == 3
    assert list(load_session(out).steps["episode"]) == [0, 0, 0, 1, 1]
    lines = [line for line in capsys.readouterr().err.splitlines() if "deprecated" in line]
    assert lines == [f"laetitia train: warning: {old} is deprecated; use {new} (it does the same)."]
    # On a resume (whose options are read twice more) it is said once too, and is no change.
    assert main(["train", "--resume", str(out), "--steps", "1", old, "3"]) == 0
    assert [x for x in capsys.readouterr().err.splitlines() if "deprecated" in x] == lines


def test_the_evaluation_s_old_episode_flag_still_works(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--viewer", "sim", "--out", str(out), "--steps", "2", "--frames", "2"]
    assert main(args) == 0
    args = ["evaluate", "--agent-path", str(out / "agent"), "--viewer", "sim", "--episodes", "2"]
    assert main([*args, "--steps-per-episode", "3", "--frames", "2"]) == 0
    captured = capsys.readouterr()
    assert "agent: hill-climb (deterministic actions), 6 steps" in captured.out
    assert "--steps-per-episode is deprecated; use --max-episode-steps" in captured.err

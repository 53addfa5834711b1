"""The `laetitia` command line: one subcommand per module listed in COMMAND_MODULES.

The CLI maps flags to the application's typed configs and nothing more. An option's `dest` is
the config field it sets (`--settle` sets `settle_s`), so an error the library raises about a
field (`ConfigError.field`) is shown with the flag that sets it.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence

from laetitia.errors import LaetitiaError
from laetitia.threads import use_threads

COMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "train",
    "fer",
    "plot",
    "replay",
    "calibrate",
    "bench",
    "tune",
    "evaluate",
    "video",
)
"""Modules of `laetitia.cli` that each add one subcommand with `add_parser(subparsers)`."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    from laetitia import __version__

    parser = argparse.ArgumentParser(
        prog="laetitia",
        description="An RL research environment that learns to make a person smile.",
    )
    parser.add_argument("--version", action="version", version=f"laetitia {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"laetitia.cli.{name}").add_parser(subparsers)
    _mark_commands(parser)
    return parser


def _mark_commands(parser: argparse.ArgumentParser) -> None:
    """Let each command's parser be found from its parsed arguments (`args.command_parser`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_commands(sub)
    if parser.get_default("func") is not None:
        parser.set_defaults(command_parser=parser)
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            metavar="N",
            help="threads torch, OpenCV and video decoding compute with (default: 1 on up to 4 "
            "cores, else half the cores)",
        )


def flag_for(parser: argparse.ArgumentParser, field: str) -> str | None:
    """The option of a command that sets config field `field` (its `dest`), if there is one."""
    for action in parser._actions:
        if action.dest == field and action.option_strings:
            return max(action.option_strings, key=len)
    return None


SETTING = re.compile(r"(?:setting )?`(\w+)`")
"""How a library message refers to a config field: "setting `model_path`", or "`model_path`"."""
VALUE = re.compile(r"\bthe (\w+) `([^`]+)`")
"""How a library message suggests a value of a field: "the viewer `video:PATH`"."""


def error_line(error: LaetitiaError, parser: argparse.ArgumentParser | None) -> str:
    """An error's message with flags for the config fields it names, where the command has them.

    The field at fault (`error.field`) starts the message; other fields appear in backquotes
    ("setting `model_path`"). Each becomes the option of `parser` that sets it ("--model").
    """
    message = str(error)
    if parser is None:
        return message

    def flag(match: re.Match[str]) -> str:
        return flag_for(parser, match.group(1)) or match.group(0)

    def flag_value(match: re.Match[str]) -> str:
        option = flag_for(parser, match.group(1))
        return f"{option} {match.group(2)}" if option else match.group(0)

    message = SETTING.sub(flag, VALUE.sub(flag_value, message))
    field = error.field
    option = None if field is None else flag_for(parser, field)
    if field is None or option is None:
        return message
    if message.startswith(field):
        return option + message[len(field) :]
    return f"{option}: {message}"


def given_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> dict[str, object]:
    """The options of one command that `argv` (its arguments) sets explicitly, by `dest`.

    A value equal to the default counts as given when it was typed.
    """
    saved = {action: action.default for action in parser._actions}
    defaults = dict(parser._defaults)
    try:
        for action in parser._actions:
            action.default = argparse.SUPPRESS
        parser._defaults.clear()
        given, _ = parser.parse_known_args(list(argv))
    finally:
        for action, default in saved.items():
            action.default = default
        parser._defaults.update(defaults)
    return vars(given)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors laetitia raises on purpose print as one line, exit code 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        use_threads(args.threads)
        return int(args.func(args))
    except LaetitiaError as error:
        line = error_line(error, getattr(args, "command_parser", None))
        print(f"laetitia {args.command}: error: {line}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"laetitia {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(
            f"laetitia {args.command}: error: {error}. Check the path, and that you may write "
            "there.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"laetitia {args.command}: interrupted.", file=sys.stderr)
        return 130

"""The `laetitia` command line: one subcommand per module listed in COMMAND_MODULES.

The CLI maps flags to the application's typed configs and nothing more. An option's `dest` is
the config field it sets (`--settle` sets `settle_s`), so an error the library raises about a
field is shown with the flag that sets it: the error carries its fields as data
(`LaetitiaError.field` and `.mentions`), and each command's parser knows its flags by field
(`CommandParser.flags`).

Every value typed is read by a type that refuses what cannot be meant: `path_arg` an empty
path (which would mean the working folder), `whole` and `number` anything but a whole number
or a finite number; ranges are the configs' checks. A refused argument, like every error,
is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from laetitia.errors import LaetitiaError, written
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
    "study",
)
"""Modules of `laetitia.cli` that each add one subcommand with `add_parser(subparsers)`."""


def path_arg(text: str) -> Path:
    """An argparse type: a path, never an empty one (which would mean the working folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a file or folder, got an empty path")
    return Path(text)


def whole(text: str) -> int:
    """An argparse type: a whole number, written in digits (with an optional sign)."""
    digits = text.strip().removeprefix("-").removeprefix("+")
    if not digits.isdigit() or len(digits) > 30:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}")
    return int(text)


def number(text: str) -> float:
    """An argparse type: a finite number (never nan or inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


class CommandParser(argparse.ArgumentParser):
    """An argument parser that knows the option setting each config field.

    Every option added with `add_argument` is noted by its `dest`, the config field it sets
    (`--settle` sets `settle_s`), so an error the library raises about a field is shown with
    that option (`error_line`). An option added to a group is noted with `names`. Subcommands'
    parsers are of this class too (`add_subparsers` makes its parsers of its parser's class). A
    parser whose command runs (`set_defaults(func=...)`) also takes `--threads`, and is found
    from its parsed arguments (`args.command_parser`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.flags: dict[str, str] = {}  # before argparse adds --help
        """The option that sets each config field (its longest spelling), by field."""
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """`argparse.ArgumentParser.add_argument`, noting the option by the field it sets."""
        return self.names(super().add_argument(*args, **kwargs))

    def names(self, action: argparse.Action) -> argparse.Action:
        """Note `action` as the option that sets its `dest` (the first one added keeps it)."""
        if action.option_strings and action.dest not in self.flags:
            self.flags[action.dest] = max(action.option_strings, key=len)
        return action

    def error(self, message: str) -> NoReturn:
        """A command line argparse refuses: one line on stderr, exit code 2 (no usage block).

        A value refused by one of this module's types reads as the library's errors do
        ("--settle must be a finite number, got 'nan'").
        """
        message = re.sub(r"^argument ([^:]+): must ", r"\1 must ", message)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def set_defaults(self, **kwargs: Any) -> None:
        """`argparse.ArgumentParser.set_defaults`; a `func` makes this parser a command's."""
        super().set_defaults(**kwargs)
        if "func" in kwargs:
            super().set_defaults(command_parser=self)
            self.add_argument(
                "--threads",
                type=whole,
                default=None,
                metavar="N",
                help="threads torch, OpenCV and video decoding compute with (default: 1 on up "
                "to 4 cores, else half the cores)",
            )


class DeprecatedFlag(argparse.Action):
    """An option's old spelling: sets what the new one sets, and says once to use the new one.

    Added after the new option, with its `dest`, `action=DeprecatedFlag`, `new=` the new
    spelling, and its help hidden (`argparse.SUPPRESS`); see `add_renamed`.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, new: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.new = new
        self.warned = False

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        """Set the value as the new option would, saying on stderr (once) to use that one."""
        if not self.warned:
            self.warned = True
            print(
                f"{parser.prog}: warning: {option_string} is deprecated; use {self.new} "
                "(it does the same).",
                file=sys.stderr,
            )
        setattr(namespace, self.dest, values)


def add_renamed(parser: argparse.ArgumentParser, old: str, new: argparse.Action) -> None:
    """Keep `old`, an option renamed `new`, working: the same value, a deprecation line.

    Args:
        parser: The command's parser (where `new` was added).
        old: The old spelling ("--episode-steps").
        new: The option it became, as `add_argument` returned it.
    """
    same: dict[str, Any] = {} if new.type is None else {"type": new.type}
    parser.add_argument(
        old,
        dest=new.dest,
        metavar=new.metavar,
        action=DeprecatedFlag,
        new=max(new.option_strings, key=len),
        help=argparse.SUPPRESS,
        **same,
    )


def build_parser() -> CommandParser:
    """The full argument parser, with every subcommand registered."""
    from laetitia import __version__

    parser = CommandParser(
        prog="laetitia",
        description="An RL research environment that learns to make a person smile.",
    )
    parser.add_argument("--version", action="version", version=f"laetitia {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"laetitia.cli.{name}").add_parser(subparsers)
    return parser


def error_line(error: LaetitiaError, parser: CommandParser | None) -> str:
    """An error's message with the options of `parser` for the config fields it names.

    The fields are the error's own data, never read from its wording: the field at fault
    (`error.field`), whose name starts the message, and the fields it mentions
    (`error.mentions`, written as `laetitia.errors.written` says). Each becomes the option that
    sets it ("--model"), with the value it suggests ("--viewer video:PATH"); a field the command
    has no option for stays as it is written.
    """
    message = str(error)
    if parser is None:
        return message
    for mention in error.mentions:
        name, given, value = mention.partition("=")
        option = parser.flags.get(name)
        if option is not None:
            message = message.replace(written(mention), f"{option} {value}" if given else option)
    field = error.field
    option = None if field is None else parser.flags.get(field)
    if field is None or option is None:
        return message
    if message.startswith(field):
        return option + message[len(field) :]
    return f"{option}: {message}"


class _Unset(list[Any]):
    """An option's value before the command line sets it (a list: `append` options add to it)."""


def given_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> dict[str, object]:
    """The options of one command that `argv` (its arguments) sets explicitly, by `dest`.

    A value equal to the default counts as given when it was typed. The arguments are parsed
    into a namespace where every option already holds a marker (argparse fills in a default only
    where the namespace has none), so what the command line set is what no longer holds it.
    """
    every = vars(parser.parse_known_args(list(argv))[0])
    unset = argparse.Namespace(**{dest: _Unset() for dest in every})
    parsed = vars(parser.parse_known_args(list(argv), namespace=unset)[0])
    return {
        dest: list(value) if isinstance(value, _Unset) else value
        for dest, value in parsed.items()
        if not (isinstance(value, _Unset) and not value)
    }


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

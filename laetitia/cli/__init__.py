"""The `laetitia` command line: one subcommand per module listed in COMMAND_MODULES."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from laetitia.errors import LaetitiaError

COMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "train",
    "fer",
    "plot",
    "replay",
    "calibrate",
    "bench",
    "evaluate",
)
"""Modules of `laetitia.cli` that each add one subcommand with `add_parser(subparsers)`."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="laetitia",
        description="An RL research environment that learns to make a person smile.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"laetitia.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors laetitia raises on purpose print as one line, exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (LaetitiaError, FileNotFoundError) as error:
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

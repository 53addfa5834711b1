"""`laetitia fer predict|train|eval|eval-smiles`: the expression model and the smile signals."""

from __future__ import annotations

import argparse
import importlib

FER_COMMAND_MODULES: tuple[str, ...] = ("fer_predict", "fer_train", "fer_eval_smiles")
"""Modules of `laetitia.cli` that each add one `fer` subcommand with `add_parser(subparsers)`."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia fer` and its subcommands."""
    parser = subparsers.add_parser(
        "fer", help="the facial expression model: predict, train, evaluate"
    )
    fer_subparsers = parser.add_subparsers(dest="fer_command", metavar="FER_COMMAND", required=True)
    for name in FER_COMMAND_MODULES:
        importlib.import_module(f"laetitia.cli.{name}").add_parser(fer_subparsers)

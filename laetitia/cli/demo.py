"""`laetitia demo`: the hill-climber against a simulated viewer, no camera needed."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from laetitia.cli.train import add_common_run_arguments, report


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia demo`."""
    parser = subparsers.add_parser(
        "demo",
        help="hill-climb an emoticon against a simulated viewer (no camera)",
        description="The original DeepLaetitia hill-climber against a simulated viewer: "
        "a session folder, the best emoticon as PNG and a learning curve.",
    )
    add_common_run_arguments(parser, steps=200)
    parser.add_argument(
        "--out", type=Path, default=None, help="session folder (default runs/demo-TIMESTAMP)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run `laetitia demo`."""
    from laetitia.app.training import TrainConfig, train
    from laetitia.sessions import DEFAULT_RUNS

    out = args.out or DEFAULT_RUNS / time.strftime("demo-%Y%m%d-%H%M%S")
    config = TrainConfig(
        out=out,
        agent="hill-climb",
        viewer=f"sim:{args.seed}",
        steps=args.default_steps if args.steps is None else args.steps,
        seed=args.seed,
    )
    report(train(config))
    return 0

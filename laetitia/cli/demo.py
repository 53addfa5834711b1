"""`laetitia demo`: an agent finding a smile on a simulated person, no camera needed."""

from __future__ import annotations

import argparse
import time

from laetitia.cli import path_arg, whole
from laetitia.cli.train import add_common_run_arguments, report

DEMO_AGENT = "cma-es"
"""Few steps to a smile on the simulated people (BENCHMARKS.md) and next to no computing per
step, so the demo takes seconds (`bayes-opt` needs fewer steps and 100 times the computing)."""
DEMO_PERSON = 9
"""The suite member the demo shows by default: its favourite is far from the original
emoticon, so the curve starts low, and the demo agent finds it within the default budget."""
DEMO_STEPS = 150


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia demo`."""
    parser = subparsers.add_parser(
        "demo",
        help=f"{DEMO_AGENT} finds a smile on a simulated person (no camera)",
        description=f"An agent ({DEMO_AGENT}, fast to compute) against a member of "
        "the suite of simulated people (reactions that lag, habituate, look away and drift): a "
        "session folder, the best emoticon as PNG and a learning curve with the person's "
        "noise-free happiness beside the readings.",
    )
    add_common_run_arguments(parser, steps=DEMO_STEPS)
    parser.add_argument(
        "--person",
        type=whole,
        default=DEMO_PERSON,
        help=f"suite member to smile at (default {DEMO_PERSON})",
    )
    parser.add_argument(
        "--agent",
        default=DEMO_AGENT,
        help=f"the agent (default {DEMO_AGENT}; bayes-opt needs fewer steps)",
    )
    parser.add_argument(
        "--out", type=path_arg, default=None, help="session folder (default runs/demo-TIMESTAMP)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run `laetitia demo`."""
    from laetitia.app.training import TrainConfig, train
    from laetitia.sessions import DEFAULT_RUNS

    out = args.out or DEFAULT_RUNS / time.strftime("demo-%Y%m%d-%H%M%S")
    config = TrainConfig(
        out=out,
        agent=args.agent,
        viewer=f"person:{args.person}",
        steps=args.default_steps if args.steps is None else args.steps,
        seed=args.seed,
    )
    report(train(config))
    return 0

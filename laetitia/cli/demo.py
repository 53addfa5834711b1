"""`laetitia demo`: an agent finding a faint smile on a simulated person, no camera needed."""

from __future__ import annotations

import argparse
import time

from laetitia.cli import path_arg, whole
from laetitia.cli.train import add_common_run_arguments, report

DEMO_AGENT = "particle"
"""The agent whose recommendation finds a smile in the fewest of a person's seconds on
people-v3's validation split (BENCHMARKS.md, "How long until the agent's recommendation finds a
faint smile?")."""
TUNED_ARGS: dict[str, dict[str, object]] = {
    "bayes-opt": {
        "reading": "logit",
        "carry_over": True,
        "refit_share": 0.1,
        "taste_drift": True,
        "recommend_sd": 1.0,
    },
}
"""Settings an agent runs the demo with other than its defaults, chosen on people-v3's
validation split: bayes-opt reads in log-odds, lets a reading carry over part of the emoticon
before, spaces its refits with the readings, lets the taste move, and measures a recommendation
well enough to stay (`particle`'s defaults are its validated settings)."""
DEMO_PERSON = 55
"""The people-v3 member the demo shows by default: from the validation split (never the sealed
test split), a clear reactor whose favourite the population prior does not give away."""
DEMO_STEPS = 120
"""Steps of the demo: about 100 seconds of the simulated person's time."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia demo`."""
    parser = subparsers.add_parser(
        "demo",
        help=f"{DEMO_AGENT} finds a smile on a simulated person (no camera)",
        description=f"An agent ({DEMO_AGENT}, starting from the prior laetitia ships: where "
        "earlier people smiled) against a simulated person of people-v3 (faces that read as "
        "the smile signal reads real ones, reacting in seconds, with noise, habituation, "
        "mood and looking away): a session folder, the emoticon it recommends as PNG, and a "
        "learning curve with the person's noise-free happiness and that of the recommendation.",
    )
    add_common_run_arguments(parser, steps=DEMO_STEPS)
    parser.add_argument(
        "--person",
        type=whole,
        default=DEMO_PERSON,
        help=f"people-v3 member to smile at (default {DEMO_PERSON}, of the validation split)",
    )
    parser.add_argument(
        "--agent",
        default=DEMO_AGENT,
        help=f"the agent (default {DEMO_AGENT}; cma-es computes less and needs more steps)",
    )
    parser.add_argument(
        "--out", type=path_arg, default=None, help="session folder (default runs/demo-TIMESTAMP)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run `laetitia demo`."""
    import dataclasses

    from laetitia.app.training import TrainConfig
    from laetitia.sessions import DEFAULT_RUNS

    out = args.out or DEFAULT_RUNS / time.strftime("demo-%Y%m%d-%H%M%S")
    # Checked before the agents (and torch) load: a wrong option is answered at once.
    config = TrainConfig(
        out=out,
        agent=args.agent,
        viewer=f"person:v3:{args.person}",
        steps=args.default_steps if args.steps is None else args.steps,
        seed=args.seed,
        keep_frames=False,
    )
    from laetitia.agents import agent_class
    from laetitia.app.prior import SHIPPED_PRIOR
    from laetitia.app.training import train
    from laetitia.emoticon.params import PARAM_SPACE

    if args.agent in TUNED_ARGS:
        config = dataclasses.replace(config, agent_args=TUNED_ARGS[args.agent])
    if agent_class(args.agent).takes_prior:
        config = dataclasses.replace(config, prior=(SHIPPED_PRIOR,))
    result = train(config)
    report(result)
    if result.best is not None:
        curvature = result.best.params[PARAM_SPACE.names.index("b")]
        mood = "smiles" if curvature > 0 else "frowns"
        print(f"the emoticon it recommends {mood}: mouth curvature b = {curvature:+.2f}")
    return 0

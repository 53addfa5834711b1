"""`laetitia tune`: search an agent's settings with Ray Tune on the suite of simulated people."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from laetitia.cli import number, path_arg, whole
from laetitia.cli.bench import add_ray_arguments
from laetitia.cli.train import add_frames_argument

if TYPE_CHECKING:
    from laetitia.cli import CommandParser


def add_parser(subparsers: argparse._SubParsersAction[CommandParser]) -> None:
    """Register `laetitia tune`."""
    from laetitia.agents import AGENTS

    parser = subparsers.add_parser(
        "tune",
        help="search an agent's settings with Ray Tune on the simulated people",
        description=(
            "Search an agent's settings with Ray Tune (Optuna's TPE). Each trial runs the agent "
            "on the first K simulated people x S seeds, N steps each; the objective is the "
            "median steps to 90% of each person's attainable happiness, the mean happiness "
            "over the first 100 steps breaking ties. Trials that can no longer beat a finished "
            "one are stopped. OUT is Tune's experiment folder (tensorboard --logdir OUT); the "
            "best settings are written as a file `laetitia train --agent-config` reads."
        ),
    )
    parser.add_argument("--agent", choices=sorted(AGENTS), help="the agent to tune")
    parser.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="KEY=RANGE",
        help="a setting to search: KEY=LOW:HIGH, KEY=LOW:HIGH:log, KEY=A,B,... or KEY=VALUE "
        "(fixed); repeatable, e.g. --space sigma=0.1:0.8:log --space population=4:12",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    parser.names(
        where.add_argument("--out", type=path_arg, help="experiment folder to write (Tune's own)")
    )
    parser.names(
        where.add_argument(
            "--resume",
            type=path_arg,
            metavar="OUT",
            help="carry on the interrupted search in OUT, with its own settings",
        )
    )
    parser.add_argument(
        "--samples",
        type=whole,
        default=16,
        help="trials to run (default 16); 1 with only fixed settings scores them as given",
    )
    parser.add_argument("--viewers", type=whole, default=8, help="people K per trial (default 8)")
    parser.add_argument("--seeds", type=whole, default=1, help="seeds S per person (default 1)")
    parser.add_argument("--steps", type=whole, default=300, help="steps N per run (default 300)")
    add_frames_argument(parser)
    parser.add_argument(
        "--step-size", type=number, default=None, help="env step size (default: the agent's)"
    )
    parser.add_argument("--seed", type=whole, default=0, help="seed of the search (default 0)")
    parser.add_argument(
        "--no-early-stop",
        dest="early_stop",
        action="store_false",
        help="run every trial on every person, even one that can no longer win",
    )
    parser.add_argument(
        "--best",
        type=path_arg,
        default=None,
        metavar="FILE",
        help="where to write the best settings (default OUT/best_settings.json)",
    )
    add_ray_arguments(parser, what="trials")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run `laetitia tune`; exit code 130 when the search was interrupted (resume it)."""
    from laetitia.app.tune import TuneConfig, format_trials, resume, tune_agent
    from laetitia.errors import ConfigError

    if args.resume is not None:
        result = resume(args.resume)
    else:
        if args.agent is None:
            raise ConfigError("agent: name the agent to tune.", field="agent")
        config = TuneConfig(
            agent=args.agent,
            space=tuple(args.space),
            out=args.out,
            samples=args.samples,
            viewers=args.viewers,
            seeds=args.seeds,
            steps=args.steps,
            frames=args.frames,
            step_size=args.step_size,
            workers=args.workers,
            address=args.address,
            retries=args.retries,
            seed=args.seed,
            early_stop=args.early_stop,
            best=args.best,
        )
        result = tune_agent(config)
    print(format_trials(result))
    print(
        f"train with them: laetitia train --agent {result.best.agent} --agent-config "
        f"{result.best_file} --out DIR"
    )
    return 0 if result.complete else 130

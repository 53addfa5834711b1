"""`laetitia bench agents|pipeline`: measured figures for BENCHMARKS.md."""

from __future__ import annotations

import argparse
import sys

from laetitia.cli import path_arg, whole
from laetitia.cli.train import add_frames_argument, add_timing_arguments

QUICK = {"viewers": 24, "seeds": 1, "steps": 300}
"""What `--quick` runs: under five minutes on two cores with every agent."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia bench` and its subcommands."""
    parser = subparsers.add_parser("bench", help="benchmark the agents or the face pipeline")
    commands = parser.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    _add_agents(commands)
    _add_pipeline(commands)


def _add_agents(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from laetitia.viewers.people import SUITE_SIZE, SUITE_VERSION
    from laetitia.viewers.suites import SUITES

    agents = commands.add_parser(
        "agents",
        help="sample efficiency of every agent on the suite of simulated people",
        description=(
            f"Run agents against the first K of the {SUITE_SIZE} simulated people of suite "
            f"{SUITE_VERSION} with S seeds each, N steps per run; print a table of steps to "
            "90%% of each person's attainable happiness, mean happiness over the first 100 "
            "steps and the best happiness found, each median with its 95%% interval over "
            "the people, and ratios to the stronger hill-climber and to cma-es; write them "
            "as JSON."
        ),
    )
    agents.add_argument(
        "--agents",
        nargs="+",
        default=None,
        metavar="AGENT",
        help="agents, each NAME or NAME:KEY=VALUE,... (default: every agent and "
        "hill-climb:remeasure_every=10)",
    )
    agents.add_argument(
        "--suite", choices=list(SUITES), default=SUITE_VERSION, help="suite of people"
    )
    agents.add_argument(
        "--viewers", type=whole, default=None, help=f"the first K people (default {SUITE_SIZE})"
    )
    agents.add_argument(
        "--people",
        default=None,
        metavar="WHICH",
        help="people instead of the first K: a split (people-v2: training, held-out; "
        "people-v3: prior, validation, test), or indices such as 0-5,9",
    )
    agents.add_argument(
        "--prior",
        type=path_arg,
        default=None,
        metavar="DIR",
        help="sessions of other people (or a prior folder) to learn a prior from, for the "
        "agents that take one",
    )
    agents.add_argument(
        "--stop-at-90",
        action="store_true",
        help="end each run once it reaches 90%% and has shown 100 emoticons (same steps to "
        "90%%, less time)",
    )
    agents.add_argument("--seeds", type=whole, default=None, help="seeds S per person (default 3)")
    agents.add_argument("--steps", type=whole, default=None, help="steps N per run (default 1000)")
    add_frames_argument(agents)
    add_timing_arguments(agents)
    add_ray_arguments(agents, what="runs")
    agents.add_argument(
        "--step-size",
        action="append",
        default=[],
        metavar="AGENT=SIZE",
        help="env step size for an agent instead of its preference (repeatable)",
    )
    agents.add_argument(
        "--quick",
        action="store_true",
        help=(
            f"{QUICK['viewers']} people, {QUICK['seeds']} seed, {QUICK['steps']} steps "
            "(what is not given explicitly)"
        ),
    )
    agents.add_argument("--json", type=path_arg, required=True, help="where to write the results")
    agents.set_defaults(func=run_agents)


def add_ray_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """--workers, --address and --retries: where a sweep's independent runs go (Ray)."""
    parser.add_argument(
        "--workers",
        type=whole,
        default=2,
        help=f"{what} at once, as Ray tasks; 1: one after another in this process (default 2)",
    )
    parser.add_argument(
        "--address",
        default=None,
        metavar="auto|HOST:PORT",
        help="run on this Ray cluster (default: a local Ray runtime started for the command)",
    )
    parser.add_argument(
        "--retries",
        type=whole,
        default=3,
        help=f"times one of the {what} is tried again when its worker process dies (default 3)",
    )


def run_agents(args: argparse.Namespace) -> int:
    """Run `laetitia bench agents`; exit code 1 when some runs failed (the others are kept)."""
    from laetitia.app.bench_agents import (
        DEFAULT_AGENTS,
        BenchConfig,
        bench_document,
        describe_run,
        format_headline,
        format_table,
        parse_people,
        run_grid,
    )
    from laetitia.files import write_json_atomic

    chosen = {"viewers": args.viewers, "seeds": args.seeds, "steps": args.steps}
    base = QUICK if args.quick else {}
    sizes = {k: v if v is not None else base.get(k) for k, v in chosen.items()}
    config = BenchConfig(
        agents=tuple(args.agents or DEFAULT_AGENTS),
        suite=args.suite,
        people=parse_people(args.people, args.suite) if args.people else (),
        prior=args.prior,
        stop_at_90=args.stop_at_90,
        frames=args.frames,
        settle_s=args.settle_s,
        camera_fps=args.camera_fps,
        workers=args.workers,
        step_sizes=_step_sizes(args.step_size),
        address=args.address,
        retries=args.retries,
        **{k: v for k, v in sizes.items() if v is not None},
    )
    outcome = run_grid(config)
    document = bench_document(outcome, config)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.json, document, indent=1, sort_keys=False)
    print(format_headline(document))
    print()
    print(format_table(document))
    print(f"results: {args.json}")
    for key, failure in outcome.failures.items():
        print(f"failed: {describe_run(key)}: {failure.error}", file=sys.stderr)
    if outcome.failures:
        print(
            f"{len(outcome.failures)} runs failed; the summary is of the "
            f"{len(outcome.results)} that finished (`failed` in {args.json}).",
            file=sys.stderr,
        )
        return 1
    return 0


def _step_sizes(pairs: list[str]) -> dict[str, float]:
    from laetitia.errors import ConfigError

    sizes = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            sizes[name] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"--step-size takes AGENT=SIZE, e.g. hill-climb=0.3; got {pair!r}.")
    return sizes


def _add_pipeline(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pipeline = commands.add_parser(
        "pipeline",
        help="frames per second of the face pipeline for each detector setting and signal",
        description=(
            "Read a video through the face pipeline (decode, detect, track, classify, and the "
            "face landmarker for the smile signal) with each detector setting and signal, the "
            "settings taking turns; print frames per second, agreement with detecting on every "
            "frame and where the time goes (the landmark model's share among it), and write "
            "them as JSON. MediaPipe's own pipeline is timed by "
            "benchmarks/mediapipe_reference.py in an environment of its own. "
            "When the fer package is installed (pip install -e '.[compare]' && pip install "
            "--no-deps fer==25.10.3), its own pipelines run in the same rounds and every "
            "setting's speed is also given as a ratio to theirs."
        ),
    )
    pipeline.add_argument("--video", type=path_arg, required=True, help="the video to read")
    pipeline.add_argument("--repeats", type=whole, default=3, help="timed passes per setting (3)")
    add_frames_argument(pipeline)
    pipeline.add_argument(
        "--model", type=path_arg, default=None, help="FER weights (default: shipped)"
    )
    pipeline.add_argument(
        "--no-fer",
        action="store_true",
        help="do not run the fer package's pipelines even when it is installed",
    )
    pipeline.add_argument("--json", type=path_arg, required=True, help="where to write the results")
    pipeline.set_defaults(func=run_pipeline)


def run_pipeline(args: argparse.Namespace) -> int:
    """Run `laetitia bench pipeline`."""
    from laetitia.app.bench_pipeline import format_table, run_pipeline_bench
    from laetitia.errors import ConfigError
    from laetitia.files import write_json_atomic

    if not args.video.is_file():
        raise ConfigError(f"--video {args.video} is not a file; give the path of a video.")
    figures = run_pipeline_bench(
        args.video,
        repeats=args.repeats,
        frames_per_call=args.frames,
        model_path=args.model,
        fer_settings=() if args.no_fer else None,
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.json, figures, indent=1, sort_keys=False)
    print(format_table(figures))
    print(f"results: {args.json}")
    return 0

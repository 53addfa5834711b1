"""`laetitia study init|run|status|report|export|withdraw`: a study of many participants."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from laetitia.cli import path_arg, whole

if TYPE_CHECKING:
    from laetitia.cli import CommandParser


def add_parser(subparsers: argparse._SubParsersAction[CommandParser]) -> None:
    """Register `laetitia study` and its subcommands."""
    parser = subparsers.add_parser(
        "study",
        help="run a study: participants, counterbalanced conditions, a report, shared data",
        description="A study folder holds a study file (study.toml: conditions, order, "
        "consent, ...) and its participants' sessions. See docs/studies.md.",
    )
    commands = parser.add_subparsers(dest="study_command", metavar="STUDY_COMMAND", required=True)

    init = commands.add_parser(
        "init", help="write an example study file (two conditions) into a new study folder"
    )
    init.add_argument("study", type=path_arg, metavar="DIR", help="the new study folder")
    init.set_defaults(func=run_init)

    run = commands.add_parser(
        "run",
        help="run one participant through their conditions (the same command resumes), or a "
        "dry run on simulated people",
    )
    run.add_argument("study", type=path_arg, metavar="DIR", help="the study folder")
    who = run.add_mutually_exclusive_group(required=True)
    run.names(
        who.add_argument(
            "--participant",
            metavar="ID",
            help="the participant's pseudonym (letters, digits, - and _)",
        )
    )
    run.names(
        who.add_argument(
            "--simulate",
            type=whole,
            metavar="N",
            help="a dry run: N simulated participants (sim-01 ...), no consent screen, no "
            "calibration",
        )
    )
    run.add_argument(
        "--simulated",
        action="store_true",
        help="with --participant: this participant is one of the study's simulated people",
    )
    run.add_argument("--no-progress", action="store_true", help="show no progress bar")
    run.set_defaults(func=run_run)

    status = commands.add_parser("status", help="who has done what, and what comes next")
    status.add_argument("study", type=path_arg, metavar="DIR", help="the study folder")
    status.set_defaults(func=run_status)

    report = commands.add_parser(
        "report", help="an HTML report of the study (figures embedded) and a JSON of its figures"
    )
    report.add_argument("study", type=path_arg, metavar="DIR", help="the study folder")
    report.add_argument(
        "--out", type=path_arg, required=True, metavar="REPORT.html", help="the page to write"
    )
    report.set_defaults(func=run_report)

    export = commands.add_parser(
        "export", help="the study's data (or one session's) as Parquet tables or Minari datasets"
    )
    export.add_argument(
        "study", type=path_arg, metavar="DIR", help="the study folder, or one session folder"
    )
    export.add_argument("--format", required=True, choices=["parquet", "minari"])
    export.add_argument(
        "--out",
        type=path_arg,
        required=True,
        metavar="PATH",
        help="a new folder: the tables, or a Minari datasets root (MINARI_DATASETS_PATH=PATH)",
    )
    export.set_defaults(func=run_export)

    withdraw = commands.add_parser(
        "withdraw",
        help="delete a participant's data everywhere in the study (exports included)",
    )
    withdraw.add_argument("study", type=path_arg, metavar="DIR", help="the study folder")
    withdraw.add_argument("participant", metavar="ID", help="the participant's pseudonym")
    withdraw.set_defaults(func=run_withdraw)


def run_init(args: argparse.Namespace) -> int:
    """Run `laetitia study init`."""
    from laetitia.app.study.run import init_study

    path = init_study(args.study)
    print(f"study file: {path}")
    print(f"edit it, then try it on simulated people: laetitia study run {args.study} --simulate 6")
    return 0


def run_run(args: argparse.Namespace) -> int:
    """Run `laetitia study run`."""
    from laetitia.app.study.run import run_participant, simulate
    from laetitia.errors import StudyError

    progress = not args.no_progress
    if args.simulate is not None:
        if args.simulated:
            raise StudyError(
                "simulated names one participant as simulated; `simulate` runs simulated ones.",
                field="simulated",
                mentions=("simulate",),
            )
        outcomes = simulate(args.study, args.simulate, progress=progress)
    else:
        if args.simulated:
            from laetitia.app.study.run import DRY_RUN_NOTE

            print(DRY_RUN_NOTE)
        outcomes = [
            run_participant(args.study, args.participant, args.simulated, progress=progress)
        ]
    for outcome in outcomes:
        if outcome.stopped:
            print(f"{outcome.participant}: stopped: {outcome.stopped}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Run `laetitia study status`."""
    from laetitia.app.study.status import format_status, study_status

    print(format_status(study_status(args.study)))
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Run `laetitia study report`."""
    from laetitia.app.study.report import write_report

    written = write_report(args.study, args.out)
    print(f"report: {written.html}")
    print(f"figures (JSON): {written.json}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Run `laetitia study export`."""
    from laetitia.app.study.export import export

    record = export(args.study, args.format, args.out)
    print(f"exported {len(record.participants)} participant(s) to {record.path}")
    for dataset in record.datasets:
        print(f"  Minari dataset {dataset} (MINARI_DATASETS_PATH={record.path})")
    for name in record.written if record.format == "parquet" else ():
        print(f"  {Path(record.path) / name}")
    return 0


def run_withdraw(args: argparse.Namespace) -> int:
    """Run `laetitia study withdraw`."""
    from laetitia.app.study.withdraw import withdraw

    withdrawn = withdraw(args.study, args.participant)
    print(f"{args.participant}: withdrawn; their data is deleted from {args.study}")
    for path in withdrawn.exports_deleted:
        print(f"  deleted the export {path} (it held their data; export again)")
    for path in withdrawn.exports_missing:
        print(f"  the export {path} held their data and is no longer there: delete any copy")
    return 0

"""`laetitia fer eval-smiles FOLDER`: how well each smile signal tells smiles from neutral faces."""

from __future__ import annotations

import argparse

from laetitia.cli import path_arg, whole

MAX_RESAMPLES = 100_000
"""The most bootstrap resamples (each draws every person; 100 people: 80 MB of draws)."""


def add_parser(fer_subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia fer eval-smiles`."""
    from laetitia.faces import DETECTOR_NAMES
    from laetitia.signals import SIGNALS

    parser = fer_subparsers.add_parser(
        "eval-smiles",
        help="how well each smile signal tells a person's smile from their neutral face",
        description=(
            "Read FOLDER/neutral/ID.jpg and FOLDER/smiling/ID.jpg (one photo of each person "
            "each) and report per signal: ROC AUC neutral vs smiling, the share of smiling "
            "photos read 0.5 or above, of neutral ones read below 0.5, of people whose smile "
            "reads above their neutral face, and the median smiling reading; overall and by "
            "group (--people), with 95%% bootstrap intervals over people. Prints a table; "
            "--json writes every figure."
        ),
    )
    parser.add_argument("folder", type=path_arg, metavar="FOLDER", help="a folder of faces")
    parser.add_argument(
        "--people",
        type=path_arg,
        default=None,
        metavar="CSV",
        help="a CSV with a person id column (the first, or --id-column) and group columns "
        "(each column whose values are not numbers groups the people)",
    )
    parser.add_argument(
        "--id-column", default=None, metavar="NAME", help="the person id column of --people"
    )
    parser.add_argument(
        "--signal",
        dest="signals",
        action="append",
        choices=tuple(SIGNALS),
        metavar="NAME",
        help=f"a signal to evaluate, repeatable ({', '.join(SIGNALS)}; default: every one)",
    )
    parser.add_argument(
        "--detector",
        choices=DETECTOR_NAMES,
        default=DETECTOR_NAMES[0],
        help="face detector (default: %(default)s)",
    )
    parser.add_argument(
        "--resamples", type=whole, default=2000, help="bootstrap resamples (default 2000)"
    )
    parser.add_argument("--json", type=path_arg, metavar="OUT", help="write every figure here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write the JSON."""
    from laetitia.app.smiles import evaluate_smiles, find_pairs, read_groups
    from laetitia.errors import ConfigError
    from laetitia.files import check_output_file, write_json_atomic
    from laetitia.signals import SIGNAL_NAMES

    if not 1 <= args.resamples <= MAX_RESAMPLES:
        # Every resample's draw of people is held at once: the bound keeps that in memory.
        raise ConfigError(
            f"resamples must be from 1 to {MAX_RESAMPLES}, got {args.resamples}.", "resamples"
        )
    if args.json is not None:
        check_output_file(args.json, "json")
    pairs = find_pairs(args.folder)
    groups = None if args.people is None else read_groups(args.people, args.id_column)
    signals = list(dict.fromkeys(args.signals or SIGNAL_NAMES))
    report = evaluate_smiles(pairs, signals, groups, args.detector, args.resamples)
    print(f"{args.folder}: {len(pairs.people)} people, each a neutral and a smiling photo")
    print(report.table())
    if args.json is not None:
        write_json_atomic(args.json, report.to_json())
        print(f"wrote {args.json}")
    return 0

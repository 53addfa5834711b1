"""`laetitia plot`: learning curves and the emoticons behind them, from session folders."""

from __future__ import annotations

import argparse

from laetitia.cli import path_arg, whole

KINDS = ("overview", "curve", "params", "emotions")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia plot`."""
    from laetitia.app.plots import CURVE_METRICS, ROLLING_WINDOW

    parser = subparsers.add_parser(
        "plot",
        help="draw learning curves of sessions into an image file",
        description="Draw one or more sessions into an image file. One session: by default an "
        "overview (learning curve, best emoticon, parameters, emotions). Several: one row per "
        "session, or with --by agent one mean curve per agent with its 95% Student-t band.",
    )
    parser.add_argument(
        "sessions",
        nargs="+",
        type=path_arg,
        metavar="SESSION",
        help="session folder, or a folder holding sessions (e.g. runs/)",
    )
    parser.add_argument(
        "--out", type=path_arg, required=True, help="image file to write (.png, .pdf, .svg)"
    )
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default="overview",
        help="overview (default), curve (with the best emoticon), params or emotions",
    )
    parser.add_argument(
        "--by",
        choices=("agent",),
        default=None,
        help="agent: one mean curve per agent over its sessions, with a 95%% band",
    )
    parser.add_argument(
        "--metric",
        choices=list(CURVE_METRICS),
        default="rolling",
        help="what --by agent averages: rolling mean (default), running best, or raw happiness",
    )
    parser.add_argument(
        "--window",
        type=whole,
        default=ROLLING_WINDOW,
        help=f"steps in the rolling mean (default {ROLLING_WINDOW})",
    )
    parser.add_argument(
        "--dpi", type=whole, default=110, help="resolution of raster images (default 110)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run `laetitia plot`."""
    from laetitia.app import plots
    from laetitia.errors import ConfigError
    from laetitia.files import check_figure_path, save_figure
    from laetitia.sessions import load_sessions

    if args.window < 1:
        raise ConfigError(f"--window must be at least 1 step, got {args.window}.")
    check_figure_path(args.out)
    sessions = load_sessions(args.sessions)
    if args.by == "agent":
        if args.kind not in ("overview", "curve"):
            raise ConfigError(
                f"--by agent draws learning curves; drop --kind {args.kind} or use --kind curve."
            )
        fig = plots.agents_figure(sessions, args.metric, args.window)
    elif len(sessions) == 1:
        session = sessions[0]
        fig = {
            "overview": lambda: plots.overview_figure(session, args.window),
            "curve": lambda: plots.curve_figure(session, args.window),
            "params": lambda: plots.params_figure(session),
            "emotions": lambda: plots.emotions_figure(session),
        }[args.kind]()
    else:
        kind = "curve" if args.kind == "overview" else args.kind
        fig = plots.sessions_figure(sessions, kind, args.window)
    path = save_figure(fig, args.out, args.dpi)
    print(f"{len(sessions)} session{'s' if len(sessions) > 1 else ''} drawn: {path}")
    return 0

"""`laetitia replay`: re-score a recorded session's frames with a model and a face detector."""

from __future__ import annotations

import argparse

from laetitia.cli import path_arg


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia replay`."""
    parser = subparsers.add_parser(
        "replay",
        help="re-score a recorded session (another model, face detector or signal)",
        description="Run a recorded session's frames through the face detector and FER model "
        "again, or score it by another signal. Writes OUT/steps.csv in the session format "
        "(re-scored reward, and the recorded one as recorded_reward), OUT/meta.json and "
        "OUT/summary.json. With the model, detector and signal the session was recorded with, "
        "the rewards come out identical. A signal is computed from frames.csv when it keeps "
        "what the signal needs (the class probabilities always; smile's blendshapes when the "
        "session measured them), else from the kept frames.",
    )
    parser.add_argument("session", type=path_arg, metavar="SESSION", help="recorded session folder")
    parser.add_argument("--out", type=path_arg, required=True, help="folder to write")
    parser.add_argument(
        "--model",
        dest="model_path",
        type=path_arg,
        default=None,
        metavar="PATH",
        help="FER model (.safetensors); default: the one the session was recorded with",
    )
    from laetitia.faces import DETECTOR_NAMES

    parser.add_argument(
        "--detector",
        default=None,
        metavar="NAME",
        help=f"face detector ({', '.join(DETECTOR_NAMES)}); default: the one the session was "
        "recorded with",
    )
    parser.add_argument(
        "--profile",
        type=path_arg,
        default=None,
        metavar="PROFILE",
        help="the calibration profile the session was scored through, to re-score through it "
        "(a file a session names is never opened: name it)",
    )
    from laetitia.cli.train import add_signal_argument

    add_signal_argument(parser, "the one the session was scored by")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run `laetitia replay`."""
    from laetitia.app.replay import SUMMARY_FILE, replay_session

    result = replay_session(
        args.session,
        args.out,
        model_path=args.model_path,
        detector=args.detector,
        profile=args.profile,
        signal=args.signal,
    )
    print(result.summary.text())
    print(f"re-scored session: {result.folder} (steps.csv, meta.json, {SUMMARY_FILE})")
    return 0

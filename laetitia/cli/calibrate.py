"""`laetitia calibrate`: fit a personal P(smile) profile, live or from a recording."""

from __future__ import annotations

import argparse

from laetitia.cli import number, path_arg


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia calibrate`."""
    from laetitia.app.calibration import L2_DEFAULT
    from laetitia.faces import DETECTOR_NAMES

    parser = subparsers.add_parser(
        "calibrate",
        help="calibrate a smile signal to you, from your neutral and smiling face",
        description="Fit a profile that maps a smile signal (--signal: the smile blendshapes "
        "by default, or the FER model's output) to the probability that this person smiles, "
        "so a resting face reads near zero. Live (default): a window asks "
        "for a neutral face, a smile, then a neutral face again while the camera records. "
        "From a recording: --video PATH with --neutral and --smile time ranges in seconds. "
        "Writes PROFILE (JSON), PROFILE's .report.json/.report.png (held-out figures), "
        ".frames.csv and, unless --no-frames, the frames in .frames/ for auditing. Use the "
        "profile with --profile PROFILE in `laetitia train` and `laetitia fer predict`, with "
        "the same --signal: a profile made for one signal is refused for another.",
    )
    parser.add_argument("--out", type=path_arg, required=True, help="profile file to write (.json)")
    parser.add_argument(
        "--video", type=path_arg, default=None, help="calibrate from this recording, not live"
    )
    parser.add_argument(
        "--neutral",
        action="append",
        default=[],
        metavar="START-END",
        help="with --video: seconds where the face is neutral, e.g. 0-1.5 (repeatable)",
    )
    parser.add_argument(
        "--smile",
        action="append",
        default=[],
        metavar="START-END",
        help="with --video: seconds where the person smiles, e.g. 2-3.5 (repeatable)",
    )
    parser.add_argument(
        "--camera",
        default="0",
        metavar="SOURCE",
        help="live: webcam index (default 0), or a video file / image folder as a stand-in",
    )
    parser.add_argument(
        "--hold", type=number, default=4.0, help="live: seconds of each prompt (default 4)"
    )
    parser.add_argument(
        "--ready",
        type=number,
        default=3.0,
        help="live: seconds before the first prompt (default 3)",
    )
    parser.add_argument(
        "--settle",
        type=number,
        default=1.0,
        help="live: seconds at the start of each prompt that are not used (default 1)",
    )
    parser.add_argument(
        "--detector", choices=DETECTOR_NAMES, default=DETECTOR_NAMES[0], help="face detector"
    )
    parser.add_argument(
        "--model", type=path_arg, default=None, help="FER model file (default: the shipped one)"
    )
    from laetitia.cli.train import add_signal_argument
    from laetitia.signals import DEFAULT_SIGNAL

    add_signal_argument(parser, DEFAULT_SIGNAL)
    parser.add_argument(
        "--no-frames",
        action="store_true",
        help="write no image of the person: only the profile, report and per-frame figures",
    )
    parser.add_argument(
        "--l2",
        type=number,
        default=L2_DEFAULT,
        help=f"L2 penalty of the logistic regression (default {L2_DEFAULT})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run `laetitia calibrate`."""
    from laetitia.app.calibration import (
        CalibrationConfig,
        calibrate_live,
        calibrate_video,
        default_prompts,
    )
    from laetitia.errors import CalibrationError
    from laetitia.signals import DEFAULT_SIGNAL

    config = CalibrationConfig(out=args.out, keep_frames=not args.no_frames, l2=args.l2)
    if args.video is not None:
        result = calibrate_video(
            args.video,
            neutral=args.neutral,
            smile=args.smile,
            config=config,
            detector=args.detector,
            model=args.model,
            progress=True,
            signal=args.signal or DEFAULT_SIGNAL,
        )
    else:
        if args.neutral or args.smile:
            raise CalibrationError(
                "--neutral and --smile name spans of a recording: give the recording with "
                "--video PATH, or leave them out to calibrate live."
            )
        result = calibrate_live(
            args.camera,
            config=config,
            detector=args.detector,
            model=args.model,
            prompts=default_prompts(args.hold),
            ready_s=args.ready,
            settle_s=args.settle,
            signal=args.signal or DEFAULT_SIGNAL,
        )
    print(result.report.summary())
    print(f"profile: {result.profile_path}")
    print(f"report: {result.report_json}, {result.report_png}")
    frames = f"{result.frames_csv}" + (f", {result.frames_dir}/" if result.frames_dir else "")
    print(f"frames: {frames}")
    return 0

"""`laetitia fer predict PATH`: emotions of every frame of a video, folder of images or image."""

from __future__ import annotations

import argparse

from laetitia.cli import path_arg, whole
from laetitia.faces import DETECT_EVERY, DETECTOR_NAMES, TRACKERS


def add_parser(fer_subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia fer predict`."""
    parser = fer_subparsers.add_parser(
        "predict",
        help="emotion probabilities and the smile signal of each frame of a video, folder of "
        "images, or image",
        description=(
            "Find the face in each frame (or image), classify its expression, read the smile "
            "signal (--signal), print a summary and optionally write a CSV (one row per frame: "
            "the class probabilities, then the signal's value, the number a reward would "
            "average) and a timeline plot."
        ),
    )
    parser.add_argument("path", type=path_arg, help="a video file, a folder of images, or an image")
    parser.add_argument(
        "--csv", type=path_arg, metavar="OUT", help="write one row per frame/image to this CSV"
    )
    parser.add_argument(
        "--plot", type=path_arg, metavar="OUT", help="write an emotion timeline PNG here"
    )
    parser.add_argument(
        "--detector",
        choices=DETECTOR_NAMES,
        default=DETECTOR_NAMES[0],
        help="face detector; 'none' when each image already is a face crop "
        "(FER2013 style) (default: %(default)s)",
    )
    parser.add_argument(
        "--model",
        type=path_arg,
        metavar="PATH",
        help="FER weights file (default: the shipped model)",
    )
    parser.add_argument(
        "--detect-every",
        type=whole,
        default=None,
        metavar="K",
        help="in a video, run the detector on every K-th frame and track the face in between; "
        "1 detects on every frame (default: "
        + ", ".join(f"{DETECT_EVERY[name]} for {name}" for name in DETECTOR_NAMES if name != "none")
        + ")",
    )
    parser.add_argument(
        "--tracker",
        choices=TRACKERS,
        default=TRACKERS[0],
        help="how the face is followed between detections (default: %(default)s)",
    )
    parser.add_argument(
        "--profile",
        type=path_arg,
        metavar="PROFILE",
        help="a person's calibration profile (laetitia calibrate, with the same --signal): "
        "the signal becomes their calibrated P(smile)",
    )
    from laetitia.cli.train import add_signal_argument
    from laetitia.signals import DEFAULT_SIGNAL

    add_signal_argument(parser, DEFAULT_SIGNAL)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Predict, print the summary, write the requested files."""
    from laetitia.app.calibration import calibrated
    from laetitia.app.predict import predict_source
    from laetitia.errors import ConfigError
    from laetitia.files import check_figure_path, check_output_file
    from laetitia.meter import HappinessMeter
    from laetitia.signals import DEFAULT_SIGNAL

    if args.detect_every is not None and args.detect_every < 1:
        raise ConfigError(f"--detect-every must be at least 1, got {args.detect_every}.")
    # Refuse unwritable outputs before a long video is read, not after.
    if args.csv is not None:
        check_output_file(args.csv, "csv")
    if args.plot is not None:
        check_output_file(check_figure_path(args.plot, "plot"), "plot")
    meter = HappinessMeter.live(
        args.detector,
        args.model,
        detect_every=args.detect_every,
        tracker=args.tracker,
        signal=args.signal or DEFAULT_SIGNAL,
    )
    meter = calibrated(meter, args.profile)
    result = predict_source(args.path, meter, progress=not args.no_progress)
    print(result.summary())
    if args.csv is not None:
        print(f"wrote {result.write_csv(args.csv)}")
    if args.plot is not None:
        print(f"wrote {result.plot_timeline(args.plot)}")
    return 0

"""`laetitia video`: a recorded session as an MP4 video, the live window as the person saw it."""

from __future__ import annotations

import argparse

from laetitia.cli import number, path_arg, whole


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia video`."""
    parser = subparsers.add_parser(
        "video",
        help="draw a recorded session into an MP4 video, as the person saw it",
        description="Draw a session step by step the way the live window showed it (the "
        "emoticon, the camera frame with the face box, the gauge, the reward curve so far) into "
        "an MP4 file a browser plays (H.264). A camera session plays at the pace it was "
        "recorded, divided by --speed; a session recorded with --no-frames shows each frame's "
        "probabilities where its image would be; a session without a camera (sim, person, "
        "session viewers) gives each step --sim-step seconds. A session still being recorded "
        "is drawn up to its last completed step.",
    )
    parser.add_argument("session", type=path_arg, metavar="SESSION", help="session folder")
    parser.add_argument("--out", type=path_arg, required=True, help="MP4 file to write")
    parser.add_argument(
        "--speed",
        type=number,
        default=None,
        metavar="K",
        help="play K times faster than the session ran (default 1: real speed)",
    )
    parser.add_argument("--fps", type=whole, default=None, help="frames per second (default 10)")
    parser.add_argument(
        "--sim-step",
        dest="sim_step_s",
        type=number,
        default=None,
        metavar="SECONDS",
        help="seconds per step of a session without a camera (default 0.5)",
    )
    parser.add_argument(
        "--width",
        type=whole,
        default=None,
        metavar="PX",
        help="video width in pixels, even; the height follows (default 960: 960x600)",
    )
    parser.add_argument(
        "--blur-faces",
        dest="blur_faces",
        action="store_true",
        default=None,
        help="pixelate the person: the face box, or the whole frame where no face was found",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run `laetitia video`."""
    from laetitia.app.video import VideoConfig, write_session_video

    chosen = {
        name: getattr(args, name)
        for name in ("speed", "fps", "sim_step_s", "width", "blur_faces")
        if getattr(args, name) is not None
    }
    config = VideoConfig(session=args.session, out=args.out, **chosen)
    result = write_session_video(config, progress=not args.quiet)
    width, height = result.size
    print(
        f"{result.steps} steps drawn: {result.duration_s:.1f} s of video, {result.frames} frames "
        f"at {result.fps} fps, {width}x{height}, H.264 ({result.render_s:.1f} s to draw)"
    )
    if not result.timed:
        print(f"no camera: each step is shown for {config.sim_step_s / config.speed:g} s")
    elif not result.images:
        print("no camera image was kept: each frame's probabilities are shown in its place")
    print(f"video: {result.path}")
    return 0

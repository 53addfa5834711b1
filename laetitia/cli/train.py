"""`laetitia train`: any agent against any viewer, every step recorded."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from laetitia.cli import number, path_arg, whole
from laetitia.run_settings import RUN_DEFAULTS, STEP_SIZE
from laetitia.viewers.spec import SPEC_FORMS

if TYPE_CHECKING:
    from pathlib import Path

    from laetitia.app.training import TrainResult
    from laetitia.app.web.session import WebOptions
    from laetitia.cli import CommandParser


def add_common_run_arguments(parser: argparse.ArgumentParser, steps: int) -> None:
    """Arguments every training command shares."""
    parser.add_argument(
        "--steps", type=whole, default=None, help=f"steps to take (default {steps})"
    )
    parser.set_defaults(default_steps=steps)
    parser.add_argument("--seed", type=whole, default=0, help="seed of the run (default 0)")


def add_frames_argument(parser: argparse.ArgumentParser) -> None:
    """--frames: frames read per step (`RunSettings.frames`), for every command that runs steps."""
    parser.add_argument(
        "--frames",
        type=whole,
        default=RUN_DEFAULTS.frames,
        help=f"frames read per step (default {RUN_DEFAULTS.frames})",
    )


def add_timing_arguments(parser: argparse.ArgumentParser) -> None:
    """--settle and --camera-fps: when a step's frames are read (`RunSettings`)."""
    parser.add_argument(
        "--settle",
        dest="settle_s",
        type=number,
        default=RUN_DEFAULTS.settle_s,
        help=f"seconds to wait after a change (default {RUN_DEFAULTS.settle_s})",
    )
    parser.add_argument(
        "--camera-fps",
        type=number,
        default=RUN_DEFAULTS.camera_fps,
        help="frames per second of the camera: a simulated person of people-v3 is read at it, "
        f"and a person's time counted with it (default {RUN_DEFAULTS.camera_fps:g})",
    )


def add_signal_argument(parser: argparse.ArgumentParser, default: str) -> None:
    """--signal NAME: the smile signal the reward averages (`RunSettings.signal`)."""
    from laetitia.signals import SIGNALS

    named = "; ".join(f"{name}: {signal.summary}" for name, signal in SIGNALS.items())
    parser.add_argument(
        "--signal",
        choices=tuple(SIGNALS),
        default=None,
        metavar="NAME",
        help=f"the smile signal a frame is scored by ({named}) (default: {default})",
    )


def add_run_arguments(
    parser: argparse.ArgumentParser, from_training: bool = False, renamed: Sequence[str] = ()
) -> None:
    """The run settings (`laetitia.run_settings.RunSettings`) as options, with their defaults.

    --frames, --settle, --camera-fps, --step-size, --max-episode-steps, --signal, and the face
    pipeline: --detector, --model and --profile, how a webcam or video viewer reads the face.

    Args:
        parser: The command's parser.
        from_training: The defaults of the step size, the episode length and the face pipeline
            are a training session's (`laetitia evaluate`): each defaults to None, meaning "as
            the agent was trained".
        renamed: The command's old spellings of --max-episode-steps, which still work and say
            they are deprecated.
    """
    from laetitia.cli import add_renamed
    from laetitia.faces import DETECTOR_NAMES

    add_frames_argument(parser)
    add_timing_arguments(parser)
    parser.add_argument(
        "--step-size",
        type=number,
        default=None,
        help="largest change per step, fraction of range (default: the agent's"
        + (" training step size)" if from_training else f", {STEP_SIZE} for most)"),
    )
    episode = parser.add_argument(
        "--max-episode-steps",
        type=whole,
        default=None if from_training else RUN_DEFAULTS.max_episode_steps,
        metavar="N",
        help="steps per episode (default: the agent's training episode length)"
        if from_training
        else f"steps per episode (default {RUN_DEFAULTS.max_episode_steps})",
    )
    for old in renamed:
        add_renamed(parser, old, episode)
    default = "default: the training session's, else" if from_training else "default:"
    parser.add_argument(
        "--detector",
        default=None,
        help=f"face detector of a webcam or video viewer: {', '.join(DETECTOR_NAMES)} "
        f"({default} {DETECTOR_NAMES[0]})",
    )
    parser.add_argument(
        "--model",
        type=path_arg,
        default=None,
        metavar="PATH",
        help=f"FER model ({default} the shipped one)",
    )
    parser.add_argument(
        "--profile",
        type=path_arg,
        default=None,
        metavar="PROFILE",
        help="your calibration profile (laetitia calibrate): the reward becomes your "
        f"calibrated P(smile) ({default} none)",
    )
    add_signal_argument(
        parser,
        ("the training session's, else " if from_training else "")
        + "smile for a webcam or video, the viewer's own for a simulated one",
    )


def add_view_arguments(parser: argparse.ArgumentParser) -> None:
    """What the participant and the experimenter see, and where the pages are served.

    --screen, --blank, --instructions, --dashboard, --preview, --tls-cert and --tls-key
    (`laetitia.app.web.session`).
    """
    from laetitia.app.web.feed import PREVIEWS
    from laetitia.viewers.stage import SCREENS

    parser.add_argument(
        "--screen",
        default="full",
        help=f"what the person at a webcam sees: {', '.join(SCREENS)} (default full: the "
        "emoticon beside their reading; participant: the emoticon alone, full screen or in a "
        "window of WxH pixels)",
    )
    parser.add_argument(
        "--blank",
        dest="blank_s",
        type=number,
        default=0.0,
        metavar="S",
        help="seconds of a plain screen between emoticons on a participant's screen (default 0)",
    )
    parser.add_argument(
        "--instructions",
        type=path_arg,
        default=None,
        metavar="FILE",
        help="a text file a participant's screen shows before the first emoticon, until they "
        "press space",
    )
    parser.add_argument(
        "--dashboard",
        default=None,
        metavar="[HOST:]PORT",
        help="serve the experimenter's dashboard there (host 127.0.0.1 unless given): the "
        "step, the emoticon, the camera preview, the reading, the curve, pause/resume/end",
    )
    parser.add_argument(
        "--preview",
        default="face",
        choices=PREVIEWS,
        help="what the dashboard's camera preview shows (default face: the frame with the face "
        "box; blur; none; always none with --no-frames)",
    )
    parser.add_argument(
        "--tls-cert",
        type=path_arg,
        default=None,
        metavar="PEM",
        help="a certificate to serve the pages over HTTPS: needed to serve them off this "
        "machine (a HOST that is not 127.0.0.1)",
    )
    parser.add_argument(
        "--tls-key", type=path_arg, default=None, metavar="PEM", help="the certificate's key"
    )


WEB_OPTIONS = ("dashboard", "preview", "tls_cert", "tls_key")
"""The options of how a session is watched (`WebOptions`), which a resume may choose afresh."""


def web_options(args: argparse.Namespace) -> WebOptions:
    """The `WebOptions` the command line asks for."""
    from laetitia.app.web.session import WebOptions

    return WebOptions(**{name: getattr(args, name) for name in WEB_OPTIONS})


def read_instructions(path: Path | None) -> str | None:
    """The text of an instructions file (`--instructions`), or None.

    Raises:
        ConfigError: If the file cannot be read as text (`field` "instructions").
    """
    if path is None:
        return None
    from laetitia.errors import ConfigError

    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"instructions {path}: cannot be read as a text file ({error}).", field="instructions"
        ) from error


def add_parser(subparsers: argparse._SubParsersAction[CommandParser]) -> None:
    """Register `laetitia train`."""
    from laetitia.agents import AGENTS

    agents = "; ".join(f"{name}: {entry.summary}" for name, entry in AGENTS.items())
    parser = subparsers.add_parser(
        "train",
        help="train an agent against a viewer and record the session",
        description=f"Train an agent against a viewer and record the session. Agents: {agents}.",
    )
    parser.add_argument("--agent", default="hill-climb", choices=sorted(AGENTS))
    parser.add_argument(
        "--viewer", default="webcam", help=f"who looks: {', '.join(SPEC_FORMS)} (default webcam)"
    )
    where = parser.add_mutually_exclusive_group(required=True)
    parser.names(where.add_argument("--out", type=path_arg, help="session folder to write"))
    parser.names(
        where.add_argument(
            "--resume",
            type=path_arg,
            metavar="DIR",
            help="continue the session in DIR with its own settings (--steps adds that many "
            "steps). Files and folders outside DIR are never taken from it: name them here "
            "(--model, --profile, --viewer video:PATH, each checked against the session's "
            "record; --tensorboard to log the resume)",
        )
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="with --resume: keep a damaged session's steps before the damage, drop the rest",
    )
    add_common_run_arguments(parser, steps=200)
    add_run_arguments(parser, renamed=("--episode-steps",))
    parser.add_argument(
        "--no-frames",
        dest="keep_frames",
        action="store_false",
        help="keep no camera image in the session, only per-frame probabilities and face boxes",
    )
    parser.add_argument(
        "--no-window",
        action="store_true",
        help="no live window for a video viewer (a webcam viewer always shows one)",
    )
    add_view_arguments(parser)
    parser.add_argument(
        "--agent-arg",
        dest="agent_args",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an agent setting, e.g. remeasure_every=10 (repeatable; over --agent-config's)",
    )
    parser.add_argument(
        "--agent-config",
        type=path_arg,
        default=None,
        metavar="FILE",
        help="agent settings from a JSON file, e.g. the best_settings.json of `laetitia tune`",
    )
    parser.add_argument(
        "--prior",
        nargs="+",
        type=path_arg,
        default=[],
        metavar="SESSION",
        help="learn a prior from other people's sessions (folders, or folders of them) for an "
        "agent that takes one (bayes-opt): it starts where they smiled",
    )
    parser.add_argument(
        "--tensorboard",
        type=path_arg,
        default=None,
        metavar="DIR",
        help="write TensorBoard logs of the run under DIR (every agent; ppo and dqn add theirs)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run `laetitia train`."""
    from laetitia.app.agent_settings import agent_args_with_file
    from laetitia.app.training import TrainConfig, parse_agent_args, resume, train
    from laetitia.cli import given_options
    from laetitia.errors import ConfigError

    if args.resume is not None:
        asked = given_options(args.command_parser, args.argv[1:])
        for name in ("resume", "repair", "steps", "threads"):
            asked.pop(name, None)
        if "agent_config" in asked:
            raise ConfigError(
                "agent_config: a resumed session keeps the settings it was started with; "
                "start a new session to use the file's.",
                field="agent_config",
            )
        if "agent_args" in asked:
            asked["agent_args"] = parse_agent_args(args.agent_args)
        if "no_window" in asked:
            asked = {k: v for k, v in asked.items() if k != "no_window"}
        if "instructions" in asked:
            asked["instructions"] = read_instructions(args.instructions)
        for name in WEB_OPTIONS:  # how the session is watched, not what it records
            asked.pop(name, None)
        result = resume(
            args.resume, steps=args.steps, repair=args.repair, asked=asked, web=web_options(args)
        )
        report(result)
        return 0
    if args.repair:
        raise ConfigError(
            "repair applies to a session being resumed (`resume`).",
            field="repair",
            mentions=("resume",),
        )
    config = TrainConfig(
        out=args.out,
        agent=args.agent,
        viewer=args.viewer,
        steps=args.default_steps if args.steps is None else args.steps,
        seed=args.seed,
        frames=args.frames,
        settle_s=args.settle_s,
        camera_fps=args.camera_fps,
        step_size=args.step_size,
        max_episode_steps=args.max_episode_steps,
        keep_frames=args.keep_frames,
        detector=args.detector,
        model=args.model,
        profile=args.profile,
        signal=args.signal,
        window=not args.no_window or args.viewer.startswith("webcam"),
        screen=args.screen,
        blank_s=args.blank_s,
        instructions=read_instructions(args.instructions),
        agent_args=agent_args_with_file(
            args.agent, args.agent_config, parse_agent_args(args.agent_args)
        ),
        prior=tuple(args.prior),
        tensorboard=args.tensorboard,
    )
    report(train(config, web=web_options(args)))
    return 0


def report(result: TrainResult) -> None:
    """Print where a finished run wrote its session and figures."""
    session = result.session
    print(f"session: {result.folder}  ({session.n_steps} steps)")
    if result.stopped_early:
        print(f"stopped early: {result.stopped_early}")
    best = result.best
    if result.best_png is None or best is None:
        print("no step saw a face: no best emoticon or learning curve.")
        return
    named = ", ".join(f"{n}={v:.3f}" for n, v in zip(session.param_names, best.params, strict=True))
    shown = "" if best.first_step is None else f"first shown at step {best.first_step}, "
    from laetitia.app.plots import signal_label

    print(f"best emoticon: {shown}{best.describe(signal_label(session))}")
    print(f"  {named}")
    print(f"best emoticon image: {result.best_png}")
    print(f"learning curve: {result.curve_png}")

"""`laetitia evaluate`: a trained agent's happiness over whole episodes, learning nothing."""

from __future__ import annotations

import argparse
import math

from laetitia.cli import path_arg, whole
from laetitia.cli.train import add_run_arguments, add_view_arguments
from laetitia.viewers.spec import SPEC_FORMS


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `laetitia evaluate`."""
    parser = subparsers.add_parser(
        "evaluate",
        help="run a trained agent's policy and report the viewer's mean happiness",
        description="Run a saved agent's policy (deterministic actions unless --stochastic) "
        "for whole episodes against a viewer and report the mean happiness, per episode and "
        "over all. The agent learns nothing. The environment is the one it was trained with, "
        "and a webcam or video viewer reads the face as in training (the training session's "
        "detector, FER model and calibration profile) unless --detector, --model or --profile "
        "say otherwise.",
    )
    parser.add_argument(
        "--agent-path",
        type=path_arg,
        required=True,
        metavar="PATH",
        help="the saved agent folder (a training session's agent/ folder)",
    )
    parser.add_argument(
        "--viewer", default="webcam", help=f"who looks: {', '.join(SPEC_FORMS)} (default webcam)"
    )
    parser.add_argument("--episodes", type=whole, default=5, help="episodes to run (5)")
    parser.add_argument("--seed", type=whole, default=0, help="seed of the viewer's noise (0)")
    parser.add_argument(
        "--stochastic",
        dest="deterministic",
        action="store_false",
        help="sample actions as in training instead",
    )
    add_run_arguments(parser, from_training=True, renamed=("--steps-per-episode",))
    parser.add_argument(
        "--out",
        type=path_arg,
        default=None,
        help="record the evaluation as a session in this folder",
    )
    parser.add_argument(
        "--no-frames",
        dest="keep_frames",
        action="store_false",
        default=None,
        help="with --out: keep no camera image, only per-frame probabilities and face boxes "
        "(default: as the training session; a session without frames gives none)",
    )
    add_view_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run `laetitia evaluate`."""
    from laetitia.app.evaluation import EVALUATION_FILE, EvaluationConfig, evaluate_saved
    from laetitia.cli.train import read_instructions, web_options

    config = EvaluationConfig(
        agent_path=args.agent_path,
        viewer=args.viewer,
        episodes=args.episodes,
        max_episode_steps=args.max_episode_steps,
        seed=args.seed,
        deterministic=args.deterministic,
        frames=args.frames,
        settle_s=args.settle_s,
        camera_fps=args.camera_fps,
        step_size=args.step_size,
        out=args.out,
        detector=args.detector,
        model=args.model,
        profile=args.profile,
        signal=args.signal,
        keep_frames=args.keep_frames,
        screen=args.screen,
        blank_s=args.blank_s,
        instructions=read_instructions(args.instructions),
    )
    result = evaluate_saved(config, web=web_options(args))
    actions = "deterministic" if result.deterministic else "stochastic"
    print(f"agent: {result.agent} ({actions} actions), {result.steps} steps")
    for i, value in enumerate(result.episode_happiness):
        print(f"episode {i}: mean happiness {_show(value)}")
    print(f"mean happiness: {_show(result.mean_happiness)}")
    if result.scored_steps < result.steps:
        print(f"{result.steps - result.scored_steps} steps saw no face and are not counted.")
    if config.out is not None:
        print(f"session: {config.out}  (figures in {config.out / EVALUATION_FILE})")
    return 0


def _show(value: float) -> str:
    return "n/a (no face seen)" if math.isnan(value) else f"{value:.3f}"

"""One way to train any agent: a config in, a session folder out."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from laetitia.agents import AGENTS, agent_class
from laetitia.agents.callbacks import AgentCheckpoint, ProgressCallback, SessionCallback
from laetitia.agents.sb3 import require_tensorboard
from laetitia.emoticon.render import render
from laetitia.envs.registration import make
from laetitia.errors import CameraError, ConfigError, SessionEndedByUser, SessionError
from laetitia.faces import DETECTOR_NAMES
from laetitia.seeding import seed_everything
from laetitia.sessions import (
    META_FILE,
    Session,
    SessionRecorder,
    load_session,
    write_json_atomic,
)
from laetitia.viewers.spec import check_face_pipeline, parse_viewer_spec, viewer_from

AGENT_DIR = "agent"
BEST_PNG = "best_emoticon.png"
CURVE_PNG = "learning_curve.png"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; written whole into the session's meta.json."""

    out: Path
    """The session folder to write."""
    agent: str = "hill-climb"
    """Name of the agent (see `laetitia.agents.AGENTS`)."""
    viewer: str = "sim"
    """Viewer spec: sim, sim:SEED, person:INDEX, webcam, webcam:INDEX, video:PATH, session:DIR."""
    steps: int = 200
    """Steps to take (one shown emoticon each)."""
    seed: int = 0
    """Seeds the agent, the environment and torch."""
    frames: int = 10
    """Frames read per shown emoticon."""
    settle_s: float = 0.5
    """Seconds a live viewer waits after a change before reading frames."""
    step_size: float | None = None
    """Largest change of a parameter per step, as a fraction of its range; None: the agent's
    `preferred_step_size` (0.1 for most, 1.0 for cma-es, which jumps to the emoticon it picks)."""
    episode_steps: int = 50
    """Steps per episode (the env's horizon)."""
    keep_frames: bool = True
    """Keep the camera frames as lossless PNGs in the session (`--no-frames`: none, only the
    per-frame probabilities and face boxes; no image of the person is written)."""
    detector: str = DETECTOR_NAMES[0]
    """Face detector of a webcam or video viewer (`--detector`: yunet, mtcnn, haar, none)."""
    model: Path | None = None
    """FER model file of a webcam or video viewer (`--model`); None for the shipped one."""
    window: bool = True
    """Show the live window for a webcam or video viewer (`--no-window`: not for a video)."""
    profile: Path | None = None
    """A person's calibration profile for a webcam or video viewer (`--profile`, made by
    `laetitia calibrate`): the reward is their calibrated P(smile). None: the model's P(happy)."""
    agent_args: dict[str, Any] = field(default_factory=dict)
    """Algorithm settings passed to the agent (`--agent-arg KEY=VALUE`)."""
    tensorboard: Path | None = None
    """Folder for TensorBoard logs of the stable-baselines3 agents (`--tensorboard DIR`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        if self.steps < 1:
            raise ConfigError(f"--steps must be at least 1, got {self.steps}.")
        if self.frames < 1:
            raise ConfigError(f"--frames must be at least 1, got {self.frames}.")
        if self.settle_s < 0:
            raise ConfigError(f"--settle must be 0 or more seconds, got {self.settle_s}.")
        if self.episode_steps < 1:
            raise ConfigError(f"--episode-steps must be at least 1, got {self.episode_steps}.")
        chosen = agent_class(self.agent)  # refuses an unknown name
        if self.step_size is None:
            object.__setattr__(self, "step_size", chosen.preferred_step_size)
        spec = parse_viewer_spec(self.viewer)
        if spec.kind in ("video", "session"):
            # Absolute, so `--resume` finds the recording from any working folder.
            object.__setattr__(self, "viewer", f"{spec.kind}:{Path(spec.arg).resolve()}")
        self._check_face_pipeline()
        if self.tensorboard is not None:
            object.__setattr__(self, "tensorboard", Path(self.tensorboard))
            if not chosen.logs_tensorboard:
                raise ConfigError(
                    f"agent {self.agent!r} does not log to TensorBoard; only "
                    f"{sorted(n for n in AGENTS if agent_class(n).logs_tensorboard)} do. "
                    "Drop --tensorboard."
                )
            require_tensorboard()

    def _check_face_pipeline(self) -> None:
        model, profile = check_face_pipeline(self.viewer, self.detector, self.model, self.profile)
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "profile", profile)

    def to_json(self) -> dict[str, Any]:
        """The config as plain data."""
        data = dataclasses.asdict(self)
        data["out"] = str(self.out)
        data["model"] = None if self.model is None else str(self.model)
        data["profile"] = None if self.profile is None else str(self.profile)
        data["tensorboard"] = None if self.tensorboard is None else str(self.tensorboard)
        return data


@dataclass(frozen=True)
class TrainResult:
    """What a finished run leaves behind."""

    folder: Path
    session: Session
    best_png: Path | None
    curve_png: Path | None
    stopped_early: str | None
    """Why the run ended before its step count (the camera ran out, the person ended it)."""


def parse_agent_args(pairs: list[str]) -> dict[str, Any]:
    """Turn `KEY=VALUE` strings into settings; values are read as JSON when they parse.

    Raises:
        ConfigError: If a pair has no `=`.
    """
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--agent-arg takes KEY=VALUE, got {pair!r}.")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def train(config: TrainConfig, progress: bool = True) -> TrainResult:
    """Train an agent against a viewer, recording every step into a session folder.

    The agent is saved as it learns (every step, or after each policy update for PPO), so a
    session killed at any moment can be resumed with `resume`. A camera that stops delivering
    frames, or the person ending the session from the live window, ends the run cleanly: every
    completed step is on disk and the agent is saved.
    """
    seed_everything(config.seed)
    env, viewer = _make_env(config)
    meta = {
        "config": config.to_json(),
        "agent": config.agent,
        "env_id": AGENTS[config.agent].env_id,
        "seed": config.seed,
        "viewer": viewer.describe(),
        "command": sys.argv,
    }
    # The env and agent are built first: a bad setting must not leave a half-made session.
    agent = agent_class(config.agent)(env, seed=config.seed, **config.agent_args)
    created = not config.out.exists()
    recorder = SessionRecorder(config.out, meta, keep_frames=config.keep_frames)
    agent.save(config.out / AGENT_DIR)  # resumable from the start, whatever the agent saves after
    if config.tensorboard is not None:
        agent.log_to_tensorboard(config.tensorboard, run=config.out.name)
    try:
        return _run(config, agent, env, recorder, config.steps, first_episode=0, progress=progress)
    except CameraError:
        # The camera failed before the first step: nothing was recorded, so nothing is kept.
        recorder.discard()
        shutil.rmtree(config.out / AGENT_DIR, ignore_errors=True)
        if created and not any(config.out.iterdir()):
            config.out.rmdir()
        raise


def resume(folder: Path, steps: int | None = None, progress: bool = True) -> TrainResult:
    """Continue a session that ended, cleanly or not: the agent and the step count carry on.

    Args:
        folder: The session folder to continue.
        steps: Steps to add; by default, what the session's config still had to run.
        progress: Show a progress bar.

    Raises:
        SessionError: If the folder holds no resumable session, or nothing is left to run.
    """
    session = load_session(folder)
    if "config" not in session.meta:
        raise SessionError(f"{folder} was not written by `laetitia train`; it cannot be resumed.")
    # Sessions from before --detector existed read faces with MTCNN, the default then.
    saved = {"detector": "mtcnn", **session.meta["config"]}
    config = TrainConfig(**{**saved, "out": Path(folder)})
    remaining = config.steps - session.n_steps if steps is None else steps
    if remaining < 1:
        raise SessionError(
            f"{folder} already has {session.n_steps} steps, as many as its run asked for "
            f"({config.steps}); pass --steps N to add N more."
        )
    if not (Path(folder) / AGENT_DIR).exists():
        raise SessionError(f"{folder} has no saved agent ({AGENT_DIR}/); it cannot be resumed.")
    seed_everything(config.seed + session.n_steps)
    env, viewer = _make_env(config)
    _continue_viewer(viewer, session)
    agent = agent_class(config.agent).load(Path(folder) / AGENT_DIR, env=env)
    if config.tensorboard is not None:
        agent.log_to_tensorboard(config.tensorboard, run=config.out.name)
    history = [*session.meta.get("resumed", []), {"at_step": session.n_steps, "steps": remaining}]
    write_json_atomic(Path(folder) / META_FILE, {**session.meta, "resumed": history})
    recorder = SessionRecorder(Path(folder), session.meta, resume=True)
    episode = int(session.steps["episode"][-1]) + 1 if session.n_steps else 0
    return _run(config, agent, env, recorder, remaining, first_episode=episode, progress=progress)


def _continue_viewer(viewer: Any, session: Session) -> None:
    """A live viewer goes on after the recorded steps (a video from the next unread frame)."""
    from laetitia.viewers.live import LiveViewer

    if isinstance(viewer, LiveViewer):
        rewards, scored = session.steps["reward"], session.steps["faces"] > 0
        viewer.continue_after(session.n_steps, rewards=rewards, scored=scored)


def _make_env(config: TrainConfig) -> tuple[Any, Any]:
    viewer = viewer_from(config)
    env = make(
        AGENTS[config.agent].env_id,
        viewer=viewer,
        step_size=config.step_size,
        max_episode_steps=config.episode_steps,
    )
    return env, viewer


def _run(
    config: TrainConfig,
    agent: Any,
    env: Any,
    recorder: SessionRecorder,
    steps: int,
    first_episode: int,
    progress: bool,
) -> TrainResult:
    callbacks = [
        SessionCallback(recorder, episode=first_episode),
        AgentCheckpoint(config.out / AGENT_DIR, every=agent.checkpoint_every),
    ]
    if progress:
        callbacks.append(ProgressCallback(recorder.next_step + steps, initial=recorder.next_step))
    stopped_early = None
    first_step = recorder.next_step
    try:
        agent.learn(steps, callback=callbacks)
    except (CameraError, SessionEndedByUser) as error:
        if isinstance(error, CameraError) and recorder.next_step == first_step:
            raise  # the camera never delivered: an error to report, not a session that ended
        stopped_early = str(error)
    finally:
        recorder.close()
        env.close()
    agent.save(config.out / AGENT_DIR)
    return _finish(config.out, stopped_early)


def _finish(folder: Path, stopped_early: str | None) -> TrainResult:
    from laetitia.plots import save_learning_curve

    session = load_session(folder)
    best_png = curve_png = None
    if session.n_steps and (session.steps["faces"] > 0).any():
        best = session.params()[session.best_step()]
        best_png = folder / BEST_PNG
        _save_png(render(best, 256), best_png)
        curve_png = save_learning_curve(session, folder / CURVE_PNG)
    return TrainResult(folder, session, best_png, curve_png, stopped_early)


def _save_png(image: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    plt.imsave(path, image)

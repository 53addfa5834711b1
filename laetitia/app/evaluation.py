"""How happy a trained agent makes its viewer: whole episodes of its policy, learning nothing.

`evaluate` runs an agent already in memory; `evaluate_saved` loads a saved agent folder (its
kind read from `agent.json`), builds the environment it was trained with, and can record the
evaluation as a session folder (`steps.csv` and `meta.json` as for training, plus
`evaluation.json` with the figures).

Actions are the agent's deterministic ones (`predict(deterministic=True)`: the greedy
Q-value, the policy's mean, the hill-climber's best emoticon) unless asked otherwise. Each
episode starts where the agent starts its own episodes (`reset_options`: the original
emoticon, the hill-climber's best one, Q-learning's `start_from`). With the same seed, the
same agent and a simulated viewer, a deterministic evaluation is reproducible.

A webcam or video viewer scores with the face pipeline the agent was trained with: the face
detector, FER model and smile signal of its training session (`SESSION/meta.json`, the folder
above `SESSION/agent`), unless the config names others (`scoring_pipeline`). A file the
training session names is never opened because it names it (`laetitia.app.places`): its model
is the shipped one when the recorded sha256 is the shipped model's, and otherwise must be
named, as must the calibration profile of an agent trained on one person's calibrated
P(smile), so that it is not judged on the model's raw P(happy) unawares, nor one trained on
`smile` on `fer-happy`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.agents import AGENTS, agent_class, load_agent
from laetitia.agents.base import read_agent_document
from laetitia.app.places import recorded_model, recorded_profile
from laetitia.app.training import recorded_config
from laetitia.app.web.session import WebOptions, WebSession, presentation
from laetitia.emoticon.params import PARAM_SPACE
from laetitia.envs.registration import DEFAULT_SIGNALS
from laetitia.errors import ConfigError, ProfileError, SessionError, VideoEndedError
from laetitia.faces import DETECTOR_NAMES
from laetitia.files import write_json_atomic
from laetitia.run_settings import RUN_DEFAULTS, RunSettings
from laetitia.seeding import seed_everything
from laetitia.sessions import (
    META_FILE,
    NewSession,
    SessionRecorder,
    load_session,
    new_meta,
    prepare_folder,
)
from laetitia.sessions.paths import exists_inside, real_folder
from laetitia.signals import DEFAULT_SIGNAL
from laetitia.viewers.spec import (
    FACE_KINDS,
    check_face_pipeline,
    parse_viewer_spec,
    signal_record,
)

EVALUATION_FILE = "evaluation.json"
PIPELINE = ("detector", "model", "profile", "signal")
"""The settings of the face pipeline an evaluation takes from the training session."""


@dataclass(frozen=True)
class Evaluation:
    """The figures of one evaluation."""

    agent: str
    """Name of the agent evaluated."""
    episode_happiness: tuple[float, ...]
    """Mean happiness of each episode over its steps with a face (NaN: no face at all)."""
    mean_happiness: float
    """Mean happiness over every step with a face (NaN: no face at all)."""
    steps: int
    """Steps taken."""
    scored_steps: int
    """Steps with at least one face, which the means average."""
    deterministic: bool
    """Whether the agent's deterministic actions were used."""

    def to_json(self) -> dict[str, Any]:
        """The figures as plain data (NaN written as null)."""
        data = dataclasses.asdict(self)
        data["episode_happiness"] = [_finite_or_none(v) for v in self.episode_happiness]
        data["mean_happiness"] = _finite_or_none(self.mean_happiness)
        return data


@dataclass(frozen=True)
class EvaluationConfig:
    """Everything that defines an evaluation of a saved agent; written into `meta.json`."""

    agent_path: Path
    """The saved agent's folder (a training session's `agent/`)."""
    viewer: str = "webcam"
    """Viewer spec: sim, sim:SEED, person:INDEX, webcam, webcam:INDEX, video:PATH, session:DIR,
    browser[:[HOST:]PORT] (a participant's browser page, served on that address)."""
    episodes: int = 5
    """Episodes to run."""
    max_episode_steps: int | None = None
    """Steps per episode (`RunSettings.max_episode_steps`); None: the episode length the agent
    was trained with."""
    seed: int = 0
    """Seeds the environment's first reset and torch."""
    deterministic: bool = True
    """Use the agent's deterministic actions."""
    frames: int = RUN_DEFAULTS.frames
    """Frames read per shown emoticon (`RunSettings.frames`)."""
    settle_s: float = RUN_DEFAULTS.settle_s
    """Seconds a live viewer waits after a change (`RunSettings.settle_s`)."""
    camera_fps: float = RUN_DEFAULTS.camera_fps
    """Frames per second of the camera (`RunSettings.camera_fps`)."""
    step_size: float | None = None
    """Largest change of a parameter per step (`RunSettings.step_size`); None: the step size
    the agent was trained with."""
    out: Path | None = None
    """A session folder to record the evaluation in; None records nothing."""
    detector: str | None = None
    """Face detector of a webcam or video viewer (`--detector`); None: the training session's
    (the default detector, `DETECTOR_NAMES[0]`, when the agent has no training session that
    read a face)."""
    model: Path | None = None
    """FER model file of a webcam or video viewer (`--model`); None: the training session's
    (the shipped one when there is none)."""
    profile: Path | None = None
    """Calibration profile of a webcam or video viewer (`--profile`); None: the training
    session's (none when there is none)."""
    signal: str | None = None
    """The smile signal (`--signal`); None: for a webcam or video viewer the training
    session's (the agent's env's default when there is none), for a simulated viewer its own."""
    window: bool | None = None
    """Show the live window; None: the viewer's default (shown for a webcam, not a video)."""
    keep_frames: bool | None = None
    """Keep the camera frames in the recorded session; None: as the agent's training session
    did (a session recorded without frames gives an evaluation without them), else keep them.
    An evaluation never keeps frames its training session did not."""
    screen: str = "full"
    """What the person at a webcam sees (`laetitia.app.training.TrainConfig.screen`)."""
    blank_s: float = 0.0
    """Seconds of a plain screen between two emoticons on a participant's screen."""
    instructions: str | None = None
    """Text a participant's screen shows before the first emoticon, until they press space."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "agent_path", Path(self.agent_path))
        for name in ("out", "model", "profile"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)))
        if self.episodes < 1:
            raise ConfigError(
                f"episodes must be at least 1, got {self.episodes}.", field="episodes"
            )
        self.run_settings({})  # the run settings' own checks: frames, settle, step size, ...
        presentation(self.viewer, self.screen, self.blank_s, self.instructions)

    def run_settings(
        self, trained_env: Mapping[str, Any], preferred_step_size: float | None = None
    ) -> RunSettings:
        """The evaluation's run settings: those given, the rest as the agent was trained.

        Args:
            trained_env: The env the agent was saved with (`agent.json`'s `env`: its
                `step_size` and `max_episode_steps`).
            preferred_step_size: The agent's own step size, where neither this config nor
                its training env names one.
        """
        return RunSettings(
            frames=self.frames,
            settle_s=self.settle_s,
            camera_fps=self.camera_fps,
            max_episode_steps=self.max_episode_steps
            or trained_env.get("max_episode_steps")
            or RUN_DEFAULTS.max_episode_steps,
            step_size=self.step_size or trained_env.get("step_size") or preferred_step_size,
            detector=self.detector,
            model=self.model,
            profile=self.profile,
            signal=self.signal,
        )

    def to_json(self) -> dict[str, Any]:
        """The config as plain data."""
        data = dataclasses.asdict(self)
        for name in ("agent_path", "out", "model", "profile"):
            data[name] = None if data[name] is None else str(data[name])
        return data


@dataclass(frozen=True)
class ScoringPipeline:
    """The face pipeline an evaluation scores with, and where each part of it came from."""

    detector: str | None
    """Face detector name (None only with a viewer that reads no face and none given)."""
    model: Path | None
    """FER model file; None for the shipped one."""
    profile: Path | None
    """Calibration profile; None for none."""
    signal: str | None = None
    """The smile signal; None: a simulated viewer's own."""
    from_training: tuple[str, ...] = ()
    """Which of `PIPELINE` were taken from the training session (the others were given)."""

    def describe(self) -> str:
        """One line for the user: "scored with detector X, model <sha>, profile P (from ...)"."""
        from laetitia.fer import model_identity

        line = (
            f"scored by the signal {self.signal} with detector {self.detector}, model "
            f"{model_identity(self.model)[:12]}, profile {self.profile or 'none'}"
        )
        if self.from_training == PIPELINE:
            return f"{line} (from the training session)"
        if self.from_training:
            return f"{line} ({', '.join(self.from_training)} from the training session)"
        return line


def scoring_pipeline(config: EvaluationConfig, env_id: str) -> ScoringPipeline:
    """The detector, FER model, profile and signal an evaluation scores with, checked.

    A webcam or video viewer takes what the config leaves as None from the agent's training
    session when that session read a face (a webcam or video viewer too): its detector, its
    signal, its model when that is the shipped one (another is named, never taken from the
    session), and no profile (a session scored through one asks for it); otherwise the
    defaults (the default detector, the shipped model, no profile, the env's default signal:
    `env_id`'s). Other viewers read no face: the config's values are passed on as given
    (`make_viewer` refuses a profile for them, and a signal other than their own).

    Raises:
        ConfigError: For an unknown detector, a missing model, or a profile with a viewer
            that reads no face.
        ProfileError: For a profile that is unreadable or made for another model.
        SessionError: If the training session's files are corrupt, or it scored with a model
            or a profile of its own that the config does not name.
    """
    given = {name: getattr(config, name) for name in PIPELINE}
    if parse_viewer_spec(config.viewer).kind not in FACE_KINDS:
        return ScoringPipeline(**given)
    meta = config.agent_path.resolve().parent / META_FILE
    taken = tuple(n for n in PIPELINE if given[n] is None)
    trained = _training_pipeline(meta, taken)
    if trained is None:
        taken = ()
    chosen = dict(given)
    if trained is not None:
        chosen.update({name: trained[name] for name in taken})
    detector = chosen["detector"] or DETECTOR_NAMES[0]
    signal = chosen["signal"] or DEFAULT_SIGNALS.get(env_id, DEFAULT_SIGNAL)
    try:
        model, profile = check_face_pipeline(
            config.viewer, detector, chosen["model"], chosen["profile"], signal
        )
    except (ConfigError, ProfileError) as error:
        if not taken:
            raise
        raise type(error)(
            f"{error} (the {', '.join(taken)} came from the training session's {meta}; "
            "name another `detector`, `model`, `profile` or `signal` to score with others)",
            field=error.field,
            mentions=(*error.mentions, *PIPELINE),
        ) from error
    return ScoringPipeline(detector, model, profile, signal, taken)


def keeps_frames(config: EvaluationConfig) -> bool:
    """Whether an evaluation keeps the camera frames: never when its training session did not.

    Raises:
        ConfigError: If the config asks for frames a training session without them refused.
        SessionError: If the training session's files are corrupt.
    """
    folder = config.agent_path.resolve().parent
    trained = load_session(folder).meta.frames_kept if exists_inside(folder, META_FILE) else True
    if config.keep_frames and not trained:
        raise ConfigError(
            f"keep_frames: the agent's training session {folder} kept no image of the "
            "person; its evaluation keeps none either.",
            field="keep_frames",
        )
    return trained if config.keep_frames is None else config.keep_frames


def _training_pipeline(meta: Path, taken: tuple[str, ...]) -> dict[str, Any] | None:
    """The detector, model and profile of the training session whose meta.json is `meta`.

    Only the parts `taken` are looked up (the others were given). None when there is no such
    session, it was not written by `laetitia train`, or its viewer read no face.

    Raises:
        SessionError: If the training session's files are corrupt, or it scored with a model
            or a profile of its own (their files are named, never taken from the session).
    """
    folder = meta.parent
    if not exists_inside(folder, META_FILE):
        return None
    session = load_session(folder)
    if session.meta.config is None:
        return None
    trained = recorded_config(session)
    if parse_viewer_spec(trained.viewer).kind not in FACE_KINDS:
        return None
    try:
        model = recorded_model(session.meta, None) if "model" in taken else None
        profile = recorded_profile(session.meta, None) if "profile" in taken else None
    except SessionError as error:
        raise SessionError(
            f"{error} (the agent's training session {folder}, whose pipeline an evaluation "
            "scores with)",
            mentions=error.mentions,
        ) from error
    return {
        "detector": trained.detector,
        "model": model,
        "profile": profile,
        "signal": trained.signal,
    }


def evaluate(
    agent: Any,
    env: Any,
    episodes: int,
    seed: int | None = None,
    deterministic: bool = True,
    recorder: SessionRecorder | None = None,
    progress: bool = False,
    observe: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> Evaluation:
    """Run `episodes` whole episodes of an agent's policy; the agent learns nothing.

    Args:
        agent: Any laetitia agent (it answers `predict`, `reset_options` and `observed`).
        env: The environment to run in; its time limit sets the episode length.
        episodes: Episodes to run.
        seed: Seeds the first reset (the viewer's noise); later resets continue its stream.
        deterministic: Use the agent's deterministic actions.
        recorder: Where to record each step, if anywhere.
        progress: Show a progress bar.
        observe: Told each step (its number, episode and info) after it is recorded: a
            dashboard (`laetitia.app.web.session.WebSession.observe`).

    Raises:
        ConfigError: If the env has no time limit (its episodes would never end).
    """
    from tqdm.auto import tqdm

    horizon = env.spec.max_episode_steps if env.spec is not None else None
    if horizon is None:
        raise ConfigError(
            "evaluate needs an env with a time limit (gym.make(..., max_episode_steps=N))."
        )
    bar = tqdm(
        total=episodes * horizon,
        unit="step",
        disable=not progress,
        dynamic_ncols=True,
    )
    per_episode: list[list[float]] = []
    steps = 0
    env = agent.observed(env)  # what the policy takes (a history of shown emoticons, say)
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed if episode == 0 else None, options=agent.reset_options())
        happiness: list[float] = []
        done = False
        while not done:
            action, _ = agent.predict(obs, deterministic=deterministic)
            obs, _, terminated, truncated, info = env.step(action)
            if info.get("recording_over"):
                raise VideoEndedError(info["recording_over"])  # nothing was shown
            done = terminated or truncated
            steps += 1
            if info["scored"]:
                happiness.append(float(info["happiness"]))
            if recorder is not None:
                recorder.record(episode, info["reward"], info["params"], info["reaction"])
            if observe is not None:
                observe(steps - 1, episode, info)
            bar.update(1)
        per_episode.append(happiness)
    bar.close()
    scored = [h for episode in per_episode for h in episode]
    return Evaluation(
        agent=agent.name,
        episode_happiness=tuple(_mean(episode) for episode in per_episode),
        mean_happiness=_mean(scored),
        steps=steps,
        scored_steps=len(scored),
        deterministic=deterministic,
    )


def evaluate_saved(
    config: EvaluationConfig,
    progress: bool = True,
    log: Callable[[str], None] = print,
    web: WebOptions | None = None,
) -> Evaluation:
    """Load a saved agent and evaluate it against a viewer, recording it if `config.out` is set.

    A webcam or video viewer scores with the training session's face pipeline unless the
    config names another (`scoring_pipeline`); `log` is told which, before the first step, and
    the addresses of the pages served (a browser participant's, a dashboard: `web`).

    Raises:
        SessionError: If `config.agent_path` holds no saved agent, or `out` cannot be written.
        ConfigError: If the saved agent's kind is unknown, or the face pipeline cannot run.
        ProfileError: For a profile that is unreadable or made for another model.
    """
    _agent_of_a_session(config.agent_path)
    document = read_agent_document(config.agent_path)
    trained_env = document.env
    name = document.agent
    if name not in AGENTS:
        raise ConfigError(f"{config.agent_path} holds an unknown agent {name!r}.")
    env_id = trained_env.get("id") or AGENTS[name].env_id
    pipeline = scoring_pipeline(config, env_id)
    config = dataclasses.replace(
        config,
        detector=pipeline.detector,
        model=pipeline.model,
        profile=pipeline.profile,
        signal=pipeline.signal,
    )
    keep_frames = keeps_frames(config)
    if config.out is not None and config.out.exists():
        prepare_folder(config.out)  # an existing session is refused before anything runs
    seed_everything(config.seed)
    if parse_viewer_spec(config.viewer).kind in FACE_KINDS:
        log(pipeline.describe())
    run = config.run_settings(trained_env, agent_class(name).preferred_step_size)
    screen = presentation(config.viewer, config.screen, config.blank_s, config.instructions)
    served = WebSession(
        config.viewer,
        run,
        screen,
        web,
        keep_frames=keep_frames,
        window=config.window,
        param_names=PARAM_SPACE.names,
        log=log,
    )
    with served:
        return _evaluate_saved(config, name, trained_env, keep_frames, pipeline, progress, served)


def _evaluate_saved(
    config: EvaluationConfig,
    name: str,
    trained_env: Mapping[str, Any],
    keep_frames: bool,
    pipeline: ScoringPipeline,
    progress: bool,
    served: WebSession,
) -> Evaluation:
    env = served.make_env(trained_env.get("id") or AGENTS[name].env_id)
    try:
        agent = load_agent(config.agent_path, env=env)
        if config.out is None:
            return _evaluate(agent, env, config, None, progress, served)
        # Locked while it is written; a failure before the first step leaves the folder as
        # it was (nothing half-written stays).
        with NewSession(config.out) as claim:
            meta = new_meta(
                keep_frames=keep_frames,
                evaluation=config.to_json(),
                pipeline_from_training=pipeline.from_training,
                agent=name,
                env_id=env.spec.id if env.spec is not None else None,
                seed=config.seed,
                viewer=env.unwrapped.viewer.describe(),  # type: ignore[attr-defined]
                signal=signal_record(env.unwrapped.viewer),  # type: ignore[attr-defined]
                command=tuple(sys.argv),
            )
            claim.recorder = SessionRecorder(config.out, meta)
            with claim.recorder:
                result = _evaluate(agent, env, config, claim.recorder, progress, served)
            write_json_atomic(config.out / EVALUATION_FILE, result.to_json())
        return result
    finally:
        env.close()


def _evaluate(
    agent: Any,
    env: Any,
    config: EvaluationConfig,
    recorder: SessionRecorder | None,
    progress: bool,
    served: WebSession,
) -> Evaluation:
    return evaluate(
        agent,
        env,
        config.episodes,
        seed=config.seed,
        deterministic=config.deterministic,
        recorder=recorder,
        progress=progress,
        observe=served.observe if served.feed is not None else None,
    )


def _agent_of_a_session(agent_path: Path) -> None:
    """Refuse an agent folder that is a link in a session (the session would reach elsewhere).

    An agent folder named on the command line may be anywhere; one inside a session (its
    folder above holds a `meta.json`) is part of the session, and no link in a session is
    followed.

    Raises:
        SessionError: If the session's agent folder is a link or not a folder.
    """
    session = agent_path.absolute().parent
    if exists_inside(session, META_FILE):
        real_folder(session, agent_path.name, str(agent_path))


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _finite_or_none(value: float) -> float | None:
    return None if math.isnan(value) else value

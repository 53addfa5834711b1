"""One way to train any agent: a config in, a session folder out.

    result = train(TrainConfig(out=Path("runs/me"), agent="cma-es", viewer="webcam"))
    result = resume(Path("runs/me"), steps=100)        # carries on where it stopped

The environment is built from the config's run settings by `laetitia.envs.make.make_env`,
the one way every run builds its env: `gymnasium.make(env_id, viewer=SPEC, frames=...,
max_episode_steps=..., detector=..., model=..., profile=...)`, so the CLI and a notebook get
the same env. Every step is recorded into the session folder as it completes
(`SessionCallback`), and the agent is saved as it learns (`AgentCheckpoint`), so a run killed
at any moment resumes.

A session run like a study shows its participant the emoticon alone (`screen`, or a browser
participant: `viewer="browser"`) and its experimenter the reading, on a dashboard in the browser
(`WebOptions.dashboard`); `laetitia.app.web.session.WebSession` serves both for the run.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from laetitia.agents import AGENTS, check_agent_name
from laetitia.app.web.session import WebOptions, WebSession, presentation
from laetitia.errors import CameraError, ConfigError, SessionEndedByUser, SessionError
from laetitia.records import from_dict
from laetitia.run_settings import RunSettings
from laetitia.sessions import (
    META_FILE,
    NewSession,
    Session,
    SessionMeta,
    SessionRecorder,
    load_session,
    lock_session,
    new_meta,
    recommended_columns,
    repair_session,
)
from laetitia.sessions.paths import exists_inside, real_folder
from laetitia.viewers.spec import FACE_KINDS, check_face_pipeline, parse_viewer_spec
from laetitia.viewers.stage import Screen

if TYPE_CHECKING:
    import gymnasium as gym
    import numpy as np
    from stable_baselines3.common.callbacks import BaseCallback

    from laetitia.agents.base import BaseAgent
    from laetitia.app.prior import PopulationPrior
    from laetitia.sessions.best import BestEmoticon, Truth
    from laetitia.types import Viewer

AGENT_DIR = "agent"
PRIOR_DIR = "prior"
BEST_PNG = "best_emoticon.png"
CURVE_PNG = "learning_curve.png"


@dataclass(frozen=True, kw_only=True)
class TrainConfig(RunSettings):
    """Everything that defines a training run; written whole into the session's meta.json.

    The run settings (frames, settle, episode length, step size, face pipeline) are those of
    `laetitia.run_settings.RunSettings`, with their defaults; a training adds what follows.
    """

    out: Path
    """The session folder to write."""
    agent: str = "hill-climb"
    """Name of the agent (see `laetitia.agents.AGENTS`)."""
    viewer: str = "sim"
    """Viewer spec: sim, sim:SEED, person:INDEX, webcam, webcam:INDEX, video:PATH, session:DIR,
    browser[:[HOST:]PORT] (a participant's browser page, served on that address)."""
    steps: int = 200
    """Steps to take (one shown emoticon each)."""
    seed: int = 0
    """Seeds the agent, the environment and torch."""
    keep_frames: bool = True
    """Keep the camera frames as lossless PNGs in the session (False: none, only the per-frame
    probabilities and face boxes; no image of the person is written)."""
    window: bool = True
    """Show the live window for a webcam or video viewer (a webcam always shows one)."""
    screen: str = "full"
    """What the person at a webcam (or a video's window) sees: "full", the emoticon beside
    their reading (the demo); "participant", the emoticon alone, full screen, or
    "participant:WxH" in a window of that size (`laetitia.viewers.stage`). A browser
    participant's page always shows the emoticon alone."""
    blank_s: float = 0.0
    """Seconds of a plain screen between two emoticons on a participant's screen (0: the
    emoticon simply changes)."""
    instructions: str | None = None
    """Text a participant's screen shows before the first emoticon, until they press space."""
    agent_args: dict[str, Any] = field(default_factory=dict)
    """Algorithm settings passed to the agent."""
    prior: tuple[Path, ...] = ()
    """Other people's sessions (folders, or folders of them) to learn a prior from
    (`laetitia.app.prior`), or a prior folder a run wrote; empty for none. Only an agent that
    takes a prior (`bayes-opt`) uses one; the learned prior is kept in the session (`prior/`)."""
    tensorboard: Path | None = None
    """Folder for TensorBoard logs (`laetitia.app.tensorboard`: every agent's steps, and the
    stable-baselines3 agents' own training statistics)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "out", Path(self.out))
        if self.steps < 1:
            raise ConfigError(f"steps must be at least 1, got {self.steps}.", field="steps")
        if self.seed < 0:
            raise ConfigError(f"seed must be 0 or more, got {self.seed}.", field="seed")
        check_agent_name(self.agent)
        parse_viewer_spec(self.viewer)
        if self.tensorboard is not None:
            object.__setattr__(self, "tensorboard", Path(self.tensorboard))
        # Nothing here looks at the disk: a config read back from a session names places on
        # another's disk, which are never looked at (`laetitia.app.places`).
        object.__setattr__(self, "prior", tuple(Path(p) for p in self.prior))
        self.presentation()  # the screen's own checks

    def presentation(self) -> Screen:
        """What the person at the camera sees (`laetitia.app.web.session.presentation`).

        Raises:
            ConfigError: For a screen setting of another form, or a participant's screen
                with a viewer that shows none.
        """
        return presentation(self.viewer, self.screen, self.blank_s, self.instructions)

    def resolved(self) -> TrainConfig:
        """The config with the places it names absolute, as a new session records them.

        The video or session watched and the prior's sources are made absolute, so the record
        says which they were wherever it is read from.
        """
        spec = parse_viewer_spec(self.viewer)
        viewer = self.viewer
        if spec.kind in ("video", "session"):
            viewer = f"{spec.kind}:{Path(spec.arg or '').resolve()}"
        prior = tuple(Path(p).resolve() for p in self.prior)
        return dataclasses.replace(self, viewer=viewer, prior=prior)

    def checked(self) -> TrainConfig:
        """The config with its files checked, before anything opens or loads.

        Returns:
            The same config with the detector named (the default one where none was), the
            model and profile paths absolute (a run resumed from another folder finds them),
            the signal of a webcam or video viewer named (the agent's env's default where none
            was, so a resume scores as the run did), and the agent's preferred step size where
            none was given.

        Raises:
            ConfigError: For an unknown detector or signal, a missing model file, a profile
                with a viewer that reads no face, or TensorBoard logging an agent or the
                machine cannot do.
            ProfileError: For a profile that is unreadable or made for another model or signal.
        """
        from laetitia.agents import agent_class
        from laetitia.agents.sb3 import require_tensorboard
        from laetitia.envs.registration import DEFAULT_SIGNALS
        from laetitia.faces import DETECTOR_NAMES

        chosen = agent_class(self.agent)
        if self.prior and not chosen.takes_prior:
            raise ConfigError(
                f"prior: agent {self.agent!r} takes no prior; only "
                f"{sorted(n for n in AGENTS if agent_class(n).takes_prior)} do.",
                field="prior",
            )
        detector = self.detector or DETECTOR_NAMES[0]
        signal = self.signal
        if signal is None and parse_viewer_spec(self.viewer).kind in FACE_KINDS:
            signal = DEFAULT_SIGNALS[AGENTS[self.agent].env_id]
        model, profile = check_face_pipeline(
            self.viewer, detector, self.model, self.profile, signal
        )
        if self.tensorboard is not None:
            require_tensorboard()
        step_size = chosen.preferred_step_size if self.step_size is None else self.step_size
        return dataclasses.replace(
            self,
            detector=detector,
            model=model,
            profile=profile,
            step_size=step_size,
            signal=signal,
        )

    def to_json(self) -> dict[str, Any]:
        """The config as plain data."""
        data = dataclasses.asdict(self)
        for name in ("out", "model", "profile", "tensorboard"):
            data[name] = None if data[name] is None else str(data[name])
        data["prior"] = [str(p) for p in self.prior]
        return data

    def web_session(
        self, web: WebOptions | None = None, log: Callable[[str], None] = print
    ) -> WebSession:
        """What the run serves beside its env: a dashboard, a participant's page.

        Enter it with `with`; its `make_env` builds the agent's env with this config's viewer.
        """
        from laetitia.emoticon.params import PARAM_SPACE

        return WebSession(
            self.viewer,
            self.run_settings(),
            self.presentation(),
            web,
            keep_frames=self.keep_frames,
            window=self.window,
            param_names=PARAM_SPACE.names,
            log=log,
        )


@dataclass(frozen=True)
class TrainResult:
    """What a finished run leaves behind."""

    folder: Path
    session: Session
    best_png: Path | None
    curve_png: Path | None
    stopped_early: str | None
    """Why the run ended before its step count (the camera ran out, the person ended it)."""
    best: BestEmoticon | None = None
    """The best emoticon, said honestly (`laetitia.sessions.best`); None when nothing was read."""


def parse_agent_args(pairs: list[str]) -> dict[str, Any]:
    """Turn `KEY=VALUE` strings into settings; values are read as JSON when they parse.

    Raises:
        ConfigError: If a pair has no `=`.
    """
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"agent_args takes KEY=VALUE, got {pair!r}.", field="agent_args")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def train(
    config: TrainConfig,
    progress: bool = True,
    web: WebOptions | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train an agent against a viewer, recording every step into a session folder.

    The agent is saved as it learns (every step, or after each policy update for PPO), so a
    session killed at any moment can be resumed with `resume`. A camera that stops delivering
    frames, or the session ended from the live window or the dashboard, ends the run cleanly:
    every completed step is on disk and the agent is saved.

    Args:
        config: The run.
        progress: Show a progress bar.
        web: A dashboard to serve, and how to serve off this machine (`WebOptions`).
        log: Where the addresses of the pages served are said.
    """
    config = config.resolved().checked()
    with config.web_session(web, log) as served:
        return _train(config, progress, served)


def _train(config: TrainConfig, progress: bool, served: WebSession) -> TrainResult:
    from laetitia.agents import agent_class
    from laetitia.app.prior import read_prior
    from laetitia.seeding import seed_everything
    from laetitia.viewers.spec import signal_record

    seed_everything(config.seed)
    env = served.make_env(AGENTS[config.agent].env_id)
    viewer = _viewer(env)
    # The env and agent are built first: a bad setting must not leave a half-made session.
    prior = read_prior(config.prior) if config.prior else None
    agent = agent_class(config.agent)(
        env, seed=config.seed, **config.agent_args, **(prior.agent_arguments() if prior else {})
    )
    meta = new_meta(
        keep_frames=config.keep_frames,
        config=config.to_json(),
        agent=config.agent,
        env_id=AGENTS[config.agent].env_id,
        seed=config.seed,
        viewer=viewer.describe(),
        signal=signal_record(viewer),
        command=tuple(sys.argv),
        recommended=True,
    )
    # The folder is locked and checked first: an existing session, or another writer, is
    # refused before anything is written. A failure before the first step takes back what
    # this run made, and only that (the person's frames too): the folder can be used again.
    with NewSession(config.out, subfolders=(AGENT_DIR, PRIOR_DIR)) as claim:
        # The agent first: a session on disk always has an agent to resume with.
        agent.save(claim.subfolder(AGENT_DIR))
        if prior is not None:
            from laetitia.app.prior import save_prior

            save_prior(prior, claim.subfolder(PRIOR_DIR))
        claim.recorder = SessionRecorder(
            config.out, meta, extra_columns=recommended_columns(meta.space())
        )
        if config.tensorboard is not None and agent.logs_tensorboard:
            agent.log_to_tensorboard(config.tensorboard, run=config.out.name)
        return _run(config, agent, env, claim.recorder, config.steps, 0, progress, served)


def recorded_config(session: Session) -> TrainConfig:
    """A training session's config, read back strictly, without the places it names.

    The config is the current one whatever laetitia version wrote it: `read_meta` migrated
    older records (`laetitia.sessions.migrations`). The FER model, the profile and the
    TensorBoard folder are left out (None): they name places outside the session, which are
    never taken from it (`laetitia.app.places`); the viewer and the prior are kept as the
    record writes them, and nothing the config names is looked at.

    Raises:
        SessionError: If the session was not written by `laetitia train`, or its config is not
            one this laetitia reads (the message names the key and the file).
    """
    folder = session.folder
    if session.meta.config is None:
        raise SessionError(
            f"{folder} is a {session.meta.kind} session, not one written by `laetitia train`; "
            "it cannot be resumed."
        )
    saved = {**session.meta.config, "out": str(folder)}
    saved |= {name: None for name in PLACES if name in saved and name != "viewer"}
    return from_dict(TrainConfig, saved, f"{Path(folder) / META_FILE}: config", SessionError)


RESUME_CHANGES = ("steps",)
"""The settings a resume may set: how many steps to add."""
PLACES = ("model", "profile", "tensorboard", "viewer")
"""Settings that name a place outside the session: a resume takes them from its caller
(`laetitia.app.places`), never from the session."""


def check_resume_settings(config: TrainConfig, asked: Mapping[str, Any]) -> None:
    """Refuse settings asked of a resume that differ from the session's own.

    A session's settings are part of what it records (its frames kept or not, its agent and
    pipeline): a resume carries them on, it never changes them silently. The places outside
    the session (`PLACES`) are checked by `laetitia.app.places`.

    Raises:
        ConfigError: Naming the first setting asked that differs, with both values.
    """
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for name, value in asked.items():
        if name in RESUME_CHANGES or name in PLACES:
            continue
        if name not in fields:
            raise ConfigError(f"{name} is not a setting of a training run.", field=name)
        if name == "prior":
            raise ConfigError(
                "prior: a resumed session goes on with the prior it was started with, which it "
                "keeps in its prior/ folder; start a new session to learn another.",
                field="prior",
            )
        wanted = getattr(dataclasses.replace(config, **{name: value}), name)
        if wanted != getattr(config, name):
            raise ConfigError(
                f"{name} is {getattr(config, name)!r} in this session, and {wanted!r} was "
                "asked: a resume carries on the session's own settings, which are part of what "
                "it records. Start a new session to change it.",
                field=name,
            )


def resume_config(
    folder: Path, asked: Mapping[str, Any] | None = None, log: Callable[[str], None] = print
) -> tuple[Session, TrainConfig]:
    """A training session and the config a resume of it runs with.

    The session's own settings, with the places outside it taken from `asked`, never from
    the session (`laetitia.app.places`): the FER model is the shipped one when the recorded
    sha256 is the shipped model's, else the `model` asked (checked against that sha256); the
    profile is the one asked (checked against the recorded one); a watched video or session
    is the `viewer` asked; TensorBoard logs go to the `tensorboard` asked, or nowhere.

    Args:
        folder: The session folder.
        asked: Settings the caller asked for; places, and `steps`, may be given; every other
            setting must be the session's own.
        log: Where to say that the session logged to TensorBoard and this resume does not.

    Raises:
        SessionError: If the folder holds no training session, or a place the session needs
            is not given.
        ConfigError: If a setting asked differs from the session's, or a file given is not
            the one the session recorded.
    """
    from laetitia.app.places import recorded_model, recorded_profile, recorded_viewer

    asked = dict(asked or {})
    session = load_session(folder)
    config = recorded_config(session)
    check_resume_settings(config, asked)
    meta = session.meta
    tensorboard = asked.get("tensorboard")
    if (meta.config or {}).get("tensorboard") and tensorboard is None:
        log(
            "the session logged to TensorBoard; this resume logs nowhere unless a TensorBoard "
            "folder is named for it"
        )
    viewer = recorded_viewer(config.viewer, asked.get("viewer"))
    face = parse_viewer_spec(viewer).kind in FACE_KINDS
    for name in ("model", "profile"):
        if not face and asked.get(name) is not None:
            raise ConfigError(
                f"{name}: the session's viewer ({viewer}) reads no face, so it has no face "
                "pipeline to give a file to.",
                field=name,
            )
    if face:
        _shipped_detector(meta)
    config = dataclasses.replace(
        config,
        viewer=viewer,
        model=recorded_model(meta, asked.get("model")) if face else None,
        profile=recorded_profile(meta, asked.get("profile")) if face else None,
        tensorboard=None if tensorboard is None else Path(tensorboard),
    )
    return session, config


def resume(
    folder: Path,
    steps: int | None = None,
    progress: bool = True,
    repair: bool = False,
    asked: Mapping[str, Any] | None = None,
    log: Callable[[str], None] = print,
    web: WebOptions | None = None,
) -> TrainResult:
    """Continue a session that ended, cleanly or not: the agent and the step count carry on.

    An agent saved behind the session (a kill between a step's row and the agent's save)
    first takes in the steps it missed from `steps.csv` (`BaseAgent.catch_up`).

    Args:
        folder: The session folder to continue.
        steps: Steps to add; by default, what the session's config still had to run.
        progress: Show a progress bar.
        repair: A damaged session (a torn row in the middle, a step number that skips or
            repeats) keeps its steps before the damage and drops the rest, said in `log`;
            without it such a session is refused.
        asked: Settings the caller asked for; each must be the session's own (or `steps`).
        log: Where to say what the resume did beyond carrying on, and the pages served.
        web: A dashboard to serve, and how to serve off this machine (`WebOptions`): how the
            session is watched, which a resume may choose afresh.

    Raises:
        SessionError: If the folder holds no resumable session, is damaged (and `repair` is
            not set), or nothing is left to run.
        ConfigError: If `asked` differs from the session's settings.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SessionError(f"{folder} is not a session folder: there is no such folder.")
    with lock_session(folder):  # one writer, from the repair to the last step
        return _resume_locked(folder, steps, progress, repair, asked or {}, log, web)


def _resume_locked(
    folder: Path,
    steps: int | None,
    progress: bool,
    repair: bool,
    asked: Mapping[str, Any],
    log: Callable[[str], None],
    web: WebOptions | None,
) -> TrainResult:
    if repair:
        done = repair_session(folder)
        if done.steps_dropped or done.frame_rows_dropped or done.images_removed:
            log(
                f"repaired {folder}: kept {done.steps_kept} steps; dropped {done.steps_dropped} "
                f"step(s), {done.frame_rows_dropped} frame row(s) and {done.images_removed} "
                "frame image(s) after the damage"
            )
    session, config = resume_config(folder, asked, log)
    config = config.checked()
    remaining = config.steps - session.n_steps if steps is None else steps
    if remaining < 1:
        raise SessionError(
            f"{folder} already has {session.n_steps} steps, as many as its run asked for "
            f"({config.steps}); ask for more steps (`steps`) to add them.",
            mentions=("steps",),
        )
    if not exists_inside(folder, AGENT_DIR):
        raise SessionError(f"{folder} has no saved agent ({AGENT_DIR}/); it cannot be resumed.")
    agent_dir = real_folder(folder, AGENT_DIR, str(folder / AGENT_DIR))
    from laetitia.seeding import seed_everything

    seed_everything(config.seed + session.n_steps)
    with config.web_session(web, log) as served:
        return _resume(folder, agent_dir, session, config, remaining, repair, progress, log, served)


def _resume(
    folder: Path,
    agent_dir: Path,
    session: Session,
    config: TrainConfig,
    remaining: int,
    repair: bool,
    progress: bool,
    log: Callable[[str], None],
    served: WebSession,
) -> TrainResult:
    from laetitia.agents import agent_class
    from laetitia.app.recording import recorded_steps

    env = served.make_env(AGENTS[config.agent].env_id)
    _continue_viewer(_viewer(env), session)
    if served.feed is not None:
        served.feed.resume_from(session.steps["reward"], session.scored())
    prior = _session_prior(folder, config)
    agent = agent_class(config.agent).load(
        agent_dir, env=env, **(prior.agent_arguments(start=False) if prior else {})
    )
    if repair and agent.saved_timesteps() > session.n_steps:
        # The repair dropped steps the agent had learned from: it keeps what it learned.
        log(
            f"the agent had learned from {agent.saved_timesteps() - session.n_steps} step(s) "
            "the repair dropped; it keeps what it learned from them"
        )
        caught = 0
    else:
        caught = agent.catch_up(recorded_steps(session))
    if caught:
        # Saved with the next checkpoint, not now: a resume that fails before its first
        # step changes no file, and the next one catches up the same way.
        log(f"the agent took in {caught} recorded step(s) it had not learned from")
    if config.tensorboard is not None and agent.logs_tensorboard:
        agent.log_to_tensorboard(config.tensorboard, run=config.out.name)
    # The record gets its `resumed` entry with the first step the resume records.
    meta = session.meta.with_resumption(session.n_steps, remaining)
    recorder = SessionRecorder.resume(folder, meta)
    episode = int(session.steps["episode"][-1]) + 1 if session.n_steps else 0
    return _run(config, agent, env, recorder, remaining, episode, progress, served)


def _shipped_detector(meta: SessionMeta) -> None:
    """Refuse to resume a session whose detector ran with a model file of its own.

    A resume builds the detector by name, with the shipped model; one recorded with another
    file would go on with a different detector, and its file is never taken from the session.

    Raises:
        ConfigError: If the recorded detector's model is not the shipped one.
    """
    from laetitia.app.places import recorded_meter
    from laetitia.faces.descriptions import shipped_detector_models

    meter = recorded_meter(meta.viewer)
    if meter is not None and isinstance(meter.get("detector"), dict):
        shipped_detector_models(meter["detector"])


def _session_prior(folder: Path, config: TrainConfig) -> PopulationPrior | None:
    """The prior a training session was started with, from its own folder."""
    if not config.prior:
        return None
    from laetitia.app.prior import load_prior
    from laetitia.emoticon.params import PARAM_SPACE

    return load_prior(real_folder(folder, PRIOR_DIR, str(folder / PRIOR_DIR)), PARAM_SPACE)


def _viewer(env: gym.Env) -> Viewer:
    from laetitia.envs.base import EmoticonEnv

    emoticon_env = env.unwrapped
    assert isinstance(emoticon_env, EmoticonEnv), "TrainConfig.make_env makes an emoticon env"
    return emoticon_env.viewer


def _continue_viewer(viewer: Viewer, session: Session) -> None:
    """A viewer goes on after the recorded steps.

    A video from the next unread frame; a simulated person whose taste moves (people-v3) from
    where their taste has moved to by then.
    """
    from laetitia.viewers.live import LiveViewer
    from laetitia.viewers.people_v3 import PersonV3Viewer

    if isinstance(viewer, LiveViewer):
        viewer.continue_after(
            session.n_steps, rewards=session.steps["reward"], scored=session.scored()
        )
    elif isinstance(viewer, PersonV3Viewer):
        viewer.shown = session.n_steps


def _run(
    config: TrainConfig,
    agent: BaseAgent,
    env: gym.Env,
    recorder: SessionRecorder,
    steps: int,
    first_episode: int,
    progress: bool,
    served: WebSession,
) -> TrainResult:
    from laetitia.agents.callbacks import AgentCheckpoint, ProgressCallback
    from laetitia.app.recording import SessionCallback
    from laetitia.app.truth import viewer_truth

    callbacks: list[BaseCallback] = [
        SessionCallback(recorder, episode=first_episode, agent=agent),
        AgentCheckpoint(config.out / AGENT_DIR, every=agent.checkpoint_every),
    ]
    if config.tensorboard is not None:
        from laetitia.app.tensorboard import TensorBoardCallback

        callbacks.append(
            TensorBoardCallback(
                config.tensorboard,
                config.out.name,
                recorder.space,
                first_step=recorder.next_step,
                truth=viewer_truth(_viewer(env)),
            )
        )
    if progress:
        callbacks.append(ProgressCallback(recorder.next_step + steps, initial=recorder.next_step))
    # Last: the step is recorded and the agent saved before a pause holds the run here.
    callbacks.extend(served.callbacks(recorder.next_step, first_episode))
    stopped_early = None
    first_step = recorder.next_step
    try:
        agent.learn(steps, callback=callbacks)
    except (CameraError, SessionEndedByUser) as error:
        if isinstance(error, CameraError) and recorder.next_step == first_step:
            raise  # the camera never delivered: an error to report, not a session that ended
        stopped_early = str(error)
    except (SessionError, OSError):
        # A write that failed because the folder was deleted or replaced says so, not which
        # of its files could not be written.
        recorder.check_folder()
        raise
    finally:
        recorder.close()
        env.close()
    try:
        agent.save(config.out / AGENT_DIR)
    except SessionError:
        recorder.check_folder()
        raise
    return _finish(
        config.out,
        stopped_early,
        agent.best_params(),
        viewer_truth(_viewer(env)),
        agent.responds(),
    )


def _finish(
    folder: Path,
    stopped_early: str | None,
    guess: np.ndarray | None,
    truth: Truth | None,
    responds: bool | None,
) -> TrainResult:
    """Say the run's best (`best.json`, its image) and draw its learning curve.

    `truth` is the run's own viewer's noise-free happiness (a simulated viewer's), said of the
    best; None for a person. `responds` is the agent's verdict on whether the person reacts.
    """
    import numpy as np

    from laetitia.app.plots import save_learning_curve
    from laetitia.emoticon.render import render
    from laetitia.sessions.best import best_by_readings, write_best

    session = load_session(folder)
    best_png = curve_png = None
    best = best_by_readings(session, guess, truth, responds) if session.n_steps else None
    if best is not None and session.scored().any():
        write_best(folder, best)
        best_png = folder / BEST_PNG
        _save_png(render(np.array(best.params), 256), best_png)
        curve_png = save_learning_curve(session, folder / CURVE_PNG)
    return TrainResult(folder, session, best_png, curve_png, stopped_early, best)


def _save_png(image: np.ndarray, path: Path) -> None:
    import matplotlib.image

    from laetitia.files import atomic_path

    with atomic_path(path) as tmp:
        matplotlib.image.imsave(tmp, image, format="png")

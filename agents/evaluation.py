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
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from laetitia.agents import AGENTS, agent_class, load_agent
from laetitia.agents.base import read_agent_document
from laetitia.envs.registration import MAX_EPISODE_STEPS, make
from laetitia.errors import ConfigError
from laetitia.seeding import seed_everything
from laetitia.sessions import SessionRecorder, prepare_folder, write_json_atomic
from laetitia.viewers.spec import make_viewer, parse_viewer_spec

EVALUATION_FILE = "evaluation.json"


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
    """Viewer spec: sim, sim:SEED, person:INDEX, webcam, webcam:INDEX, video:PATH, session:DIR."""
    episodes: int = 5
    """Episodes to run."""
    steps_per_episode: int | None = None
    """Steps per episode; None: the episode length the agent was trained with."""
    seed: int = 0
    """Seeds the environment's first reset and torch."""
    deterministic: bool = True
    """Use the agent's deterministic actions."""
    frames: int = 10
    """Frames read per shown emoticon."""
    settle_s: float = 0.5
    """Seconds a live viewer waits after a change before reading frames."""
    step_size: float | None = None
    """Largest change of a parameter per step; None: the step size the agent was trained with."""
    out: Path | None = None
    """A session folder to record the evaluation in; None records nothing."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "agent_path", Path(self.agent_path))
        if self.out is not None:
            object.__setattr__(self, "out", Path(self.out))
        if self.episodes < 1:
            raise ConfigError(f"--episodes must be at least 1, got {self.episodes}.")
        if self.steps_per_episode is not None and self.steps_per_episode < 1:
            raise ConfigError(
                f"--steps-per-episode must be at least 1, got {self.steps_per_episode}."
            )
        if self.frames < 1:
            raise ConfigError(f"--frames must be at least 1, got {self.frames}.")
        parse_viewer_spec(self.viewer)

    def to_json(self) -> dict[str, Any]:
        """The config as plain data."""
        data = dataclasses.asdict(self)
        data["agent_path"] = str(self.agent_path)
        data["out"] = None if self.out is None else str(self.out)
        return data


def evaluate(
    agent: Any,
    env: Any,
    episodes: int,
    seed: int | None = None,
    deterministic: bool = True,
    recorder: SessionRecorder | None = None,
    progress: bool = False,
) -> Evaluation:
    """Run `episodes` whole episodes of an agent's policy; the agent learns nothing.

    Args:
        agent: Any laetitia agent (it answers `predict` and `reset_options`).
        env: The environment to run in; its time limit sets the episode length.
        episodes: Episodes to run.
        seed: Seeds the first reset (the viewer's noise); later resets continue its stream.
        deterministic: Use the agent's deterministic actions.
        recorder: Where to record each step, if anywhere.
        progress: Show a progress bar.

    Raises:
        ConfigError: If the env has no time limit (its episodes would never end).
    """
    from tqdm.auto import tqdm

    horizon = env.spec.max_episode_steps if env.spec is not None else None
    if horizon is None:
        raise ConfigError(
            "evaluate needs an env with a time limit (make(..., max_episode_steps=N))."
        )
    bar = tqdm(
        total=episodes * horizon,
        unit="step",
        disable=not progress,
        dynamic_ncols=True,
    )
    per_episode: list[list[float]] = []
    steps = 0
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed if episode == 0 else None, options=agent.reset_options())
        happiness: list[float] = []
        done = False
        while not done:
            action, _ = agent.predict(obs, deterministic=deterministic)
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            steps += 1
            if info["scored"]:
                happiness.append(float(info["happiness"]))
            if recorder is not None:
                recorder.record(episode, info["reward"], info["params"], info["reaction"])
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


def evaluate_saved(config: EvaluationConfig, progress: bool = True) -> Evaluation:
    """Load a saved agent and evaluate it against a viewer, recording it if `config.out` is set.

    Raises:
        SessionError: If `config.agent_path` holds no saved agent, or `out` cannot be written.
        ConfigError: If the saved agent's kind is unknown.
    """
    document = read_agent_document(config.agent_path)
    trained_env = document.get("env") or {}
    name = document.get("agent")
    if name not in AGENTS:
        raise ConfigError(f"{config.agent_path} holds an unknown agent {name!r}.")
    if config.out is not None:
        prepare_folder(config.out)
    seed_everything(config.seed)
    viewer = make_viewer(config.viewer, frames=config.frames, settle_s=config.settle_s)
    env = make(
        trained_env.get("id") or AGENTS[name].env_id,
        viewer=viewer,
        step_size=config.step_size
        or trained_env.get("step_size")
        or agent_class(name).preferred_step_size,
        max_episode_steps=config.steps_per_episode
        or trained_env.get("max_episode_steps")
        or MAX_EPISODE_STEPS,
    )
    recorder = None
    try:
        agent = load_agent(config.agent_path, env=env)
        if config.out is not None:
            meta = {
                "evaluation": config.to_json(),
                "agent": name,
                "env_id": env.spec.id,
                "seed": config.seed,
                "viewer": viewer.describe(),
                "command": sys.argv,
            }
            recorder = SessionRecorder(config.out, meta)
        result = evaluate(
            agent,
            env,
            config.episodes,
            seed=config.seed,
            deterministic=config.deterministic,
            recorder=recorder,
            progress=progress,
        )
    finally:
        if recorder is not None:
            recorder.close()
        env.close()
    if config.out is not None:
        write_json_atomic(config.out / EVALUATION_FILE, result.to_json())
    return result


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _finite_or_none(value: float) -> float | None:
    return None if math.isnan(value) else value

"""Agents that choose emoticon parameters; all answer learn, predict, save and load."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from laetitia.errors import ConfigError

if TYPE_CHECKING:
    import gymnasium as gym

    from laetitia.agents.base import BaseAgent


@dataclass(frozen=True)
class AgentEntry:
    """Where an agent lives and which environment it drives."""

    entry_point: str
    """`module:Class` of the agent."""
    env_id: str
    """The environment id it learns on."""
    summary: str
    """One line for `--help` and the README."""


AGENTS: dict[str, AgentEntry] = {
    "hill-climb": AgentEntry(
        "laetitia.agents.hill_climb:HillClimber",
        "laetitia/Smile-v1",
        "the original Monte Carlo hill-climber: one random parameter move, keep if happier",
    ),
    "q-learning": AgentEntry(
        "laetitia.agents.q_learning:QLearning",
        "laetitia/SmileDiscrete-v1",
        "tabular Q-learning over a coarse grid of the parameters, epsilon-greedy",
    ),
    "ppo": AgentEntry(
        "laetitia.agents.ppo:PPOAgent",
        "laetitia/Smile-v1",
        "stable-baselines3 PPO: a Gaussian policy moving every parameter a little",
    ),
    "dqn": AgentEntry(
        "laetitia.agents.dqn:DQNAgent",
        "laetitia/SmileDiscrete-v1",
        "stable-baselines3 DQN: a Q-network choosing one parameter to move up or down",
    ),
    "cma-es": AgentEntry(
        "laetitia.agents.cma_es:CmaEs",
        "laetitia/Smile-v1",
        "CMA-ES (the cmaes library): a population of emoticons per generation, for few, "
        "noisy steps; its step size is 1 (one step reaches any emoticon)",
    ),
    "bayes-opt": AgentEntry(
        "laetitia.agents.bayes_opt:BayesOpt",
        "laetitia/Smile-v1",
        "Bayesian optimisation built for people: a Gaussian process of taste, mood and "
        "habituation with learned noise, Thompson sampling and a fitted favourite it jumps to, "
        "the best posterior mean as its recommendation; takes a prior (--prior); step size 1",
    ),
    "particle": AgentEntry(
        "laetitia.agents.particle:ParticleFilter",
        "laetitia/Smile-v1",
        "a particle filter over the person: their favourite, their face's resting level and "
        "lift, when a change shows on it, from every frame; Thompson sampling, the emoticon of "
        "highest expected appeal as its recommendation; takes a prior (--prior); step size 1",
    ),
}
"""Every agent `laetitia train --agent NAME` knows, by name."""


def check_agent_name(name: str) -> None:
    """Refuse a name no agent has, without importing any agent.

    Raises:
        ConfigError: If no agent has that name.
    """
    if name not in AGENTS:
        raise ConfigError(f"agent {name!r} is unknown; choose one of {sorted(AGENTS)}.", "agent")


def agent_class(name: str) -> type[BaseAgent]:
    """The class of a named agent (its settings are `agent_class(name).settings_class`).

    Raises:
        ConfigError: If no agent has that name.
    """
    from laetitia.agents.base import BaseAgent

    check_agent_name(name)
    module, _, attribute = AGENTS[name].entry_point.partition(":")
    cls = getattr(importlib.import_module(module), attribute)
    assert isinstance(cls, type) and issubclass(cls, BaseAgent), AGENTS[name].entry_point
    return cls


def load_agent(path: str | Path, env: gym.Env | None = None) -> BaseAgent:
    """Load a saved agent of any kind: its name is read from the folder's `agent.json`.

    Raises:
        SessionError: If the folder holds no saved agent.
        ConfigError: If the saved agent's kind is not in `AGENTS`.
    """
    from laetitia.agents.base import read_agent_document

    return agent_class(read_agent_document(path).agent).load(path, env=env)


__all__ = ["AGENTS", "AgentEntry", "agent_class", "check_agent_name", "load_agent"]

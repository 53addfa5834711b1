"""Agents that choose emoticon parameters; all answer learn, predict, save and load."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from laetitia.errors import ConfigError


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
        "laetitia/Smile-v0",
        "the original Monte Carlo hill-climber: one random parameter move, keep if happier",
    ),
    "cma-es": AgentEntry(
        "laetitia.agents.cma_es:CmaEs",
        "laetitia/Smile-v0",
        "CMA-ES (the cmaes library): a population of emoticons per generation, for few, "
        "noisy steps; run it with --step-size 1",
    ),
}
"""Every agent `laetitia train --agent NAME` knows, by name."""


def agent_class(name: str) -> Any:
    """The class of a named agent.

    Raises:
        ConfigError: If no agent has that name.
    """
    if name not in AGENTS:
        raise ConfigError(f"unknown agent {name!r}; choose one of {sorted(AGENTS)}.")
    module, _, cls = AGENTS[name].entry_point.partition(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["AGENTS", "AgentEntry", "agent_class"]

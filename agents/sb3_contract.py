"""The stable-baselines3 internals that exact resume relies on, each checked.

A resumed PPO or DQN run goes on exactly as an uninterrupted one (`laetitia.agents.sb3`,
`ppo`, `dqn`). SB3's public API cannot do that: its `save`/`load` unpickle, `learn` stops
only at rollout boundaries, and nothing starts a rollout with recorded steps. So the agents
lean on a few of SB3's internals, listed here (`INTERNALS`) with what each is used for. A
release that changes one would otherwise break resume silently, so:

- pyproject pins stable-baselines3 below the next minor release after the one resume was
  proved with;
- `require_sb3_internals` checks every fact below (signatures, the order of statements in
  the loops, attributes of the buffers) once per process, when the first SB3 agent is built,
  and `require_model_internals` checks the attributes of each model built; a fact that does
  not hold is a `DependencyError` naming the internal;
- `tests/agents/test_sb3_contract.py` checks them too, and shows each failing when changed.

A source-level fact is read from SB3's own source (`inspect.getsource`): the names of the
local variables callbacks read, and which statement comes before which.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer, RolloutBuffer
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from laetitia.errors import DependencyError

STEP_LOCALS = ("new_obs", "dones", "infos")
"""Local variables of SB3's rollout loops that laetitia's callbacks read (`self.locals`)."""
REPLAY_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
"""The replay buffer's arrays a DQN agent saves and restores."""


@dataclass(frozen=True)
class Internal:
    """One SB3 internal that resume relies on."""

    name: str
    """Where it is in SB3 (`OnPolicyAlgorithm.collect_rollouts`)."""
    used_for: str
    """What laetitia does with it."""
    problem: Callable[[], str | None]
    """What is wrong with it in the installed SB3; None when it is as resume needs."""


def _parameters(function: Callable[..., Any], expected: tuple[str, ...]) -> str | None:
    names = tuple(inspect.signature(function).parameters)
    if names[: len(expected)] != expected:
        return f"takes ({', '.join(names)}), not ({', '.join(expected)})"
    return None


def _source(function: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def _in_order(function: Callable[..., Any], *statements: str) -> str | None:
    """None when `function`'s source holds each statement, each after the one before."""
    source = _source(function)
    if not source:
        return "has no readable source"
    position = 0
    for statement in statements:
        found = source.find(statement, position)
        if found < 0:
            where = "" if position == 0 else f" after `{statements[0]}`"
            return f"no longer has `{statement}`{where}"
        position = found + len(statement)
    return None


def _both(*problems: str | None) -> str | None:
    return next((p for p in problems if p is not None), None)


def _replay_buffer_fields() -> str | None:
    import gymnasium as gym

    buffer = ReplayBuffer(2, gym.spaces.Box(0.0, 1.0, (1,)), gym.spaces.Discrete(2))
    missing = [f for f in REPLAY_ARRAYS if not isinstance(getattr(buffer, f, None), np.ndarray)]
    if missing:
        return f"has no array(s) {missing}"
    for name, kind in (("pos", int), ("full", bool), ("buffer_size", int)):
        if not isinstance(getattr(buffer, name, None), kind):
            return f"has no {kind.__name__} {name}"
    return None


_STEP = "new_obs, rewards, dones, infos = env.step("
_LOCALS = "callback.update_locals(locals())"
_STOPPED = "if not callback.on_step():"

INTERNALS: tuple[Internal, ...] = (
    Internal(
        "OnPolicyAlgorithm.collect_rollouts",
        "ResumablePPO starts a rollout with the recorded steps of a resumed session, then "
        "asks SB3 for the rest of it (n_rollout_steps fewer)",
        lambda: _parameters(
            OnPolicyAlgorithm.collect_rollouts,
            ("self", "env", "callback", "rollout_buffer", "n_rollout_steps"),
        ),
    ),
    Internal(
        "OnPolicyAlgorithm.collect_rollouts: rollout_buffer.reset() before the loop",
        "the recorded steps stay in the buffer through that reset (RecordedFirstBuffer)",
        lambda: _in_order(
            OnPolicyAlgorithm.collect_rollouts,
            "rollout_buffer.reset()",
            "while n_steps < n_rollout_steps",
        ),
    ),
    Internal(
        "OnPolicyAlgorithm.collect_rollouts: a stopped step is not taken in",
        f"callbacks read the locals {STEP_LOCALS}; a run stopped at an exact step sets "
        "_last_obs and _last_episode_starts itself, from new_obs and dones (_StopAt)",
        lambda: _in_order(
            OnPolicyAlgorithm.collect_rollouts,
            _STEP,
            _LOCALS,
            _STOPPED,
            "return False",
            "self._last_obs = new_obs",
            "self._last_episode_starts = dones",
        ),
    ),
    Internal(
        "OffPolicyAlgorithm.collect_rollouts: a stopped step is not stored",
        f"callbacks read the locals {STEP_LOCALS}; a DQN save counts the transitions stored "
        "(CountingDQN), and a stopped run sets _last_obs itself (_StopAt)",
        lambda: _in_order(
            OffPolicyAlgorithm.collect_rollouts,
            _STEP,
            _LOCALS,
            _STOPPED,
            "return RolloutReturn(",
            "self._store_transition(",
        ),
    ),
    Internal(
        "OffPolicyAlgorithm._store_transition",
        "CountingDQN counts the transitions stored; it sets _last_obs to the step's new_obs",
        lambda: _both(
            _parameters(
                OffPolicyAlgorithm._store_transition,
                ("self", "replay_buffer", "buffer_action", "new_obs", "reward", "dones", "infos"),
            ),
            _in_order(OffPolicyAlgorithm._store_transition, "self._last_obs = new_obs"),
        ),
    ),
    Internal(
        "BaseAlgorithm._setup_learn: the env is reset when _last_obs is None",
        "learn(reset_num_timesteps=False) goes on from _last_obs; a caught-up agent sets it "
        "to None so that its resumed run starts a new episode",
        lambda: _in_order(
            BaseAlgorithm._setup_learn,
            "if reset_num_timesteps or self._last_obs is None:",
            "self._last_obs = self.env.reset()",
        ),
    ),
    Internal(
        "RolloutBuffer.add and compute_returns_and_advantage",
        "ResumablePPO adds the recorded steps to a rollout as SB3 adds its own",
        lambda: _both(
            _parameters(
                RolloutBuffer.add,
                ("self", "obs", "action", "reward", "episode_start", "value", "log_prob"),
            ),
            _parameters(
                RolloutBuffer.compute_returns_and_advantage, ("self", "last_values", "dones")
            ),
        ),
    ),
    Internal(
        "PPO(rollout_buffer_class=...)",
        "ResumablePPO collects into a RecordedFirstBuffer",
        lambda: (
            None
            if "rollout_buffer_class" in inspect.signature(PPO.__init__).parameters
            else "takes no rollout_buffer_class"
        ),
    ),
    Internal(
        "ReplayBuffer.add",
        "DQN takes in a resumed session's recorded steps as SB3 stores its own",
        lambda: _parameters(
            ReplayBuffer.add, ("self", "obs", "next_obs", "action", "reward", "done", "infos")
        ),
    ),
    Internal(
        "ReplayBuffer's arrays, pos, full and buffer_size",
        "a DQN save holds the filled part of the replay buffer and restores it in place",
        _replay_buffer_fields,
    ),
)
"""Every SB3 internal that resume relies on."""

MODEL_ATTRIBUTES: dict[str, type | None] = {
    "_last_obs": None,
    "_last_episode_starts": None,
    "_n_updates": int,
}
"""Attributes of every SB3 model that resume reads or writes (None: of any type)."""


def broken_internals() -> list[str]:
    """What is wrong with each internal in the installed SB3 (empty when all hold)."""
    broken = []
    for internal in INTERNALS:
        problem = internal.problem()
        if problem is not None:
            broken.append(f"{internal.name} {problem} (used for: {internal.used_for})")
    return broken


def dependency_error(what: str) -> DependencyError:
    """The error for an SB3 internal that is not what resume relies on (`what` says which)."""
    return DependencyError(
        f"stable-baselines3 {_installed()}: {what}. laetitia's exact resume relies on it; "
        f"install a version it was proved with: pip install '{_required()}'."
    )


_checked = False


def require_sb3_internals() -> None:
    """Check every internal in `INTERNALS` (once per process).

    Raises:
        DependencyError: Naming each internal that the installed SB3 changed.
    """
    global _checked
    if _checked:
        return
    broken = broken_internals()
    if broken:
        raise dependency_error("; ".join(broken))
    _checked = True


def require_model_internals(model: object, extra: Iterable[tuple[str, type | None]] = ()) -> None:
    """Check that an SB3 model has the attributes resume reads and writes.

    Args:
        model: The SB3 model.
        extra: Attributes of its algorithm beyond `MODEL_ATTRIBUTES`, with their types.

    Raises:
        DependencyError: Naming the first attribute it lacks or holds with another type.
    """
    for name, kind in [*MODEL_ATTRIBUTES.items(), *extra]:
        owner = type(model).__name__
        if not hasattr(model, name):
            raise dependency_error(f"{owner} has no attribute {name}")
        value = getattr(model, name)
        if kind is not None and not isinstance(value, kind):
            raise dependency_error(
                f"{owner}.{name} is a {type(value).__name__}, not a {kind.__name__}"
            )


def step_locals(local_vars: dict[str, Any]) -> tuple[Any, np.ndarray, list[dict[str, Any]]]:
    """`new_obs`, `dones` and `infos` of the step SB3 reports to a callback (its locals).

    Raises:
        DependencyError: If SB3's loop no longer has one of them.
    """
    missing = [name for name in STEP_LOCALS if name not in local_vars]
    if missing:
        raise dependency_error(f"the rollout loop's locals have no {missing}")
    return local_vars["new_obs"], local_vars["dones"], local_vars["infos"]


def _installed() -> str:
    try:
        return importlib.metadata.version("stable-baselines3")
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def _required() -> str:
    """The stable-baselines3 requirement laetitia was installed with (pyproject's pin)."""
    try:
        requirements = importlib.metadata.requires("laetitia") or []
    except importlib.metadata.PackageNotFoundError:
        requirements = []
    pins = [r for r in requirements if r.replace("_", "-").startswith("stable-baselines3")]
    return pins[0].split(";")[0].strip() if pins else "stable-baselines3"

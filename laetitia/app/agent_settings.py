"""An agent's settings in a file: `laetitia tune` writes it, `laetitia train --agent-config` reads.

    {"agent": "cma-es", "settings": {"population": 8, "sigma": 0.31}, "found_by": {...}}

`agent` names the agent the settings are for, `settings` holds algorithm settings by name (any
subset of the fields of the agent's settings dataclass, `agent_class(agent).settings_class`),
and `found_by` says where they came from (for `laetitia tune`: the objective, the grid and the
experiment folder). The file is read as strictly as every other record
(`laetitia.records.from_dict`), and the settings fill the agent's dataclass as strictly
(`laetitia.agents.settings.Settings.from_dict`): an unknown setting, a value not of its type or
out of its range, is an error naming the setting and the file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from laetitia.errors import ConfigError
from laetitia.files import write_json_atomic
from laetitia.records import from_dict, parse_json


@dataclass(frozen=True)
class AgentSettings:
    """The settings of one agent, as written to a file."""

    agent: str
    """The agent's name (see `laetitia.agents.AGENTS`)."""
    settings: dict[str, Any]
    """Algorithm settings by name; those left out keep the agent's defaults."""
    found_by: dict[str, Any] = field(default_factory=dict)
    """Where the settings came from (what `laetitia tune` measured); not read back."""

    def __post_init__(self) -> None:
        # Here, not at import: `laetitia train` refuses a bad argument before torch loads.
        from laetitia.agents import agent_class

        agent_class(self.agent).settings_class.from_dict(self.settings)


def write_agent_settings(path: Path, record: AgentSettings) -> Path:
    """Write `record` to `path` (JSON, atomically); returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, asdict(record), indent=2, sort_keys=False, allow_nan=False)
    return path


def read_agent_settings(path: Path, agent: str) -> dict[str, Any]:
    """The settings in the file `path`, checked against agent `agent`.

    Raises:
        ConfigError: With `field` "agent_config", if the file is missing or not JSON, is not an
            `AgentSettings` record, is for another agent, or has a setting the agent does not
            take or a value of the wrong type; the message names the file and the key.
    """
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError as error:
        raise ConfigError(
            f"agent_config {path} does not exist; give a settings file (`laetitia tune` "
            "writes one).",
            field="agent_config",
        ) from error
    except OSError as error:
        raise ConfigError(
            f"agent_config {path} cannot be read: {error.strerror or error}.",
            field="agent_config",
        ) from error
    try:
        data = parse_json(text, f"agent_config {path}")
    except ConfigError as error:
        raise ConfigError(str(error), field="agent_config") from error
    try:
        record = from_dict(AgentSettings, data, source=str(path))
    except ConfigError as error:
        raise ConfigError(f"agent_config {error}", field="agent_config") from error
    if record.agent != agent:
        raise ConfigError(
            f"agent_config {path} holds settings of agent {record.agent!r}, not of "
            f"{agent!r}; train that agent, or give a file made for this one.",
            field="agent_config",
        )
    return dict(record.settings)


def agent_args_with_file(
    agent: str, agent_config: Path | None, agent_args: dict[str, Any]
) -> dict[str, Any]:
    """An agent's settings: those of the file `agent_config` (if any), `agent_args` over them."""
    from_file = {} if agent_config is None else read_agent_settings(agent_config, agent)
    return {**from_file, **agent_args}

"""The study file (`study.toml`): a study's protocol, read strictly into frozen records.

A study file names the conditions (an agent, its settings, its steps, its prior policy), the
order scheme, the viewer, whether each participant calibrates first, the break between
conditions, whether camera frames are kept, the consent text, the simulated people of a dry
run and the settings of the report. Every other key is a setting of `laetitia train`
(`laetitia.app.training.TrainConfig`: `frames`, `settle_s`, `max_episode_steps`, `detector`,
`model`, ...) and passes through to each session by name, at the top (every condition) or in
one condition (that condition, over the top's): a new run setting needs no study code. A
setting that is a path (a FER model) is read from the study folder when it is relative. The
settings the study itself decides (where each session goes, its seed, its prior, the
participant's calibration profile, the viewer) cannot be set there.

    study = read_study(Path("my-study"))          # my-study/study.toml
    study.conditions[0].name, study.order
    config = study.train_config(condition, out, viewer="webcam", seed=7)

An unknown key is an error naming it, where it is and the keys that are valid there; a value of
the wrong type or out of range is an error naming the key and the file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from laetitia.errors import LaetitiaError, StudyError
from laetitia.records import field_names, from_dict

if TYPE_CHECKING:
    from laetitia.app.training import TrainConfig

STUDY_FILE: Final = "study.toml"
"""The study file's name in its study folder."""
ORDERS: Final = ("latin-square", "fixed")
"""Order schemes: a balanced Latin square by participant index, or the file's order for all."""
PRIOR_POLICIES: Final = ("none", "fixed", "growing")
"""A condition's prior: none; learned from a fixed set of sessions; or *growing* (see below)."""
PRIOR_POOLS: Final = ("condition", "study")
"""Whose sessions a growing prior is learned from: the same condition's, or every condition's."""
NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""A study, condition or participant name: safe as a folder name and in a dataset id."""
STUDY_DECIDES: Final = frozenset({"out", "seed", "prior", "profile", "viewer"})
"""Settings of a training the study sets for each session; a study file cannot set them."""
CONDITION_OWN: Final = ("name", "agent", "steps", "agent_args", "prior")
"""The keys of a condition that are its own (the rest pass through to the training)."""


def check_name(value: str, what: str, source: str) -> str:
    """Refuse a name that is not safe as a folder name (no path separator, no `..`, no space).

    Raises:
        StudyError: Naming `what` and `source`.
    """
    if not NAME.fullmatch(value):
        raise StudyError(
            f"{source}: {what} {value!r} must be 1 to 64 letters, digits, '-' or '_', starting "
            "with a letter or digit (it names a folder)."
        )
    return value


@dataclass(frozen=True)
class PriorPolicy:
    """Which prior a condition's agent starts each participant with.

    *growing*: each participant's prior is learned (`laetitia.app.prior.learn_prior`) from the
    sessions of every earlier participant of this study: those whose session of this condition
    (`pool = "condition"`) or of any condition (`pool = "study"`) was complete when this
    participant's session of the condition started, withdrawn participants never included.
    A prior needs two such sessions with readings: the first participants run without one, and
    their records say why.
    """

    policy: str = "none"
    """One of `PRIOR_POLICIES`."""
    pool: str = "condition"
    """For a growing prior, one of `PRIOR_POOLS`."""
    sessions: tuple[str, ...] = ()
    """For a fixed prior: session folders (or folders of them, or one prior folder), relative
    to the study folder or absolute."""

    def __post_init__(self) -> None:
        if self.policy not in PRIOR_POLICIES:
            raise StudyError(f"prior policy {self.policy!r} is not one of {list(PRIOR_POLICIES)}.")
        if self.pool not in PRIOR_POOLS:
            raise StudyError(f"prior pool {self.pool!r} is not one of {list(PRIOR_POOLS)}.")
        if (self.policy == "fixed") != bool(self.sessions):
            raise StudyError(
                "prior sessions are given for the policy 'fixed', and only for it "
                f"(policy {self.policy!r}, {len(self.sessions)} session(s))."
            )


@dataclass(frozen=True)
class Condition:
    """One condition: an agent with its settings, for so many steps, with a prior policy."""

    name: str
    """Its name: the participant's session folder, and the dataset it exports."""
    agent: str
    """The agent (`laetitia.agents.AGENTS`)."""
    steps: int
    """Steps of each participant's session."""
    agent_args: dict[str, Any] = field(default_factory=dict)
    """The agent's settings (as `laetitia train --agent-arg`)."""
    prior: PriorPolicy = field(default_factory=PriorPolicy)
    """Which prior the agent starts with."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Training settings of this condition's sessions, over the study's."""


@dataclass(frozen=True)
class Simulation:
    """The simulated people of a dry run (`laetitia study run --simulate N`)."""

    people: str = "person:v3:{member}"
    """A viewer spec with `{member}`: dry-run participant of index i is member `first_member +
    i` (the simulated people suites, `laetitia.viewers.suites`). people-v3 by default: its
    people smile as faintly and late as the `smile` signal reads real faces, so a dry run meets
    what a study will."""
    first_member: int = 40
    """The member the participant of index 0 is: people-v3's validation split starts at 40
    (its prior split, 0-39, is what the shipped prior learned from; 100-179 are sealed)."""

    def viewer(self, index: int) -> str:
        """The viewer spec of the dry-run participant of `index`."""
        return self.people.format(member=self.first_member + index)


@dataclass(frozen=True)
class Analysis:
    """What `laetitia study report` computes for each session."""

    threshold: float = 0.9
    """Steps to threshold: the first step whose rolling mean reaches this share of the way from
    the participant's own floor to their own top (over all their sessions)."""
    window: int = 10
    """Steps of the rolling mean behind the learning curves and the threshold."""
    last_steps: int = 20
    """The mean signal over a session's last this many steps with a face."""
    bootstrap: int = 4000
    """Resamples of the participants behind each paired interval."""

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise StudyError(f"analysis threshold must be in (0, 1], got {self.threshold}.")
        for name in ("window", "last_steps", "bootstrap"):
            if getattr(self, name) < 1:
                raise StudyError(f"analysis {name} must be at least 1, got {getattr(self, name)}.")


@dataclass(frozen=True)
class Study:
    """A study's protocol, as its study file gives it."""

    name: str
    """The study's name (letters, digits, '-', '_'): it names the datasets it exports."""
    conditions: tuple[Condition, ...]
    """The conditions, in the file's order (the first is the reference of comparisons)."""
    consent: str
    """What the participant reads and must accept before the camera starts."""
    order: str = "latin-square"
    """One of `ORDERS`."""
    viewer: str = "webcam"
    """Who looks, for a participant (`laetitia train --viewer`: webcam, webcam:INDEX, ...)."""
    calibrate: bool = True
    """Each participant calibrates first (`laetitia calibrate`); a dry run skips it."""
    break_s: float = 30.0
    """Seconds of rest between two conditions (the participant may go on sooner); 0: none."""
    seed: int = 0
    """Participant of index i, condition number c (file order): seed + 1000 i + c."""
    keep_frames: bool = False
    """Keep camera images of the participants (False: only the per-frame values)."""
    simulation: Simulation = field(default_factory=Simulation)
    analysis: Analysis = field(default_factory=Analysis)
    settings: dict[str, Any] = field(default_factory=dict)
    """Training settings of every session (`frames`, `settle_s`, ...)."""
    folder: Path = Path(".")
    """The study folder (where the file was read)."""

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise StudyError(f"order {self.order!r} is not one of {list(ORDERS)}.")
        if not self.conditions:
            raise StudyError("a study has at least one condition ([[conditions]]).")
        names = [c.name for c in self.conditions]
        if len(set(names)) != len(names):
            raise StudyError(f"conditions have the same name twice: {names}.")
        if not self.consent.strip():
            raise StudyError("consent is the text the participant must accept; it is empty.")
        if not self.break_s >= 0:
            raise StudyError(f"break_s must be 0 or more seconds, got {self.break_s}.")
        if self.seed < 0:
            raise StudyError(f"seed must be 0 or more, got {self.seed}.")

    def condition(self, name: str) -> Condition:
        """The condition called `name`.

        Raises:
            StudyError: If the study has none of that name.
        """
        for condition in self.conditions:
            if condition.name == name:
                return condition
        raise StudyError(
            f"the study has no condition {name!r}; it has {[c.name for c in self.conditions]}."
        )

    def seed_of(self, index: int, condition: Condition) -> int:
        """The seed of participant `index`'s session of `condition`."""
        return self.seed + 1000 * index + self.conditions.index(condition)

    def train_config(
        self, condition: Condition, out: Path, viewer: str, seed: int, **decided: Any
    ) -> TrainConfig:
        """The training of one participant's session of `condition`.

        Args:
            condition: The condition.
            out: The session folder.
            viewer: The participant's viewer.
            seed: The session's seed (`seed_of`).
            **decided: What else the study decides for the session (`prior`, `profile`).
        """
        from laetitia.app.training import TrainConfig

        data = {
            "keep_frames": self.keep_frames,
            **self.settings,
            **condition.settings,
            "out": out,
            "viewer": viewer,
            "seed": seed,
            "agent": condition.agent,
            "steps": condition.steps,
            "agent_args": dict(condition.agent_args),
            **decided,
        }
        where = f"{self.folder / STUDY_FILE}: [[conditions]] {condition.name!r}"
        config: TrainConfig = from_dict(TrainConfig, data, where, StudyError)
        return config


def _training_fields() -> tuple[str, ...]:
    """The settings a study file may pass through to each session's training."""
    from laetitia.app.training import TrainConfig

    return tuple(n for n in field_names(TrainConfig) if n not in STUDY_DECIDES)


def _unknown(data: Any, valid: list[str], where: str, source: Path) -> dict[str, Any]:
    """`data` as a table whose keys are all in `valid` (the message lists them)."""
    if not isinstance(data, Mapping):
        raise StudyError(f"{source}: {where} should be a table, found {data!r}.")
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise StudyError(
            f"{source}: unknown key(s) {', '.join(map(repr, unknown))} {where}; the keys there "
            f"are {sorted(valid)}."
        )
    return dict(data)


def parse_study(text: str, source: Path, folder: Path) -> Study:
    """Read a study file's text into a `Study`, strictly.

    Raises:
        StudyError: For TOML that does not parse, an unknown key (named, with the valid keys
            where it is), a missing or mistyped value, or a setting out of range.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StudyError(f"{source} is not valid TOML: {error}.") from error
    training = _training_fields()
    own = [f for f in field_names(Study) if f not in ("folder", "settings")]
    data = _unknown(data, own + list(training), "at the top of the file", source)
    record = {k: v for k, v in data.items() if k in own}
    record["settings"] = {k: v for k, v in data.items() if k not in own}
    raw = data.get("conditions", [])
    if not isinstance(raw, list):
        raise StudyError(f"{source}: conditions is a list of tables ([[conditions]]).")
    record["conditions"] = [
        _condition(entry, number, training, source) for number, entry in enumerate(raw, 1)
    ]
    for key, cls in (("simulation", Simulation), ("analysis", Analysis)):
        if key in record:
            record[key] = _unknown(record[key], field_names(cls), f"in [{key}]", source)
    record["settings"] = _paths_from(folder, record["settings"])
    for condition in record["conditions"]:
        condition["settings"] = _paths_from(folder, condition["settings"])
    study: Study = from_dict(Study, {**record, "folder": folder}, str(source), StudyError)
    check_name(study.name, "the study name", str(source))
    _check_simulation(study.simulation, source)
    for condition in study.conditions:
        check_name(condition.name, "the condition name", f"{source}: [[conditions]]")
        _check_condition(study, condition, source)
    return study


def _paths_from(folder: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """Settings that are paths (a FER model, ...), a relative one read from the study folder."""
    import typing

    from laetitia.app.training import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    return {
        name: str(folder / value)
        if isinstance(value, str)
        and "Path" in str(hints.get(name))
        and not Path(value).is_absolute()
        else value
        for name, value in settings.items()
    }


def _condition(entry: Any, number: int, training: tuple[str, ...], source: Path) -> dict[str, Any]:
    """A [[conditions]] table as a `Condition`'s data: its own keys, and its settings."""
    where = f"in [[conditions]] number {number}"
    entry = _unknown(entry, [*CONDITION_OWN, *training], where, source)
    data = {k: v for k, v in entry.items() if k in CONDITION_OWN}
    if "prior" in data:
        data["prior"] = _unknown(data["prior"], field_names(PriorPolicy), f"{where}: prior", source)
    data["settings"] = {k: v for k, v in entry.items() if k not in CONDITION_OWN}
    return data


def _check_simulation(simulation: Simulation, source: Path) -> None:
    from laetitia.viewers.spec import parse_viewer_spec

    where = f"{source}: in [simulation]"
    if "{member}" not in simulation.people:
        raise StudyError(f"{where}: people {simulation.people!r} needs {{member}}.")
    if simulation.first_member < 0:
        raise StudyError(f"{where}: first_member must be 0 or more.")
    try:
        spec = parse_viewer_spec(simulation.viewer(0))
    except LaetitiaError as error:
        raise StudyError(f"{where}: people: {error}") from error
    if spec.kind not in ("sim", "person"):
        raise StudyError(
            f"{where}: people {simulation.people!r} is not a simulated viewer (sim:{{member}}, "
            "person:..:{member})."
        )


def _check_condition(study: Study, condition: Condition, source: Path) -> None:
    """Each condition's training, checked as `laetitia train` would check it."""
    from laetitia.agents import agent_class

    where = f"{source}: [[conditions]] {condition.name!r}"
    study.train_config(condition, study.folder / "probe", "sim", seed=0)
    try:
        agent_class(condition.agent).settings_class.from_dict(condition.agent_args)
    except LaetitiaError as error:
        raise StudyError(f"{where}: agent_args: {error}") from error
    if condition.prior.policy != "none" and not agent_class(condition.agent).takes_prior:
        raise StudyError(
            f"{where}: prior policy {condition.prior.policy!r}, but agent "
            f"{condition.agent!r} takes no prior (bayes-opt does)."
        )


def read_study(folder: Path | str) -> Study:
    """Read the study file of a study folder.

    Raises:
        StudyError: If the folder holds no study file, or the file is not a study (see
            `parse_study`).
    """
    folder = Path(folder)
    path = folder / STUDY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise StudyError(
            f"{folder} is not a study folder: it has no {STUDY_FILE}. Make one with "
            f"`laetitia study init {folder}`."
        ) from error
    except (OSError, UnicodeDecodeError) as error:
        raise StudyError(f"{path} cannot be read: {error}.") from error
    return parse_study(text, path, folder)

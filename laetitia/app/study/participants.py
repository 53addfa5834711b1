"""A study folder's participants: pseudonyms, their records, and who writes the folder when.

    STUDY/
      study.toml                       the protocol (`laetitia.app.study.protocol`)
      participants/ID/participant.json  consent, index, order, and each condition's run
      participants/ID/profile.json      the calibration profile, when the study calibrates
      participants/ID/CONDITION/        one session folder per condition (`laetitia train`)
      withdrawals.json                  only that withdrawals happened, and when
      exports.json                      the exports made, to delete them at a withdrawal

A participant is named by a pseudonym the researcher gives (`check_participant`: letters,
digits, '-' and '_', safe as a folder name); nothing else identifying is written. A
participant's *index* is given when they consent: the lowest index no current participant
holds, so a withdrawn participant's place (and order) goes to the next one and the orders
stay balanced.

One `laetitia study run` writes one participant at a time (`folder_lock` on the participant's
folder), and enrolment and withdrawal take the study's own lock briefly. The sessions are
written by `laetitia train`'s code, which keeps its own guard on each session folder: the
study never locks a session folder.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TypeVar

from laetitia.app.study.protocol import NAME
from laetitia.errors import StudyError
from laetitia.files import write_json_atomic
from laetitia.records import JSON_LIMIT, from_dict, parse_json

PARTICIPANTS_DIR: Final = "participants"
PARTICIPANT_FILE: Final = "participant.json"
PROFILE_FILE: Final = "profile.json"
WITHDRAWALS_FILE: Final = "withdrawals.json"
LOCK_FILE: Final = ".lock"
T = TypeVar("T")
RECORD_FORMAT: Final = 1
"""Version of `participant.json`."""
ACCEPTED, DECLINED, SIMULATED = "accepted", "declined", "simulated"
"""A consent's answers: a simulated participant's consent is recorded as simulated."""


def now() -> str:
    """The time now, ISO 8601 to the microsecond with the UTC offset: records sort by it."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def check_participant(participant: str) -> str:
    """Refuse a pseudonym that is not safe as a folder name.

    Raises:
        StudyError: For a path separator, `..`, a space, or any character but letters,
            digits, '-' and '_'.
    """
    if not NAME.fullmatch(participant):
        raise StudyError(
            f"participant {participant!r} must be a pseudonym of 1 to 64 letters, digits, '-' "
            "or '_', starting with a letter or digit (it names a folder; no other character, "
            "no path).",
            field="participant",
        )
    return participant


@dataclass(frozen=True)
class Consent:
    """What the participant answered to the consent text, and when."""

    answer: str
    """`ACCEPTED`, `DECLINED`, or `SIMULATED` (a dry run's simulated participant)."""
    time: str
    """When, ISO 8601."""
    text_sha256: str
    """sha256 of the consent text shown (the study file may change between participants)."""


@dataclass(frozen=True)
class PriorUse:
    """The prior a participant's session of a condition started with."""

    policy: str
    """The condition's policy (`laetitia.app.study.protocol.PRIOR_POLICIES`)."""
    learned_from: tuple[str, ...] = ()
    """A growing prior: the study sessions it was learned from, by their tokens (never by
    participant); a fixed one: its session folders."""
    used: bool = False
    """Whether the agent got a prior (a growing one needs two earlier sessions)."""
    note: str = ""
    """Why there was none, where there was none."""


@dataclass(frozen=True)
class ConditionRun:
    """One condition of a participant: where it stands."""

    condition: str
    position: int
    """Its place in the participant's order, from 1."""
    token: str
    """A random name of the session, by which growing priors name what they learned from."""
    seed: int
    prior: PriorUse
    started: str
    finished: str | None = None
    """When its last step was recorded; None while it is not complete."""


@dataclass(frozen=True)
class Participant:
    """A participant's record (`participant.json`)."""

    participant: str
    """The pseudonym."""
    consent: Consent
    index: int | None = None
    """Their place among the participants (from 0), given at consent; None when declined."""
    order: tuple[str, ...] = ()
    """The conditions in the order they meet them."""
    simulated: bool = False
    """A dry run's simulated participant."""
    viewer: str = ""
    """The viewer their sessions use."""
    calibration: str = ""
    """Their calibration profile (relative to their folder), or why there is none."""
    runs: tuple[ConditionRun, ...] = ()
    """The conditions started, in order."""
    format_version: int = RECORD_FORMAT

    def run_of(self, condition: str) -> ConditionRun | None:
        """The run of `condition`, if it was started."""
        return next((r for r in self.runs if r.condition == condition), None)

    @property
    def enrolled(self) -> bool:
        """Whether they consented (or are simulated) and hold an index."""
        return self.index is not None

    def done(self) -> bool:
        """Whether every condition of their order is complete."""
        finished = {r.condition for r in self.runs if r.finished is not None}
        return self.enrolled and set(self.order) <= finished


def participants_dir(study_dir: Path) -> Path:
    """The folder of a study's participants."""
    return Path(study_dir) / PARTICIPANTS_DIR


def participant_dir(study_dir: Path, participant: str) -> Path:
    """A participant's folder (the pseudonym checked first)."""
    return participants_dir(study_dir) / check_participant(participant)


def read_record(path: Path, cls: type[T]) -> T | None:
    """A record of the study (a JSON file of the dataclass `cls`), read strictly.

    Returns:
        None when the file does not exist.

    Raises:
        StudyError: If the file is unreadable, or not a `cls` (naming the key and the file).
    """
    from laetitia.sessions.paths import read_inside

    # A study's records sit beside its sessions and are read by the same rules: no link
    # followed, no FIFO opened, the size and nesting bounded.
    try:
        text = read_inside(path.parent, path.name, str(path), JSON_LIMIT, StudyError)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StudyError(f"{path} cannot be read ({error}).") from error
    return from_dict(cls, parse_json(text, str(path), StudyError), str(path), StudyError)


def read_participant(study_dir: Path, participant: str) -> Participant | None:
    """A participant's record; None when they have none.

    Raises:
        StudyError: If the record is not one this laetitia reads.
    """
    path = participant_dir(study_dir, participant) / PARTICIPANT_FILE
    record = read_record(path, Participant)
    if record is None:
        return None
    if record.format_version > RECORD_FORMAT:
        raise StudyError(f"{path} was written by a newer laetitia; upgrade laetitia.")
    if record.participant != participant:
        raise StudyError(f"{path} is the record of {record.participant!r}, not {participant!r}.")
    return record


def write_participant(study_dir: Path, record: Participant) -> Path:
    """Write a participant's record, atomically."""
    folder = participant_dir(study_dir, record.participant)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PARTICIPANT_FILE
    write_json_atomic(path, asdict(record), indent=2, allow_nan=False)
    return path


def all_participants(study_dir: Path) -> list[Participant]:
    """Every participant with a record: enrolled ones by index, then those who declined."""
    root = participants_dir(study_dir)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and not folder.is_symlink() and (folder / PARTICIPANT_FILE).is_file():
            record = read_participant(study_dir, folder.name)
            if record is not None:
                found.append(record)
    return sorted(found, key=lambda r: (r.index is None, r.index or 0, r.participant))


def next_index(records: list[Participant]) -> int:
    """The lowest index no enrolled participant holds."""
    held = {r.index for r in records if r.index is not None}
    return next(i for i in range(len(held) + 1) if i not in held)


@contextmanager
def folder_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold a folder's lock (`LOCK_FILE`) while the block runs; the kernel drops it at exit.

    Raises:
        StudyError: If another process holds it (named by its process id).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise StudyError(
                f"{what} is in use by process {holder}; wait for it to end (or end it)."
            ) from error
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True)
class StudySession:
    """A session of the study: whose, of which condition, and where."""

    participant: Participant
    run: ConditionRun
    folder: Path

    @property
    def complete(self) -> bool:
        """Whether the session has all its condition's steps."""
        return self.run.finished is not None


def study_sessions(study_dir: Path) -> list[StudySession]:
    """Every session of the study's enrolled participants, by participant and position.

    A condition started but with no step recorded yet has no session and is left out.
    """
    from laetitia.sessions import META_FILE
    from laetitia.sessions.paths import is_file_inside

    found = []
    for record in all_participants(study_dir):
        for run in record.runs:
            folder = participant_dir(study_dir, record.participant) / run.condition
            if is_file_inside(folder, META_FILE) and not folder.is_symlink():
                found.append(StudySession(record, run, folder))
    return found

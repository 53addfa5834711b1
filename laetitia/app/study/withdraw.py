"""`laetitia study withdraw`: a participant's data deleted from everywhere in the study.

    withdrawn = withdraw(Path("my-study"), "P03")

Deleted: the participant's folder (their record, consent, calibration profile and every
session, frames included) and every export and report that holds their data (those in the
study's log, `laetitia.app.study.export`: an export is one file set, so it is deleted whole, to
be made again without them). Recorded: only that a withdrawal happened, and when
(`withdrawals.json`), never who. Reports and exports made later, and growing priors learned
later, cannot include them: their sessions are gone. Priors already given to other
participants keep what they were learned from (it is part of what those participants' agents
did), and name their sources by session tokens that no longer lead anywhere. The participant's
index goes to the next participant who enrols, so the orders stay balanced.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from laetitia.app.study.export import (
    ExportLog,
    delete_export,
    read_export_log,
    write_export_log,
)
from laetitia.app.study.participants import (
    WITHDRAWALS_FILE,
    folder_lock,
    now,
    participant_dir,
    read_record,
)
from laetitia.app.study.protocol import read_study
from laetitia.errors import StudyError
from laetitia.files import write_json_atomic


@dataclass(frozen=True)
class Withdrawals:
    """The study's record of withdrawals (`withdrawals.json`): when each happened, not who."""

    times: tuple[str, ...] = ()


@dataclass(frozen=True)
class Withdrawn:
    """What a withdrawal deleted."""

    exports_deleted: tuple[str, ...]
    """Export folders deleted (each held the participant's data)."""
    exports_missing: tuple[str, ...]
    """Exports that held their data but are no longer where they were written: any copy of
    them still does."""


def read_withdrawals(study_dir: Path) -> Withdrawals:
    """The study's withdrawals (none when there is no record)."""
    return read_record(Path(study_dir) / WITHDRAWALS_FILE, Withdrawals) or Withdrawals()


def withdraw(study_dir: Path | str, participant: str) -> Withdrawn:
    """Delete a participant's data everywhere in the study; record only that it happened.

    Raises:
        StudyError: If the study has no such participant, or they are being run now.
    """
    study_dir = Path(study_dir)
    read_study(study_dir)  # a study folder, whose file reads
    folder = participant_dir(study_dir, participant)
    if not folder.exists() and not folder.is_symlink():
        raise StudyError(
            f"participant {participant} has no data in {study_dir} (withdrawn already, or "
            "never run).",
            field="participant",
        )
    deleted, missing = [], []
    with folder_lock(study_dir, f"the study {study_dir}"):
        log = read_export_log(study_dir)
        kept = []
        for record in log.exports:
            if participant not in record.participants:
                kept.append(record)
            elif delete_export(record):
                deleted.append(record.path)
            else:
                missing.append(record.path)
        write_export_log(study_dir, ExportLog(tuple(kept)))
        if folder.is_symlink():
            folder.unlink()  # never followed: what it points to is not the study's
        else:
            with folder_lock(folder, f"participant {participant}"):
                shutil.rmtree(folder)
        withdrawals = read_withdrawals(study_dir)
        record_path = study_dir / WITHDRAWALS_FILE
        write_json_atomic(record_path, asdict(Withdrawals((*withdrawals.times, now()))), indent=2)
    return Withdrawn(tuple(deleted), tuple(missing))

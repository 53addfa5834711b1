"""`laetitia study status`: who has done what, what remains, and the order each gets next.

print(format_status(study_status(Path("my-study"))))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from laetitia.app.study.export import read_export_log
from laetitia.app.study.order import condition_order
from laetitia.app.study.participants import all_participants, next_index, participant_dir
from laetitia.app.study.protocol import Study, read_study
from laetitia.app.study.withdraw import read_withdrawals
from laetitia.sessions import META_FILE
from laetitia.sessions.paths import is_file_inside


@dataclass(frozen=True)
class ParticipantStatus:
    """Where one participant stands."""

    participant: str
    index: int | None
    """None: they declined consent."""
    order: tuple[str, ...]
    steps: dict[str, int]
    """Steps recorded in each condition of their order (0: not started)."""
    next: str | None
    """The condition the same command runs next; None when complete (or declined)."""
    simulated: bool
    calibration: str


@dataclass(frozen=True)
class StudyStatus:
    """Where a study stands."""

    study: Study
    participants: tuple[ParticipantStatus, ...]
    next_index: int
    """The index the next participant to enrol gets."""
    next_order: tuple[str, ...]
    withdrawals: int
    exports: int


def study_status(study_dir: Path | str) -> StudyStatus:
    """Where the study in `study_dir` stands."""
    from laetitia.sessions import load_session

    study_dir = Path(study_dir)
    study = read_study(study_dir)
    records = all_participants(study_dir)
    found = []
    for record in records:
        steps = {}
        for name in record.order:
            folder = participant_dir(study_dir, record.participant) / name
            steps[name] = load_session(folder).n_steps if is_file_inside(folder, META_FILE) else 0
        finished = {r.condition for r in record.runs if r.finished is not None}
        remaining = [name for name in record.order if name not in finished]
        found.append(
            ParticipantStatus(
                participant=record.participant,
                index=record.index,
                order=record.order,
                steps=steps,
                next=remaining[0] if remaining and record.enrolled else None,
                simulated=record.simulated,
                calibration=record.calibration,
            )
        )
    index = next_index(records)
    return StudyStatus(
        study=study,
        participants=tuple(found),
        next_index=index,
        next_order=condition_order(study, index),
        withdrawals=len(read_withdrawals(study_dir).times),
        exports=len(read_export_log(study_dir).exports),
    )


def format_status(status: StudyStatus) -> str:
    """The status as lines of text, a table of the participants in the middle."""
    study = status.study
    conditions = "; ".join(
        f"{c.name}: {c.agent}, {c.steps} steps, prior {c.prior.policy}" for c in study.conditions
    )
    lines = [f"study {study.name} ({study.order} orders): {conditions}"]
    if not status.participants:
        lines.append("no participant yet")
    for p in status.participants:
        if p.index is None:
            lines.append(f"  {p.participant}: declined consent")
            continue
        done = ", ".join(
            f"{name} {p.steps[name]}/{study.condition(name).steps}" for name in p.order
        )
        state = "complete" if p.next is None else f"next: {p.next}"
        kind = " (simulated)" if p.simulated else ""
        lines.append(
            f"  {p.participant}{kind}: participant {p.index}, order {' > '.join(p.order)}; "
            f"{done}; {state}"
        )
    complete = sum(p.index is not None and p.next is None for p in status.participants)
    lines.append(
        f"{complete} complete; the next participant to enrol is participant {status.next_index}, "
        f"order {' > '.join(status.next_order)}"
    )
    lines.append(
        f"withdrawals: {status.withdrawals} (only when each happened is recorded); "
        f"exports on record: {status.exports}"
    )
    return "\n".join(lines)

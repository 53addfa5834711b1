"""Running a study: each participant through their conditions, in their order, resumable.

    init_study(Path("my-study"))                          # a study.toml to start from
    run_participant(Path("my-study"), "P01")              # consent, calibration, conditions
    simulate(Path("my-study"), 6)                         # a whole dry run on simulated people

A participant's run is the same command from start to end and after any stop: it asks consent
(once; a refusal is all that is recorded of someone who declines), gives them an index and so
an order (`laetitia.app.study.order`), calibrates them (`laetitia calibrate`'s own code) when
the study asks, then runs each condition in their order into `participants/ID/CONDITION/`
with `laetitia.app.training.train`, a break between two conditions. A condition already
complete is skipped; one with steps recorded is resumed (`laetitia.app.training.resume`: the
agent and the step count carry on, no completed step is lost); the end key or a camera that
stops ends the run there, and the same command goes on from where it stopped.

A dry run (`simulate`, or `run_participant(..., simulated=True)`) puts simulated people
(`[simulation]` in the study file) in front of the agents: no consent screen (the consent is
recorded as simulated), no calibration (simulated people have no face to calibrate), no break.
A study folder holds simulated participants or real ones, never both.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from laetitia.app.study.example import EXAMPLE_STUDY
from laetitia.app.study.order import condition_order
from laetitia.app.study.participants import (
    ACCEPTED,
    DECLINED,
    PROFILE_FILE,
    SIMULATED,
    ConditionRun,
    Consent,
    Participant,
    PriorUse,
    all_participants,
    check_participant,
    folder_lock,
    next_index,
    now,
    participant_dir,
    participants_dir,
    read_participant,
    write_participant,
)
from laetitia.app.study.protocol import NAME, STUDY_FILE, Condition, Study, read_study
from laetitia.errors import SessionEndedByUser, StudyError
from laetitia.files import write_text_atomic
from laetitia.sessions import META_FILE
from laetitia.sessions.paths import is_file_inside

if TYPE_CHECKING:
    from laetitia.app.prior import PopulationPrior
    from laetitia.app.study.screens import ParticipantScreens

DRY_RUN_NOTE = (
    "dry run: simulated people; consent is recorded as simulated, and calibration is skipped "
    "(simulated people have no face to calibrate)"
)
"""What a dry run says before it starts."""
SIMULATED_PREFIX = "sim-"
"""Pseudonyms of the simulated participants of `simulate`: sim-01, sim-02, ..."""


@dataclass(frozen=True)
class RunOutcome:
    """Where a participant's run ended."""

    participant: str
    complete: bool
    """Whether every condition of theirs is complete."""
    stopped: str | None = None
    """Why the run ended before that: they declined, ended a session, a camera stopped."""
    sessions: tuple[Path, ...] = ()
    """Their session folders so far, in their order."""


def init_study(folder: Path | str) -> Path:
    """Write the example study file into a new study folder.

    The study is named after the folder where the folder's name is a valid one.

    Raises:
        StudyError: If the folder already holds a study file or anything else.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise StudyError(
            f"{folder} exists and is not an empty folder; `study init` starts a new study "
            "in a new folder."
        )
    folder.mkdir(parents=True, exist_ok=True)
    text = EXAMPLE_STUDY
    if NAME.fullmatch(folder.resolve().name):
        text = text.replace('name = "example"', f'name = "{folder.resolve().name}"', 1)
    write_text_atomic(folder / STUDY_FILE, text)
    return folder / STUDY_FILE


def simulate(
    study_dir: Path | str,
    participants: int,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> list[RunOutcome]:
    """A dry run: `participants` simulated participants (sim-01, sim-02, ...), each to the end.

    Those already complete are left as they are; one stopped mid-way goes on.

    Raises:
        StudyError: If `participants` is below 1, or the folder holds real participants.
    """
    if participants < 1:
        raise StudyError(
            f"simulate must be at least 1 participant, got {participants}.", field="simulate"
        )
    log(DRY_RUN_NOTE)
    return [
        run_participant(
            study_dir, f"{SIMULATED_PREFIX}{k:02d}", simulated=True, progress=progress, log=log
        )
        for k in range(1, participants + 1)
    ]


def run_participant(
    study_dir: Path | str,
    participant: str,
    simulated: bool = False,
    screens: ParticipantScreens | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> RunOutcome:
    """Run one participant through their conditions, from wherever they stopped.

    Args:
        study_dir: The study folder.
        participant: Their pseudonym.
        simulated: A dry run's simulated participant (`[simulation]` of the study file).
        screens: The consent and break screens; by default `participant_screens`' for the
            study's viewer. A simulated participant sees none.
        progress: Show each session's progress.
        log: Where to say what happens.

    Raises:
        StudyError: For a pseudonym that is not one, a study file that is not one, a dry run in
            a study of real participants (or the reverse), or a participant being run by
            another process.
    """
    study_dir = Path(study_dir)
    check_participant(participant)
    study = read_study(study_dir)
    folder = participant_dir(study_dir, participant)
    record = read_participant(study_dir, participant)
    if record is not None and record.enrolled and record.simulated != simulated:
        raise StudyError(
            f"participant {participant} is {'' if record.simulated else 'not '}simulated; run "
            f"them {'with' if record.simulated else 'without'} `simulated`.",
            mentions=("simulated",),
        )
    owned = screens is None and not simulated
    if screens is None and not simulated:
        from laetitia.app.study.screens import participant_screens

        screens = participant_screens(study.viewer)
    try:
        with folder_lock(folder, f"participant {participant}"):
            if record is None or not record.enrolled:
                record = _enrol(study, participant, simulated, screens, log)
                if not record.enrolled:
                    log(f"{participant} declined: only the refusal and its time are recorded")
                    return RunOutcome(participant, False, "the participant declined consent")
            return _run_conditions(study, record, screens, progress, log)
    finally:
        if owned and screens is not None:
            screens.close()


def _enrol(
    study: Study,
    participant: str,
    simulated: bool,
    screens: ParticipantScreens | None,
    log: Callable[[str], None],
) -> Participant:
    """Ask consent and, given, an index and an order; the record is written either way."""
    _refuse_mixing(study, simulated)  # before the participant reads anything
    sha = hashlib.sha256(study.consent.encode("utf-8")).hexdigest()
    if simulated:
        answer = SIMULATED
    else:
        assert screens is not None, "a participant who is not simulated sees the screens"
        screens.close()  # nothing else of this run is on screen: the text is read first
        answer = ACCEPTED if screens.consent(study.consent) else DECLINED
        screens.close()
    consent = Consent(answer, now(), sha)
    if answer == DECLINED:
        record = Participant(participant=participant, consent=consent)
        write_participant(study.folder, record)
        return record
    with folder_lock(study.folder, f"the study {study.folder}"):
        records = _refuse_mixing(study, simulated)
        index = next_index(records)
        order = condition_order(study, index)
        record = Participant(
            participant=participant,
            consent=consent,
            index=index,
            order=order,
            simulated=simulated,
            viewer=study.simulation.viewer(index) if simulated else study.viewer,
        )
        write_participant(study.folder, record)
    log(f"{participant}: participant {index}, order {' -> '.join(order)}")
    return record


def _refuse_mixing(study: Study, simulated: bool) -> list[Participant]:
    """The study's participants, refusing a dry run among real ones or the reverse."""
    records = all_participants(study.folder)
    mixed = [r.participant for r in records if r.enrolled and r.simulated != simulated]
    if mixed:
        kind = "real participants" if simulated else "a dry run (simulated participants)"
        raise StudyError(
            f"{study.folder} holds {kind} ({', '.join(mixed[:3])}); a study folder holds a dry "
            "run or the study itself, never both. Start the study in a new folder with a copy "
            f"of its {STUDY_FILE}."
        )
    return records


def _run_conditions(
    study: Study,
    record: Participant,
    screens: ParticipantScreens | None,
    progress: bool,
    log: Callable[[str], None],
) -> RunOutcome:
    folder = participant_dir(study.folder, record.participant)
    record, profile = _calibration(study, record, log)
    sessions = []
    just_finished = False
    for position, name in enumerate(record.order, 1):
        session_dir = folder / name
        sessions.append(session_dir)
        run = record.run_of(name)
        if run is not None and run.finished is not None:
            continue
        if just_finished and screens is not None and study.break_s > 0:
            try:
                screens.rest(study.break_s, position, len(record.order))
            except SessionEndedByUser as ended:
                return RunOutcome(record.participant, False, str(ended), tuple(sessions))
            finally:
                screens.close()
        record, stopped = _run_condition(
            study, record, study.condition(name), position, profile, progress, log
        )
        if stopped is not None:
            log(f"{record.participant}: stopped in {name!r} ({stopped}); the same command goes on")
            return RunOutcome(record.participant, False, stopped, tuple(sessions))
        just_finished = True
    log(f"{record.participant}: every condition is complete")
    return RunOutcome(record.participant, True, None, tuple(sessions))


def _calibration(
    study: Study, record: Participant, log: Callable[[str], None]
) -> tuple[Participant, Path | None]:
    """The participant's calibration profile, made now where the study asks for one."""
    folder = participant_dir(study.folder, record.participant)
    if record.calibration == PROFILE_FILE and is_file_inside(folder, PROFILE_FILE):
        return record, folder / PROFILE_FILE
    if record.simulated:
        note = "skipped: a dry run (simulated people have no face to calibrate)"
        log(f"{record.participant}: calibration {note}")
    elif not study.calibrate:
        note = "not asked by the study"
    else:
        calibrate_participant(study, folder / PROFILE_FILE)
        note = PROFILE_FILE
    record = dataclasses.replace(record, calibration=note)
    write_participant(study.folder, record)
    return record, (folder / PROFILE_FILE if note == PROFILE_FILE else None)


def calibrate_participant(study: Study, profile: Path) -> Path:
    """Calibrate a participant live with `laetitia calibrate`'s code, at the study's camera.

    The one place the study calibrates: the camera is the study's viewer's (a webcam, or a
    recording standing in for one), the face pipeline the study's.

    Raises:
        StudyError: If the study's viewer has no camera to calibrate at.
        CalibrationError: If the calibration fails or the participant stops it.
    """
    from laetitia.app.calibration import CalibrationConfig, calibrate_live
    from laetitia.faces import DETECTOR_NAMES
    from laetitia.viewers.spec import parse_viewer_spec

    spec = parse_viewer_spec(study.viewer)
    if spec.kind not in ("webcam", "video"):
        raise StudyError(
            f"calibrate: the study's viewer {study.viewer!r} has no camera to calibrate at; "
            f"set calibrate = false in {STUDY_FILE}."
        )
    camera: int | str = int(spec.arg or 0) if spec.kind == "webcam" else str(spec.arg)
    calibrate_live(
        camera,
        CalibrationConfig(out=profile, keep_frames=study.keep_frames),
        detector=study.settings.get("detector") or DETECTOR_NAMES[0],
        model=study.settings.get("model"),
    )
    return profile


def _run_condition(
    study: Study,
    record: Participant,
    condition: Condition,
    position: int,
    profile: Path | None,
    progress: bool,
    log: Callable[[str], None],
) -> tuple[Participant, str | None]:
    """Start, resume or finish one condition; returns the record and why it stopped, if it did."""
    from laetitia.app.training import PLACES, PRIOR_DIR, resume, train
    from laetitia.sessions import load_session

    folder = participant_dir(study.folder, record.participant) / condition.name
    where = f"{record.participant}: {condition.name!r} (part {position} of {len(record.order)})"
    if is_file_inside(folder, META_FILE):
        done = load_session(folder).n_steps
        if done < condition.steps:
            log(f"{where}: resuming at step {done} of {condition.steps}")
            # The places outside the session are the study's own, never the session's.
            run = record.run_of(condition.name)
            seed = run.seed if run is not None else study.seed_of(record.index or 0, condition)
            own = study.train_config(condition, folder, record.viewer, seed, profile=profile)
            asked = {name: getattr(own, name) for name in PLACES}
            result = resume(folder, progress=progress, log=log, asked=asked)
            done, stopped = result.session.n_steps, result.stopped_early
        else:
            stopped = None
    else:
        run = record.run_of(condition.name)
        use, prior = choose_prior(study, condition, record.participant)
        token = run.token if run is not None else secrets.token_hex(6)
        seed = study.seed_of(record.index or 0, condition)
        run = ConditionRun(condition.name, position, token, seed, use, started=now())
        record = _with_run(record, run)
        write_participant(study.folder, record)
        decided: dict[str, object] = {"profile": profile}
        if prior is not None:
            from laetitia.app.prior import save_prior

            decided["prior"] = (save_prior(prior, folder / PRIOR_DIR),)
        said = f"prior learned from {len(use.learned_from)} session(s)" if use.used else use.note
        log(f"{where}: {condition.agent}, {condition.steps} steps" + (f"; {said}" if said else ""))
        config = study.train_config(condition, folder, record.viewer, seed, **decided)
        result = train(config, progress=progress)
        done, stopped = result.session.n_steps, result.stopped_early
    if done >= condition.steps:
        run = record.run_of(condition.name)
        if run is None:
            raise StudyError(
                f"{folder} holds a session that {record.participant}'s record does not name "
                "(the record was replaced by hand?); move the session away to run the "
                "condition anew."
            )
        record = _with_run(record, dataclasses.replace(run, finished=now()))
        write_participant(study.folder, record)
        return record, None
    return record, stopped or "the session ended before its steps"


def _with_run(record: Participant, run: ConditionRun) -> Participant:
    """The record with `run` in place of the run of its condition (or added)."""
    runs = [r for r in record.runs if r.condition != run.condition]
    runs.append(run)
    runs.sort(key=lambda r: r.position)
    return dataclasses.replace(record, runs=tuple(runs))


def _participant_of(study: Study, folder: Path) -> str:
    """Whose a session folder is: its participant's pseudonym inside the study, else itself."""
    try:
        inside = folder.resolve().relative_to(participants_dir(study.folder).resolve())
    except ValueError:
        return str(folder)
    return inside.parts[0] if inside.parts else str(folder)


def choose_prior(
    study: Study, condition: Condition, participant: str
) -> tuple[PriorUse, PopulationPrior | None]:
    """The prior `participant`'s session of `condition` starts with, by its policy.

    *growing*: learned from the sessions complete now of every other enrolled participant, of
    this condition or of every condition (`PriorPolicy.pool`), oldest first; each is named in
    the prior by its token, never by participant, and its bandwidth is checked on one
    participant left out at a time (a participant's other conditions do not vouch for them).
    Sessions of fewer than two participants with readings, who react, give none.

    Raises:
        ConfigError: If a fixed prior's sessions cannot be read.
    """
    from laetitia.app.prior import PriorSource, informs, learn_prior, read_prior

    policy = condition.prior
    if policy.policy == "none":
        return PriorUse("none"), None
    if policy.policy == "fixed":
        paths = [study.folder / p for p in policy.sessions]  # an absolute one stays as it is
        prior = read_prior(paths, person_of=lambda folder: _participant_of(study, folder))
        return PriorUse("fixed", tuple(str(p) for p in policy.sessions), used=True), prior
    from laetitia.sessions import load_session

    pool = {condition.name} if policy.pool == "condition" else {c.name for c in study.conditions}
    earlier = sorted(
        (run.finished, run.token, participant_dir(study.folder, other.participant) / run.condition)
        for other in all_participants(study.folder)
        if other.enrolled and other.participant != participant
        for run in other.runs
        if run.condition in pool and run.finished is not None
    )
    tokens = {str(folder): token for _, token, folder in earlier}
    sessions = [load_session(folder) for _, _, folder in earlier]
    read = [s for s in sessions if informs(s)]
    whose = [_participant_of(study, s.folder) for s in read]
    people = len(set(whose))
    if people < 2:
        return PriorUse(
            "growing",
            tuple(tokens[str(s.folder)] for s in read),
            used=False,
            note=f"no prior: {len(read)} earlier session(s) with readings of {people} "
            "participant(s) who react; a prior needs 2 participants'",
        ), None
    prior = learn_prior(read, people=whose)  # folds by person
    named = tuple(
        PriorSource(f"study session {tokens[s.folder]}", s.readings) for s in prior.sources
    )
    prior = dataclasses.replace(prior, sources=named)
    return PriorUse("growing", tuple(tokens[str(s.folder)] for s in read), used=True), prior

"""Running a study: a dry run end to end, orders, growing priors, resuming, consent."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from laetitia.app.prior import learn_prior
from laetitia.app.study.order import balanced_latin_square
from laetitia.app.study.participants import read_participant
from laetitia.app.study.protocol import read_study
from laetitia.app.study.run import choose_prior, run_participant
from laetitia.app.study.status import format_status, study_status
from laetitia.cli import main
from laetitia.errors import SessionEndedByUser, StudyError
from laetitia.sessions import load_session, load_sessions

PARTICIPANTS, STEPS = 6, 10
IDS = [f"sim-{k:02d}" for k in range(1, PARTICIPANTS + 1)]


def _steps(folder: Path) -> np.ndarray:
    """Each recorded step (number, episode, reward, parameters): all but the clock."""
    session = load_session(folder)
    columns = ["step", "episode", "reward", *session.param_names]
    return np.stack([session.steps[c] for c in columns], axis=1)


def test_a_dry_run_runs_every_participant_through_both_conditions_in_latin_square_order(dry_run):
    rows = balanced_latin_square(2)
    for index, participant in enumerate(IDS):
        record = read_participant(dry_run, participant)
        assert record is not None and record.done() and record.simulated
        assert record.index == index
        assert record.order == tuple(["climb", "bayes"][c] for c in rows[index % 2])
        assert record.consent.answer == "simulated"
        assert "skipped" in record.calibration  # simulated people have no face to calibrate
        assert record.viewer == f"person:v2:{24 + index}"
        for run in record.runs:
            assert run.position == record.order.index(run.condition) + 1
            session = load_session(dry_run / "participants" / participant / run.condition)
            assert session.n_steps == STEPS
            assert (
                session.meta.seed
                == run.seed
                == 1000 * index + ["climb", "bayes"].index(run.condition)
            )
            assert not session.frames_kept  # a study keeps no camera image by default
    status = format_status(study_status(dry_run))
    assert "6 complete" in status and "participant 6, order climb > bayes" in status


def test_a_growing_prior_is_learned_from_the_earlier_participants_sessions_by_token(dry_run):
    records = [read_participant(dry_run, p) for p in IDS]
    runs = {r.participant: r.run_of("bayes") for r in records if r is not None}
    finished = sorted((run.finished, run.token, who) for who, run in runs.items())
    for who, run in runs.items():
        earlier = [token for done, token, other in finished if other != who and done < run.started]
        assert set(run.prior.learned_from) == set(earlier)
        prior_dir = dry_run / "participants" / who / "bayes" / "prior"
        assert run.prior.used == (len(earlier) >= 2) == prior_dir.is_dir()
        if run.prior.used:
            sources = json.loads((prior_dir / "prior.json").read_text())["sources"]
            assert {s["folder"] for s in sources} == {f"study session {t}" for t in earlier}
            assert not any(p in (prior_dir / "prior.json").read_text() for p in IDS)
        else:
            assert "a prior needs 2" in run.prior.note
    assert sum(run.prior.used for run in runs.values()) == PARTICIPANTS - 2
    # The climbing condition has no prior, and its sessions never fed the bayes priors.
    climb_tokens = {r.run_of("climb").token for r in records if r is not None}
    assert not climb_tokens & {t for run in runs.values() for t in run.prior.learned_from}


def test_one_command_per_participant_gives_the_same_study_as_a_dry_run(dry_run, tmp_path):
    study = tmp_path / "by-hand"
    study.mkdir()
    (study / "study.toml").write_text((dry_run / "study.toml").read_text())
    for participant in IDS:
        args = ["study", "run", str(study), "--participant", participant, "--simulated"]
        assert main([*args, "--no-progress"]) == 0
    for participant in IDS:
        for condition in ("climb", "bayes"):
            where = Path("participants") / participant / condition
            np.testing.assert_array_equal(_steps(study / where), _steps(dry_run / where))


CHILD = """
import os, signal, sys
from laetitia.sessions.recorder import SessionRecorder

kill_at, recorded = int(sys.argv[2]), 0
record = SessionRecorder.record

def record_then_die(self, *args, **kwargs):
    global recorded
    record(self, *args, **kwargs)
    recorded += 1
    if recorded == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

SessionRecorder.record = record_then_die
from laetitia.cli import main
main(["study", "run", sys.argv[1], "--participant", "P1", "--simulated", "--no-progress"])
"""


def test_a_participant_killed_mid_condition_resumes_with_the_same_command_and_loses_no_step(
    tiny_study, tmp_path
):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    kill_at = STEPS + 5  # the fifth step of the second condition
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SDL_VIDEODRIVER": "dummy"}
    done = subprocess.run(
        [sys.executable, str(script), str(tiny_study), str(kill_at)],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == -9, done.stderr.decode()
    record = read_participant(tiny_study, "P1")
    first, second = (tiny_study / "participants" / "P1" / c for c in record.order)
    assert record.run_of(record.order[0]).finished is not None
    assert record.run_of(record.order[1]).finished is None
    before = _steps(second)
    assert len(before) == 5
    assert main(["study", "run", str(tiny_study), "--participant", "P1", "--simulated"]) == 0
    record = read_participant(tiny_study, "P1")
    assert record.done()
    after = _steps(second)
    np.testing.assert_array_equal(after[:5], before)  # every step recorded before the kill
    np.testing.assert_array_equal(after[:, 0], np.arange(STEPS))  # numbered on, none lost
    assert load_session(second).meta.resumed[0].at_step == 5
    assert load_session(first).n_steps == STEPS and not load_session(first).meta.resumed


class Screens:
    """Stands in for the participant's screens: answers the consent, counts the breaks."""

    def __init__(self, accept: bool, stop_at_break: bool = False) -> None:
        self.accept, self.stop_at_break = accept, stop_at_break
        self.shown: list[str] = []
        self.breaks: list[tuple[float, int, int]] = []

    def consent(self, text: str) -> bool:
        self.shown.append(text)
        return self.accept

    def rest(self, seconds: float, next_part: int, parts: int) -> None:
        self.breaks.append((seconds, next_part, parts))
        if self.stop_at_break:
            raise SessionEndedByUser("stopped at the break")

    def close(self) -> None:
        pass


def _live_study(folder: Path, study_text: str) -> Path:
    """The tiny study with a (simulated) viewer standing in for the camera, no calibration."""
    folder.mkdir()
    text = study_text.replace('viewer = "webcam"', 'viewer = "sim:3"')
    text = text.replace("calibrate = true", "calibrate = false").replace(
        "break_s = 0.0", "break_s = 5.0"
    )
    (folder / "study.toml").write_text(text)
    return folder


@pytest.mark.parametrize(
    ("viewer", "where"),
    [("browser:0.0.0.0:8770", "off this machine (0.0.0.0)"), ("browser:0", "on any free port")],
)
def test_a_participant_at_a_page_elsewhere_is_refused_before_anything_is_recorded(
    tmp_path, study_text, capsys, viewer, where
):
    # The consent and the breaks are drawn on this machine's screen: a participant at a page
    # served off it would never see them (nor follow one condition's page to the next).
    study = _live_study(tmp_path / "live", study_text)
    text = (study / "study.toml").read_text().replace('viewer = "sim:3"', f'viewer = "{viewer}"')
    (study / "study.toml").write_text(text)
    assert main(["study", "run", str(study), "--participant", "P1"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and where in error and 'viewer = "webcam"' in error
    assert read_participant(study, "P1") is None


def test_consent_comes_first_and_a_refusal_is_all_that_is_recorded(tmp_path, study_text):
    study = _live_study(tmp_path / "live", study_text)
    screens = Screens(accept=False)
    outcome = run_participant(study, "P7", screens=screens, progress=False, log=lambda _: None)
    assert screens.shown == ["Press A to agree, D to decline."] and not outcome.complete
    folder = study / "participants" / "P7"
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "participant.json"]
    data = json.loads((folder / "participant.json").read_text())
    assert data["consent"]["answer"] == "declined" and data["consent"]["time"]
    assert data["index"] is None and data["order"] == [] and data["runs"] == []
    # Asked again, they accept: they enrol, meet both conditions, a break between them.
    screens = Screens(accept=True, stop_at_break=True)
    outcome = run_participant(study, "P7", screens=screens, progress=False, log=lambda _: None)
    assert outcome.stopped == "stopped at the break" and screens.breaks == [(5.0, 2, 2)]
    record = read_participant(study, "P7")
    assert record.consent.answer == "accepted" and record.index == 0 and not record.simulated
    assert record.calibration == "not asked by the study" and record.viewer == "sim:3"
    screens = Screens(accept=True)
    assert run_participant(
        study, "P7", screens=screens, progress=False, log=lambda _: None
    ).complete
    assert screens.shown == [] and screens.breaks == []  # consent once; no break after a stop


def test_pseudonyms_are_checked_and_a_folder_holds_a_dry_run_or_a_study_never_both(
    tmp_path, study_text
):
    study = _live_study(tmp_path / "live", study_text)
    for bad in ("../x", "a/b", "..", "", "name with space", "é", "P1\n"):
        with pytest.raises(StudyError, match="pseudonym"):
            run_participant(study, bad, screens=Screens(True), progress=False)
    assert not (tmp_path / "x").exists()
    text = (study / "study.toml").read_text().replace("steps = 10", "steps = 2")
    (study / "study.toml").write_text(text)
    run_participant(study, "P1", screens=Screens(True), progress=False, log=lambda _: None)
    with pytest.raises(StudyError, match="never both"):
        run_participant(study, "sim-01", simulated=True, progress=False, log=lambda _: None)
    with pytest.raises(StudyError, match="not simulated"):
        run_participant(study, "P1", simulated=True, progress=False, log=lambda _: None)


def test_a_fixed_prior_is_learned_from_the_sessions_the_study_file_names(dry_run, tmp_path):
    from laetitia.app.study.protocol import parse_study

    text = (dry_run / "study.toml").read_text()
    fixed = (
        'prior = { policy = "fixed", sessions = ["participants/sim-01", "participants/sim-02"] }'
    )
    text = text.replace('prior = { policy = "growing", pool = "condition" }', fixed)
    study = parse_study(text, dry_run / "study.toml", dry_run)
    use, prior = choose_prior(study, study.condition("bayes"), "P9")
    assert use.policy == "fixed" and use.used and prior is not None
    assert use.learned_from == ("participants/sim-01", "participants/sim-02")
    assert len(prior.sources) == 4  # both conditions of both participants
    # Its bandwidth was checked on one participant left out at a time, not one session.
    sessions = load_sessions([dry_run / "participants" / p for p in ("sim-01", "sim-02")])
    whose = [s.folder.parent.name for s in sessions]
    assert sorted(whose) == ["sim-01", "sim-01", "sim-02", "sim-02"]
    assert prior.cv_error == learn_prior(sessions, people=whose).cv_error
    assert prior.cv_error != learn_prior(sessions).cv_error
    with pytest.raises(StudyError, match="only for it"):
        parse_study(text.replace('"fixed"', '"growing"'), dry_run / "study.toml", dry_run)


def test_a_growing_prior_over_the_study_needs_two_participants_not_two_sessions(tiny_study):
    text = (tiny_study / "study.toml").read_text()
    (tiny_study / "study.toml").write_text(text.replace('pool = "condition"', 'pool = "study"'))
    for people in (1, 2):
        assert (
            main(["study", "run", str(tiny_study), "--simulate", str(people), "--no-progress"]) == 0
        )
        study = read_study(tiny_study)
        use, prior = choose_prior(study, study.condition("bayes"), "P9")
        assert len(use.learned_from) == 2 * people  # both conditions of each
        if people == 1:  # one person's two sessions: nothing to check a bandwidth on
            assert prior is None and not use.used
            assert "of 1 participant(s) who react; a prior needs 2 participants'" in use.note
        else:
            assert prior is not None and use.used and len(prior.sources) == 4

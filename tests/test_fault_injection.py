"""Kill the process at the N-th write of a session's life and check that nothing is lost.

`strace -e inject=write:signal=KILL:when=N` kills a training (or a resume, with its repair of
what an earlier kill left) at its N-th write(2), whatever that write is: a frame row, a step
row, the agent's tensors, `agent.json`, `meta.json`, a table rewritten by a repair, a figure.
After each kill the session must load, every step it holds must be exactly the step an
uninterrupted run took (no completed step lost or changed), and a resume must bring it to
the full count, numbered 0, 1, 2, ...

`make test` tries a spread of kill points (`LAETITIA_FAULT_POINTS`, default 5 per scenario) on
the hill-climber; `LAETITIA_FAULT_POINTS=all LAETITIA_FAULT_AGENTS="hill-climb cma-es ppo"`
tries every write of each (the figures are in BENCHMARKS.md, "Reliability"), and
`LAETITIA_FAULT_REPORT=FILE` appends what each scenario tried to FILE, one JSON line each.
"""

import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from processes import needs_strace, run_bounded

from laetitia.sessions import load_session

STEPS = 6
AGENTS = os.environ.get("LAETITIA_FAULT_AGENTS", "hill-climb").split()
CHILD = """
import sys
from pathlib import Path
from laetitia.app.training import TrainConfig, resume, train

command, out, agent, steps = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
if command == "train":
    train(TrainConfig(out=out, agent=agent, viewer="sim:1", steps=steps, frames=2), False)
else:
    resume(out, steps=steps, progress=False, log=lambda line: None)
"""

pytestmark = [
    pytest.mark.expensive,
    needs_strace(
        "the fault-injection suite kills and fails system calls with `strace -e inject=...`"
    ),
]


def _run(tmp_path: Path, args: list[str], kill_at: int | None = None) -> tuple[int, int]:
    """Run the child under strace; returns its exit code and the writes it made."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    trace = tmp_path / "writes.trace"
    command = ["strace", "-f", "-qq", "-e", "trace=write", "-o", str(trace)]
    if kill_at is not None:
        command += ["-e", f"inject=write:signal=KILL:when={kill_at}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SDL_VIDEODRIVER": "dummy"}
    done = run_bounded([*command, sys.executable, str(script), *args], 300, env=env)
    writes = sum(1 for line in trace.read_text().splitlines() if " write(" in f" {line}")
    return done.returncode, writes


def _points(total: int) -> list[int]:
    wanted = os.environ.get("LAETITIA_FAULT_POINTS", "5")
    if wanted == "all":
        return list(range(1, total + 1))
    return sorted({int(round(x)) for x in np.linspace(1, total, int(wanted))})


def _report(agent: str, scenario: str, writes: int, kills: int, resumes: int) -> None:
    """Append a scenario's figures to `LAETITIA_FAULT_REPORT` (when set); every check passed."""
    path = os.environ.get("LAETITIA_FAULT_REPORT")
    if path:
        line = {"agent": agent, "scenario": scenario, "writes": writes, "kills": kills}
        line |= {"resumes_after_a_kill": resumes, "steps_lost": 0}
        with open(path, "a", encoding="utf-8") as report:
            report.write(json.dumps(line) + "\n")


def _steps_of(folder: Path) -> np.ndarray:
    """Each recorded step as (step, episode, reward, params...): everything but the clock."""
    session = load_session(folder)
    columns = ["step", "episode", "reward", *session.param_names]
    return np.stack([session.steps[c] for c in columns], axis=1)


@pytest.fixture(scope="module", params=AGENTS)
def reference(request, tmp_path_factory) -> dict[str, object]:
    """An uninterrupted run of an agent, and how many writes it makes."""
    tmp = tmp_path_factory.mktemp("reference")
    code, writes = _run(tmp, ["train", str(tmp / "s"), request.param, str(STEPS)])
    assert code == 0
    return {"agent": request.param, "steps": _steps_of(tmp / "s"), "writes": writes}


def _check_killed_session(out: Path, reference: np.ndarray) -> int:
    """The killed session loads and holds a prefix of the reference run; returns its length."""
    if not (out / "meta.json").exists():
        return 0  # killed before the session existed: nothing to lose
    kept = _steps_of(out)
    np.testing.assert_array_equal(kept, reference[: len(kept)])
    return len(kept)


def test_a_kill_at_any_write_of_a_training_loses_no_step(tmp_path, reference):
    resumes = 0
    for n in _points(reference["writes"]):
        case = tmp_path / f"kill-{n}"
        case.mkdir()
        out = case / "s"
        code, _ = _run(case, ["train", str(out), reference["agent"], str(STEPS)], kill_at=n)
        kept = _check_killed_session(out, reference["steps"])
        if code == 0:
            assert kept == STEPS  # the kill came after the run's last write
        if kept == STEPS or not (out / "meta.json").exists():
            continue  # every step is there, or nothing was started
        code, _ = _run(case, ["resume", str(out), reference["agent"], str(STEPS - kept)])
        assert code == 0, f"resume after a kill at write {n} failed"
        resumes += 1
        resumed = _steps_of(out)
        np.testing.assert_array_equal(resumed[:, 0], np.arange(STEPS))
        np.testing.assert_array_equal(resumed[:kept], reference["steps"][:kept])
    kills = len(_points(reference["writes"]))
    _report(reference["agent"], "train", reference["writes"], kills, resumes)


def test_a_kill_at_any_write_of_a_resume_and_its_repair_loses_no_step(tmp_path, reference):
    """A session a kill cut mid-step (a torn row to repair) is resumed, and killed again."""
    agent = reference["agent"]
    # Kill the first run part-way through a later step: the tables end in a torn row or in the
    # frame rows of a step that never completed, which the resume first repairs. (Where the
    # writes of the steps fall depends on the agent: PPO saves most of its bytes at the end.)
    for fraction in (2, 3, 4, 6, 8):
        seed = tmp_path / f"torn-{fraction}"
        seed.mkdir()
        torn = seed / "s"
        _run(seed, ["train", str(torn), agent, str(STEPS)], kill_at=reference["writes"] // fraction)
        kept = _check_killed_session(torn, reference["steps"])
        if 0 < kept < STEPS:
            break
    assert 0 < kept < STEPS
    probe = tmp_path / "probe"
    shutil.copytree(torn, probe / "s")
    code, writes = _run(probe, ["resume", str(probe / "s"), agent, "2"])
    assert code == 0
    resumed = _steps_of(probe / "s")  # what an uninterrupted resume records
    resumes = 0
    for n in _points(writes):
        case = tmp_path / f"kill-{n}"
        shutil.copytree(torn, case / "s")
        _run(case, ["resume", str(case / "s"), agent, "2"], kill_at=n)
        # Whatever the kill interrupted, the steps the session had are all still there, the
        # steps the resume completed are those an uninterrupted resume takes, and the session
        # resumes again to the end.
        again = _check_killed_session(case / "s", resumed)
        assert again >= kept
        if again < kept + 2:
            code, _ = _run(case, ["resume", str(case / "s"), agent, str(kept + 2 - again)])
            assert code == 0
            resumes += 1
        np.testing.assert_array_equal(_steps_of(case / "s")[:, 0], np.arange(kept + 2))
    _report(agent, "resume and repair", writes, len(_points(writes)), resumes)


# ----- faults: a full disk, an I/O error, at a write, an fsync or a rename -----------------------
#
# `strace -e inject=SYSCALL:error=ERRNO:when=N` makes the N-th such call of a training (or a
# resume) fail, through the command line as a user runs it. Whatever fails, the command ends
# with one line and exit code 2 (or 0 when the failed call did not matter), never a traceback;
# the session is whole (a prefix of an uninterrupted run, which resumes to the full count) or
# gone with everything the run made; and a resume that fails before its first step changes no
# file. `make test` tries 5 points per fault, 3 in a training and 2 in a resume; with
# `LAETITIA_FAULT_POINTS=N` (or `all`) each scenario tries N points (or every call).

FAULTS = {
    "enospc-write": ("write", "ENOSPC"),
    "eio-fsync": ("fsync", "EIO"),
    "enospc-rename": ("rename", "ENOSPC"),
}
"""Each fault: the system call that fails (`strace`'s name) and how."""
CLI_CHILD = "import sys\nfrom laetitia.cli import main\nraise SystemExit(main(sys.argv[1:]))\n"


def _cli(tmp_path: Path, argv: list[str], fault: str | None = None, at: int = 0) -> dict:
    """Run `laetitia ARGV` under strace, the `at`-th call of `fault` failing; what it did."""
    script = tmp_path / "cli_child.py"
    script.write_text(CLI_CHILD)
    trace = tmp_path / "calls.trace"
    calls = sorted({call for call, _ in FAULTS.values()})
    command = ["strace", "-f", "-qq", "-y", "--seccomp-bpf", "-e", f"trace={','.join(calls)}"]
    command += ["-o", str(trace)]
    if fault is not None:
        call, errno_name = FAULTS[fault]
        command += ["-e", f"inject={call}:error={errno_name}:when={at}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SDL_VIDEODRIVER": "dummy", "TQDM_DISABLE": "1"}
    done = run_bounded([*command, sys.executable, str(script), *argv], 300, env=env)
    lines = trace.read_text(errors="replace").splitlines()
    counts = {call: sum(f" {call}(" in f" {line}" for line in lines) for call in calls}
    # The file the failed call was about: a descriptor's path (`-y`), or a rename's source.
    failed = next((line for line in lines if "INJECTED" in line), "")
    found = re.search(r'\(\d+<([^>]*)>|\("([^"]*)"', failed)
    about = next((g for g in found.groups() if g), "") if found else ""
    err = done.stderr.decode(errors="replace")
    return {"code": done.returncode, "err": err, "calls": counts, "about": about}


def _fault_points(total: int, default: int) -> list[int]:
    """The calls a fault scenario fails: `_points`, with this scenario's share by default."""
    if "LAETITIA_FAULT_POINTS" in os.environ:
        return _points(total)
    return sorted({int(round(x)) for x in np.linspace(1, total, default)})


def _train_argv(out: Path, agent: str, steps: int) -> list[str]:
    return ["train", "--agent", agent, "--viewer", "sim:1", "--frames", "2", "--steps", str(steps)]


def _one_line_or_none(run: dict, what: str, folder: Path) -> None:
    """The run worked, or ended with exit code 2 and one line; never a traceback.

    A failed call about a file of the session gives a line naming a file of the session
    (a failed write to the terminal names none: there is no file to name).
    """
    assert "Traceback" not in run["err"], f"{what}: {run['err'][-2000:]}"
    if run["code"] != 0:
        assert run["code"] == 2, f"{what}: exit code {run['code']}: {run['err'][-2000:]}"
        assert run["err"].count("\n") == 1, f"{what}: {run['err']}"
        if run["about"].startswith(str(folder)):
            assert str(folder) in run["err"], f"{what} ({run['about']}): {run['err']}"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _shared(tmp_path_factory) -> Path:
    """The temporary folder of this test run that all its xdist workers share."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def _once(tmp_path_factory, name: str, make) -> dict:
    """What `make(folder)` returns (JSON), made once for all the test run's workers.

    The reference runs are the same for every worker: the first makes them (the others wait on
    its lock), the rest read what it wrote, so `pytest -n 2` does not pay for them twice.
    """
    import fcntl

    root = _shared(tmp_path_factory)
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / "made.json"
        if not done.exists():
            folder.mkdir(exist_ok=True)
            done.write_text(json.dumps(make(folder)))
        return json.loads(done.read_text())


@pytest.fixture(scope="module", params=AGENTS)
def cli_reference(request, tmp_path_factory) -> dict[str, object]:
    """An uninterrupted run through the command line, and how many calls of each kind it made."""
    agent = request.param

    def make(tmp: Path) -> dict:
        run = _cli(tmp, [*_train_argv(tmp / "s", agent, STEPS), "--out", str(tmp / "s")])
        assert run["code"] == 0, run["err"]
        return {"calls": run["calls"]}

    made = _once(tmp_path_factory, f"cli-reference-{agent}", make)
    steps = _steps_of(_shared(tmp_path_factory) / f"cli-reference-{agent}" / "s")
    return {"agent": agent, "steps": steps, "calls": made["calls"]}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_at_any_call_of_a_training_is_one_line_and_loses_no_step(
    tmp_path, cli_reference, fault
):
    agent, reference = cli_reference["agent"], cli_reference["steps"]
    call = FAULTS[fault][0]
    points = _fault_points(cli_reference["calls"][call], 3)
    resumes = 0
    for n in points:
        out = tmp_path / f"at-{n}" / "s"
        out.parent.mkdir()
        run = _cli(out.parent, [*_train_argv(out, agent, STEPS), "--out", str(out)], fault, n)
        _one_line_or_none(run, f"{fault} at call {n}", out)
        if not (out / "meta.json").exists():
            # Failed before its first step: everything it made is gone (the folder too).
            assert run["code"] == 2 and not out.exists(), f"{fault} at {n}: {run['err']}"
            continue
        kept = _check_killed_session(out, reference)
        if run["code"] == 0:
            assert kept == STEPS
        if kept == STEPS:
            continue
        again = _cli(out.parent, ["train", "--resume", str(out), "--steps", str(STEPS - kept)])
        assert again["code"] == 0, f"resume after {fault} at {n}: {again['err']}"
        resumes += 1
        np.testing.assert_array_equal(_steps_of(out)[:, 0], np.arange(STEPS))
    _report(agent, f"train, {fault}", cli_reference["calls"][call], len(points), resumes)


@pytest.fixture(scope="module")
def cli_resumed(cli_reference, tmp_path_factory) -> dict[str, object]:
    """A session two steps short, and what an uninterrupted resume of it records."""
    agent = cli_reference["agent"]

    def make(tmp: Path) -> dict:
        start = tmp / "start" / "s"
        start.parent.mkdir()
        first = _cli(start.parent, [*_train_argv(start, agent, STEPS - 2), "--out", str(start)])
        assert first["code"] == 0, first["err"]
        probe = tmp / "probe" / "s"
        shutil.copytree(start, probe)
        whole = _cli(probe.parent, ["train", "--resume", str(probe), "--steps", "2"])
        assert whole["code"] == 0, whole["err"]
        return {"calls": whole["calls"]}

    made = _once(tmp_path_factory, f"cli-resumed-{agent}", make)
    tmp = _shared(tmp_path_factory) / f"cli-resumed-{agent}"
    resumed = _steps_of(tmp / "probe" / "s")
    np.testing.assert_array_equal(resumed[: STEPS - 2], cli_reference["steps"][: STEPS - 2])
    return {"start": tmp / "start" / "s", "steps": resumed, "calls": made["calls"]}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_at_any_call_of_a_resume_changes_no_file_or_loses_no_step(
    tmp_path, cli_reference, cli_resumed, fault
):
    start, resumed = cli_resumed["start"], cli_resumed["steps"]
    before = _files(start)
    call = FAULTS[fault][0]
    points = _fault_points(cli_resumed["calls"][call], 2)
    resumes = 0
    for n in points:
        case = tmp_path / f"at-{n}" / "s"
        shutil.copytree(start, case)
        run = _cli(case.parent, ["train", "--resume", str(case), "--steps", "2"], fault, n)
        _one_line_or_none(run, f"{fault} at call {n} of a resume", case)
        now = _check_killed_session(case, resumed)
        assert now >= STEPS - 2
        if now == STEPS - 2:
            assert _files(case) == before, f"a resume failed by {fault} at {n} changed a file"
        if now < STEPS:
            again = _cli(case.parent, ["train", "--resume", str(case), "--steps", str(STEPS - now)])
            assert again["code"] == 0, f"resume after {fault} at {n}: {again['err']}"
            resumes += 1
        np.testing.assert_array_equal(_steps_of(case)[:, 0], np.arange(STEPS))
    agent = cli_reference["agent"]
    _report(agent, f"resume, {fault}", cli_resumed["calls"][call], len(points), resumes)

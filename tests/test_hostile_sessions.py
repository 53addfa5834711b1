"""A session folder from someone else, made to reach outside itself, through every command.

Each case is a copy of one real training session (a hill-climber recorded from a video, with
its frames, its agent's tensors and its tables), changed as a careless or hostile sender
could: a symbolic link in every place a session has a file or a folder, an absolute or `..`
path in every field that names a file, a FIFO or a decompression bomb where a frame goes, and
settings naming places elsewhere (a model, a detector's model, a profile, a TensorBoard folder,
a video, a prior's sources). What each points at is in a watched folder beside the sessions,
`outside-BAIT`.

Every command that reads a session (`train --resume`, `replay`, `video`, `plot`, `evaluate` of
its agent, and a training watching it through the `session:` viewer) runs on the cases, in one
child process traced by `strace -f -y -e trace=%file`: in `make test` each case through the
commands that must refuse it and one more in turn (`_runs`), in the long run
(`LAETITIA_FAULT_POINTS=all`) every case through every command. Then:
- nothing outside was read: no file system call names a path in the watched folder, returns a
  descriptor of one, or follows a link of the session (a call through a linked folder, or one
  that follows a linked file: only `lstat`-like calls and `O_NOFOLLOW` opens may name a link);
- nothing outside was written or deleted: the watched folder is byte for byte as it was;
- every command worked or ended with exit code 2 and one line, never a traceback.

`LAETITIA_FAULT_REPORT=FILE` appends the figures (runs, refusals) to FILE, as the fault suite's.
"""

import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from processes import needs_strace, run_bounded
from synthetic import noise_video

from laetitia.cli import main

BAIT = "outside-BAIT"
pytestmark = [
    pytest.mark.expensive,
    needs_strace(
        "the hostile-session suite traces the files each command opens with `strace -e trace=%file`"
    ),
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, Path]:
    """A training session recorded from a synthetic video, with frames and agent tensors."""
    root = tmp_path_factory.mktemp("recorded")
    video = noise_video(root / "clip.avi", 40)
    session = root / "session"
    args = ["train", "--viewer", f"video:{video}", "--detector", "none", "--frames", "2"]
    # P(happy) of the whole frame: every frame is a face, every step scored (`smile` needs
    # landmarks the noise has none of), so the agent saves tensors.
    args += ["--signal", "fer-happy", "--settle", "0", "--steps", "3", "--no-window"]
    args += ["--out", str(session)]
    assert main(args) == 0
    assert list((session / "agent").glob("tensors-*.safetensors"))
    return {"video": video, "session": session}


def _meta(session: Path, change) -> None:
    meta = json.loads((session / "meta.json").read_text())
    change(meta)
    (session / "meta.json").write_text(json.dumps(meta))


def _frames_csv(session: Path, file: str) -> None:
    lines = (session / "frames.csv").read_text().splitlines(keepends=True)
    fields = lines[1].split(",")
    fields[3] = file
    lines[1] = ",".join(fields)
    (session / "frames.csv").write_text("".join(lines))


def _agent_json(session: Path, change) -> None:
    path = session / "agent" / "agent.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _link(session: Path, name: str, target: Path) -> None:
    path = session / name
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.symlink_to(target)


def _bomb(path: Path) -> None:
    """A small PNG whose header says 20000 x 20000 pixels (1.6 GB decoded)."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (20000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    rows = zlib.compress(b"\x00" * 20001 * 50, 9)  # 50 rows; the decoder would want them all
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows))


def _cases(outside: Path) -> dict[str, object]:
    """Each case: how it changes a copy of the recorded session."""
    o = outside

    def config(key, value):
        return lambda s: _meta(s, lambda m: m["config"].__setitem__(key, value))

    def detector_model(s):
        def change(meta):
            detector = meta["viewer"]["meter"]["detector"]
            detector.update(name="yunet", model_path=str(o / "yunet.onnx"), model_sha256=None)

        _meta(s, change)

    return {
        "frames folder linked": lambda s: _link(s, "frames", o / "frames"),
        "frame file linked": lambda s: _link(s, "frames/00000000.png", o / "x.png"),
        "agent folder linked": lambda s: _link(s, "agent", o / "agent"),
        "agent.json linked": lambda s: _link(s, "agent/agent.json", o / "agent" / "agent.json"),
        "meta.json linked": lambda s: _link(s, "meta.json", o / "meta.json"),
        "steps.csv linked": lambda s: _link(s, "steps.csv", o / "steps.csv"),
        "frames.csv linked": lambda s: _link(s, "frames.csv", o / "frames.csv"),
        "best.json linked": lambda s: _link(s, "best.json", o / "best.json"),
        "lock file linked": lambda s: _link(s, "writer.lock", o / "target.txt"),
        "temporary files linked": lambda s: [
            _link(s, name, o / "target.txt")
            for name in ("meta.json.tmp", "steps.csv.tmp", "agent/agent.json.tmp")
        ],
        "a later frame linked": lambda s: _link(s, "frames/00000099.png", o / "x.png"),
        "prior folder linked": lambda s: (
            config("prior", [str(o / "session")])(s),
            _link(s, "prior", o / "prior"),
        ),
        "frame path absolute": lambda s: _frames_csv(s, str(o / "x.png")),
        "frame path climbs": lambda s: _frames_csv(s, f"../{BAIT}/x.png"),
        "tensors path climbs": lambda s: _agent_json(
            s, lambda a: a.__setitem__("tensors", f"../../{BAIT}/t.safetensors")
        ),
        "tensors path absolute": lambda s: _agent_json(
            s, lambda a: a.__setitem__("tensors", str(o / "t.safetensors"))
        ),
        "start_from names a folder": lambda s: _agent_json(
            s,
            lambda a: (
                a.__setitem__("agent", "q-learning"),
                a["settings"].update(bins=4, start_from=str(o / "session")),
            ),
        ),
        "model elsewhere": config("model", str(o / "model.safetensors")),
        "profile elsewhere": config("profile", str(o / "profile.json")),
        "tensorboard elsewhere": config("tensorboard", str(o / "tb")),
        "video elsewhere": config("viewer", f"video:{o / 'clip.avi'}"),
        "prior sources elsewhere": config("prior", [str(o / "session")]),
        "detector model elsewhere": detector_model,
        "frame is a FIFO": lambda s: (
            (s / "frames" / "00000000.png").unlink(),
            os.mkfifo(s / "frames" / "00000000.png"),
        ),
        "frame is a bomb": lambda s: _bomb(s / "frames" / "00000000.png"),
    }


def _commands(session: Path, out: Path, video: Path) -> dict[str, list[str]]:
    s = str(session)
    return {
        "train --resume": ["train", "--resume", s, "--steps", "1", "--viewer", f"video:{video}"],
        "replay": ["replay", s, "--out", str(out / "replay")],
        "video": ["video", s, "--out", str(out / "video.mp4")],
        "plot": ["plot", s, "--out", str(out / "plot.png")],
        "evaluate": [
            *("evaluate", "--agent-path", f"{s}/agent", "--viewer", f"video:{video}"),
            *("--episodes", "1", "--max-episode-steps", "1", "--frames", "2", "--settle", "0"),
            *("--out", str(out / "evaluation")),
        ],
        "session viewer": [
            *("train", "--viewer", f"session:{s}", "--steps", "1", "--frames", "2"),
            *("--out", str(out / "watching")),
        ],
    }


CHILD = """
import contextlib, io, json, os, sys, traceback
from laetitia.cli import main

runs = json.loads(open(sys.argv[1]).read())
results = []
for run in runs:
    try:
        os.stat("/MARK/" + run["id"])  # where this run begins, in the trace
    except OSError:
        pass
    err = io.StringIO()
    escaped = None
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(run["argv"])
        except BaseException:
            code, escaped = None, traceback.format_exc()
    results.append({"id": run["id"], "code": code, "err": err.getvalue(), "escaped": escaped})
open(sys.argv[2], "w").write(json.dumps(results))
"""


def _snapshot(folder: Path) -> dict[str, object]:
    """Every entry under a folder, links as links: kind, size, modification time, content."""
    found: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        stat = path.lstat()
        digest = (
            hashlib.sha256(path.read_bytes()).hexdigest()
            if path.is_file() and not path.is_symlink()
            else None
        )
        found[str(path.relative_to(folder))] = (
            stat.st_mode,
            stat.st_size,
            stat.st_mtime_ns,
            digest,
        )
    return found


NOFOLLOW_CALLS = {"lstat", "readlink", "readlinkat", "unlink", "unlinkat", "rmdir", "symlink"}
NOFOLLOW_CALLS |= {"symlinkat", "rename", "renameat", "renameat2", "lchown", "mkdir", "mkdirat"}
CALL = re.compile(r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)(<[^>]*>)?")
FIRST_PATH = re.compile(r'^(?:(AT_FDCWD|\d+)(?:<([^>]*)>)?,\s*)?"((?:[^"\\]|\\.)*)"')


def _violations(trace: Path, cwd: Path, links: set[str]) -> dict[str, list[str]]:
    """Calls of each run that read outside: see the module."""
    found: dict[str, list[str]] = {}
    run = "setup"
    for line in trace.read_text(errors="replace").splitlines():
        call = CALL.match(line)
        if call is None:
            continue
        name, args, _, returned = call.groups()
        path_arg = FIRST_PATH.match(args)
        path = ""
        if path_arg is not None:
            _, fd_path, text = path_arg.groups()
            base = fd_path or str(cwd)
            path = os.path.normpath(os.path.join(base, text))
        if path.startswith("/MARK/"):
            run = path[len("/MARK/") :]
            continue
        # A path in the watched folder named, or a descriptor of one returned (`-y`); the
        # content of a link read as a link names its target, which is not reading it. A call
        # that returns a descriptor is judged by what it opened (a link the run replaced by a
        # file of its own is a file by then); any other by whether it follows a link.
        parts = Path(path).parts
        through = any(str(Path(*parts[:i])) in links for i in range(2, len(parts)))
        follows = name not in NOFOLLOW_CALLS and not re.search(
            r"O_NOFOLLOW|AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH", args
        )
        if returned:
            bad = BAIT in returned or BAIT in path
        else:
            bad = BAIT in line and name not in ("readlink", "readlinkat")
            bad = bad or (bool(path) and (through or (path in links and follows)))
        if bad:
            found.setdefault(run, []).append(line)
    return found


def _bait(shipped: Path, video: Path, outside: Path) -> None:
    """What the cases point at: copies of the session's own files, and the files named elsewhere."""
    from laetitia.faces import yunet_model_path
    from laetitia.fer import default_model_path

    outside.mkdir()
    shutil.copytree(shipped, outside / "session")
    shutil.copytree(shipped / "frames", outside / "frames")
    shutil.copytree(shipped / "agent", outside / "agent")
    for name in ("meta.json", "steps.csv", "frames.csv", "best.json"):
        shutil.copy(shipped / name, outside / name)
    shutil.copy(shipped / "frames" / "00000000.png", outside / "x.png")
    shutil.copy(next((shipped / "agent").glob("tensors-*")), outside / "t.safetensors")
    shutil.copy(video, outside / "clip.avi")
    (outside / "prior").mkdir()
    (outside / "tb").mkdir()
    (outside / "target.txt").write_text("not yours to write")
    shutil.copy(default_model_path(), outside / "model.safetensors")
    shutil.copy(yunet_model_path(), outside / "yunet.onnx")
    (outside / "profile.json").write_text("{}")


COMMANDS = ("train --resume", "replay", "video", "plot", "evaluate", "session viewer")
"""Every command that reads a session (`_commands`)."""
MUST_REFUSE = {
    **dict.fromkeys(("frame path absolute", "frame path climbs", "meta.json linked"), COMMANDS),
    **dict.fromkeys(
        ("frame file linked", "frames folder linked", "frame is a FIFO", "frame is a bomb"),
        ("replay", "video"),
    ),
    **dict.fromkeys(
        ("agent folder linked", "tensors path climbs", "tensors path absolute"),
        ("train --resume", "evaluate"),
    ),
}
"""A case naming a file a command needs is refused by it; the others may be read as what they
are (a setting that names a place is never used, so the session still reads)."""


def _runs(cases: list[str]) -> list[tuple[str, str]]:
    """The (case, command) pairs run: every one in the long run, a cover in `make test`.

    `make test` runs each case through the commands that must refuse it and one more, in
    turn, so that every command meets a share of the cases; `LAETITIA_FAULT_POINTS=all` (the
    long run of the reliability suites) runs every case through every command.
    """
    every = os.environ.get("LAETITIA_FAULT_POINTS") == "all"
    return [
        (case, command)
        for c, case in enumerate(cases)
        for k, command in enumerate(COMMANDS)
        if every or command in MUST_REFUSE.get(case, ()) or k == c % len(COMMANDS)
    ]


def _check_results(results: list[dict]) -> None:
    """One line and exit code 2 for every refusal; the cases that must be refused are."""
    for result in results:
        assert result["escaped"] is None, f"{result['id']}: {result['escaped']}"
        if result["code"] != 0:
            assert result["code"] == 2, result
            # Progress bars may share stderr (a command that shows one): the rest is one line.
            said = [x for x in result["err"].splitlines() if x.strip() and "%|" not in x]
            assert len(said) == 1 and "Traceback" not in result["err"], result
    refused = {r["id"] for r in results if r["code"] != 0}
    must = [f"{case}: {command}" for case, commands in MUST_REFUSE.items() for command in commands]
    missed = [run for run in must if run not in refused]
    assert not missed, f"not refused: {missed}"


def test_a_hostile_session_touches_nothing_outside_itself_through_any_command(tmp_path, recorded):
    shipped, video = recorded["session"], recorded["video"]
    work = tmp_path / "sessions"
    work.mkdir()
    outside = work / BAIT
    _bait(shipped, video, outside)
    cases = _cases(outside)
    assert set(_commands(Path("x"), Path("x"), video)) == set(COMMANDS)
    runs = []
    for n, (case, command) in enumerate(_runs(list(cases))):
        session = work / f"run-{n}"
        shutil.copytree(shipped, session, symlinks=True)
        cases[case](session)
        out = tmp_path / "out" / f"run-{n}"
        out.mkdir(parents=True)
        argv = _commands(session, out, video)[command]
        runs.append({"id": f"{case}: {command}", "argv": argv})
    links = {str(p) for p in work.rglob("*") if p.is_symlink() and BAIT not in str(p)}
    before = _snapshot(outside)
    (tmp_path / "runs.json").write_text(json.dumps(runs))
    (tmp_path / "child.py").write_text(CHILD)
    trace = tmp_path / "files.trace"
    command = ["strace", "-f", "-qq", "-y", "--seccomp-bpf", "-e", "trace=%file", "-o", str(trace)]
    command += [sys.executable, str(tmp_path / "child.py"), str(tmp_path / "runs.json")]
    command += [str(tmp_path / "results.json")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SDL_VIDEODRIVER": "dummy", "MPLBACKEND": "Agg"}
    env["TQDM_DISABLE"] = "1"  # progress bars share stderr with the one line checked
    done = run_bounded(command, 600, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr.decode()[-3000:]

    assert _snapshot(outside) == before, "a command wrote or deleted outside the session"
    read = _violations(trace, tmp_path, links)
    assert not read, "read outside the session:\n" + "\n".join(
        f"{run}: {lines[:3]}" for run, lines in read.items()
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results) == len(runs)
    _check_results(results)
    report = os.environ.get("LAETITIA_FAULT_REPORT")
    if report:  # the figures BENCHMARKS.md gives ("Reliability"); every check passed
        refused = sum(r["code"] != 0 for r in results)
        line = {"suite": "hostile sessions", "cases": len(cases), "runs": len(results)}
        line |= {"refused": refused, "worked": len(results) - refused, "touched_outside": 0}
        with open(report, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

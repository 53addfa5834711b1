"""Child processes a test starts, each bounded in time: a test fails, it never hangs.

Every child runs in a process group of its own (`start_new_session`), so that on a timeout the
whole group is killed: the child, and what it started (strace's tracees, a CLI's workers).
`strace_works` says whether strace can trace here at all (a container may forbid ptrace).
"""

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest


def kill_group(process: subprocess.Popen) -> None:
    """Kill a child started with `start_new_session=True`, and everything in its group."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def run_bounded(argv: Sequence[str], timeout: float, **options: Any) -> subprocess.CompletedProcess:
    """`subprocess.run(argv, capture_output=True)`; at `timeout` its group is killed, a failure.

    Args:
        argv: The command.
        timeout: Seconds it may run.
        **options: Further `subprocess.Popen` options (`env`, `cwd`, `text`).
    """
    with subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **options,
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)
            pytest.fail(f"{' '.join(map(str, argv[:6]))} ... ran over {timeout} s; it was killed")
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@functools.cache
def strace_works() -> bool:
    """Whether strace is installed and may trace a child here (ptrace can be forbidden)."""
    if shutil.which("strace") is None:
        return False
    try:
        done = subprocess.run(
            ["strace", "-f", "-qq", "-o", os.devnull, "true"], capture_output=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def needs_strace(what: str) -> pytest.MarkDecorator:
    """Skip a suite that needs strace where it cannot run, saying what the suite does with it."""
    return pytest.mark.skipif(
        not strace_works(),
        reason="strace is not installed or may not trace here (apt-get install strace; a "
        f"container must allow ptrace): {what}",
    )


CLI = [sys.executable, "-c", "from laetitia.cli import main; raise SystemExit(main())"]
"""`laetitia` in a child process, as a user runs it."""
CLI_ENV = {"SDL_VIDEODRIVER": "dummy", "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
"""What a child CLI's environment adds: no window, no progress bar, one thread."""


def start_cli(argv: Sequence[str], stderr: int = subprocess.DEVNULL) -> subprocess.Popen:
    """`laetitia ARGV` started in a process group of its own; stop it with `kill_group`."""
    return subprocess.Popen(
        [*CLI, *argv],
        env={**os.environ, **CLI_ENV},
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )


def wait_for_lines(process: subprocess.Popen, table: Path, lines: int, timeout: float) -> None:
    """Wait until `table` holds `lines` lines (its header counts), failing if the child ends."""
    deadline = time.monotonic() + timeout
    while not table.exists() or table.read_bytes().count(b"\n") < lines:
        assert process.poll() is None, f"the child ended (exit code {process.returncode})"
        assert time.monotonic() < deadline, f"{table} did not reach {lines} lines in {timeout} s"
        time.sleep(0.05)

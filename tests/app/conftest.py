"""Ray tests start and stop their own runtimes and must leave no process behind.

`no_ray_left` marks the test's environment with a variable of its own; every process Ray starts
from the test (its servers, its workers, a simulated cluster's nodes) inherits it, so any left
running afterwards, orphans included, is found in /proc.
"""

import os
import time
import uuid
from pathlib import Path

import pytest

# Before anything here imports Ray (it reads them once): the runtimes and simulated clusters of
# these tests listen on the loopback only, and send no usage statistics.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

MARK = "LAETITIA_TEST_RAY"


def processes_marked(value: str) -> list[str]:
    """`pid: command` of the processes whose environment holds MARK=value."""
    needle = f"{MARK}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
                found.append(f"{entry.name}: {command}")
        except OSError:  # gone, or not ours to read
            continue
    return found


@pytest.fixture
def no_ray_left(monkeypatch):
    """Fails the test if a process Ray started during it still runs 20 s after it ended."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK, value)
    yield
    deadline = time.monotonic() + 20
    while processes_marked(value) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert processes_marked(value) == []

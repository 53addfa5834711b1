"""A tiny study, and one dry run of it shared by the study tests (made once per test run)."""

import fcntl
import os
import shutil
from pathlib import Path

import pytest

from laetitia.cli import main

TINY_STUDY = """
name = "tiny"
order = "latin-square"
viewer = "webcam"
calibrate = true
break_s = 0.0
consent = "Press A to agree, D to decline."
frames = 2
settle_s = 0.0

[simulation]
people = "person:v2:{member}"
first_member = 24

[analysis]
window = 4
last_steps = 5
bootstrap = 500

[[conditions]]
name = "climb"
agent = "hill-climb"
steps = 10

[[conditions]]
name = "bayes"
agent = "bayes-opt"
steps = 10
prior = { policy = "growing", pool = "condition" }
"""


def make_study(folder: Path, text: str = TINY_STUDY) -> Path:
    """A study folder holding `text` as its study file."""
    folder.mkdir(parents=True)
    (folder / "study.toml").write_text(text)
    return folder


@pytest.fixture
def tiny_study(tmp_path) -> Path:
    """A new, empty tiny study."""
    return make_study(tmp_path / "tiny")


@pytest.fixture(scope="session")
def dry_run(tmp_path_factory) -> Path:
    """The tiny study after `laetitia study run --simulate 6`; read it, never change it.

    Made once for all test processes of this run (pytest-xdist's workers share their base
    temp folders' parent): the first to take the lock makes it, the others find it made.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / "study-dry-run"
    with open(root / "study-dry-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            make_study(folder)
            args = ["study", "run", str(folder), "--simulate", "6", "--no-progress"]
            assert main(args) == 0
            (folder / "made").write_text("")
    return folder


@pytest.fixture
def dry_run_copy(dry_run, tmp_path) -> Path:
    """A copy of the dry run that a test may change."""
    copy = tmp_path / "copy"
    shutil.copytree(dry_run, copy, ignore=shutil.ignore_patterns("made"))
    return copy


@pytest.fixture
def study_text() -> str:
    """The tiny study's file."""
    return TINY_STUDY

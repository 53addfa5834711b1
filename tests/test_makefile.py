"""The Makefile's set-up: a disk without room for a new environment is said so at once."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_new_environment_without_room_on_the_disk_stops_before_pip_saying_so(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    wanted = 10**9  # GB: more than any disk has
    done = subprocess.run(
        ["make", f"NEED_GB={wanted}", ".venv/.installed"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"make: a new .venv needs about {wanted} GB free;" in done.stderr
    assert "GB are free on its disk. Free some space and run make again." in done.stderr
    assert "pip" not in done.stdout + done.stderr  # nothing was installed
    assert not (tmp_path / ".venv").exists()

"""Test-wide settings: no screen, no display for matplotlib, and the shared face media."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")
# One torch thread per test process (read when torch starts): `make test` runs two processes on
# two cores, and a second thread each only spins against the other process (measured: DQN's
# 500 steps took 9 s of CPU on two threads, 0.7 s on one; training the FER CNN was 3-5x slower).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

FIXTURES_ENV = "LAETITIA_FIXTURES"
"""Names the folder of the real-face media; by default ../shared/fixtures beside the checkout."""
FIXTURES = Path(
    os.environ.get(FIXTURES_ENV) or Path(__file__).resolve().parents[2] / "shared" / "fixtures"
)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real-face media (single_face.mp4, ...); skips, saying where to put them, without."""
    if not (FIXTURES / "single_face.mp4").is_file():
        pytest.skip(
            f"needs the real-face media (single_face.mp4 and the others of the fixtures README), "
            f"not found in {FIXTURES}: put them there, or name their folder with "
            f"{FIXTURES_ENV}=/path/to/fixtures"
        )
    return FIXTURES


@pytest.fixture
def fresh_python():
    """Runs Python code in a new interpreter (nothing imported yet) and returns its stdout."""
    import subprocess
    import sys

    def run(code: str) -> str:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    return run

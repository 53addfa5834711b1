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

# A checkout beside shared/ finds the media there; another (a git worktree elsewhere) can name
# the folder in LAETITIA_FIXTURES.
FIXTURES = Path(
    os.environ.get("LAETITIA_FIXTURES")
    or Path(__file__).resolve().parents[2] / "shared" / "fixtures"
)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared real-face media (../shared/fixtures); skips when this checkout has none."""
    if not FIXTURES.is_dir():
        pytest.skip(f"shared face fixtures not found at {FIXTURES}")
    return FIXTURES

"""Test-wide settings: no screen, no display for matplotlib, and the shared face media."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared real-face media (../shared/fixtures); skips when this checkout has none."""
    if not FIXTURES.is_dir():
        pytest.skip(f"shared face fixtures not found at {FIXTURES}")
    return FIXTURES

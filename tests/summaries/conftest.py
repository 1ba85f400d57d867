"""Fixtures for the pure summary tests (no database)."""

from pathlib import Path

import pytest

from backend.kit import fonts


@pytest.fixture(scope="session")
def font_path() -> Path:
    for candidate in fonts.CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    pytest.fail(f"no CJK font on this machine: {fonts.FIX}")

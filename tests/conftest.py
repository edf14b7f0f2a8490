"""Fixtures shared by every test: the development data beside the project, scratch data dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's development data (real photos, ground truth), kept beside the repository."""
    if not SHARED_DATA.is_dir():
        pytest.skip("development data (../shared/data) is not present beside the repository")
    return SHARED_DATA

"""Shared fixtures: the real data folder, and a fresh store per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from villagegreen.store import Store

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"


def shared_data_dir() -> Path:
    return Path(os.environ.get("VILLAGEGREEN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests marked ``realdata`` skip, saying why, when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        if os.environ.get("VILLAGEGREEN_REQUIRE_REALDATA"):
            pytest.fail(f"real data required (VILLAGEGREEN_REQUIRE_REALDATA is set) but not found at {path}")
        pytest.skip(f"real data not found at {path}; set VILLAGEGREEN_SHARED_DATA or clone ../shared beside the repo")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "test.duckdb") as opened:
        yield opened

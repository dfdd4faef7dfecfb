"""A store that already holds a real small import, copied fresh for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.conftest import TEST_DATA

from villagegreen.store import Store
from villagegreen.store.ingest import import_path

BASELINE_INPUT = TEST_DATA / "slack" / "synthetic"


@pytest.fixture(scope="session")
def baseline_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(path, source id) of a store holding the synthetic Slack fixture (private spaces too)."""
    path = tmp_path_factory.mktemp("baseline") / "baseline.duckdb"
    with Store.open(path) as store:
        report = import_path(store, BASELINE_INPUT, include_private=True)
    return path, report.source_id


@pytest.fixture
def populated_db(baseline_db: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A private copy of the baseline store for one test to attack."""
    source, source_id = baseline_db
    copy = tmp_path / "store.duckdb"
    shutil.copyfile(source, copy)
    return copy, source_id

"""The dashboard's store gate: one build per page when requests arrive together, errors not
cached, DuckDB's memory bounded."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from villagegreen.errors import ConfigError
from villagegreen.interfaces.web.store_access import StoreGate
from villagegreen.store import Store


@pytest.fixture
def gate(tmp_path: Path) -> StoreGate:
    db = tmp_path / "store.duckdb"
    Store.open(db).close()
    return StoreGate(db)


def test_requests_arriving_together_wait_for_one_build(gate: StoreGate) -> None:
    builds: list[int] = []
    start = threading.Barrier(8)

    def slow_build(store: Store) -> int:
        builds.append(1)
        time.sleep(0.3)  # long enough for every other request to arrive while it runs
        return int(store.con.execute("SELECT 41 + 1").fetchone()[0])  # type: ignore[index]

    results: list[int] = []

    def request() -> None:
        start.wait()
        results.append(gate.cached("/overview", slow_build))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8 and len(builds) == 1


def test_a_failed_build_is_not_cached(gate: StoreGate) -> None:
    calls: list[int] = []

    def flaky(_store: Store) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first build fails")
        return "built"

    with pytest.raises(RuntimeError):
        gate.cached("/roles", flaky)
    assert gate.cached("/roles", flaky) == "built" and len(calls) == 2


def test_reads_run_under_the_dashboard_memory_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "store.duckdb"
    Store.open(db).close()
    monkeypatch.setenv("VILLAGEGREEN_DASHBOARD_MEMORY", "300MB")
    with StoreGate(db).reading() as store:
        ((limit,),) = store.con.execute("SELECT current_setting('memory_limit')").fetchall()
    assert limit.replace(" ", "") in {"286.1MiB", "300.0MB", "300MB"}
    monkeypatch.setenv("VILLAGEGREEN_DASHBOARD_MEMORY", "2GB; DROP TABLE messages")
    with pytest.raises(ConfigError, match="not a size"):
        StoreGate(db)

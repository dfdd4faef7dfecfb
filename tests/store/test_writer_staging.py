"""Imports big enough to stage batches in Parquet: same rows and counts, no files left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import JsonListConnector, messages
from villagegreen.errors import InputError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.staging import STAGING_PREFIX, remove_stale_staging, staging_parent

SMALL_BATCH = 16  # messages(200) then spans a dozen staged batches


def write(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps(items))
    return path


def _leftovers(folder: Path) -> list[Path]:
    return list(folder.glob(f"{STAGING_PREFIX}*"))


def _rows(store: Store, table: str) -> list[tuple[object, ...]]:
    columns = "id, payload" if table == "raw_items" else "*"
    return store.con.execute(f"SELECT {columns} FROM {table} ORDER BY id").fetchall()


def test_staged_import_writes_what_an_unstaged_one_does(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonlist", messages(200))
    with Store.open(tmp_path / "staged.duckdb") as staged, Store.open(tmp_path / "direct.duckdb") as direct:
        staged_report = import_path(staged, path, connector_class=JsonListConnector, batch_rows=SMALL_BATCH)
        direct_report = import_path(direct, path, connector_class=JsonListConnector)
        for table in ("raw_items", "messages", "conversations", "identities", "spaces"):
            assert _rows(staged, table) == _rows(direct, table), table
    # messages() puts every fifth message at a thread's start: 200 messages, 40 threads, 3 people.
    assert staged_report.counts["messages"].new == 200
    assert staged_report.counts["conversations"].new == 40
    assert staged_report.counts["identities"].new == 3
    assert {k: v.new for k, v in staged_report.counts.items()} == {k: v.new for k, v in direct_report.counts.items()}
    assert _leftovers(tmp_path) == []


def test_a_duplicate_in_a_later_batch_wins_and_is_counted(store: Store, tmp_path: Path) -> None:
    items = messages(40)
    duplicate = dict(items[2], text="second version")
    report = import_path(store, write(tmp_path / "a.jsonlist", [*items, duplicate]), connector_class=JsonListConnector, batch_rows=SMALL_BATCH)
    assert report.counts["messages"].duplicates == 1
    assert report.counts["messages"].new == 40
    ((text,),) = store.con.execute("SELECT text FROM messages WHERE native_id = '2'").fetchall()
    assert text == "second version"


def test_staged_overlapping_import_counts_new_updated_unchanged(store: Store, tmp_path: Path) -> None:
    import_path(store, write(tmp_path / "a.jsonlist", messages(100)), connector_class=JsonListConnector)
    later = messages(100, start=50)  # 50..99 already stored, 100..149 new
    later[0]["text"] = "message 50, edited"
    report = import_path(store, write(tmp_path / "b.jsonlist", later), connector_class=JsonListConnector, batch_rows=SMALL_BATCH)
    counts = report.counts["messages"]
    assert (counts.new, counts.updated, counts.unchanged) == (50, 1, 49)
    assert store.table_counts()["messages"] == 150


def test_failure_after_staging_leaves_neither_rows_nor_files(store: Store, tmp_path: Path) -> None:
    before = store.table_counts()
    items = messages(200)
    items[150]["fail"] = True
    with pytest.raises(InputError, match="planted failure"):
        import_path(store, write(tmp_path / "a.jsonlist", items), connector_class=JsonListConnector, batch_rows=SMALL_BATCH)
    assert store.table_counts() == before
    assert _leftovers(tmp_path) == []


def test_staging_goes_beside_the_store(store: Store, tmp_path: Path) -> None:
    assert staging_parent(store.con) == tmp_path.resolve()


def test_staging_of_a_killed_process_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    stale = tmp_path / f"{STAGING_PREFIX}{gone.stdout.strip()}-abc"
    live = tmp_path / f"{STAGING_PREFIX}1-abc"  # pid 1 is always alive
    for folder in (stale, live):
        folder.mkdir()
        (folder / "messages-000000.parquet").write_bytes(b"")
    remove_stale_staging(tmp_path)
    assert not stale.exists()
    assert live.exists()


def _limit(store: Store) -> str:
    ((limit,),) = store.con.execute("SELECT current_setting('memory_limit')").fetchall()
    return str(limit)


@pytest.mark.parametrize("own_limit", [None, "3GB"])
def test_the_memory_limit_is_as_before_after_an_import(store: Store, tmp_path: Path, own_limit: str | None) -> None:
    if own_limit:
        store.con.execute(f"SET memory_limit = '{own_limit}'")
    before = _limit(store)
    import_path(store, write(tmp_path / "a.jsonlist", messages(20)), connector_class=JsonListConnector)
    assert _limit(store) == before

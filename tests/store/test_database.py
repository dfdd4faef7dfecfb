"""Opening stores: schema versions, migrations, the file lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from villagegreen.errors import SchemaVersionError, StoreBusyError, StoreError
from villagegreen.store import Store, database
from villagegreen.store.migrations import LATEST_VERSION, MIGRATIONS, Migration


def test_new_store_has_every_table_and_records_its_version(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        tables = set(store.table_counts())
        rows = store.con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    expected = {"raw_items", "sources", "spaces", "identities", "people", "conversations", "messages", "reactions", "sync_state", "schema_migrations"}
    assert expected <= tables
    assert rows == [(m.version, m.name) for m in MIGRATIONS]


def test_store_from_a_newer_version_says_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store.open(path) as store:
        store.con.execute("INSERT INTO schema_migrations VALUES (?, 'future', now())", [LATEST_VERSION + 1])
    with pytest.raises(SchemaVersionError, match="newer Village Green.*pip install -U"):
        Store.open(path)


def test_store_from_an_older_version_says_to_migrate_then_migrates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.duckdb"
    Store.open(path).close()
    # The code gains a migration the store has not seen: the store is now "older".
    upcoming = Migration(LATEST_VERSION + 1, "add_notes", "CREATE TABLE notes (id VARCHAR PRIMARY KEY, body VARCHAR)")
    monkeypatch.setattr(database, "MIGRATIONS", (*MIGRATIONS, upcoming))
    monkeypatch.setattr(database, "LATEST_VERSION", upcoming.version)
    with pytest.raises(SchemaVersionError, match="villagegreen migrate"):
        Store.open(path)
    with Store.open(path, migrate=True) as store:
        assert store.schema_version() == upcoming.version
        assert "notes" in store.table_counts()


def test_missing_store_opened_read_only_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="villagegreen import"):
        Store.open(tmp_path / "absent.duckdb", read_only=True)


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("just some text, not a database\n" * 100)
    with pytest.raises(StoreError, match="choose another --db path|cannot open"):
        Store.open(path)


def test_second_writer_is_told_the_store_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store.open(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time, duckdb
            con = duckdb.connect({str(path)!r})
            print("locked", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreBusyError, match="another Village Green process"):
            Store.open(path)
    finally:
        holder.communicate("")
    Store.open(path).close()


def test_migration_versions_run_from_one_without_gaps_or_repeats() -> None:
    from villagegreen.store.migrations import LATEST_VERSION, MIGRATIONS

    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len(MIGRATIONS) == LATEST_VERSION
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)

"""Opening stores: schema versions, migrations, the file lock."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fakes import JsonListConnector, messages
from villagegreen.errors import SchemaVersionError, StoreBusyError, StoreError
from villagegreen.store import Store, database, staging
from villagegreen.store.ingest import import_path
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
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time, duckdb
            con = duckdb.connect({str(path)!r})
            print("locked", flush=True)
            sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
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


def _primary_keys(store: Store) -> int:
    query = "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' AND list_contains(?, table_name)"
    ((count,),) = store.con.execute(query, [list(BULK_TABLES)]).fetchall()
    return int(count)


BULK_TABLES = ("raw_items", "messages", "conversations", "reactions", "events", "message_acts", "embeddings")


def test_migration_11_drops_the_bulk_tables_primary_keys_and_keeps_every_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = tmp_path / "a.jsonlist"
    export.write_text(json.dumps(messages(30)))
    path = tmp_path / "s.duckdb"
    before_11 = tuple(m for m in MIGRATIONS if m.version < 11)
    monkeypatch.setattr(database, "MIGRATIONS", before_11)
    monkeypatch.setattr(database, "LATEST_VERSION", 10)
    monkeypatch.setattr(staging, "DERIVED_COLUMNS", {})  # word_count came with migration 12
    with Store.open(path) as store:
        import_path(store, export, connector_class=JsonListConnector)
        store.con.execute("INSERT INTO message_acts SELECT id, 'question', 1.0, 'r', NULL, 'v', now() FROM messages")
        store.con.execute("INSERT INTO embeddings SELECT id, 'static', '1', 'h', [0.5, 0.25]::FLOAT[], now() FROM messages")
        old = {table: store.con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in BULK_TABLES}
        keys = _primary_keys(store)
        assert keys == len(BULK_TABLES)
    monkeypatch.undo()
    with Store.open(path, migrate=True) as store:
        assert store.schema_version() >= 11
        # Later migrations add columns (12: messages.word_count); the version-10 columns are unchanged.
        kept = {table: "* EXCLUDE (word_count)" if table == "messages" else "*" for table in BULK_TABLES}
        assert {table: store.con.execute(f"SELECT {kept[table]} FROM {table} ORDER BY ALL").fetchall() for table in BULK_TABLES} == old
        keys = _primary_keys(store)
        assert keys == 0
        # Without the index the writer alone keeps ids unique: a re-import adds nothing.
        again = import_path(store, export, connector_class=JsonListConnector)
        assert again.counts["messages"].new == 0
        for table in ("raw_items", "messages", "conversations", "identities"):
            ((rows, ids),) = store.con.execute(f"SELECT count(*), count(DISTINCT id) FROM {table}").fetchall()
            assert rows == ids > 0, table


# Every kind of separator str.split() knows, next to words, doubled and at the ends.
AWKWARD_TEXTS = (
    "",
    "   ",
    "one",
    " two  words ",
    "tab\tand\nnew line",
    "no\u00a0break",
    "ideographic\u3000space",
    "line\u2028sep\x1cinfo\x85nel",
    "\u200bzero-width is no space",
)


def test_migration_12_counts_the_words_of_every_stored_message_as_the_writer_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = tmp_path / "a.jsonlist"
    export.write_text(json.dumps(messages(12)))
    path = tmp_path / "s.duckdb"
    monkeypatch.setattr(database, "MIGRATIONS", tuple(m for m in MIGRATIONS if m.version < 12))
    monkeypatch.setattr(database, "LATEST_VERSION", 11)
    monkeypatch.setattr(staging, "DERIVED_COLUMNS", {})
    with Store.open(path) as store:
        import_path(store, export, connector_class=JsonListConnector)
        # Give the imported messages texts with every awkward separator (the export's are plain).
        ids = [row[0] for row in store.con.execute("SELECT id FROM messages ORDER BY id").fetchall()]
        for message_id, text in zip(ids, AWKWARD_TEXTS, strict=False):
            store.con.execute("UPDATE messages SET text = ? WHERE id = ?", [text, message_id])
        before = store.con.execute("SELECT * FROM messages ORDER BY id").fetchall()
    monkeypatch.undo()
    with Store.open(path, migrate=True) as store:
        after = store.con.execute("SELECT * EXCLUDE (word_count), word_count FROM messages ORDER BY id").fetchall()
        assert [row[:-1] for row in after] == before
        assert [row[-1] for row in after] == [len(row[8].split()) for row in before]
        assert {row[-1] for row in after} >= {0, 1, 2, 4}  # blank, one, two and four words
        # Re-importing restores the export's texts: only the rows changed above differ, so the
        # writer's count of every other message equals the migration's.
        again = import_path(store, export, connector_class=JsonListConnector)
        assert (again.counts["messages"].new, again.counts["messages"].updated) == (0, len(AWKWARD_TEXTS))
        rows = store.con.execute("SELECT text, word_count FROM messages").fetchall()
        assert [count for _text, count in rows] == [len(text.split()) for text, _count in rows]

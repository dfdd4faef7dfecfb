"""Start-up savings of `villagegreen import` that must not change what is stored.

A new store takes all migrations in one transaction (store/database.py); the schema must be the
one that applying them one by one, each committed, gives.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from villagegreen.store.database import Store
from villagegreen.store.migrations import LATEST_VERSION, MIGRATIONS

SCHEMA_QUERIES = (
    "SELECT table_name, column_name, data_type, is_nullable, column_default, ordinal_position FROM information_schema.columns ORDER BY ALL",
    "SELECT sql FROM duckdb_tables() ORDER BY ALL",
    "SELECT sql FROM duckdb_indexes() ORDER BY ALL",
    "SELECT sql FROM duckdb_views() WHERE NOT internal ORDER BY ALL",
    "SELECT sql FROM duckdb_sequences() ORDER BY ALL",
    "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints() ORDER BY ALL",
    "SELECT version, name FROM schema_migrations ORDER BY ALL",
)


def _schema(path: Path) -> list[list[tuple[object, ...]]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [con.execute(query).fetchall() for query in SCHEMA_QUERIES]


def _one_by_one(path: Path) -> None:
    # The way stores were built before: every migration its own committed transaction.
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
        for migration in MIGRATIONS:
            con.execute("BEGIN TRANSACTION")
            con.execute(migration.sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [migration.version, migration.name])
            con.execute("COMMIT")


def test_a_new_store_has_the_schema_of_migrations_applied_one_by_one(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new.duckdb") as store:
        assert store.schema_version() == LATEST_VERSION
    _one_by_one(tmp_path / "stepwise.duckdb")
    new, stepwise = _schema(tmp_path / "new.duckdb"), _schema(tmp_path / "stepwise.duckdb")
    assert len(new[1]) >= 20, "too few tables: the comparison would prove little"
    assert new == stepwise


def test_an_older_store_is_still_migrated_step_by_step(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
        first = MIGRATIONS[0]
        con.execute(first.sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [first.version, first.name])
    with Store.open(path, migrate=True) as store:
        assert store.schema_version() == LATEST_VERSION
    _one_by_one(tmp_path / "stepwise.duckdb")
    assert _schema(path) == _schema(tmp_path / "stepwise.duckdb")

"""Start-up savings of `villagegreen import` that must not change what is stored.

A new store takes all migrations in one transaction (store/database.py); the schema must be the
one that applying them one by one, each committed, gives. The import program hides numpy and
pandas from pyarrow and DuckDB (interfaces/cli/commands_import.py); the store must be the one an
import in a process that has both loaded writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.store_contents import table_rows
from villagegreen.interfaces.cli import main
from villagegreen.store.database import Store
from villagegreen.store.migrations import LATEST_VERSION, MIGRATIONS

DATA = Path(__file__).resolve().parents[1] / "data"

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


CONTENT_TABLES = ("raw_items", "spaces", "identities", "people", "conversations", "messages", "reactions", "events")


def _program_import(source: Path, db: Path, *extra: str) -> set[str]:
    """`villagegreen import` as its own program (numpy and pandas hidden); the modules it imported."""
    command = [sys.executable, "-X", "importtime", "-m", "villagegreen", "import", str(source), "--db", str(db), "--json", *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["counts"]["messages"]["new"] > 0
    # -X importtime lists every module imported, and every import refused, on stderr.
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize(
    ("source", "extra"),
    [
        (DATA / "mail" / "pipermail", ()),  # one small batch per table, one process
        (DATA / "slack" / "synthetic", ("--include-private", "--workers", "2")),  # parts read by forked workers
    ],
)
def test_a_program_import_stores_what_an_import_in_a_full_process_does(tmp_path: Path, source: Path, extra: tuple[str, ...]) -> None:
    imported = _program_import(source, tmp_path / "program.duckdb", *extra)
    # The program ran without numpy, pandas, click or rich's live display: a refused import is
    # listed alone, a real one with its submodules.
    assert {"duckdb", "pyarrow", "villagegreen.store.ingest"} <= imported, "the listing is not what the test expects"
    assert not {name for name in imported if name.partition(".")[0] in ("numpy", "pandas") and "." in name}
    assert not {name for name in imported if name == "click" or name.startswith("rich.progress")}
    # In this process numpy and pandas are loaded, so nothing is hidden from the same import.
    assert {"numpy", "pandas"} <= set(sys.modules)
    main(["import", str(source), "--db", str(tmp_path / "full.duckdb"), "--json", *extra])
    with Store.open(tmp_path / "program.duckdb", read_only=True) as program, Store.open(tmp_path / "full.duckdb", read_only=True) as full:
        assert len(table_rows(program, "messages")) > 3, "too few messages: the comparison would prove little"
        for table in CONTENT_TABLES:
            assert table_rows(program, table) == table_rows(full, table), table

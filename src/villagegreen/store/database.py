"""Opening a store: the file lock, the schema version, and transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import duckdb

from villagegreen.errors import SchemaVersionError, StoreBusyError, StoreError
from villagegreen.store.migrations import LATEST_VERSION, MIGRATIONS

DEFAULT_DB_PATH = Path("villagegreen.duckdb")


class Store:
    """A Village Green store in one DuckDB file.

    ``Store.open(path)`` creates the file and its schema when it does not exist; opening a store
    written by an older or newer schema raises :class:`SchemaVersionError` saying what to do.
    """

    def __init__(self, path: Path, connection: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self.con = connection

    @classmethod
    def open(cls, path: Path = DEFAULT_DB_PATH, *, read_only: bool = False, migrate: bool = False) -> Store:
        if read_only and not path.exists():
            raise StoreError(f"{path}: no store here yet; run `villagegreen import PATH --db {path}` or `villagegreen demo` first")
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise StoreBusyError(f"{path}: another Village Green process is using this store; wait for it to finish and retry") from error
            raise StoreError(f"{path}: cannot open the store ({error}); check the path and permissions") from error
        except duckdb.Error as error:
            raise StoreError(f"{path}: not a Village Green store or corrupt ({error}); choose another --db path") from error
        store = cls(path, connection)
        try:
            # Results come back as UTC whatever the machine's zone, matching what we store.
            connection.execute("SET TimeZone = 'UTC'")
            store._check_schema(read_only=read_only, migrate=migrate)
        except duckdb.Error as error:
            # A migration that fails (disk full, a damaged file) rolls its own step back.
            connection.close()
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            raise StoreError(f"{path}: preparing the store failed ({first_line}); that step was rolled back; check disk space or use another --db") from error
        except BaseException:
            connection.close()
            raise
        return store

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def schema_version(self) -> int:
        ((exists,),) = self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'").fetchall()
        if not exists:
            return 0
        ((version,),) = self.con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()
        return int(version)

    def _check_schema(self, *, read_only: bool, migrate: bool) -> None:
        version = self.schema_version()
        if version > LATEST_VERSION:
            raise SchemaVersionError(
                f"{self.path}: written by a newer Village Green (schema {version}, this one knows {LATEST_VERSION}); upgrade with `pip install -U villagegreen`"
            )
        if version == LATEST_VERSION:
            return
        if read_only:
            raise SchemaVersionError(f"{self.path}: store schema {version} is older than {LATEST_VERSION}; run `villagegreen migrate --db {self.path}`")
        if version > 0 and not migrate:
            raise SchemaVersionError(f"{self.path}: store schema {version} is older than {LATEST_VERSION}; run `villagegreen migrate --db {self.path}`")
        self.apply_migrations()

    def apply_migrations(self) -> list[str]:
        """Apply every pending migration (an existing store's each in its own transaction); returns their names."""
        self.con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
        ((current,),) = self.con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()
        pending = [migration for migration in MIGRATIONS if migration.version > current]
        # A new store takes them all in one transaction: one commit (a file sync each, 0.2 s
        # of every first import) instead of one per migration, and the same schema (tested).
        steps = [pending] if current == 0 else [[migration] for migration in pending]
        applied: list[str] = []
        for step in steps:
            with self.transaction():
                rows = []
                for migration in step:
                    self.con.execute(migration.sql)
                    # Literals, not ``?`` parameters: DuckDB's Python binding imports pandas (~0.4
                    # CPU-s) the first time any parameter is bound, which every new store paid.
                    name = migration.name.replace("'", "''")
                    applied_at = datetime.now(UTC).isoformat()
                    rows.append(f"({int(migration.version)}, '{name}', '{applied_at}'::TIMESTAMPTZ)")
                if rows:  # one statement for the step's rows: twelve cost 20 ms of a new store's 120
                    self.con.execute(f"INSERT INTO schema_migrations VALUES {', '.join(rows)}")
            applied.extend(migration.name for migration in step)
        return applied

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: any exception rolls every write inside back."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def table_counts(self) -> dict[str, int]:
        tables = [
            row[0] for row in self.con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name").fetchall()
        ]
        counts = {}
        for table in tables:
            ((count,),) = self.con.execute(f'SELECT count(*) FROM "{table}"').fetchall()
            counts[table] = int(count)
        return counts

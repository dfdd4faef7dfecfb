"""Batched, idempotent upserts of canonical records into the store.

Records are buffered per table (deduplicated by id, last one wins). A full buffer, and at
:meth:`BatchWriter.flush` whatever is left, becomes an Arrow table written to a Parquet staging
file outside the store; ``flush`` then merges each table's staged rows in with a few set-based
statements: an anti-join insert of new ids and an update of rows whose content differs. Why
staging rather than upserting each batch: every upsert joins against the whole target table
(cost grows with the square of the import), and DuckDB keeps a transaction's uncommitted rows
and index entries in memory, so one merge per table at the end is both linear and lighter. The
exception is a source's first import with ``early_insert`` (what ``villagegreen import`` uses): its
bulk tables take each staged file as it is adopted, because an id hashed from a source nobody
imported yet cannot be in the table, so there is nothing to merge; see :meth:`BatchWriter.flush`.
The caller owns the transaction either way, so an import is still all or nothing.

Staging files go in a folder ``villagegreen-staging-<pid>-*`` beside the store's file (on the
same disk as the store, never a RAM-backed /tmp; the system's temporary folder for an in-memory
store), about the size of the raw payloads and texts (600 MB for a million Slack messages),
removed by ``flush`` or when the writer is dropped. A process killed mid-import leaves only
that folder, which the next writer for a store in that place removes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

from villagegreen.model import Conversation, Message, RawItem, Reaction
from villagegreen.store.early_insert import EarlyInserts
from villagegreen.store.report import ImportReport
from villagegreen.store.staging import RECORD_TYPES, SPECS, STAGING_PREFIX, Stager, remove_stale_staging, staging_parent

# Tables whose staged files :class:`BatchWriter` may insert as soon as they are adopted (the bulk
# of an import), see ``early_insert``; every one has a ``source_id`` column.
EARLY_TABLES = (RawItem, Conversation, Message, Reaction)


def _qualified(alias: str, columns: tuple[str, ...]) -> str:
    return ", ".join(f'{alias}."{c}"' for c in columns)


class BatchWriter:
    """Buffers records, stages full batches as Parquet and upserts everything on :meth:`flush`.

    Staged files are numbered in the order they are adopted (the writer's own as they fill,
    a worker's with :meth:`adopt`); across files the row of the latest file wins.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        report: ImportReport,
        *,
        batch_rows: int = 50_000,
        on_progress: Callable[[int], None] = lambda _messages: None,
        early_insert: bool = False,
    ) -> None:
        self.con = con
        self.report = report
        self.on_progress = on_progress
        # No reference back to the writer from its stager: a cycle would keep an abandoned writer
        # (an import that failed) alive until a garbage collection, and its staging folder with it.
        this = weakref.ref(self)

        def folder() -> Path:
            writer = this()
            assert writer is not None, "a stager outlived its writer"
            return writer.staging_folder()

        def count_duplicate(table: str) -> None:
            report.kind(table).duplicates += 1

        self._stager = Stager(folder, name="main", batch_rows=batch_rows, on_duplicate=count_duplicate)
        self._staged: dict[type, list[Path]] = {cls: [] for cls in RECORD_TYPES}
        self._staged_rows: dict[type, int] = dict.fromkeys(RECORD_TYPES, 0)
        self._staging: Path | None = None
        self._sequence = 0
        self._adopted_messages = 0
        self._early = EarlyInserts(con, report.source_id, [SPECS[cls].table for cls in EARLY_TABLES] if early_insert else ())

    @property
    def batch_rows(self) -> int:
        return self._stager.batch_rows

    @property
    def messages(self) -> int:
        """Messages added or adopted so far."""
        return self._stager.messages + self._adopted_messages

    def add(self, record: Any) -> None:
        if self._stager.add(record):
            self._adopt_own()
            self.on_progress(self.messages)

    def adopt(self, staged: Iterable[tuple[type, Path, int]], *, messages: int, duplicates: Mapping[str, int]) -> None:
        """Take over files another :class:`Stager` wrote into :meth:`staging_folder`, as if added now.

        What this writer buffered before is staged first, so that the adopted rows come after it.
        """
        self._stager.stage_all()
        self._adopt_own()
        for cls, path, rows in staged:
            self._number(cls, path, rows)
        for table, count in duplicates.items():
            self.report.kind(table).duplicates += count
        self._adopted_messages += messages
        self.on_progress(self.messages)

    def flush(self) -> None:
        """Write everything added so far into the store's tables (inside the caller's transaction).

        With ``early_insert``, a table in :data:`EARLY_TABLES` that held no row of the import's
        source when its first file was staged has had every file inserted as it was adopted
        (:mod:`~villagegreen.store.early_insert`); it ends up as the merge would leave it.
        """
        # Rows still buffered are staged too, even a small import's only batch: DuckDB reads a
        # Parquet file itself, while scanning an Arrow table from Python imports pyarrow's
        # dataset and compute modules (0.1 CPU-s, a tenth of a small import's run).
        for cls in RECORD_TYPES:
            self._stager.stage(cls)
            self._adopt_own()
            if self._staged[cls] and not self._finished_early(cls):
                self._merge_staged(cls)
        self.on_progress(self.messages)
        self._remove_staging()
        self._early.reset()

    def _adopt_own(self) -> None:
        for cls, path, rows in self._stager.staged:
            self._number(cls, path, rows)
        self._stager.staged.clear()

    def _number(self, cls: type, path: Path, rows: int) -> None:
        # The number in the name orders the files for "latest wins" (see _merge_staged).
        numbered = path.with_name(f"{SPECS[cls].table}-{self._sequence:09d}.parquet")
        self._sequence += 1
        path.rename(numbered)
        self._staged[cls].append(numbered)
        self._staged_rows[cls] += rows
        self._early.offer(SPECS[cls].table, SPECS[cls].columns, numbered)

    def _finished_early(self, cls: type) -> bool:
        """Whether ``cls``'s staged rows are all in its table already (see :meth:`flush`)."""
        table, rows = SPECS[cls].table, self._staged_rows[cls]
        if not self._early.finish(table, rows):
            return False
        self.report.kind(table).new += rows
        return True

    def staging_folder(self) -> Path:
        """The folder staged files go in (created on first use, beside the store)."""
        if self._staging is None:
            parent = staging_parent(self.con)
            remove_stale_staging(parent)
            self._staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=parent))
            # Removed on flush; this also removes it when an exception abandons the writer.
            weakref.finalize(self, shutil.rmtree, self._staging, ignore_errors=True)
        return self._staging

    def _remove_staging(self) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        for cls in RECORD_TYPES:
            self._staged[cls].clear()
            self._staged_rows[cls] = 0

    def _merge_staged(self, cls: type) -> None:
        files = ", ".join(f"'{path.as_posix()}'" for path in self._staged[cls])
        source = f"read_parquet([{files}])"
        rows = self._staged_rows[cls]
        ((distinct,),) = self.con.execute(f"SELECT count(DISTINCT id) FROM {source}").fetchall()
        if distinct < rows:
            # The same id in several files: the latest file's row wins, as within a batch.
            self.report.kind(SPECS[cls].table).duplicates += rows - distinct
            source = f"(SELECT * FROM read_parquet([{files}], filename = true) QUALIFY row_number() OVER (PARTITION BY id ORDER BY filename DESC) = 1)"
        self._upsert(cls, source, distinct)

    def _upsert(self, cls: type, source: str, rows: int) -> None:
        """Insert the new ids of ``source`` (``rows`` distinct ids), then update rows that differ."""
        spec = SPECS[cls]
        table = spec.table
        cols = ", ".join(f'"{c}"' for c in spec.columns)
        # A new identity starts as its own person; merges later repoint person_id, and
        # re-imports never overwrite that because person_id is not a record column.
        extra_col, extra_val = (', "person_id"', ", s.id") if table == "identities" else ("", "")
        ((new,),) = self.con.execute(
            f'INSERT INTO "{table}" ({cols}{extra_col}) SELECT {_qualified("s", spec.columns)}{extra_val} FROM {source} s ANTI JOIN "{table}" t ON s.id = t.id'
        ).fetchall()
        updated = 0
        if new < rows:
            # Rows inserted just now compare equal, so only earlier imports' rows can differ.
            differs = f"({_qualified('s', spec.compared)}) IS DISTINCT FROM ({_qualified('t', spec.compared)})"
            assignments = ", ".join(f'"{c}" = s."{c}"' for c in spec.compared)
            ((updated,),) = self.con.execute(f'UPDATE "{table}" t SET {assignments} FROM {source} s WHERE s.id = t.id AND {differs}').fetchall()
        counts = self.report.kind(table)
        counts.new += int(new)
        counts.updated += int(updated)
        counts.unchanged += rows - int(new) - int(updated)

"""``import_path``: read an input with its connector and write it to the store in one transaction."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from villagegreen.connectors.base import Connector, PartedRead, ReadContext
from villagegreen.connectors.registry import detect, get_connector
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, StoreError
from villagegreen.model import Skipped, make_id
from villagegreen.store.database import Store
from villagegreen.store.erasure import apply_block_list
from villagegreen.store.lean_runtime import lean_runtime
from villagegreen.store.parallel_read import MIN_PARTS, add_all, can_fork, default_workers, read_parts
from villagegreen.store.report import ImportReport
from villagegreen.store.writer import BatchWriter

# Crash-safety tests set this to a point name ("batch", "before-commit", "after-commit") to have
# the import SIGKILL itself there, deterministically; unset (always, in real use) it does nothing.
CRASH_AT_ENV = "VILLAGEGREEN_TEST_CRASH_AT"

# DuckDB's memory cap while an import runs (its default is 80% of RAM). Under the cap it spills
# the merge's hash tables and evicts written blocks instead of growing; measured at 1M
# messages, see BENCHMARKS.md. Restored when the import ends.
IMPORT_MEMORY_LIMIT = "512MB"
# DuckDB's cap while worker processes read parts: the main process then only appends staged
# files (see BatchWriter's early_insert), blocks it has written can be evicted, and the workers'
# memory adds to it. At 1M Slack messages the import's processes together peaked at 964 MB with
# 512MB here and 699-707 MB with 256MB (688-699 MB before files were inserted early).
PARTS_MEMORY_LIMIT = "256MB"
# Generation-0 threshold during an import: it allocates millions of objects that live until
# their batch is written, and the default (700) has the collector re-scan them constantly.
IMPORT_GC_THRESHOLD = 100_000
# DuckDB threads while an import runs (restored after). The merge and commit are mostly
# index building and one checkpoint: at 100k Slack messages one thread spent about half the
# CPU-seconds of two on them (0.35+0.67 s against 0.8+0.8-1.4 s, BENCHMARKS.md session 6),
# the rest being threads waiting on each other.
IMPORT_THREADS = 1


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def source_id_for(connector: str, key: str) -> str:
    return make_id("", "source", f"{connector}:{key}")


def import_path(
    store: Store,
    path: Path,
    *,
    platform: str | None = None,
    connector_class: type[Connector] | None = None,
    include_private: bool = False,
    source_name: str | None = None,
    on_progress: Callable[[int], None] = lambda _messages: None,
    on_file: Callable[[str], None] = lambda _name: None,
    batch_rows: int = 50_000,
    workers: int | None = None,
    tree: SourceTree | None = None,
) -> ImportReport:
    """Import ``path`` (folder, zip or file) into ``store``; all or nothing.

    Re-importing the same input adds no rows; an overlapping later export of the same source
    adds what is new and updates what changed. Any fatal error rolls the whole import back.
    ``connector_class`` lets library users pass a connector that is not registered.
    ``workers``: processes that read an input's parts (channels) at once, where the connector
    can split it (see :mod:`.parallel_read`); None: as many as CPUs; 1: all in this process.
    The store ends up the same either way.
    ``tree``: ``path`` already opened by the caller, who closes it (see :func:`open_input`).
    """
    options = _ReadOptions(include_private, source_name, on_progress, on_file, batch_rows, default_workers() if workers is None else workers)
    try:
        return _import(store, path, platform, connector_class, options, tree)
    except RecursionError:
        # Python's json (and other recursive parsers) raise this, not ValueError, on data nested
        # thousands deep; the transaction has already rolled back.
        raise InputError(f"{path}: data nested too deeply to read (corrupt or hostile input); re-export it") from None


@dataclass(frozen=True, slots=True)
class _ReadOptions:
    include_private: bool
    source_name: str | None
    on_progress: Callable[[int], None]
    on_file: Callable[[str], None]
    batch_rows: int
    workers: int


def open_input(path: Path, platform: str | None = None) -> tuple[SourceTree, type[Connector]]:
    """``path`` opened and its connector chosen: the checks an import can fail before it writes.

    The CLI calls this before it opens the store, so a mistyped path, a corrupt zip or an
    unknown format is reported without creating a store file. Pass both to :func:`import_path`
    (``tree=``, ``connector_class=``); the caller closes the tree.
    """
    tree = SourceTree(path)
    try:
        return tree, _connector_for(tree, platform)
    except BaseException:
        tree.close()
        raise


def _connector_for(tree: SourceTree, platform: str | None) -> type[Connector]:
    return get_connector(platform) if platform else detect(tree)


def _import(
    store: Store, path: Path, platform: str | None, connector_class: type[Connector] | None, options: _ReadOptions, opened: SourceTree | None
) -> ImportReport:
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    with SourceTree(path) if opened is None else nullcontext(opened) as tree:
        connector_cls = connector_class or _connector_for(tree, platform)
        connector = connector_cls()
        key = options.source_name or connector.source_key(tree)
        source_id = source_id_for(connector_cls.name, key)
        report = ImportReport(source_id=source_id, source_name=key, connector=connector_cls.name, location=tree.location)
        context = ReadContext(
            source_id=source_id,
            source_name=key,
            include_private=options.include_private,
            fetched_at=started_at,
            on_file=options.on_file,
            workers=options.workers,
        )

        def progress(messages: int) -> None:
            options.on_progress(messages)
            _crash_point("batch")

        def skip(record: Skipped) -> None:
            report.skip(record.kind, record.reason, record.where)

        try:
            lean = lean_runtime(store.con, memory_limit=IMPORT_MEMORY_LIMIT, gc_threshold=IMPORT_GC_THRESHOLD, freeze=True, threads=IMPORT_THREADS)
            with lean as capped, store.transaction():
                parted = _parted(connector, tree, context, options.workers)
                # Inserting staged files early only pays while workers read (DuckDB's work then
                # overlaps theirs instead of following it); in one process it is the same work
                # in more statements (at 1M: 2.5 CPU-s more in the main process).
                writer = BatchWriter(store.con, report, batch_rows=options.batch_rows, on_progress=progress, early_insert=parted is not None)
                if parted is not None:
                    with _memory_limit(store.con, PARTS_MEMORY_LIMIT if capped else None, after=IMPORT_MEMORY_LIMIT):
                        read_parts(parted, tree, writer, workers=min(options.workers, len(parted.labels)), on_skipped=skip, on_part=options.on_file)
                else:
                    add_all(connector.read(tree, context), writer, skip)
                writer.flush()
                finalise_source(store.con, report, started_at)
                # People erased with `people forget` stay erased when their export is re-imported.
                apply_block_list(store, source_id)
                report.seconds = time.perf_counter() - started
                record_run(store.con, report, started_at)
                _crash_point("before-commit")
            _crash_point("after-commit")
        except duckdb.Error as error:
            # DuckDB's messages can span lines (a SQL excerpt); the CLI promises one line.
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            raise StoreError(f"{store.path}: writing the import failed ({first_line}); the store is unchanged") from error
    return report


@contextmanager
def _memory_limit(con: duckdb.DuckDBPyConnection, limit: str | None, *, after: str) -> Iterator[None]:
    """DuckDB's memory cap at ``limit`` for a step, then ``after``; nothing when ``limit`` is None."""
    if limit is None:
        yield
        return
    con.execute(f"SET memory_limit = '{limit}'")
    yield
    # Not on an error: the transaction is rolled back and lean_runtime resets the limit anyway.
    con.execute(f"SET memory_limit = '{after}'")


def _parted(connector: Connector, tree: SourceTree, context: ReadContext, workers: int) -> PartedRead | None:
    """The connector's parts when reading them in worker processes is possible and worth it, else None."""
    if workers < 2 or not can_fork():
        return None
    # Workers must not call the CLI's per-file progress (it would print from several processes);
    # the main process reports each part as it is adopted instead.
    parted = connector.read_parts(tree, replace(context, on_file=lambda _name: None))
    return parted if parted is not None and len(parted.labels) >= MIN_PARTS else None


def finalise_source(con: duckdb.DuckDBPyConnection, report: ImportReport, now: datetime) -> None:
    # Replies whose root is outside the export window (an export that starts mid-thread) still
    # belong to a conversation; create it from what we have rather than drop the replies.
    ((inferred,),) = con.execute(
        """
        INSERT INTO conversations (id, source_id, space_id, title, started_at, meta)
        SELECT m.conversation_id, any_value(m.source_id), arg_min(m.space_id, m.sent_at), NULL, min(m.sent_at),
               '{"inferred":true}'
        FROM messages m ANTI JOIN conversations c ON c.id = m.conversation_id
        WHERE m.source_id = ?
        GROUP BY m.conversation_id
        """,
        [report.source_id],
    ).fetchall()
    report.kind("conversations").new += int(inferred)
    ((added,),) = con.execute(
        """
        INSERT INTO people (id, display_name, created_at)
        SELECT i.person_id, i.display_name, ? FROM identities i ANTI JOIN people p ON p.id = i.person_id
        WHERE i.source_id = ?
        """,
        [now, report.source_id],
    ).fetchall()
    report.kind("people").new += int(added)
    con.execute(
        """
        INSERT INTO sources (id, connector, name, location, first_imported_at, last_imported_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET location = excluded.location, last_imported_at = excluded.last_imported_at
        """,
        [report.source_id, report.connector, report.source_name, report.location, now, now],
    )


def record_run(con: duckdb.DuckDBPyConnection, report: ImportReport, started_at: datetime) -> None:
    con.execute(
        "INSERT INTO import_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            make_id(report.source_id, "import_run", started_at.isoformat()),
            report.source_id,
            report.connector,
            report.location,
            started_at,
            datetime.now(UTC),
            json.dumps(report.to_dict()),
        ],
    )

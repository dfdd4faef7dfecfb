"""Reading an input's parts in worker processes, each staging its records as Parquet.

A connector that can split its input (:meth:`Connector.read_parts`: a Slack export's channels)
has its parts read by a pool of forked workers. Each worker maps and threads one part at a
time into its own :class:`~villagegreen.store.staging.Stager` in the import's staging folder
and sends back only the files' names, its skipped items and what the part learnt; the main
process adopts the files in part order, so the store ends up exactly as after a one-process
read (tested). Nothing is written to the store by a worker: the import's single transaction
in the main process still merges everything, so an import stays all or nothing.

Why processes: mapping is Python work that holds the GIL, so threads would not help. Why fork:
a worker starts in milliseconds with the parsed listings already in memory and nothing to
pickle; on platforms without fork (Windows, macOS' default) the import reads in one process.
Workers never touch DuckDB (the parent's connection is not usable after a fork) and end with
``os._exit``, so nothing of the parent's is finalised twice.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from villagegreen.connectors.base import PartedRead
from villagegreen.connectors.tree import SourceTree
from villagegreen.model import Record, Skipped
from villagegreen.store.staging import Stager, load_arrow_conversion
from villagegreen.store.writer import BatchWriter

# Below this many parts a pool costs more than it saves (a few channels read in well under a second).
MIN_PARTS = 4
WORKERS_ENV = "VILLAGEGREEN_IMPORT_WORKERS"


@dataclass(frozen=True, slots=True)
class PartResult:
    staged: list[tuple[type, Path, int]]
    skipped: list[Skipped]
    duplicates: dict[str, int]
    messages: int
    learnt: object


@dataclass(frozen=True, slots=True)
class _Job:
    parted: PartedRead
    tree: SourceTree
    folder: Path
    batch_rows: int


# Set in the parent just before the pool forks; each worker reads its copy.
_JOB: _Job | None = None


def default_workers() -> int:
    """Worker processes for an import: ``VILLAGEGREEN_IMPORT_WORKERS`` if set, else the CPUs this process may use."""
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def read_parts(
    parted: PartedRead,
    tree: SourceTree,
    writer: BatchWriter,
    *,
    workers: int,
    on_skipped: Callable[[Skipped], None],
    on_part: Callable[[str], None],
) -> None:
    """Every record of ``parted`` into ``writer``: head and tail here, the parts in ``workers`` processes."""
    add_all(parted.head(), writer, on_skipped)
    global _JOB
    _JOB = _Job(parted, tree, writer.staging_folder(), writer.batch_rows)
    labels = list(parted.labels)
    load_arrow_conversion()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker)
    try:
        # map() hands results back in part order, which is the order they are adopted in.
        for index, result in enumerate(pool.map(_read_part, range(len(labels)))):
            on_part(labels[index])
            for skipped in result.skipped:
                on_skipped(skipped)
            writer.adopt(result.staged, messages=result.messages, duplicates=result.duplicates)
            parted.absorb(index, result.learnt)
    except BaseException:
        # A fatal error (or Ctrl-C) ends the import now: parts not started are dropped, and the
        # ones running finish before the staging folder is removed under them.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        _JOB = None
    add_all(parted.tail(), writer, on_skipped)


def add_all(records: Iterator[Record], writer: BatchWriter, on_skipped: Callable[[Skipped], None]) -> None:
    """Records into ``writer``; skipped-item notes to ``on_skipped``."""
    for record in records:
        if isinstance(record, Skipped):
            on_skipped(record)
        else:
            writer.add(record)


def _start_worker() -> None:
    # Ctrl-C is the main process's to handle (it stops the pool); a worker would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A zip's file offset is shared with the parent after a fork; each worker needs its own.
    assert _JOB is not None
    _JOB.tree.reopen()


def _read_part(index: int) -> PartResult:
    assert _JOB is not None
    job = _JOB
    duplicates: Counter[str] = Counter()

    def count_duplicate(table: str) -> None:
        duplicates[table] += 1

    stager = Stager(lambda: job.folder, name=f"p{os.getpid()}-{index}", batch_rows=job.batch_rows, on_duplicate=count_duplicate)
    skipped: list[Skipped] = []
    for record in job.parted.part(index):
        if isinstance(record, Skipped):
            skipped.append(record)
        else:
            stager.add(record)
    stager.stage_all()
    return PartResult(stager.staged, skipped, dict(duplicates), stager.messages, job.parted.part_learnt(index))

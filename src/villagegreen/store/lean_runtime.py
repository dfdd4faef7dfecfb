"""A DuckDB memory cap and fewer garbage collections for one long bulk step (an import, a run of analyses)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb


@contextmanager
def lean_runtime(con: duckdb.DuckDBPyConnection, *, memory_limit: str, gc_threshold: int, freeze: bool = False, threads: int | None = None) -> Iterator[bool]:
    """Cap DuckDB's memory at ``memory_limit`` and raise the generation-0 GC threshold; both restored after.

    DuckDB's default limit is 80% of RAM; under a cap it spills large hash tables instead of
    growing. A bulk step allocates millions of Python objects that live until their batch is
    written, and the default threshold (700) has the collector re-scan them constantly.
    A memory limit someone set on this connection themselves is left as it is. ``freeze``
    moves the objects alive now (modules, registries) out of the collector's sight for the step.
    ``threads``, when given, caps DuckDB's worker threads for the step (a setting of the whole
    database, not just this connection; put back after). Yields whether it set the cap (False
    when the connection already had a limit of its own), so the step may move its own cap.
    """
    thresholds = gc.get_threshold()
    capped = _memory_limit(con) == _default_memory_limit()
    if capped:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    previous_threads = _setting(con, "threads") if threads is not None else None
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    if freeze:
        gc.freeze()
    gc.set_threshold(gc_threshold, *thresholds[1:])
    try:
        yield capped
    finally:
        gc.set_threshold(*thresholds)
        if freeze:
            gc.unfreeze()
        # A connection a fatal error has invalidated cannot be reset; the error already on its
        # way out says more than this one would.
        if capped:
            with suppress(duckdb.Error):
                con.execute("RESET memory_limit")
        if previous_threads is not None:
            with suppress(duckdb.Error):
                con.execute(f"SET threads = {int(previous_threads)}")


def _memory_limit(con: duckdb.DuckDBPyConnection) -> str:
    return _setting(con, "memory_limit")


def _setting(con: duckdb.DuckDBPyConnection, name: str) -> str:
    ((value,),) = con.execute(f"SELECT current_setting('{name}')").fetchall()
    return str(value)


def _default_memory_limit() -> str:
    # Read back, a limit is rounded ("18.8 GiB"), so it cannot be saved and set again exactly;
    # compared with a fresh connection's, it says whether anyone changed it.
    with duckdb.connect() as fresh:
        return _memory_limit(fresh)

"""Opening the store for one request: read-only by default, writable only for a POST.

A DuckDB file opened read-only by this process cannot be opened writable by it at the same
time (DuckDB refuses a second configuration of an open file), and other processes (``import``,
``analyze``) need the file's write lock between requests. So every request opens the store,
does its work and closes it; a readers-writer lock lets reads run together and gives a write
the file alone.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from villagegreen.errors import ConfigError
from villagegreen.store.database import Store


class _ReadersWriterLock:
    """Many readers or one writer; a waiting writer keeps new readers out, so it is not starved."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._writing and self._writers_waiting == 0)
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            self._condition.wait_for(lambda: not self._writing and self._readers == 0)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


_MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*[KMGT]i?B", re.IGNORECASE)


class StoreGate:
    """Per-request access to the store at ``path``; raises the store's own errors (missing,
    busy, old schema) for the app to turn into a page.

    Page data is cached under the store's :meth:`fingerprint`: building the overview compiles
    ibis expressions (about a second), and most page loads see an unchanged store. Requests that
    arrive together for the same uncached page wait for ONE build (single flight): on a store of
    a million messages twenty clients each building the Ripe threads page at once took 19 GB
    and timed out (benchmarks/dashboard_load.py).

    DuckDB's memory limit for the dashboard's reads is :data:`MEMORY_LIMIT` (or
    ``VILLAGEGREEN_DASHBOARD_MEMORY``, e.g. ``4GB``) instead of DuckDB's default of 80% of RAM,
    so the dashboard cannot starve the machine it shares with imports.
    """

    CACHE_SIZE = 64
    MEMORY_LIMIT = "2GB"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._files = (path, path.with_name(path.name + ".wal"))  # stat-ed on every request
        self._lock = _ReadersWriterLock()
        self._cache: OrderedDict[tuple[str, tuple[int, ...]], Any] = OrderedDict()
        self._generation = 0  # writes made through this gate: a change seen at once, whatever the clock
        self._cache_lock = threading.Lock()
        self._building: dict[tuple[str, tuple[int, ...]], threading.Lock] = {}
        self._memory_limit = os.environ.get("VILLAGEGREEN_DASHBOARD_MEMORY", self.MEMORY_LIMIT).strip()
        if not _MEMORY_SIZE.fullmatch(self._memory_limit):
            raise ConfigError(f"VILLAGEGREEN_DASHBOARD_MEMORY={self._memory_limit!r} is not a size; use e.g. 2GB or 512MB")

    def fingerprint(self) -> tuple[int, ...]:
        """Size and modification time of the store and its write-ahead log: any committed write
        (an import, an analysis, a merge) changes one of them. The count of this gate's own
        writes comes first, so a page reflects a decision made here even when the file system's
        clock has not moved since the previous one."""
        parts: list[int] = [self._generation]
        for file in self._files:
            try:
                stat = file.stat()
            except FileNotFoundError:
                parts.extend((-1, -1))
            else:
                parts.extend((stat.st_size, stat.st_mtime_ns))
        return tuple(parts)

    def peek(self, key: str) -> Any:
        """The value cached under ``key`` for the store as it is now, or None (nothing is built:
        safe to call on the event loop)."""
        entry = (key, self.fingerprint())
        with self._cache_lock:
            if entry in self._cache:
                self._cache.move_to_end(entry)
                return self._cache[entry]
        return None

    def cached(self, key: str, build: Callable[[Store], Any], *, store: Store | None = None) -> Any:
        """``build(store)`` on a read-only store, or its result from the last call with the same
        key on an unchanged store. Errors are not cached. A build may pass its own open ``store``
        to get a part shared by several pages (opening a second one could wait on a writer that
        waits for the first)."""
        entry = (key, self.fingerprint())
        with self._cache_lock:
            if entry in self._cache:
                self._cache.move_to_end(entry)
                return self._cache[entry]
            flight = self._building.setdefault(entry, threading.Lock())
        with flight:
            with self._cache_lock:
                if entry in self._cache:  # built by the request we waited for
                    return self._cache[entry]
            try:
                if store is not None:
                    value = build(store)
                else:
                    with self.reading() as opened:
                        value = build(opened)
            except BaseException:
                with self._cache_lock:
                    self._building.pop(entry, None)  # errors are not cached: the next request tries again
                raise
            with self._cache_lock:
                while len(self._cache) >= self.CACHE_SIZE:  # least recently used first: stale states, odd queries
                    self._cache.popitem(last=False)
                self._cache[entry] = value
                self._building.pop(entry, None)
        return value

    @contextmanager
    def reading(self) -> Iterator[Store]:
        with self._lock.shared(), Store.open(self.path, read_only=True) as store:
            store.con.execute(f"SET memory_limit = '{self._memory_limit}'")
            yield store

    @contextmanager
    def writing(self) -> Iterator[Store]:
        with self._lock.exclusive():
            try:
                with Store.open(self.path) as store:
                    yield store
            finally:
                with self._cache_lock:
                    self._generation += 1

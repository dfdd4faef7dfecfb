"""A source's first import inserts its staged files as they arrive, instead of merging at the end.

While worker processes read an input's parts, the importing process mostly waits; inserting
each staged file as it is adopted moves DuckDB's share of the work into that wait (at 1M Slack
messages the serial tail after the workers went from 12.8 to 3.2 s; the whole import from
46.3 to 44.0 s mean on a quiet machine, BENCHMARKS.md session 8).

Why no merge is needed: every record id is a hash of its source's id, so while a table holds
no row of the import's source, none of the import's ids can be in it. Should the import hold
the same id twice (or a record of another source), :meth:`EarlyInserts.finish` deletes the
table's early rows again and the caller merges it the usual way, so "latest wins" still holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb


class EarlyInserts:
    """Which of ``tables`` take the source's staged files early, and doing so."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source_id: str, tables: Iterable[str]) -> None:
        self.con = con
        self.source_id = source_id
        # Per table: None until its first staged file, then whether its files go in early
        # (decided then: the table held no row of the source).
        self._early: dict[str, bool | None] = dict.fromkeys(tables, None)

    def offer(self, table: str, columns: tuple[str, ...], path: Path) -> None:
        """Insert the rows of the source in the staged file ``path`` now, if ``table`` takes them early."""
        if table not in self._early:
            return
        if self._early[table] is None:
            ((present,),) = self.con.execute(f'SELECT count(*) FROM (SELECT 1 FROM "{table}" WHERE source_id = ? LIMIT 1)', [self.source_id]).fetchall()
            self._early[table] = present == 0
        if self._early[table]:
            cols = ", ".join(f'"{c}"' for c in columns)
            self.con.execute(f"INSERT INTO \"{table}\" ({cols}) SELECT {cols} FROM read_parquet('{path.as_posix()}') WHERE source_id = ?", [self.source_id])

    def finish(self, table: str, staged_rows: int) -> bool:
        """True when all ``staged_rows`` rows are in ``table`` already, each id once.

        Otherwise the early rows are deleted again and the caller merges the table as usual.
        """
        if not self._early.get(table):
            return False
        ((inserted, distinct),) = self.con.execute(f'SELECT count(*), count(DISTINCT id) FROM "{table}" WHERE source_id = ?', [self.source_id]).fetchall()
        if inserted == distinct == staged_rows:
            return True
        self.con.execute(f'DELETE FROM "{table}" WHERE source_id = ?', [self.source_id])
        return False

    def reset(self) -> None:
        """Decide again at the next staged file (after a flush, the source has rows)."""
        self._early = dict.fromkeys(self._early, None)

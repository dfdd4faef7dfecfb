"""Batched, idempotent upserts of canonical records into the store.

Records are buffered per table (deduplicated by id, last one wins), turned into an Arrow
table and written with two set-based statements per batch: an anti-join insert of new ids and
an update of rows whose content differs. Per-message Python work stays small, and the counts
of new, updated and unchanged rows fall out of the same join. The caller owns the
transaction, so an import is all or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

import duckdb
import pyarrow as pa

from villagegreen.model import Conversation, Event, Identity, Message, RawItem, Reaction, Space
from villagegreen.store.report import ImportReport

RECORD_TYPES = (RawItem, Space, Identity, Conversation, Message, Reaction, Event)

# Columns that change on every import without the content changing; they are written for new
# rows but never make a row count as "updated".
VOLATILE_COLUMNS = {"raw_items": {"fetched_at"}}

_TIMESTAMP = pa.timestamp("us", tz="UTC")
_ARROW_TYPES: dict[str, pa.DataType] = {
    "fetched_at": _TIMESTAMP,
    "started_at": _TIMESTAMP,
    "sent_at": _TIMESTAMP,
    "reacted_at": _TIMESTAMP,
    "occurred_at": _TIMESTAMP,
    "private": pa.bool_(),
    "is_bot": pa.bool_(),
    "count": pa.int64(),
}


@dataclass(frozen=True, slots=True)
class TableSpec:
    table: str
    columns: tuple[str, ...]

    @property
    def compared(self) -> tuple[str, ...]:
        volatile = VOLATILE_COLUMNS.get(self.table, set())
        return tuple(c for c in self.columns if c != "id" and c not in volatile)

    def schema(self) -> pa.Schema:
        return pa.schema([(c, _ARROW_TYPES.get(c, pa.string())) for c in self.columns])


SPECS: dict[type, TableSpec] = {
    cls: TableSpec(cls.TABLE, tuple(f.name for f in fields(cls))) for cls in RECORD_TYPES
}


_ROW_GETTERS = {cls: attrgetter(*spec.columns) for cls, spec in SPECS.items()}


def _qualified(alias: str, columns: tuple[str, ...]) -> str:
    return ", ".join(f'{alias}."{c}"' for c in columns)


def _meta_json(value: dict[str, Any]) -> str | None:
    # sort_keys so that the same content always serialises identically and compares unchanged.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_json_default) if value else None


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in meta")


class BatchWriter:
    """Buffers records and upserts them in batches inside the caller's transaction."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        report: ImportReport,
        *,
        batch_rows: int = 50_000,
        on_progress: Callable[[int], None] = lambda _messages: None,
    ) -> None:
        self.con = con
        self.report = report
        self.batch_rows = batch_rows
        self.on_progress = on_progress
        self._buffers: dict[type, dict[str, tuple[Any, ...]]] = {cls: {} for cls in RECORD_TYPES}
        self._messages_buffered = 0

    def add(self, record: Any) -> None:
        # Hot path (once per record): one attrgetter call, no per-field Python work; meta is
        # serialised column-wise at flush time.
        cls = type(record)
        buffer = self._buffers[cls]
        if record.id in buffer:
            self.report.kind(SPECS[cls].table).duplicates += 1
        buffer[record.id] = _ROW_GETTERS[cls](record)
        if cls is Message:
            self._messages_buffered += 1
        if len(buffer) >= self.batch_rows:
            self._flush(cls)

    def flush(self) -> None:
        for cls in RECORD_TYPES:
            self._flush(cls)

    def _flush(self, cls: type) -> None:
        buffer = self._buffers[cls]
        if not buffer:
            return
        spec = SPECS[cls]
        columns: list[Any] = list(zip(*buffer.values(), strict=True))
        schema = spec.schema()
        if "meta" in spec.columns:
            at = spec.columns.index("meta")
            columns[at] = [_meta_json(value) for value in columns[at]]
        staging = pa.Table.from_arrays(
            [pa.array(values, type=schema.field(name).type) for name, values in zip(spec.columns, columns, strict=True)],
            schema=schema,
        )
        buffer.clear()
        self._upsert(spec, staging)
        if cls is Message:
            self.on_progress(self._messages_buffered)

    def _upsert(self, spec: TableSpec, staging: pa.Table) -> None:
        self.con.register("vg_staging", staging)
        try:
            table = spec.table
            cols = ", ".join(f'"{c}"' for c in spec.columns)
            differs = f"({_qualified('s', spec.compared)}) IS DISTINCT FROM ({_qualified('t', spec.compared)})"
            ((new, updated),) = self.con.execute(
                f'SELECT count(*) FILTER (WHERE t.id IS NULL), count(*) FILTER (WHERE t.id IS NOT NULL AND {differs}) '
                f'FROM vg_staging s LEFT JOIN "{table}" t ON s.id = t.id'
            ).fetchall()
            counts = self.report.kind(table)
            counts.new += new
            counts.updated += updated
            counts.unchanged += staging.num_rows - new - updated
            if updated:
                assignments = ", ".join(f'"{c}" = s."{c}"' for c in spec.compared)
                self.con.execute(f'UPDATE "{table}" t SET {assignments} FROM vg_staging s WHERE s.id = t.id AND {differs}')
            if new:
                # A new identity starts as its own person; merges later repoint person_id, and
                # re-imports never overwrite that because person_id is not a record column.
                extra_col, extra_val = (', "person_id"', ", s.id") if table == "identities" else ("", "")
                self.con.execute(
                    f'INSERT INTO "{table}" ({cols}{extra_col}) SELECT {_qualified("s", spec.columns)}{extra_val} '
                    f'FROM vg_staging s ANTI JOIN "{table}" t ON s.id = t.id'
                )
        finally:
            self.con.unregister("vg_staging")

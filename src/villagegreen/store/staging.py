"""Staging: records buffered per table and written as Parquet files for :class:`~villagegreen.store.writer.BatchWriter`.

What a table's rows look like on their way to the store (:class:`TableSpec`: the record's
fields, then columns derived from them such as ``messages.word_count``), how a buffer becomes an
Arrow table, and where the files go: a folder ``villagegreen-staging-<pid>-*`` beside the store's
file. :class:`Stager` needs no store, so worker processes that read parts of an input stage
with it too (:mod:`villagegreen.store.parallel_read`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from villagegreen.model import Conversation, Event, Identity, Message, RawItem, Reaction, Space
from villagegreen.store.word_count import count_words

RECORD_TYPES = (RawItem, Space, Identity, Conversation, Message, Reaction, Event)

# Columns that change on every import without the content changing; they are written for new
# rows but never make a row count as "updated".
VOLATILE_COLUMNS = {"raw_items": {"fetched_at"}}

STAGING_PREFIX = "villagegreen-staging-"

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
    "word_count": pa.int32(),
}


# Columns computed from a record's own fields when its batch is staged, not carried by the
# record: (column, source field, function of that field's value).
DERIVED_COLUMNS: dict[str, tuple[tuple[str, str, Callable[[Any], Any]], ...]] = {
    "messages": (("word_count", "text", count_words),),
}


@dataclass(frozen=True, slots=True)
class TableSpec:
    table: str
    fields: tuple[str, ...]

    @property
    def derived(self) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
        return DERIVED_COLUMNS.get(self.table, ())

    @property
    def columns(self) -> tuple[str, ...]:
        """The stored columns: the record's fields, then the derived ones."""
        return self.fields + tuple(column for column, _field, _function in self.derived)

    @property
    def compared(self) -> tuple[str, ...]:
        volatile = VOLATILE_COLUMNS.get(self.table, set())
        return tuple(c for c in self.columns if c != "id" and c not in volatile)

    def schema(self) -> pa.Schema:
        return pa.schema([(c, _ARROW_TYPES.get(c, pa.string())) for c in self.columns])


SPECS: dict[type, TableSpec] = {cls: TableSpec(cls.TABLE, tuple(f.name for f in fields(cls))) for cls in RECORD_TYPES}


_ROW_GETTERS = {cls: attrgetter(*spec.fields) for cls, spec in SPECS.items()}


def _meta_json(value: dict[str, Any]) -> str | None:
    # sort_keys so that the same content always serialises identically and compares unchanged.
    # (orjson was tried: its float and NaN text differ from json's, and checking its output
    # for them cost as much as json itself.)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_json_default) if value else None


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in meta")


def staging_parent(con: duckdb.DuckDBPyConnection) -> Path:
    """Where staging folders go: beside the store's file, or the temporary folder for ``:memory:``."""
    ((path,),) = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return Path(path).resolve().parent if path else Path(tempfile.gettempdir())


def remove_stale_staging(folder: Path) -> None:
    """Delete staging folders left in ``folder`` by writers whose process is gone (killed mid-import)."""
    for path in folder.glob(f"{STAGING_PREFIX}*"):
        pid = path.name.removeprefix(STAGING_PREFIX).partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to clean up after
    return True


class Stager:
    """Buffers records per table and writes each full buffer as a Parquet file in a staging folder.

    Needs no store, so worker processes that read parts of an input (see
    :mod:`villagegreen.store.parallel_read`) stage with it too. Within a buffer the last record
    of an id wins; ``on_duplicate`` hears of each one replaced.
    """

    def __init__(self, folder: Callable[[], Path], *, name: str, batch_rows: int, on_duplicate: Callable[[str], None]) -> None:
        self._folder = folder
        self._name = name
        self.batch_rows = batch_rows
        self._on_duplicate = on_duplicate
        self._buffers: dict[type, dict[str, tuple[Any, ...]]] = {cls: {} for cls in RECORD_TYPES}
        self._files = 0
        self.staged: list[tuple[type, Path, int]] = []  # (record class, file, rows) in staging order
        self.messages = 0

    def add(self, record: Any) -> bool:
        """Buffer ``record``; True when this staged a full batch of messages (a moment for progress)."""
        # Hot path (once per record): one attrgetter call, no per-field Python work; meta is
        # serialised column-wise when the batch is staged.
        cls = type(record)
        buffer = self._buffers[cls]
        if record.id in buffer:
            self._on_duplicate(SPECS[cls].table)
        buffer[record.id] = _ROW_GETTERS[cls](record)
        if cls is Message:
            self.messages += 1
        if len(buffer) >= self.batch_rows:
            self.stage(cls)
            return cls is Message
        return False

    def take(self, cls: type) -> pa.Table:
        """The buffered rows of ``cls`` as an Arrow table; the buffer is emptied."""
        batch = _arrow(SPECS[cls], self._buffers[cls].values())
        self._buffers[cls].clear()
        return batch

    def stage(self, cls: type) -> None:
        if not self._buffers[cls]:
            return
        batch = self.take(cls)
        path = self._folder() / f"{SPECS[cls].table}-{self._name}-{self._files:06d}.parquet"
        self._files += 1
        # Uncompressed: the file is read back once within seconds; compressing costs more than it saves.
        pq.write_table(batch, path, compression="none")
        self.staged.append((cls, path, batch.num_rows))

    def stage_all(self) -> None:
        for cls in RECORD_TYPES:
            self.stage(cls)


def load_arrow_conversion() -> None:
    """Load what pyarrow's first conversion of Python values loads, so that forked workers share it.

    pyarrow imports pandas (when installed) on its first ``pa.array`` call, whatever the values:
    0.6 CPU-seconds. The importing process pays that anyway (DuckDB's parameter binding imports
    it too); done before a pool forks, each worker inherits it instead of paying it again.
    """
    pa.array([], type=pa.string())


def _arrow(spec: TableSpec, rows: Iterable[tuple[Any, ...]]) -> pa.Table:
    columns: list[Any] = list(zip(*rows, strict=True))
    schema = spec.schema()
    if not columns:
        return schema.empty_table()
    if "meta" in spec.fields:
        at = spec.fields.index("meta")
        columns[at] = [_meta_json(value) for value in columns[at]]
    for _column_name, field, function in spec.derived:
        columns.append(list(map(function, columns[spec.fields.index(field)])))
    return pa.Table.from_arrays(
        [_column(values, schema.field(name).type) for name, values in zip(spec.columns, columns, strict=True)],
        schema=schema,
    )


def _column(values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None:
        # pyarrow converts aware datetimes several times faster into a zoneless timestamp (each
        # still normalised to UTC, naive ones taken as UTC, as the zoned conversion does), and
        # the same 64-bit numbers viewed as the zoned type are identical values (tested); a
        # view, not a cast, because a cast imports pyarrow.compute (0.06 CPU-s).
        return pa.array(values, type=pa.timestamp(arrow_type.unit)).view(arrow_type)
    return pa.array(values, type=arrow_type)

"""Embeddings kept in the store, one row per message and model, updated incrementally.

A message is (re-)embedded only when it has no row for the model yet, when its text changed
(``text_hash`` is DuckDB's ``md5(text)``, so the comparison happens in SQL without reading the
text of unchanged messages), or when the model's version changed. A second run over the same
store embeds nothing. Platform bookkeeping (joins, system lines) and empty texts are skipped.

Pending rows stream from DuckDB as Arrow batches and go back as one INSERT per batch, the
vectors as a list column over the numpy matrix: no Python object per message or per number.
A helper thread embeds the next batch while DuckDB stores the current one (both release the
GIL), so on two or more cores the arithmetic and the writing overlap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from villagegreen.analyses.embeddings import Embedder, StaticEmbedder, Vectors
from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.store.database import Store

# Rows per embedding call and per INSERT: about 20 MB of text, vectors and token counts. A
# sixth of DuckDB's row group (122,880 rows), so that transactions end on whole row groups.
BATCH = 20_480
_ROW_GROUP = 122_880
# Rows per transaction: two whole row groups (about 240 MB of vectors). A transaction this
# large skips the write-ahead log: DuckDB writes each full row group straight into the file
# ("optimistic writing") and the commit has almost nothing left to do. Committing every batch
# instead wrote the vectors twice (log, then checkpoint) and left partial row groups that the
# final checkpoint decompressed and merged: at 1M messages 99 CPU-s against 74 in one
# transaction (same load), before the codec change below. Memory stays bounded by writing each
# row group as soon as it is full (see _BUFFERED_ROW_GROUPS) and committing every two: four
# gave the same CPU and 0.4 GB more peak RSS at 1M.
COMMIT_ROWS = 2 * _ROW_GROUP
# DuckDB buffers 5 full row groups of a bulk insert before writing them (5 × 120 MB of vectors
# here); one is enough for a single-writer append. Peak RSS at 1M: 3.6 GB before, 2.0 GB now,
# much of it DuckDB's cache of the blocks just written, which it drops under memory pressure.
_BUFFERED_ROW_GROUPS = 1
# Float codecs switched off while vectors are written. Unit vectors' mantissas are noise: ALP-RD
# saved 15% when whole row groups were packed at a checkpoint, but a directly written row group
# gave each compressed segment a block of its own (6.4 bytes per float against 4 stored plain),
# and analysing 256 million floats for codecs that do not pay cost CPU: at 1M messages 74 → 58
# CPU-s, and the store grew by 1.05 GB instead of 1.66 GB. The stored values are the same.
_FLOAT_CODECS = "alp,alprd,chimp,patas"
_KINDS = ", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)


@dataclass(frozen=True, slots=True)
class EmbedReport:
    """What ``villagegreen embed`` did."""

    model: str
    version: str
    embedded: int
    up_to_date: int
    seconds: float

    @property
    def rate(self) -> float:
        """Texts embedded per second (0 when nothing needed embedding)."""
        return self.embedded / self.seconds if self.embedded and self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "embedded": self.embedded, "up_to_date": self.up_to_date,
                "seconds": round(self.seconds, 3), "texts_per_second": round(self.rate)}  # fmt: skip


# Messages worth embedding, each with its row for the model if there is one.
_CANDIDATES = f"""
    FROM messages m
    LEFT JOIN embeddings e ON e.message_id = m.id AND e.model = $model
    WHERE m.kind NOT IN ({_KINDS}) AND trim(m.text) <> ''
"""
# Cheapest test first: DuckDB evaluates OR's operands left to right on the rows still
# undecided, so md5 runs only for messages that have a row already (counting a fresh 100k
# store: 0.6 CPU-s against 1.0 with md5 second).
_NEEDS_EMBEDDING = "(e.message_id IS NULL OR e.model_version <> $version OR e.text_hash <> md5(m.text))"


def _pending_query() -> str:
    # No ORDER BY: the order of the rows written does not matter, and sorting a million texts
    # would hold them all in memory before the first batch came back.
    return f"SELECT m.id, m.text, md5(m.text) AS text_hash, e.message_id IS NOT NULL AS stale {_CANDIDATES} AND {_NEEDS_EMBEDDING}"


def _parameters(embedder: Embedder) -> dict[str, str]:
    return {"model": embedder.model, "version": embedder.version}


def pending_count(store: Store, embedder: Embedder) -> tuple[int, int]:
    """(messages that need embedding, messages already up to date) for this embedder, in one scan."""
    ((pending, total),) = store.con.execute(f"SELECT count(*) FILTER (WHERE {_NEEDS_EMBEDDING}), count(*) {_CANDIDATES}", _parameters(embedder)).fetchall()
    return int(pending), int(total) - int(pending)


def embed_messages(store: Store, embedder: Embedder, *, on_progress: Callable[[int, int], None] | None = None) -> EmbedReport:
    """Embeds every message that is new or changed; ``on_progress(done, total)`` after each batch."""
    started = time.perf_counter()
    pending, up_to_date = pending_count(store, embedder)
    # A second connection streams the pending rows while the first one writes and commits.
    cursor = store.con.cursor()
    try:
        batches = cursor.execute(_pending_query(), _parameters(embedder)).to_arrow_reader(BATCH)
        with _bulk_writing(store), closing(_encoded_ahead(batches, embedder)) as encoded:
            done = 0
            while True:
                with store.transaction():
                    written = 0
                    for batch, vectors in encoded:
                        written += _store_batch(store, embedder, batch, vectors)
                        if on_progress:
                            on_progress(done + written, pending)
                        if written >= COMMIT_ROWS:
                            break
                done += written
                if written < COMMIT_ROWS:
                    break
    finally:
        cursor.close()
    return EmbedReport(embedder.model, embedder.version, pending, up_to_date, time.perf_counter() - started)


@contextmanager
def _bulk_writing(store: Store) -> Iterator[None]:
    """DuckDB settings for appending vectors, put back afterwards (they hold for the whole store)."""
    settings = {"write_buffer_row_group_count": str(_BUFFERED_ROW_GROUPS), "disabled_compression_methods": _FLOAT_CODECS}
    before = {name: store.con.execute(f"SELECT current_setting('{name}')").fetchone() for name in settings}
    for name, value in settings.items():
        store.con.execute(f"SET {name} = '{value}'")
    try:
        yield
    finally:
        for name, row in before.items():
            store.con.execute(f"SET {name} = '{row[0] if row else ''}'")


def _encoded_ahead(batches: pa.RecordBatchReader, embedder: Embedder) -> Generator[tuple[pa.RecordBatch, Vectors]]:
    """(batch, its vectors), the next batch read and embedded on a helper thread meanwhile."""

    def read_and_encode() -> tuple[pa.RecordBatch, Vectors] | None:
        for batch in batches:
            if batch.num_rows:
                return batch, _encode(embedder, batch)
        return None

    # One batch ahead only: the memory of two batches. Closing the generator (the caller does,
    # whatever happened) leaves the pool, which waits for the thread: none outlives the call.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed") as pool:
        ahead = pool.submit(read_and_encode)
        while (item := ahead.result()) is not None:
            ahead = pool.submit(read_and_encode)
            yield item


def _encode(embedder: Embedder, batch: pa.RecordBatch) -> Vectors:
    texts = batch.column("text")
    # Arrow strings go to the static model as they are; other embedders get Python str.
    return embedder.encode(texts if isinstance(embedder, StaticEmbedder) else texts.to_pylist())


def _store_batch(store: Store, embedder: Embedder, batch: pa.RecordBatch, vectors: Vectors) -> int:
    rows, dim = int(vectors.shape[0]), int(vectors.shape[1])
    # A list column over the matrix's own buffer: no Python object per row or per number.
    offsets = pa.array(np.arange(0, (rows + 1) * dim, dim, dtype=np.int32))
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    table = pa.table({"message_id": batch.column("id"), "text_hash": batch.column("text_hash"), "stale": batch.column("stale"),
                      "vector": pa.ListArray.from_arrays(offsets, flat)})  # fmt: skip
    store.con.register("_vg_embeddings", table)
    try:
        if pc.any(batch.column("stale")).as_py():
            store.con.execute("DELETE FROM embeddings WHERE model = ? AND message_id IN (SELECT message_id FROM _vg_embeddings WHERE stale)", [embedder.model])
        store.con.execute(
            "INSERT INTO embeddings SELECT message_id, ?, ?, text_hash, vector, ? FROM _vg_embeddings",
            [embedder.model, embedder.version, datetime.now(UTC)],
        )
    finally:
        store.con.unregister("_vg_embeddings")
    return rows


def load_vectors(store: Store, model: str, message_ids: Iterable[str] | None = None) -> dict[str, Vectors]:
    """message id -> unit vector, for the messages embedded with ``model`` (all, or those given)."""
    if message_ids is None:
        table = store.con.execute("SELECT message_id, vector FROM embeddings WHERE model = ?", [model]).to_arrow_table()
    else:
        wanted = pa.table({"message_id": pa.array(list(message_ids), pa.string())})
        store.con.register("_vg_wanted", wanted)
        try:
            table = store.con.execute(
                "SELECT e.message_id, e.vector FROM embeddings e JOIN _vg_wanted w USING (message_id) WHERE e.model = ?", [model]
            ).to_arrow_table()
        finally:
            store.con.unregister("_vg_wanted")
    ids = table.column("message_id").to_pylist()
    if not ids:
        return {}
    flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    matrix = flat.reshape(len(ids), -1)
    return dict(zip(ids, matrix, strict=True))

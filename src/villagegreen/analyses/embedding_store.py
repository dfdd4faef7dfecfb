"""Embeddings kept in the store, one row per message and model, updated incrementally.

A message is (re-)embedded only when it has no row for the model yet, when its text changed
(``text_hash`` is DuckDB's ``md5(text)``, so the comparison happens in SQL without reading the
text of unchanged messages), or when the model's version changed. A second run over the same
store embeds nothing. Platform bookkeeping (joins, system lines) and empty texts are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from villagegreen.analyses.embeddings import Embedder, Vectors
from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.store.database import Store

# Rows per embedding call and per write: large enough to amortise, small enough for smooth progress.
BATCH = 2048
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


def _pending_query() -> str:
    return f"""
        SELECT m.id, m.text, md5(m.text) AS text_hash
        FROM messages m
        LEFT JOIN embeddings e ON e.message_id = m.id AND e.model = ?
        WHERE m.kind NOT IN ({_KINDS}) AND trim(m.text) <> ''
          AND (e.message_id IS NULL OR e.text_hash <> md5(m.text) OR e.model_version <> ?)
        ORDER BY m.id
    """


def pending_count(store: Store, embedder: Embedder) -> tuple[int, int]:
    """(messages that need embedding, messages already up to date) for this embedder."""
    ((pending,),) = store.con.execute(f"SELECT count(*) FROM ({_pending_query()})", [embedder.model, embedder.version]).fetchall()
    ((total,),) = store.con.execute(f"SELECT count(*) FROM messages WHERE kind NOT IN ({_KINDS}) AND trim(text) <> ''").fetchall()
    return int(pending), int(total) - int(pending)


def embed_messages(store: Store, embedder: Embedder, *, on_progress: Callable[[int, int], None] | None = None) -> EmbedReport:
    """Embeds every message that is new or changed; ``on_progress(done, total)`` after each batch."""
    started = time.perf_counter()
    pending, up_to_date = pending_count(store, embedder)
    cursor = store.con.cursor()
    try:
        cursor.execute(_pending_query(), [embedder.model, embedder.version])
        done = 0
        while rows := cursor.fetchmany(BATCH):
            ids, texts, hashes = zip(*rows, strict=True)
            vectors = embedder.encode(list(texts))
            _write(store, embedder, list(ids), list(hashes), vectors)
            done += len(rows)
            if on_progress:
                on_progress(done, pending)
    finally:
        cursor.close()
    return EmbedReport(embedder.model, embedder.version, pending, up_to_date, time.perf_counter() - started)


def _write(store: Store, embedder: Embedder, ids: list[str], hashes: list[str], vectors: Vectors) -> None:
    now = datetime.now(UTC)
    batch = pa.table(
        {
            "message_id": pa.array(ids, pa.string()),
            "text_hash": pa.array(hashes, pa.string()),
            "vector": pa.array(list(vectors), pa.list_(pa.float32())),
        }
    )
    with store.transaction():
        store.con.register("_vg_embeddings", batch)
        try:
            store.con.execute("DELETE FROM embeddings WHERE model = ? AND message_id IN (SELECT message_id FROM _vg_embeddings)", [embedder.model])
            store.con.execute(
                "INSERT INTO embeddings SELECT message_id, ?, ?, text_hash, vector, ? FROM _vg_embeddings",
                [embedder.model, embedder.version, now],
            )
        finally:
            store.con.unregister("_vg_embeddings")


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

"""Embedding similarity over the memory's documents: the query and each document as unit vectors.

Message vectors come from the store (``villagegreen embed``) when they were made by the same
model version from the same text (``text_hash`` is ``md5(text)``); every other document (titles,
stories, messages not embedded yet) is encoded on the fly. The shipped static model encodes
tens of thousands of short texts a second, so a store never embedded still answers, only
slower; the report says how many were encoded on the fly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from villagegreen.analyses.embeddings import Embedder
from villagegreen.store.database import Store
from villagegreen.stories.memory_bm25 import Scored
from villagegreen.stories.memory_documents import DOCS

# Documents encoded per call: bounds memory on a store that was never embedded.
_BATCH = 4096


@dataclass(frozen=True, slots=True)
class VectorRanking:
    scored: list[Scored]
    encoded_on_the_fly: int


def _stored(store: Store, embedder: Embedder) -> tuple[list[str], list[str], np.ndarray]:
    table = store.con.execute(
        f"""
        SELECT d.doc_id, d.conversation_id, e.vector FROM {DOCS} d
        JOIN embeddings e ON e.message_id = d.doc_id AND e.model = ? AND e.model_version = ? AND e.text_hash = md5(d.text)
        WHERE d.kind = 'message'
        """,
        [embedder.model, embedder.version],
    ).to_arrow_table()
    ids = table.column("doc_id").to_pylist()
    if not ids:
        return [], [], np.zeros((0, embedder.dim), dtype=np.float32)
    flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    return ids, table.column("conversation_id").to_pylist(), flat.reshape(len(ids), -1)


def vector_rank(store: Store, query: str, embedder: Embedder, *, limit: int = 1000) -> VectorRanking:
    """Documents of the current memory view by cosine similarity to ``query``, best first."""
    query_vector = embedder.encode([query])[0]
    if not np.any(query_vector):
        return VectorRanking([], 0)  # no known token in the query: nothing to compare
    ids, conversations, matrix = _stored(store, embedder)
    similarities = [matrix @ query_vector] if len(ids) else []
    # Streamed on the same connection (the view is local to it), nothing else runs meanwhile.
    result = store.con.execute(
        f"""
        SELECT d.doc_id, d.conversation_id, d.text FROM {DOCS} d
        WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.message_id = d.doc_id AND e.model = ? AND e.model_version = ?
                          AND e.text_hash = md5(d.text) AND d.kind = 'message')
        """,
        [embedder.model, embedder.version],
    )
    encoded = 0
    while rows := result.fetchmany(_BATCH):
        similarities.append(embedder.encode([text for _, _, text in rows]) @ query_vector)
        ids += [doc_id for doc_id, _, _ in rows]
        conversations += [cid for _, cid, _ in rows]
        encoded += len(rows)
    if not ids:
        return VectorRanking([], encoded)
    scores = np.concatenate(similarities)
    order = np.argsort(-scores, kind="stable")[:limit]
    return VectorRanking([Scored(ids[i], conversations[i], float(scores[i])) for i in order if scores[i] > 0], encoded)

"""Conversations as vectors and texts: what topic finding and goal mapping work on.

A conversation is represented by its title (where the platform has one), its opening message
and its first :data:`FIRST_REPLIES` replies: the opening says what it is about, and later
replies drift (thanks, side questions), so they are left out. Its vector is the mean of the
unit vectors of those parts, unit-normalised again. Only member contributions count (the same
rule as every analysis: no bots, no platform bookkeeping, no private spaces unless asked), and a
conversation belongs to the window if its first contribution does.

Message vectors come from the ``embeddings`` table (run ``villagegreen embed`` first; missing
ones are embedded on the fly and not stored); titles are embedded on the fly (cheap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import ibis
import numpy as np

from villagegreen.analyses.embedding_store import load_vectors
from villagegreen.analyses.embeddings import Embedder, Vectors
from villagegreen.analyses.framework import Inputs, Window
from villagegreen.analyses.inputs import CANONICAL_TABLES, contributions
from villagegreen.store.database import Store

FIRST_REPLIES = 5
CENTRE_MIN = 5


@dataclass(frozen=True, slots=True)
class MessageRef:
    id: str
    sent_at: datetime
    text: str


@dataclass(slots=True)
class Corpus:
    """Parallel lists, one entry per conversation, plus the messages behind each one."""

    ids: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    space_ids: list[str] = field(default_factory=list)
    space_names: dict[str, str] = field(default_factory=dict)
    started_at: list[datetime] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    messages: list[list[MessageRef]] = field(default_factory=list)
    vectors: Vectors = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    # Every message of the window (not only the first ones), for key-message uptake.
    message_vectors: dict[str, Vectors] = field(default_factory=dict)
    # The mean conversation vector: what every conversation of this community shares.
    centre: Vectors | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def centred(self, vectors: Vectors) -> Vectors:
        """Unit vectors with the community's common direction removed.

        Static embeddings of one community all point much the same way (cosines of unrelated
        posts of a Q&A site run 0.6-0.8), which drowns the differences that matter. Subtracting
        the mean conversation vector spreads them out again: on Stack Exchange with tags as
        goals it lifted precision@1 from 0.25 to 0.33. Skipped under CENTRE_MIN conversations,
        where the mean is mostly the few conversations themselves.
        """
        return vectors if self.centre is None else _unit(vectors - self.centre)


def _unit(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def load_corpus(store: Store, embedder: Embedder, window: Window, *, include_private: bool = False) -> Corpus:
    backend = ibis.duckdb.from_connection(store.con)
    inputs = Inputs({name: backend.table(name) for name in CANONICAL_TABLES}, window, frozenset(), include_private)
    rows = contributions(inputs).select("id", "conversation_id", "space_id", "sent_at", "text").order_by(["conversation_id", "sent_at", "id"])
    table = rows.to_pyarrow().to_pylist()
    titles = dict(store.con.execute("SELECT id, coalesce(title, '') FROM conversations").fetchall())
    spaces = dict(store.con.execute("SELECT id, name FROM spaces").fetchall())
    by_conversation: dict[str, list[dict[str, object]]] = {}
    for row in table:
        by_conversation.setdefault(str(row["conversation_id"]), []).append(row)
    corpus = Corpus(space_names={str(k): str(v) for k, v in spaces.items()})
    stored = load_vectors(store, embedder.model, [str(row["id"]) for row in table])
    missing = [row for row in table if str(row["id"]) not in stored and str(row["text"]).strip()]
    if missing:
        stored.update(zip((str(r["id"]) for r in missing), embedder.encode([str(r["text"]) for r in missing]), strict=True))
    corpus.message_vectors = stored
    conversation_ids = sorted(by_conversation, key=lambda cid: (by_conversation[cid][0]["sent_at"], cid))
    title_vectors = embedder.encode([str(titles.get(cid, "")) for cid in conversation_ids]) if conversation_ids else None
    parts_per_conversation: list[Vectors] = []
    for index, conversation_id in enumerate(conversation_ids):
        messages = by_conversation[conversation_id]
        opening = messages[: 1 + FIRST_REPLIES]
        title = str(titles.get(conversation_id, ""))
        parts = [stored[str(m["id"])] for m in opening if str(m["id"]) in stored]
        if title and title_vectors is not None and not any(str(m["text"]).startswith(title.rstrip("…")) for m in opening[:1]):
            parts.append(title_vectors[index])
        if not parts:
            continue
        corpus.ids.append(conversation_id)
        corpus.titles.append(title or str(opening[0]["text"])[:80])
        corpus.space_ids.append(str(messages[0]["space_id"]))
        corpus.started_at.append(messages[0]["sent_at"])  # type: ignore[arg-type]
        corpus.texts.append("\n".join([title, *(str(m["text"]) for m in opening)]))
        corpus.messages.append([MessageRef(str(m["id"]), m["sent_at"], str(m["text"])) for m in messages])  # type: ignore[arg-type]
        parts_per_conversation.append(_unit(np.mean(np.stack(parts), axis=0)))
    dim = embedder.dim
    corpus.vectors = np.stack(parts_per_conversation) if parts_per_conversation else np.zeros((0, dim), dtype=np.float32)
    if len(corpus) >= CENTRE_MIN:
        corpus.centre = corpus.vectors.mean(axis=0).astype(np.float32)
    return corpus

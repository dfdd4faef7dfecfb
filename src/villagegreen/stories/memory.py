"""The community's memory: ``villagegreen search "query"`` over conversations and approved stories.

Hybrid retrieval, grouped by conversation:

1. BM25 over words (stories/memory_bm25.py) and cosine similarity of embeddings
   (stories/memory_vectors.py) each score every document (message, title, story);
2. each ranks conversations by their best document;
3. the two rankings are fused by reciprocal-rank fusion, score = sum of 1 / (60 + rank)
   (Cormack, Clarke and Buettcher, SIGIR 2009), which needs no tuning between the very
   different score scales.

``mode`` ``bm25`` or ``embeddings`` uses one ranking alone (the benchmark compares all three).
Each result has the conversation's title, space, dates, a link to it on its platform where the
platform has one, the approved story of it if any, and up to three matching passages with the
query's words in context. Private spaces are left out unless ``include_private``; erased
people are gone from the tables searched (see stories/memory_documents.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from villagegreen.analyses.lifecycle_report import resolve_space
from villagegreen.analyses.lifecycle_threads import load_thread
from villagegreen.errors import InputError
from villagegreen.store.database import Store
from villagegreen.stories.memory_bm25 import Scored, bm25_rank, query_terms
from villagegreen.stories.memory_documents import DOCS, Scope, documents
from villagegreen.stories.memory_vectors import vector_rank
from villagegreen.stories.permalinks import permalink

if TYPE_CHECKING:
    from villagegreen.analyses.embeddings import Embedder

Mode = Literal["hybrid", "bm25", "embeddings"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "embeddings")
RRF_K = 60
MAX_K = 100
SNIPPET_CHARS = 220
PASSAGES = 3
# Conversations taken from each ranking into the fusion: deeper ranks add almost nothing to RRF.
FUSION_DEPTH = 200


@dataclass(slots=True)
class SearchReport:
    query: str
    mode: str
    results: list[dict[str, Any]] = field(default_factory=list)
    documents: int = 0
    encoded_on_the_fly: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "mode": self.mode, "documents_searched": self.documents,
                "encoded_on_the_fly": self.encoded_on_the_fly, "results": self.results}  # fmt: skip


def conversation_ranking(scored: Sequence[Scored]) -> list[str]:
    """Conversations in order of their best document (``scored`` is best first)."""
    return list(dict.fromkeys(s.conversation_id for s in scored))


def fuse(rankings: Sequence[Sequence[str]], *, k: int = RRF_K, depth: int = FUSION_DEPTH) -> list[str]:
    """Reciprocal-rank fusion: items by the sum of 1 / (k + rank) over the rankings (rank from 1)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking[:depth], start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: (-scores[item], item))


def rank_conversations(store: Store, query: str, *, mode: Mode = "hybrid", embedder: Embedder | None = None) -> tuple[list[str], dict[str, list[Scored]], int]:
    """(conversation ids best first, matching documents per conversation, texts encoded on the fly).

    Runs inside :func:`documents` (the scoped view); :func:`search` sets that up.
    """
    rankings: list[list[str]] = []
    by_conversation: dict[str, list[Scored]] = {}
    encoded = 0
    if mode in ("hybrid", "bm25"):
        scored = bm25_rank(store, query)
        rankings.append(conversation_ranking(scored))
        for s in scored:
            by_conversation.setdefault(s.conversation_id, []).append(s)
    if mode in ("hybrid", "embeddings"):
        if embedder is None:
            from villagegreen.analyses.embeddings import get_embedder

            embedder = get_embedder("static")
        ranking = vector_rank(store, query, embedder)
        encoded = ranking.encoded_on_the_fly
        rankings.append(conversation_ranking(ranking.scored))
        for s in ranking.scored[: FUSION_DEPTH * 5]:
            found = by_conversation.setdefault(s.conversation_id, [])
            if all(other.doc_id != s.doc_id for other in found):
                found.append(s)
    return fuse(rankings), by_conversation, encoded


def search(
    store: Store, query: str, *, k: int = 10, space: str | None = None, include_private: bool = False, mode: Mode = "hybrid",
    embedder: Embedder | None = None, titles: bool = True,
) -> SearchReport:  # fmt: skip
    """The ``k`` best conversations for ``query``; see the module docstring."""
    if not query.strip():
        raise InputError('the search query is empty; pass words in quotes, e.g. villagegreen search "reset a password"')
    if mode not in MODES:
        raise InputError(f"search mode {mode!r} is not one of {', '.join(MODES)}")
    if not 1 <= k <= MAX_K:
        raise InputError(f"-k {k}: ask for between 1 and {MAX_K} results")
    space_id = resolve_space(store, space) if space is not None else None
    if space_id is not None and not include_private:
        ((private,),) = store.con.execute("SELECT private FROM spaces WHERE id = ?", [space_id]).fetchall()
        if private:
            raise InputError(f"space {space!r} is private; add --include-private to search it")
    scope = Scope(space_id, include_private, titles)
    report = SearchReport(query, mode)
    with documents(store, scope, materialize=True):
        ((report.documents,),) = store.con.execute(f"SELECT count(*) FROM {DOCS}").fetchall()
        ranked, matches, report.encoded_on_the_fly = rank_conversations(store, query, mode=mode, embedder=embedder)
        texts = _texts(store, [s.doc_id for cid in ranked[:k] for s in matches.get(cid, [])[:PASSAGES]])
    terms = query_terms(query)
    report.results = [_result(store, cid, matches.get(cid, [])[:PASSAGES], texts, terms, rank) for rank, cid in enumerate(ranked[:k], 1)]
    return report


def _texts(store: Store, doc_ids: list[str]) -> dict[str, tuple[str, str]]:
    if not doc_ids:
        return {}
    rows = store.con.execute(f"SELECT doc_id, kind, text FROM {DOCS} WHERE list_contains(?, doc_id)", [doc_ids]).fetchall()
    return {doc_id: (kind, text) for doc_id, kind, text in rows}


def snippet(text: str, terms: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around the first query term found (else its start)."""
    flat = " ".join(text.split())
    lowered = flat.lower()
    positions = [p for p in (lowered.find(term) for term in terms) if p >= 0]
    start = max(0, min(positions) - width // 3) if positions else 0
    if start:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


def _result(store: Store, conversation_id: str, hits: list[Scored], texts: dict[str, tuple[str, str]], terms: list[str], rank: int) -> dict[str, Any]:
    row = store.con.execute(
        """
        SELECT coalesce(nullif(trim(c.title), ''), left(root.text, 80), '(untitled)'),
               CASE WHEN so.name = sp.name THEN sp.name ELSE so.name || ' / ' || sp.name END, sp.id, c.started_at,
               (SELECT max(sent_at) FROM messages m WHERE m.conversation_id = c.id)
        FROM conversations c JOIN spaces sp ON sp.id = c.space_id JOIN sources so ON so.id = sp.source_id
        LEFT JOIN messages root ON root.id = c.id WHERE c.id = ?
        """,
        [conversation_id],
    ).fetchall()
    title, space, space_id, started, last = row[0] if row else ("(unknown)", "", "", None, None)
    thread = load_thread(store, conversation_id)
    by_id = thread.by_id() if thread is not None else {}
    passages = []
    for hit in hits:
        kind, text = texts.get(hit.doc_id, ("message", ""))
        message = by_id.get(hit.doc_id)
        link = permalink(thread, message) if thread is not None and message is not None else None
        passages.append({"kind": kind, "id": hit.doc_id, "snippet": snippet(text, terms), "sent_at": message.sent_at.isoformat() if message else None,
                         "permalink": link})  # fmt: skip
    opener = thread.messages[0] if thread is not None and thread.messages and thread.messages[0].id == conversation_id else None
    story = store.con.execute(
        "SELECT id, title FROM stories WHERE conversation_id = ? AND state IN ('approved', 'published') ORDER BY id DESC LIMIT 1", [conversation_id]
    ).fetchall()
    return {
        "rank": rank, "conversation_id": conversation_id, "title": re.sub(r"\s+", " ", str(title)).strip(), "space": space, "space_id": space_id,
        "started_at": started.isoformat() if started else None, "last_message_at": last.isoformat() if last else None,
        "permalink": permalink(thread, opener) if thread is not None and opener is not None else None,
        "story": {"id": int(story[0][0]), "title": str(story[0][1])} if story else None, "passages": passages,
    }  # fmt: skip

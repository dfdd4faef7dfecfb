"""Search over the community's memory (/search?q=...): stories/memory.py's hybrid search,
public spaces only, each result linked to its conversation page and its platform."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from villagegreen.errors import InputError
from villagegreen.store.database import Store
from villagegreen.stories.memory import MAX_K, search

if TYPE_CHECKING:
    from villagegreen.analyses.embeddings import Embedder

MAX_QUERY_CHARS = 500
DEFAULT_K = 10
_embedder: Embedder | None = None
_embedder_lock = threading.Lock()


def _shared_embedder() -> Embedder:
    # Loading the static model takes a moment: once per process, not per request.
    global _embedder
    with _embedder_lock:
        if _embedder is None:
            from villagegreen.analyses.embeddings import get_embedder

            _embedder = get_embedder("static")
        return _embedder


def parse_k(value: str | None) -> int:
    try:
        k = int(value) if value else DEFAULT_K
    except ValueError:
        raise InputError(f"k={value!r} is not a number; ask for 1 to {MAX_K} results") from None
    return k


def search_data(store: Store, query: str, k: int = DEFAULT_K) -> dict[str, Any]:
    """``{"query", "k", "results": [...], "documents_searched", ...}``; an empty query returns no results."""
    query = query.strip()[:MAX_QUERY_CHARS]
    if not query:
        return {"query": "", "k": k, "results": [], "documents_searched": None}
    report = search(store, query, k=k, embedder=_shared_embedder())
    return {**report.to_dict(), "k": k}

"""Lexical retrieval for expert finding: TF-IDF cosine and Okapi BM25 over small documents.

Pure Python on purpose: an index of a community's past answers (thousands to a few hundred
thousand documents) builds in seconds with inverted lists, and a query touches only the
documents sharing a term with it. No model, nothing downloaded, the same result everywhere.

Tokens: lower-case runs of letters, digits and ``_+#`` of at least two characters (so
``c++``, ``c#`` and ``get_node`` survive), minus a short English stop list.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

QUERY_TERMS = 40
_TOKEN = re.compile(r"[a-z0-9_+#]{2,}")
_STOP_TEXT = """
about above after again all also am an and any are as at be because been before being below between both but by can could did do
does doing down during each few for from further had has have having he her here hers him his how if in into is it its itself just
me more most my no nor not now of off on once only or other our out over own same she should so some such than that the their them
then there these they this those through to too under until up very was we were what when where which while who whom why will with
would you your yours thanks thank hi hello please anyone know want need like get use using used one way does
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS and not t.isdigit()]


class TfIdfIndex:
    """Cosine similarity of sublinear TF-IDF vectors (1 + log tf) x log((1 + N) / (1 + df)) + 1."""

    def __init__(self, documents: Sequence[str]) -> None:
        counted = [Counter(tokens(doc)) for doc in documents]
        df: Counter[str] = Counter()
        for counts in counted:
            df.update(counts.keys())
        n = len(documents)
        self.idf = {term: math.log((1 + n) / (1 + freq)) + 1.0 for term, freq in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for doc_id, counts in enumerate(counted):
            weights = {term: (1.0 + math.log(tf)) * self.idf[term] for term, tf in counts.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for term, weight in weights.items():
                self.postings[term].append((doc_id, weight / norm))

    def query_weights(self, query: str) -> tuple[dict[str, float], float]:
        """The query's terms (at most :data:`QUERY_TERMS`, heaviest first) with their TF-IDF
        weights, and the norm that turns them into a unit vector."""
        counts = Counter(t for t in tokens(query) if t in self.idf)
        weights = {term: (1.0 + math.log(tf)) * self.idf[term] for term, tf in counts.items()}
        # A long question's weakest terms barely move the cosine but walk the longest postings.
        weights = dict(heapq.nlargest(QUERY_TERMS, weights.items(), key=lambda item: item[1]))
        return weights, math.sqrt(sum(w * w for w in weights.values())) or 1.0

    def search(self, query: str) -> dict[int, float]:
        """doc id -> cosine similarity, for documents sharing at least one term with the query."""
        weights, norm = self.query_weights(query)
        scores: dict[int, float] = defaultdict(float)
        for term, weight in weights.items():
            for doc_id, doc_weight in self.postings[term]:
                scores[doc_id] += weight / norm * doc_weight
        return dict(scores)


class Bm25Index:
    """Okapi BM25 (k1 = 1.2, b = 0.75; Robertson and Zaragoza 2009, with the non-negative idf)."""

    def __init__(self, documents: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        counted = [Counter(tokens(doc)) for doc in documents]
        lengths = [sum(counts.values()) for counts in counted]
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        df: Counter[str] = Counter()
        for counts in counted:
            df.update(counts.keys())
        n = len(documents)
        self.idf = {term: math.log(1.0 + (n - freq + 0.5) / (freq + 0.5)) for term, freq in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for doc_id, counts in enumerate(counted):
            scale = k1 * (1.0 - b + b * lengths[doc_id] / (average or 1.0))
            for term, tf in counts.items():
                self.postings[term].append((doc_id, tf * (k1 + 1.0) / (tf + scale)))

    def search(self, query: str) -> dict[int, float]:
        scores: dict[int, float] = defaultdict(float)
        for term in set(tokens(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for doc_id, part in self.postings[term]:
                scores[doc_id] += idf * part
        return dict(scores)

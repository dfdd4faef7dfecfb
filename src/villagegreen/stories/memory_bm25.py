"""Okapi BM25 over the memory's documents, computed per query from the live tables.

DuckDB's ``fts`` extension would have to be downloaded (``INSTALL fts``), which Village Green
never does, so BM25 is written out here:

    score(d, q) = sum over terms t of q:  idf(t) * f(t, d) * (k1 + 1) / (f(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))

with k1 = 1.2 and b = 0.75 (Robertson and Zaragoza, "The Probabilistic Relevance Framework:
BM25 and Beyond", 2009). Tokens are runs of letters and digits, lower-cased, with Harman's
S-stemmer (plurals: "qubits" -> "qubit", "theories" -> "theory"); common English function
words are dropped from the query.

No index is kept: SQL picks the candidate documents (those containing a query term as a
substring, a superset of those containing it as a token), and only those are tokenised in
Python. |d| / avgdl is measured in characters rather than tokens, so the collection never has
to be tokenised whole; the ratio is nearly the same. Cost grows with the number of documents
that contain the query's terms: about a second for a term found in 100,000 messages.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from villagegreen.store.database import Store
from villagegreen.stories.memory_documents import DOCS

K1 = 1.2
B = 0.75
_TOKEN = re.compile(r"[^\W_]+")
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


def stem(token: str) -> str:
    """Harman's S-stemmer (1991): strips English plural endings only, so it rarely conflates."""
    if len(token) > 4 and token.endswith("ies") and not token.endswith(("eies", "aies")):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("es") and not token.endswith(("aes", "ees", "oes")):
        return token[:-1]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("us", "ss")):
        return token[:-1]
    return token


def tokens(text: str) -> list[str]:
    return [stem(token) for token in _TOKEN.findall(text.lower())]


def query_terms(query: str) -> list[str]:
    """Distinct stemmed terms of the query, function words dropped (kept if nothing else is left)."""
    found = list(dict.fromkeys(tokens(query)))
    content = [term for term in found if term not in STOPWORDS]
    return content or found


def _needle(term: str) -> str:
    # Every spelling the stemmer maps to ``term`` contains this substring ("theory" <- "theories").
    return term[:-1] if term.endswith("y") and len(term) > 2 else term


@dataclass(frozen=True, slots=True)
class Scored:
    doc_id: str
    conversation_id: str
    score: float


def bm25_rank(store: Store, query: str, *, limit: int = 1000) -> list[Scored]:
    """Documents of the current memory view with a positive BM25 score, best first."""
    terms = query_terms(query)
    if not terms:
        return []
    ((count, avg_chars),) = store.con.execute(f"SELECT count(*), avg(chars) FROM {DOCS}").fetchall()
    if not count:
        return []
    condition = " OR ".join("contains(lower(text), ?)" for _ in terms)
    candidates = store.con.execute(f"SELECT doc_id, conversation_id, text, chars FROM {DOCS} WHERE {condition}", [_needle(term) for term in terms]).fetchall()
    frequencies: list[tuple[str, str, int, Counter[str]]] = []
    document_frequency: Counter[str] = Counter()
    wanted = set(terms)
    # Only words that start like a query term can stem to one: only those are found and stemmed.
    starts = re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(_needle(term)) for term in terms) + r")[^\W_]*")
    for doc_id, conversation_id, text, chars in candidates:
        found = Counter(stemmed for word in starts.findall(text.lower()) if (stemmed := stem(word)) in wanted)
        if found:
            frequencies.append((doc_id, conversation_id, int(chars), found))
            document_frequency.update(found.keys())
    idf = {term: math.log(1 + (count - n + 0.5) / (n + 0.5)) for term, n in document_frequency.items()}
    scored = []
    for doc_id, conversation_id, chars, found in frequencies:
        norm = K1 * (1 - B + B * chars / float(avg_chars))
        score = sum(idf[term] * f * (K1 + 1) / (f + norm) for term, f in found.items())
        scored.append(Scored(doc_id, conversation_id, score))
    scored.sort(key=lambda s: (-s.score, s.doc_id))
    return scored[:limit]

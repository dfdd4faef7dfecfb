"""Clustering conversation vectors and naming the clusters.

- **Clusters**: KMeans (scikit-learn) on unit vectors, so Euclidean distance ranks like cosine.
  k is chosen by the silhouette score (cosine) over a small range, :func:`candidate_ks`;
  ties favour the smaller k. Seeded, so a re-run on the same data gives the same topics.
- **Labels**: c-TF-IDF (class-based TF-IDF, as in BERTopic): all texts of a cluster form one
  document; a term's weight is its frequency in the cluster (normalised by the cluster's size)
  times ``log(1 + A / f)``, where ``A`` is the mean number of words per cluster and ``f`` the
  term's frequency over all clusters. Terms are English words and two-word phrases, stop words
  removed, seen in at least two conversations; no model, no download.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from villagegreen.analyses.embeddings import Vectors

# Below this many conversations clustering says nothing useful: everything is one topic.
MIN_CONVERSATIONS = 8
# Silhouette costs O(n^2): it is measured on a fixed sample beyond this size.
SILHOUETTE_SAMPLE = 3000
KEYPHRASES = 6
WORD_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z\-']{2,}\b"
# Formulas, markup and @mentions say nothing about the subject and would win c-TF-IDF in technical spaces.
_NOISE = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|\\[a-zA-Z]+|```.*?```|`[^`\n]*`|https?://\S+|@\S+", re.DOTALL)
# A term in more than this share of conversations is the community's subject, not a topic.
MAX_DOCUMENT_SHARE = 0.4


def candidate_ks(n: int, largest: int = 20) -> list[int]:
    """k between about sqrt(n/8) and sqrt(n/2), at least 3 and at most ``largest``.

    Silhouette alone prefers very few, very broad clusters on text; this range keeps the
    answer to a list a facilitator can read (8 to 17 topics for 600 conversations).
    """
    upper = max(2, min(largest, max(3, int(np.sqrt(n / 2))), n - 1))
    lower = min(upper, max(3, upper // 2))
    return list(range(lower, upper + 1))


def cluster(vectors: Vectors, *, k: int | None = None, seed: int = 0) -> tuple[npt.NDArray[np.int64], float | None]:
    """Cluster labels 0..k-1 (largest cluster first) and the silhouette of the chosen k."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    n = len(vectors)
    if n < MIN_CONVERSATIONS:
        return np.zeros(n, dtype=np.int64), None
    candidates = [k] if k else candidate_ks(n)
    best: tuple[float, npt.NDArray[np.int64]] | None = None
    for candidate in candidates:
        # One BLAS/OpenMP thread: on small data, thread start-up and oversubscription on a busy
        # machine cost far more (15x measured) than the arithmetic saved.
        with threadpool_limits(limits=1):
            labels = KMeans(n_clusters=candidate, n_init=4, random_state=seed).fit_predict(vectors).astype(np.int64)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(silhouette_score(vectors, labels, metric="cosine", sample_size=min(n, SILHOUETTE_SAMPLE), random_state=seed))
        if best is None or score > best[0] + 1e-9:
            best = (score, labels)
    if best is None:
        return np.zeros(n, dtype=np.int64), None
    return _largest_first(best[1]), best[0]


def _largest_first(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    counts = np.bincount(labels)
    order = np.argsort(-counts, kind="stable")
    renumber = np.empty_like(order)
    renumber[order] = np.arange(len(order))
    return renumber[labels].astype(np.int64)


def keyphrases(texts: Sequence[str], labels: npt.NDArray[np.int64], top: int = KEYPHRASES) -> dict[int, list[str]]:
    """The ``top`` c-TF-IDF terms of each cluster; a word already inside a chosen phrase is skipped."""
    from sklearn.feature_extraction.text import CountVectorizer

    clusters = sorted(set(labels.tolist()))
    large = len(texts) >= 20
    vectorizer = CountVectorizer(
        stop_words="english", ngram_range=(1, 2), min_df=2 if large else 1, max_df=MAX_DOCUMENT_SHARE if large else 1.0,
        token_pattern=WORD_PATTERN, lowercase=True,
    )  # fmt: skip
    try:
        counts = vectorizer.fit_transform([_NOISE.sub(" ", text) for text in texts])
    except ValueError:  # no term survives (all stop words, or empty texts)
        return {c: [] for c in clusters}
    terms = vectorizer.get_feature_names_out()
    per_class = np.vstack([np.asarray(counts[labels == c].sum(axis=0)).ravel() for c in clusters]).astype(np.float64)
    words_per_class = per_class.sum(axis=1, keepdims=True)
    tf = per_class / np.where(words_per_class == 0, 1.0, words_per_class)
    average_words = float(words_per_class.mean())
    idf = np.log(1.0 + average_words / np.maximum(per_class.sum(axis=0), 1.0))
    weights = tf * idf
    result: dict[int, list[str]] = {}
    for row, c in enumerate(clusters):
        chosen: list[str] = []
        for index in np.argsort(-weights[row]):
            if weights[row, index] <= 0 or len(chosen) >= top:
                break
            term = str(terms[index])
            if any(term in phrase.split() or phrase in term.split() for phrase in chosen):
                continue
            chosen.append(term)
        result[c] = chosen
    return result


def trend_slope(shares: Sequence[float]) -> float | None:
    """Least-squares slope of monthly shares, in share points per month; None under 3 months."""
    if len(shares) < 3:
        return None
    x = np.arange(len(shares), dtype=np.float64)
    slope, _ = np.polyfit(x, np.asarray(shares, dtype=np.float64), 1)
    return float(slope)

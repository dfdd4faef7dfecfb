"""Emergent topics: what the group actually talks about, per space and over time.

``find_topics`` clusters the conversations of a window (see topics_corpus and
topics_clustering), names each cluster by its keyphrases, and measures per calendar month the
share of the window's new conversations that fall in it. The trend is the least-squares slope of
that share over the last :data:`TREND_MONTHS` months: ``rising`` at or above
+:data:`TREND_THRESHOLD` (one share point per month), ``fading`` at or below minus that,
``steady`` in between, ``unknown`` with fewer than three months of data.

A run is stored: ``analysis_runs`` (analysis ``topics``), ``topics``, ``conversation_topics``,
and in ``analysis_results`` the monthly rows (scope_kind ``topic``, metrics ``conversations`` and
``conversation_share``) and the per-space counts (scope_kind ``space_topic``, scope_id
``<space id>/<topic id>``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from villagegreen.analyses.embeddings import Embedder
from villagegreen.analyses.framework import Window
from villagegreen.analyses.topics_clustering import cluster, keyphrases, trend_slope
from villagegreen.analyses.topics_corpus import Corpus, load_corpus
from villagegreen.model import make_id
from villagegreen.store.database import Store

VERSION = "1"
TREND_MONTHS = 12
TREND_THRESHOLD = 0.01


@dataclass(slots=True)
class Topic:
    id: int
    label: str
    keyphrases: list[str]
    conversations: int
    share: float
    trend: str
    slope: float | None
    monthly: dict[str, int]
    spaces: dict[str, int]
    examples: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "keyphrases": self.keyphrases, "conversations": self.conversations,
                "share": round(self.share, 4), "trend": self.trend, "slope_per_month": None if self.slope is None else round(self.slope, 4),
                "monthly_conversations": self.monthly, "spaces": self.spaces, "example_titles": self.examples}  # fmt: skip


@dataclass(slots=True)
class TopicsReport:
    window: str
    model: str
    conversations: int
    silhouette: float | None
    topics: list[Topic] = field(default_factory=list)
    run_id: str = ""
    # conversation id -> topic id, for goal mapping and tests; not printed.
    assignment: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window, "model": self.model, "conversations": self.conversations,
                "silhouette": None if self.silhouette is None else round(self.silhouette, 4), "run_id": self.run_id,
                "topics": [t.to_dict() for t in self.topics]}  # fmt: skip


def _month(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def _all_months(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def describe_topics(corpus: Corpus, labels: npt.NDArray[np.int64]) -> list[Topic]:
    phrases = keyphrases(corpus.texts, labels)
    months = [_month(moment) for moment in corpus.started_at]
    calendar = _all_months(min(months), max(months)) if months else []
    per_month = Counter(months)
    topics = []
    for topic_id in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == topic_id)
        monthly = Counter(months[i] for i in members)
        recent = calendar[-TREND_MONTHS:]
        # Months without any conversation carry no share: left out rather than counted as 0%.
        shares = [monthly[m] / per_month[m] for m in recent if per_month[m]]
        slope = trend_slope(shares)
        trend = "unknown" if slope is None else "rising" if slope >= TREND_THRESHOLD else "fading" if slope <= -TREND_THRESHOLD else "steady"
        spaces = Counter(corpus.space_names.get(corpus.space_ids[i], corpus.space_ids[i]) for i in members)
        # Examples: the conversations nearest the cluster's centre, so they typify it.
        centre = corpus.vectors[members].mean(axis=0)
        nearest = members[np.argsort(-(corpus.vectors[members] @ centre))[:3]]
        words = phrases.get(topic_id, [])
        topics.append(
            Topic(
                id=topic_id, label=", ".join(words[:3]) or f"topic {topic_id}", keyphrases=words, conversations=len(members),
                share=len(members) / len(labels), trend=trend, slope=slope, monthly={m: monthly[m] for m in calendar if monthly[m]},
                spaces=dict(spaces.most_common()), examples=[corpus.titles[i] for i in nearest],
            )
        )  # fmt: skip
    return topics


def find_topics(store: Store, embedder: Embedder, window: Window, *, k: int | None = None, include_private: bool = False, save: bool = True) -> TopicsReport:
    """Clusters the window's conversations into topics; stores the run unless ``save`` is False."""
    corpus = load_corpus(store, embedder, window, include_private=include_private)
    labels, silhouette = cluster(corpus.vectors, k=k)
    report = TopicsReport(window.key, f"{embedder.model} {embedder.version}", len(corpus), silhouette)
    if not len(corpus):
        return report
    report.topics = describe_topics(corpus, labels)
    report.assignment = dict(zip(corpus.ids, labels.tolist(), strict=True))
    if save:
        report.run_id = _save(store, embedder, window, include_private, corpus, labels, report)
    return report


def _save(store: Store, embedder: Embedder, window: Window, include_private: bool, corpus: Corpus, labels: npt.NDArray[np.int64], report: TopicsReport) -> str:
    started = datetime.now(UTC)
    run_id = make_id("topics", "run", f"{VERSION}|{embedder.model}|{window.key}|{include_private}")
    centres = {t.id: corpus.vectors[labels == t.id].mean(axis=0) for t in report.topics}
    results: list[tuple[Any, ...]] = []
    for topic in report.topics:
        total = {m: sum(t.monthly.get(m, 0) for t in report.topics) for m in topic.monthly}
        for month, count in topic.monthly.items():
            period = datetime.strptime(month, "%Y-%m")  # noqa: DTZ007 - analysis_results.period_start is naive UTC by design
            results.append((run_id, period, "topic", str(topic.id), "conversations", float(count)))
            results.append((run_id, period, "topic", str(topic.id), "conversation_share", count / total[month]))
    space_counts = Counter((corpus.space_ids[i], int(labels[i])) for i in range(len(corpus)))
    for (space_id, topic_id), count in space_counts.items():
        results.append((run_id, None, "space_topic", f"{space_id}/{topic_id}", "conversations", float(count)))
    con = store.con
    with store.transaction():
        for table in ("analysis_results", "analysis_findings", "topics", "conversation_topics"):
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        con.execute("DELETE FROM analysis_runs WHERE id = ?", [run_id])
        con.execute(
            "INSERT INTO analysis_runs VALUES (?, 'topics', ?, ?, 'month', ?, ?, ?, ?, ?, ?, ?)",
            [run_id, VERSION, window.key, window.since, window.until, include_private, started, datetime.now(UTC), len(results),
             json.dumps({"model": embedder.model, "model_version": embedder.version, "silhouette": report.silhouette})],
        )  # fmt: skip
        con.executemany(
            "INSERT INTO topics VALUES (?, ?, ?, ?, ?, ?, ?)",
            [[run_id, t.id, t.label, t.keyphrases, t.conversations, t.trend, t.slope] for t in report.topics],
        )
        con.executemany(
            "INSERT INTO conversation_topics VALUES (?, ?, ?, ?)",
            [[run_id, cid, int(label), float(corpus.vectors[i] @ centres[int(label)])] for i, (cid, label) in enumerate(zip(corpus.ids, labels, strict=True))],
        )
        if results:
            con.executemany("INSERT INTO analysis_results VALUES (?, ?, ?, ?, ?, ?)", results)
    return run_id

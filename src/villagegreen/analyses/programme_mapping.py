"""Intended against actual: conversations mapped to the programme's goals, and the gaps.

Score of a conversation for a goal = cosine similarity between the goal's text (name,
description, keywords) and the conversation's vector, plus :data:`KEYWORD_BONUS` times the share
of the goal's keywords (at most three counted) that occur as whole words in the conversation.
A conversation is mapped to its best goal when that score reaches :data:`MATCH_THRESHOLD`;
the evidence is the goal's keyword hits and the message most similar to the goal, quoted.

Gaps: goals no conversation maps to. Topics outside every goal: emergent topics holding at
least :data:`BUSY_SHARE` of the conversations, of which fewer than :data:`OUTSIDE_SHARE` map to
any goal: what the group talks about that nobody planned.

Similarities are cosines after removing the community's common direction (Corpus.centred): there
unrelated texts score about 0 and a conversation's best goal about 0.27 (median, Stack Exchange
quantum computing with its 40 busiest tags as goals; docs/analyses/programme.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from villagegreen.analyses.embeddings import Embedder, Vectors
from villagegreen.analyses.programme import Goal, Programme
from villagegreen.analyses.topics import TopicsReport
from villagegreen.analyses.topics_corpus import Corpus

KEYWORD_BONUS = 0.15
MATCH_THRESHOLD = 0.25
BUSY_SHARE = 0.05
OUTSIDE_SHARE = 0.2
QUOTE_CHARS = 240


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass(slots=True)
class GoalMatch:
    conversation_id: str
    title: str
    score: float
    similarity: float
    keyword_hits: list[str]
    evidence_message_id: str
    evidence: str
    evidence_similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "title": self.title, "score": round(self.score, 4), "similarity": round(self.similarity, 4),
                "keyword_hits": self.keyword_hits, "evidence": {"message_id": self.evidence_message_id, "quote": self.evidence,
                "similarity": round(self.evidence_similarity, 4)}}  # fmt: skip


@dataclass(slots=True)
class GoalCoverage:
    name: str
    conversations: int
    matches: list[GoalMatch] = field(default_factory=list)

    @property
    def is_gap(self) -> bool:
        return self.conversations == 0

    def to_dict(self) -> dict[str, Any]:
        return {"goal": self.name, "conversations": self.conversations, "gap": self.is_gap, "top": [m.to_dict() for m in self.matches]}


def keyword_patterns(goal: Goal) -> list[tuple[str, re.Pattern[str]]]:
    return [(k, re.compile(r"(?<!\w)" + re.escape(k.lower()) + r"(?!\w)")) for k in goal.keywords]


def score_matrix(corpus: Corpus, goals: tuple[Goal, ...], goal_vectors: Vectors) -> tuple[Vectors, list[list[list[str]]]]:
    """(conversations x goals) scores, and the keywords of each goal hit in each conversation."""
    similarity = corpus.centred(corpus.vectors) @ goal_vectors.T if len(corpus) else np.zeros((0, len(goals)), dtype=np.float32)
    hits: list[list[list[str]]] = []
    patterns = [keyword_patterns(goal) for goal in goals]
    bonus = np.zeros_like(similarity)
    for row, text in enumerate(corpus.texts):
        lowered = text.lower()
        row_hits = [[k for k, pattern in goal_patterns if pattern.search(lowered)] for goal_patterns in patterns]
        hits.append(row_hits)
        for column, found in enumerate(row_hits):
            if found:
                bonus[row, column] = KEYWORD_BONUS * min(len(found), 3) / min(len(patterns[column]), 3)
    return (similarity + bonus).astype(np.float32), hits


def best_message(corpus: Corpus, row: int, target: Vectors) -> tuple[str, str, float]:
    """(message id, quote, similarity) of the conversation's message closest to ``target``."""
    best = ("", "", -1.0)
    for message in corpus.messages[row]:
        vector = corpus.message_vectors.get(message.id)
        if vector is None:
            continue
        similarity = float(corpus.centred(vector[None, :])[0] @ target)
        if similarity > best[2]:
            best = (message.id, quote(message.text), similarity)
    return best


def map_goals(corpus: Corpus, programme: Programme, embedder: Embedder, *, top: int = 5) -> tuple[list[GoalCoverage], list[int | None]]:
    """Coverage per goal, and for each conversation the index of the goal it maps to (or None)."""
    goals = programme.goals
    if not goals:
        return [], [None] * len(corpus)
    goal_vectors = corpus.centred(embedder.encode([goal.text for goal in goals]))
    scores, hits = score_matrix(corpus, goals, goal_vectors)
    assigned: list[int | None] = []
    for row in range(len(corpus)):
        best = int(np.argmax(scores[row]))
        assigned.append(best if scores[row, best] >= MATCH_THRESHOLD else None)
    coverage = []
    for column, goal in enumerate(goals):
        rows = [row for row, goal_index in enumerate(assigned) if goal_index == column]
        rows.sort(key=lambda row: -float(scores[row, column]))
        matches = []
        centred = corpus.centred(corpus.vectors[rows]) if rows else corpus.vectors[:0]
        for position, row in enumerate(rows[:top]):
            message_id, text, message_similarity = best_message(corpus, row, goal_vectors[column])
            similarity = float(centred[position] @ goal_vectors[column])
            matches.append(
                GoalMatch(corpus.ids[row], corpus.titles[row], float(scores[row, column]), similarity, hits[row][column], message_id, text, message_similarity)
            )
        coverage.append(GoalCoverage(goal.name, len(rows), matches))
    return coverage, assigned


def topics_outside_goals(topics: TopicsReport, corpus: Corpus, assigned: list[int | None]) -> list[dict[str, Any]]:
    """Busy emergent topics that the programme's goals hardly cover."""
    goal_of = dict(zip(corpus.ids, assigned, strict=True))
    outside = []
    for topic in topics.topics:
        members = [cid for cid, topic_id in topics.assignment.items() if topic_id == topic.id]
        covered = sum(1 for cid in members if goal_of.get(cid) is not None)
        if topic.share >= BUSY_SHARE and members and covered / len(members) < OUTSIDE_SHARE:
            outside.append({"topic": topic.id, "label": topic.label, "conversations": topic.conversations, "share": round(topic.share, 4),
                            "mapped_to_goals": covered, "trend": topic.trend, "example_titles": topic.examples})  # fmt: skip
    return outside

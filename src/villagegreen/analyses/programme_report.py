"""The programme report: goals covered and not, topics nobody planned, key-message uptake, poll ideas.

Poll suggestions for "what should we talk about next" (pull, not push) come from three places,
in this order: busy emergent topics outside every goal (what the group wants), goals nobody
discusses (what the organisation hoped for), and the newest questions nobody answered. At most
:data:`POLL_OPTIONS` options; posting the poll belongs to the publishing commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from villagegreen.analyses.embeddings import Embedder
from villagegreen.analyses.framework import Window
from villagegreen.analyses.programme import Programme
from villagegreen.analyses.programme_mapping import GoalCoverage, map_goals, quote, topics_outside_goals
from villagegreen.analyses.programme_uptake import Uptake, key_message_uptake
from villagegreen.analyses.topics import TopicsReport, describe_topics
from villagegreen.analyses.topics_clustering import cluster
from villagegreen.analyses.topics_corpus import Corpus, load_corpus
from villagegreen.store.database import Store

POLL_OPTIONS = 5


@dataclass(slots=True)
class ProgrammeReport:
    programme: str
    window: str
    conversations: int
    goals: list[GoalCoverage] = field(default_factory=list)
    outside_goals: list[dict[str, Any]] = field(default_factory=list)
    key_messages: list[Uptake] = field(default_factory=list)
    poll: list[dict[str, str]] = field(default_factory=list)
    unmapped: int = 0

    @property
    def gaps(self) -> list[str]:
        return [goal.name for goal in self.goals if goal.is_gap]

    def to_dict(self) -> dict[str, Any]:
        return {"programme": self.programme, "window": self.window, "conversations": self.conversations, "unmapped_conversations": self.unmapped,
                "goals": [g.to_dict() for g in self.goals], "gaps": self.gaps, "topics_outside_goals": self.outside_goals,
                "key_messages": [u.to_dict() for u in self.key_messages], "poll_suggestions": self.poll}  # fmt: skip


def unanswered_questions(corpus: Corpus, limit: int = POLL_OPTIONS) -> list[tuple[str, str]]:
    """(conversation id, title) of questions without a reply, newest first."""
    found = []
    for row in range(len(corpus) - 1, -1, -1):
        messages = corpus.messages[row]
        if len(messages) == 1 and ("?" in messages[0].text or "?" in corpus.titles[row]):
            found.append((corpus.ids[row], corpus.titles[row]))
        if len(found) >= limit:
            break
    return found


def poll_suggestions(report: ProgrammeReport, corpus: Corpus) -> list[dict[str, str]]:
    options = [{"option": f"More on {topic['label']}", "why": f"{topic['conversations']} conversations, outside every goal ({topic['trend']})"}
               for topic in report.outside_goals]  # fmt: skip
    options += [{"option": f"Let's talk about {name}", "why": "a programme goal nobody has discussed yet"} for name in report.gaps]
    options += [{"option": quote(title, 100), "why": f"unanswered question ({cid})"} for cid, title in unanswered_questions(corpus)]
    return options[:POLL_OPTIONS]


def build_programme_report(store: Store, embedder: Embedder, programme: Programme, window: Window, *, include_private: bool = False) -> ProgrammeReport:
    corpus = load_corpus(store, embedder, window, include_private=include_private)
    report = ProgrammeReport(programme.name, window.key, len(corpus))
    report.goals, assigned = map_goals(corpus, programme, embedder)
    report.unmapped = sum(1 for goal in assigned if goal is None) if programme.goals else len(corpus)
    if len(corpus):
        labels, silhouette = cluster(corpus.vectors)
        topics = TopicsReport(window.key, embedder.model, len(corpus), silhouette, describe_topics(corpus, labels),
                              assignment=dict(zip(corpus.ids, labels.tolist(), strict=True)))  # fmt: skip
        if programme.goals:
            report.outside_goals = topics_outside_goals(topics, corpus, assigned)
    report.key_messages = key_message_uptake(corpus, programme.key_messages, embedder)
    report.poll = poll_suggestions(report, corpus)
    return report

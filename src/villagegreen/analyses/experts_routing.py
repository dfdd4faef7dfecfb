"""Routing questions to people: ``villagegreen experts "question"`` and suggestions for every
unanswered question, within consent and with each person's load shown.

Consent: a person who refused purpose ``routing`` (being suggested as someone to ask) or
``analysis`` (any person-level output, see analyses/people_activity.py) is never suggested.

Load, per suggested person, so the same few are not asked everything:
- ``answers_last_30_days``: answers they wrote in the 30 days before the newest message;
- ``open_questions_routed``: unanswered questions of the last 90 days (health's definition: a
  question nobody else replied to) for which they are among the top ``k`` suggestions now.
There is no routing log yet, so "routed" means "would be suggested", not "was asked".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from villagegreen.analyses.acts_store import label_store
from villagegreen.analyses.conversation_facts import conversation_facts
from villagegreen.analyses.experts import ExpertFinder, Suggestion, past_answers
from villagegreen.analyses.framework import Window
from villagegreen.analyses.health_report import _resolve_space
from villagegreen.analyses.people_activity import CONSENT_PURPOSE
from villagegreen.analyses.results import space_names
from villagegreen.analyses.runner import analysis_inputs
from villagegreen.errors import InputError
from villagegreen.store.database import Store

ROUTING_PURPOSE = "routing"
RECENT_DAYS = 30
# Open questions older than this are not anybody's load any more (and would make counting slow).
OPEN_QUESTION_DAYS = 90
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class ExpertsReport:
    question: str
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    excluded_by_consent: int = 0
    candidates: int = 0
    open_questions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "suggestions": self.suggestions, "excluded_by_consent": self.excluded_by_consent,
                "candidates": self.candidates, "open_questions": self.open_questions}  # fmt: skip


@dataclass(slots=True)
class Router:
    """An expert finder over the whole store, with consent applied and load counted."""

    store: Store
    finder: ExpertFinder
    excluded: set[str]
    names: dict[str, str]
    open_questions: list[dict[str, Any]]
    k: int = 5
    _routed: Counter[str] | None = None

    def suggest(self, question: str, *, asker: str | None = None, space: str | None = None) -> list[Suggestion]:
        exclude = self.excluded | ({asker} if asker else set())
        return self.finder.rank(question, k=self.k, exclude=exclude, space=space)

    def routed(self) -> Counter[str]:
        if self._routed is None:
            since = (self.finder.now - timedelta(days=OPEN_QUESTION_DAYS)).isoformat()
            recent = [q for q in self.open_questions if q["opened_at"] >= since]
            self._routed = Counter(s.person_id for q in recent for s in self.suggest(q["text"], asker=q["asker"]))
        return self._routed

    def describe(self, suggestions: list[Suggestion]) -> list[dict[str, Any]]:
        recent_since = self.finder.now - timedelta(days=RECENT_DAYS)
        recent = Counter(a.person_id for a in self.finder.answers if a.sent_at >= recent_since)
        routed = self.routed()
        return [
            {**s.to_dict(), "name": self.names.get(s.person_id, s.person_id),
             "load": {"answers_last_30_days": recent[s.person_id], "open_questions_routed": routed[s.person_id]}}
            for s in suggestions
        ]  # fmt: skip


def build_router(store: Store, *, k: int = 5) -> Router:
    """Labels missing acts, indexes every past answer and lists open questions."""
    if k < 1:
        raise InputError(f"-k {k}: ask for at least one suggestion")
    label_store(store)
    answers = past_answers(store, _FAR_FUTURE)
    newest = store.con.execute("SELECT max(sent_at) FROM messages").fetchone()
    now = newest[0] if newest and newest[0] is not None else datetime.now(UTC)
    refused = store.con.execute(
        "SELECT DISTINCT person_id FROM consent WHERE status = 'refused' AND purpose IN (?, ?)", [ROUTING_PURPOSE, CONSENT_PURPOSE]
    ).fetchall()
    names = dict(store.con.execute("SELECT id, display_name FROM people").fetchall())
    return Router(store, ExpertFinder(answers, now=now), {row[0] for row in refused}, names, _open_questions(store), k)


def find_experts(store: Store, question: str, *, k: int = 5, space: str | None = None) -> ExpertsReport:
    if not question.strip():
        raise InputError('the question is empty; pass its text in quotes, e.g. villagegreen experts "How do I ...?"')
    router = build_router(store, k=k)
    space_id = _resolve_space(space_names(store), space) if space else None
    report = ExpertsReport(question=question, open_questions=len(router.open_questions))
    report.candidates = len({a.person_id for a in router.finder.answers})
    report.excluded_by_consent = len(router.excluded & {a.person_id for a in router.finder.answers})
    report.suggestions = router.describe(router.suggest(question, space=space_id))
    return report


def unanswered_questions(store: Store, *, suggest: bool = False, k: int = 3, limit: int = 20) -> list[dict[str, Any]]:
    """Newest open questions first; with ``suggest``, each with who could answer it."""
    router = build_router(store, k=k) if suggest else None
    questions = router.open_questions if router else _open_questions(store)
    rows = []
    for question in sorted(questions, key=lambda q: q["opened_at"], reverse=True)[:limit]:
        row = {key: question[key] for key in ("conversation_id", "title", "opened_at")}
        if router is not None:
            row["suggestions"] = router.describe(router.suggest(question["text"], asker=question["asker"]))
        rows.append(row)
    return rows


def _open_questions(store: Store) -> list[dict[str, Any]]:
    inputs = analysis_inputs(store, Window("all"), frozenset())
    facts = conversation_facts(inputs)
    open_questions = facts.filter(facts.is_question & facts.first_other_at.isnull()).select("conversation_id", "opened_at")
    rows = open_questions.to_pyarrow().to_pylist()
    if not rows:
        return []
    details = {
        cid: (title, text, person)
        for cid, title, text, person in store.con.execute(
            "SELECT m.id, coalesce(c.title, ''), m.text, i.person_id FROM messages m LEFT JOIN conversations c ON c.id = m.id "
            "LEFT JOIN identities i ON i.id = m.author_id WHERE m.id = m.conversation_id"
        ).fetchall()
    }
    questions = []
    for row in rows:
        title, text, person = details.get(row["conversation_id"], ("", "", None))
        opened = row["opened_at"]
        questions.append({"conversation_id": row["conversation_id"], "title": title or text[:80], "text": f"{title}\n{text}", "asker": person,
                          "opened_at": opened.isoformat() if isinstance(opened, datetime) else str(opened)})  # fmt: skip
    return questions

"""Routing questions to people: ``villagegreen experts "question"`` and suggestions for every
unanswered question, within consent and with each person's load shown.

Consent: a person who refused purpose ``routing`` (being suggested as someone to ask) or
``analysis`` (any person-level output, see analyses/people_activity.py) is never suggested.

Availability (analyses/experts_availability.py): people away, or with as many open routed
questions as their ``max_open_questions``, are not suggested; each report lists who was
skipped for that reason (``skipped``), so a facilitator sees why a usual expert is missing.

Load, per suggested person, so the same few are not asked everything:
- ``answers_last_30_days``: answers they wrote in the 30 days before the newest message;
- ``open_questions_routed``: questions routed to them (the routing log) that are still open;
- ``open_questions_suggested``: unanswered questions of the last 90 days (health's definition: a
  question nobody else replied to) for which they are among the top ``k`` suggestions now,
  whether or not anyone routed them.
With ``route=True`` the suggestions are written to the routing log (who was asked, when, by whom).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from villagegreen.analyses.acts import ACTS_VERSION
from villagegreen.analyses.acts_store import label_store
from villagegreen.analyses.experts import ExpertFinder, Suggestion, past_answers
from villagegreen.analyses.experts_availability import Availability, availability, log_routing, routed_load
from villagegreen.analyses.experts_questions import open_questions
from villagegreen.analyses.health_report import _resolve_space
from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.analyses.people_activity import CONSENT_PURPOSE
from villagegreen.analyses.results import space_names
from villagegreen.errors import InputError
from villagegreen.store.database import Store

ROUTING_PURPOSE = "routing"
RECENT_DAYS = 30
# Open questions older than this are not anybody's load any more (and would make counting slow).
OPEN_QUESTION_DAYS = 90
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
_KINDS = ", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)


@dataclass(slots=True)
class ExpertsReport:
    question: str
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    excluded_by_consent: int = 0
    candidates: int = 0
    open_questions: int = 0
    routed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "suggestions": self.suggestions, "skipped": self.skipped, "excluded_by_consent": self.excluded_by_consent,
                "candidates": self.candidates, "open_questions": self.open_questions, "routed": self.routed}  # fmt: skip


@dataclass(slots=True)
class Router:
    """An expert finder over the whole store, with consent applied and load counted."""

    store: Store
    finder: ExpertFinder
    excluded: set[str]
    names: dict[str, str]
    open_questions: list[dict[str, Any]]
    k: int = 5
    settings: dict[str, Availability] = field(default_factory=dict)
    clock: datetime = field(default_factory=lambda: datetime.now(UTC))
    _routed: Counter[str] | None = None
    _suggested: Counter[str] | None = None
    _recent: Counter[str] | None = None

    def unavailable(self) -> dict[str, str]:
        """person -> why they are not suggested now (away or at capacity)."""
        load = self.routed()
        reasons = {p: a.unavailable_because(load[p], self.clock) for p, a in self.settings.items()}
        return {p: reason for p, reason in reasons.items() if reason}

    def suggest_with_skipped(self, question: str, *, asker: str | None = None, space: str | None = None) -> tuple[list[Suggestion], list[dict[str, Any]]]:
        """The top ``k`` available people, and the unavailable ones who would have ranked above the last of them."""
        unavailable = self.unavailable()
        exclude = self.excluded | ({asker} if asker else set())
        ranked = self.finder.rank(question, k=self.k + len(unavailable), exclude=exclude, space=space)
        chosen: list[Suggestion] = []
        skipped: list[dict[str, Any]] = []
        for s in ranked:
            if len(chosen) == self.k:
                break
            if s.person_id in unavailable:
                skipped.append({"person_id": s.person_id, "name": self.names.get(s.person_id, s.person_id), "reason": unavailable[s.person_id]})
            else:
                chosen.append(s)
        return chosen, skipped

    def suggest(self, question: str, *, asker: str | None = None, space: str | None = None) -> list[Suggestion]:
        return self.suggest_with_skipped(question, asker=asker, space=space)[0]

    def routed(self) -> Counter[str]:
        """person -> questions routed to them (the routing log) that are still open."""
        if self._routed is None:
            self._routed = routed_load(self.store, {q["conversation_id"] for q in self.open_questions}, self.clock)
        return self._routed

    def suggested(self) -> Counter[str]:
        """person -> recent open questions for which they are in the top ``k`` now (routed or not)."""
        if self._suggested is None:
            since = (self.finder.now - timedelta(days=OPEN_QUESTION_DAYS)).isoformat()
            recent = [q for q in self.open_questions if q["opened_at"] >= since]
            self._suggested = Counter(s.person_id for q in recent for s in self.suggest(q["text"], asker=q["asker"]))
        return self._suggested

    def route(self, suggestions: list[Suggestion], *, question: str, conversation_id: str | None = None, actor: str | None = None) -> int:
        """Write the suggestions to the routing log; returns the rows added."""
        added = log_routing(self.store, suggestions, question=question, conversation_id=conversation_id, actor=actor, now=self.clock)
        self._routed = None
        return added

    def recent_answers(self) -> Counter[str]:
        """person -> answers they wrote in the ``RECENT_DAYS`` before the newest message (counted once)."""
        if self._recent is None:
            since = self.finder.now - timedelta(days=RECENT_DAYS)
            self._recent = Counter(a.person_id for a in self.finder.answers if a.sent_at >= since)
        return self._recent

    def describe(self, suggestions: list[Suggestion]) -> list[dict[str, Any]]:
        recent = self.recent_answers()
        routed, suggested = self.routed(), self.suggested()
        return [
            {**s.to_dict(), "name": self.names.get(s.person_id, s.person_id),
             "load": {"answers_last_30_days": recent[s.person_id], "open_questions_routed": routed[s.person_id],
                      "open_questions_suggested": suggested[s.person_id]}}
            for s in suggestions
        ]  # fmt: skip


def build_router(store: Store, *, k: int = 5, clock: datetime | None = None) -> Router:
    """Labels missing acts, indexes every past answer and lists open questions."""
    if k < 1:
        raise InputError(f"-k {k}: ask for at least one suggestion")
    if _unlabelled(store):
        label_store(store)
    answers = past_answers(store, _FAR_FUTURE)
    newest = store.con.execute("SELECT max(sent_at) FROM messages").fetchone()
    now = newest[0] if newest and newest[0] is not None else datetime.now(UTC)
    refused = store.con.execute(
        "SELECT DISTINCT person_id FROM consent WHERE status = 'refused' AND purpose IN (?, ?)", [ROUTING_PURPOSE, CONSENT_PURPOSE]
    ).fetchall()
    names = dict(store.con.execute("SELECT id, display_name FROM people").fetchall())
    finder = ExpertFinder(answers, now=now)
    return Router(store, finder, {row[0] for row in refused}, names, _open_questions(store), k, availability(store), clock or datetime.now(UTC))


def _unlabelled(store: Store) -> int:
    """Messages ``label_store`` would label: one anti-join, where asking it reads every label id
    into Python (seconds at a million messages, on every build of the Expertise page)."""
    ((missing,),) = store.con.execute(
        f"SELECT count(*) FROM messages m WHERE m.kind NOT IN ({_KINDS}) "
        "AND NOT EXISTS (SELECT 1 FROM message_acts a WHERE a.message_id = m.id AND a.acts_version = ?)",
        [ACTS_VERSION],
    ).fetchall()
    return int(missing)


def find_experts(
    store: Store, question: str, *, k: int = 5, space: str | None = None, route: bool = False, actor: str | None = None, clock: datetime | None = None
) -> ExpertsReport:
    """Suggestions for a free-text question; with ``route``, written to the routing log."""
    if not question.strip():
        raise InputError('the question is empty; pass its text in quotes, e.g. villagegreen experts "How do I ...?"')
    router = build_router(store, k=k, clock=clock)
    space_id = _resolve_space(space_names(store), space) if space else None
    report = ExpertsReport(question=question, open_questions=len(router.open_questions))
    report.candidates = len({a.person_id for a in router.finder.answers})
    report.excluded_by_consent = len(router.excluded & {a.person_id for a in router.finder.answers})
    chosen, report.skipped = router.suggest_with_skipped(question, space=space_id)
    if route:
        report.routed = router.route(chosen, question=question, actor=actor)
    report.suggestions = router.describe(chosen)
    return report


def unanswered_questions(
    store: Store, *, suggest: bool = False, k: int = 3, limit: int = 20, route: bool = False, actor: str | None = None, clock: datetime | None = None
) -> list[dict[str, Any]]:
    """Newest open questions first; with ``suggest``, each with who could answer it; with
    ``route`` too, those suggestions are written to the routing log (once per question and person)."""
    if route and not suggest:
        raise InputError("--route records suggestions: use it together with --suggest")
    router = build_router(store, k=k, clock=clock) if suggest else None
    questions = router.open_questions if router else _open_questions(store)
    rows = []
    for question in sorted(questions, key=lambda q: q["opened_at"], reverse=True)[:limit]:
        row = {key: question[key] for key in ("conversation_id", "title", "opened_at")}
        if router is not None:
            chosen, row["skipped"] = router.suggest_with_skipped(question["text"], asker=question["asker"])
            if route:
                row["routed"] = router.route(chosen, question=question["title"], conversation_id=question["conversation_id"], actor=actor)
            row["suggestions"] = router.describe(chosen)
        rows.append(row)
    return rows


def open_question_ids(store: Store) -> set[str]:
    """Conversation ids of the questions nobody but the asker has replied to."""
    return {q["conversation_id"] for q in _open_questions(store)}


def _open_questions(store: Store) -> list[dict[str, Any]]:
    """Health's open questions (analyses/experts_questions.py), with what routing shows and asks."""
    questions = []
    for q in open_questions(store):
        title, text = q.title or "", q.text
        questions.append({"conversation_id": q.conversation_id, "title": title or (text or "")[:80], "text": f"{title}\n{text}", "asker": q.asker,
                          "opened_at": q.opened_at.isoformat()})  # fmt: skip
    return questions

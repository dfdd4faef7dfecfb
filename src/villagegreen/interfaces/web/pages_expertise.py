"""Expertise: "who could answer this?", unanswered questions with suggested people, expert load.

All ranking and consent come from :mod:`villagegreen.analyses.experts_routing` (people who
refused purpose ``routing`` or ``analysis`` are never suggested); this module only shapes its
answers for the page. Each suggestion carries its reasons: the person's past answers that match,
each linking to its conversation.

The router reads the store lazily (the routing log, availability), so it is built and used
within one read-only connection; the page data is cached per question until the store
changes. Building it needs the dialogue acts: on a store where messages lack them the page
says to run ``villagegreen acts``.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import duckdb

from villagegreen.analyses.acts import ACTS_VERSION
from villagegreen.analyses.experts_routing import RECENT_DAYS, Router, build_router
from villagegreen.interfaces.web.app import NotRunYet
from villagegreen.store.database import Store

SUGGESTIONS = 5
QUESTIONS_SHOWN = 20
LOAD_SHOWN = 15
MAX_QUESTION_CHARS = 2000
ACTS_COMMAND = "villagegreen acts --db {db}"


def router_for(store: Store) -> Router:
    """The store's router, built on this read-only connection; use it before the store closes."""
    ((labelled,),) = store.con.execute("SELECT count(*) FROM message_acts WHERE acts_version = ?", [ACTS_VERSION]).fetchall()
    if not labelled:
        raise NotRunYet("no message has a dialogue act yet", ACTS_COMMAND.format(db=store.path))
    try:
        return build_router(store, k=SUGGESTIONS)
    except duckdb.Error:  # labelling the newest messages needs a write; read-only here
        raise NotRunYet("some messages have no dialogue act yet", ACTS_COMMAND.format(db=store.path)) from None


def expertise_data(store: Store, question: str) -> dict[str, Any]:
    router = router_for(store)
    asked = question.strip()[:MAX_QUESTION_CHARS]
    answers = router.finder.answers
    candidates = {a.person_id for a in answers}
    chosen, skipped = router.suggest_with_skipped(asked) if asked else ([], [])
    return {
        "question": asked,
        "suggestions": router.describe(chosen),
        "skipped": skipped,
        "candidates": len(candidates),
        "excluded_by_consent": len(router.excluded & candidates),
        "past_answers": len(answers),
        "as_of": router.finder.now.isoformat(),
        "unanswered": _unanswered(router),
        "open_questions": len(router.open_questions),
        "load": _load(router),
        "consent": "people who refused routing or person-level analysis are never suggested",
    }


def _unanswered(router: Router) -> list[dict[str, Any]]:
    newest = sorted(router.open_questions, key=lambda q: q["opened_at"], reverse=True)[:QUESTIONS_SHOWN]
    return [
        {"conversation_id": q["conversation_id"], "title": q["title"], "opened_at": q["opened_at"],
         "suggestions": router.describe(router.suggest(q["text"], asker=q["asker"]))[:3]}
        for q in newest
    ]  # fmt: skip


def _load(router: Router) -> list[dict[str, Any]]:
    """The people carrying the most: recent answers, routed open questions, open questions they
    would be suggested for, and whether they can be asked now (away or at capacity)."""
    since = router.finder.now - timedelta(days=RECENT_DAYS)
    recent = Counter(a.person_id for a in router.finder.answers if a.sent_at >= since and a.person_id not in router.excluded)
    routed, suggested, unavailable = router.routed(), router.suggested(), router.unavailable()
    people = sorted(set(recent) | set(routed) | set(suggested), key=lambda p: (-routed[p], -suggested[p], -recent[p], p))[:LOAD_SHOWN]
    return [
        {"person_id": p, "name": router.names.get(p, p), "answers_last_30_days": recent[p], "open_questions_routed": routed[p],
         "open_questions_suggested": suggested[p], "unavailable": unavailable.get(p)}
        for p in people
    ]  # fmt: skip

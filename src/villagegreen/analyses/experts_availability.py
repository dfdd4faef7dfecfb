"""Who may be asked right now: availability settings and the routing log (tables of migration 11).

Availability, one row per person (no row: available, no cap):
- ``away`` with ``away_until`` (a UTC time; NULL = until further notice): not suggested while
  away; ``away_until`` in the past means available again, without anyone clearing it;
- ``max_open_questions``: not suggested while that many routed questions are still open.

The routing log: one row per person suggested when a facilitator *routes* a question
(``experts --route``, ``questions unanswered --suggest --route``): the question (its
conversation id when it is in the store, and its text), the person, their rank and score, when
and by whom. A person's **load** is their routed questions that are still open:
- a question in the store is open while nobody but its asker has replied (health's
  definition, the same list as ``questions unanswered``);
- a free-text question (not in the store) cannot be seen being answered, so it counts as open
  for FREE_TEXT_OPEN_DAYS after it was routed.
Routing the same stored question to the same person again adds no row.

Away and capacity are checked against the wall clock (they are about today), while the
analyses' "now" is the newest message in the store: archives end in the past.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from villagegreen.analyses.experts import Suggestion
from villagegreen.errors import InputError
from villagegreen.store.audit import default_actor
from villagegreen.store.database import Store

FREE_TEXT_OPEN_DAYS = 14
QUESTION_CHARS = 500


@dataclass(frozen=True, slots=True)
class Availability:
    person_id: str
    away: bool = False
    away_until: datetime | None = None
    max_open_questions: int | None = None
    note: str | None = None
    actor: str = ""
    updated_at: datetime | None = None

    def unavailable_because(self, load: int, now: datetime) -> str | None:
        """Why this person must not be suggested now, or None."""
        if self.away and (self.away_until is None or self.away_until > now):
            return f"away until {self.away_until:%Y-%m-%d}" if self.away_until else "away until further notice"
        if self.max_open_questions is not None and load >= self.max_open_questions:
            return f"at capacity: {load} open routed questions (max {self.max_open_questions})"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "away": self.away, "away_until": self.away_until.isoformat() if self.away_until else None,
                "max_open_questions": self.max_open_questions, "note": self.note, "actor": self.actor,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None}  # fmt: skip


def availability(store: Store) -> dict[str, Availability]:
    """person -> their setting, for people who have one."""
    rows = store.con.execute("SELECT person_id, away, away_until, max_open_questions, note, actor, updated_at FROM availability").fetchall()
    return {row[0]: Availability(*row) for row in rows}


def set_availability(
    store: Store,
    person_id: str,
    *,
    away: bool | None = None,
    away_until: datetime | None = None,
    max_open_questions: int | None = None,
    clear_max: bool = False,
    note: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> Availability:
    """Change one person's setting; what is not given is kept. ``away_until`` implies away;
    ``away=False`` makes them available again (and forgets the date)."""
    if away is False and away_until is not None:
        raise InputError("--available and --away-until contradict each other; give one")
    if max_open_questions is not None and (clear_max or max_open_questions < 0):
        raise InputError("--max-open takes a number of questions, 0 or more, and cannot be combined with --no-max")
    when = now or datetime.now(UTC)
    if away_until is not None and away_until <= when:
        raise InputError(f"--away-until {away_until:%Y-%m-%d} is not in the future; give a later day, or --available")
    old = availability(store).get(person_id, Availability(person_id))
    new_away = True if away_until is not None else (old.away if away is None else away)
    new_until = away_until if away_until is not None else (old.away_until if away is None and new_away else None)
    new_max = None if clear_max else (max_open_questions if max_open_questions is not None else old.max_open_questions)
    setting = Availability(person_id, new_away, new_until, new_max, note if note is not None else old.note, actor or default_actor(), when)
    store.con.execute(
        "INSERT OR REPLACE INTO availability VALUES (?, ?, ?, ?, ?, ?, ?)",
        [person_id, setting.away, setting.away_until, setting.max_open_questions, setting.note, setting.actor, setting.updated_at],
    )
    return setting


def routed_load(store: Store, open_conversations: Collection[str], now: datetime | None = None) -> Counter[str]:
    """person -> routed questions still open (see the module docstring)."""
    since = (now or datetime.now(UTC)) - timedelta(days=FREE_TEXT_OPEN_DAYS)
    rows = store.con.execute(
        "SELECT DISTINCT person_id, coalesce(conversation_id, 'text:' || CAST(id AS VARCHAR)), conversation_id IS NULL, routed_at FROM routing_log"
    ).fetchall()
    return Counter(person for person, key, free_text, routed_at in rows if (routed_at >= since if free_text else key in open_conversations))


def log_routing(
    store: Store,
    suggestions: Iterable[Suggestion],
    *,
    question: str,
    conversation_id: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> int:
    """Record each suggestion as a routed question; returns the rows added."""
    when, who = now or datetime.now(UTC), actor or default_actor()
    already = (
        {row[0] for row in store.con.execute("SELECT person_id FROM routing_log WHERE conversation_id = ?", [conversation_id]).fetchall()}
        if conversation_id
        else set()
    )
    rows = [(rank, s) for rank, s in enumerate(suggestions, start=1) if s.person_id not in already]
    ((next_id,),) = store.con.execute("SELECT coalesce(max(id), 0) + 1 FROM routing_log").fetchall()
    for offset, (rank, suggestion) in enumerate(rows):
        store.con.execute(
            "INSERT INTO routing_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [next_id + offset, conversation_id, question[:QUESTION_CHARS], suggestion.person_id, rank, suggestion.score, when, who],
        )
    return len(rows)


def routing_log(store: Store, *, person_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest routing log rows, optionally for one person."""
    where, params = ("WHERE person_id = ?", [person_id]) if person_id else ("", [])
    rows = store.con.execute(
        f"SELECT id, conversation_id, question, person_id, rank, score, routed_at, actor FROM routing_log {where} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    keys = ("id", "conversation_id", "question", "person_id", "rank", "score", "routed_at", "actor")
    return [{**dict(zip(keys, row, strict=True)), "routed_at": row[6].isoformat()} for row in rows]

"""Two or three health highlights for the digest: the week against the week before.

Counted here from the messages of public spaces (member messages only: no bots, no platform
bookkeeping), so a digest needs no prior ``analyze`` run and always speaks of its own week:

- activity: messages, people who wrote, conversations they wrote in;
- replies: of the conversations started in the week, how many someone else replied to;
- newcomers: people whose first message ever fell in the week.

A week without messages says so, with the date of the newest message (an imported archive).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.store.database import Store

_KINDS = ", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)
_MEMBER_MESSAGES = f"""
    SELECT m.id, m.conversation_id, m.author_id, m.sent_at, coalesce(i.person_id, m.author_id) AS person
    FROM messages m JOIN spaces sp ON sp.id = m.space_id LEFT JOIN identities i ON i.id = m.author_id
    WHERE NOT sp.private AND m.kind NOT IN ({_KINDS}) AND NOT coalesce(i.is_bot, false)
"""


def _activity(store: Store, start: datetime, end: datetime) -> tuple[int, int, int]:
    ((messages, people, conversations),) = store.con.execute(
        f"SELECT count(*), count(DISTINCT person), count(DISTINCT conversation_id) FROM ({_MEMBER_MESSAGES}) WHERE sent_at >= ? AND sent_at < ?",
        [start, end],
    ).fetchall()
    return int(messages), int(people), int(conversations)


def _replies(store: Store, start: datetime, end: datetime) -> tuple[int, int]:
    ((started, answered),) = store.con.execute(
        f"""
        WITH member AS ({_MEMBER_MESSAGES})
        SELECT count(*), count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM member o WHERE o.conversation_id = r.conversation_id AND o.id <> r.id AND o.person IS DISTINCT FROM r.person))
        FROM member r WHERE r.id = r.conversation_id AND r.sent_at >= ? AND r.sent_at < ?
        """,
        [start, end],
    ).fetchall()
    return int(started), int(answered)


def _newcomers(store: Store, start: datetime, end: datetime) -> int:
    ((count,),) = store.con.execute(
        f"SELECT count(*) FROM (SELECT person, min(sent_at) AS first FROM ({_MEMBER_MESSAGES}) GROUP BY person) WHERE first >= ? AND first < ?",
        [start, end],
    ).fetchall()
    return int(count)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def health_highlights(store: Store, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Up to three ``{"kind", "text", "value", "previous"}``, plain sentences for an e-mail."""
    before = start - timedelta(days=7)
    messages, people, conversations = _activity(store, start, end)
    previous = _activity(store, before, start)[0]
    if messages == 0:
        ((newest,),) = store.con.execute(f"SELECT max(sent_at) FROM ({_MEMBER_MESSAGES})").fetchall()
        when = f"the newest is from {newest:%d %b %Y}" if newest is not None else "the store has none yet"
        return [{"kind": "activity", "text": f"No messages this week ({when}).", "value": 0, "previous": previous}]
    highlights = [{
        "kind": "activity", "value": messages, "previous": previous,
        "text": f"{_plural(messages, 'message')} from {_plural(people, 'person').replace('persons', 'people')} in "
                f"{_plural(conversations, 'conversation')} (the week before: {previous}).",
    }]  # fmt: skip
    started, answered = _replies(store, start, end)
    if started:
        highlights.append({"kind": "replies", "value": answered, "previous": started,
                           "text": f"{answered} of {_plural(started, 'new conversation')} got a reply from someone else."})  # fmt: skip
    newcomers = _newcomers(store, start, end)
    if newcomers:
        highlights.append({"kind": "newcomers", "value": newcomers, "previous": None,
                           "text": f"{_plural(newcomers, 'person').replace('persons', 'people')} wrote for the first time: worth a welcome."})  # fmt: skip
    return highlights

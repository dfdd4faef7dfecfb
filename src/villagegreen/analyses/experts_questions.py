"""Open questions of the whole store in one lean query: questions nobody else replied to.

The definition is health's (analyses/conversation_facts.py): a conversation's opening post by
a member (no bots, no platform bookkeeping, public spaces) is a question when the platform says
so or its title or text matches ``QUESTION_PATTERN``; it is open while no member other than the
asker has replied. ``conversation_facts`` computes that together with a dozen other figures per
conversation (top author's share, the last author...), which at a million messages made
listing the open questions take 30 s; this asks only what the definition needs.
tests/web/test_page_speed.py checks it against ``conversation_facts`` on real stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from villagegreen.analyses.conversation_facts import QUESTION_PATTERN
from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.store.database import Store

_KINDS = ", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)
_OPEN_QUESTIONS = f"""
WITH members AS (
    SELECT m.id, m.conversation_id, m.space_id, m.sent_at, m.kind, m.text, i.person_id
    FROM messages m LEFT JOIN identities i ON i.id = m.author_id JOIN spaces s ON s.id = m.space_id
    WHERE m.kind NOT IN ({_KINDS}) AND NOT coalesce(i.is_bot, false) AND NOT s.private
), replied AS (
    SELECT DISTINCT r.id FROM members r JOIN members o ON o.conversation_id = r.id
    WHERE r.id = r.conversation_id AND o.id <> o.conversation_id AND o.person_id IS NOT NULL
      AND (r.person_id IS NULL OR o.person_id <> r.person_id)
)
SELECT r.id, r.space_id, r.sent_at, r.person_id, c.title, r.text
FROM members r LEFT JOIN conversations c ON c.id = r.id
WHERE r.id = r.conversation_id AND r.id NOT IN (SELECT id FROM replied)
  AND (r.kind = 'question' OR regexp_matches(coalesce(c.title, ''), ?) OR regexp_matches(r.text, ?))
ORDER BY r.sent_at, r.id
"""


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """``title`` is None on platforms without titles; ``asker`` is the merged person."""

    conversation_id: str
    space_id: str
    opened_at: datetime
    asker: str | None
    title: str | None
    text: str | None


def open_questions(store: Store) -> list[OpenQuestion]:
    """Every open question of the store's public spaces, oldest first."""
    rows = store.con.execute(_OPEN_QUESTIONS, [QUESTION_PATTERN, QUESTION_PATTERN]).fetchall()
    return [OpenQuestion(*row) for row in rows]

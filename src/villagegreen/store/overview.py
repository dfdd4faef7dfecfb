"""Descriptive counts straight from the canonical tables: sources and per-space statistics.

These are facts, not analyses: no formula beyond counting, so they live with the store.
``people`` counts merged people (distinct ``identities.person_id``), not accounts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from villagegreen.store.database import Store


@dataclass(frozen=True, slots=True)
class SourceSummary:
    id: str
    connector: str
    name: str
    location: str | None
    first_imported_at: datetime
    last_imported_at: datetime
    spaces: int
    messages: int

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_imported_at"] = self.first_imported_at.isoformat()
        data["last_imported_at"] = self.last_imported_at.isoformat()
        return data


@dataclass(frozen=True, slots=True)
class SpaceStats:
    source: str
    space: str
    private: bool
    messages: int
    people: int
    conversations: int
    first_message_at: datetime | None
    last_message_at: datetime | None
    reply_share: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("first_message_at", "last_message_at"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        data["reply_share"] = round(self.reply_share, 4)
        return data


def list_sources(store: Store) -> list[SourceSummary]:
    rows = store.con.execute(
        """
        SELECT s.id, s.connector, s.name, s.location, s.first_imported_at, s.last_imported_at,
               (SELECT count(*) FROM spaces sp WHERE sp.source_id = s.id),
               (SELECT count(*) FROM messages m WHERE m.source_id = s.id)
        FROM sources s ORDER BY s.first_imported_at
        """
    ).fetchall()
    return [SourceSummary(*row) for row in rows]


def space_stats(store: Store, *, include_private: bool = False) -> list[SpaceStats]:
    """One row per space with messages: volume, people, threads, dates and the share of replies."""
    rows = store.con.execute(
        """
        SELECT src.name, sp.name, sp.private,
               count(*) AS messages,
               count(DISTINCT i.person_id) AS people,
               count(DISTINCT m.conversation_id) AS conversations,
               min(m.sent_at), max(m.sent_at),
               avg(CASE WHEN m.reply_to_id IS NULL THEN 0 ELSE 1 END) AS reply_share
        FROM messages m
        JOIN spaces sp ON sp.id = m.space_id
        JOIN sources src ON src.id = m.source_id
        LEFT JOIN identities i ON i.id = m.author_id
        WHERE ? OR NOT sp.private
        GROUP BY src.name, sp.name, sp.private
        ORDER BY messages DESC, sp.name
        """,
        [include_private],
    ).fetchall()
    return [
        SpaceStats(
            source=source,
            space=space,
            private=private,
            messages=n,
            people=people,
            conversations=conversations,
            first_message_at=first,
            last_message_at=last,
            reply_share=float(share),
        )
        for source, space, private, n, people, conversations, first, last, share in rows
    ]

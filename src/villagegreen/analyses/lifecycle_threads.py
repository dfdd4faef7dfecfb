"""Conversations read whole from the store, each message with its author, act and platform marks.

Shared by the ripeness signals (analyses/lifecycle.py) and the story drafts (stories/): both
need the same view of a thread, in time order, with the dialogue act of every message. Acts
are computed here in memory with the same labeller as ``message_acts`` (analyses/acts.py), so a
store that was never labelled still works and a stale label can never disagree with the text.

Bots and platform bookkeeping (``NON_CONTRIBUTION_KINDS``) are left out, as in every analysis.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from villagegreen.analyses.acts import Act, ActLabel
from villagegreen.analyses.acts_store import label_rows
from villagegreen.analyses.inputs import NON_CONTRIBUTION_KINDS
from villagegreen.store.database import Store

_KINDS = ", ".join(f"'{kind}'" for kind in NON_CONTRIBUTION_KINDS)
# The first nine columns are the shape analyses/acts_store.label_rows expects. The root comes
# first even when a reply carries an earlier timestamp (Stack Exchange self-answers posted with
# the question): the opening post is what every signal and story measures from.
_THREAD_SQL = f"""
SELECT m.id, m.conversation_id, m.reply_to_id, m.text, m.kind, m.author_id,
       root.author_id AS root_author, coalesce(c.title, '') AS title, parent.author_id AS parent_author,
       i.person_id, coalesce(p.display_name, i.display_name, 'unknown') AS author_name, m.sent_at, m.native_id,
       m.meta, m.space_id, sp.name AS space_name, src.connector, src.name AS source_name, c.meta AS conversation_meta,
       sp.meta AS space_meta
FROM messages m
LEFT JOIN messages root ON root.id = m.conversation_id
LEFT JOIN messages parent ON parent.id = m.reply_to_id
LEFT JOIN conversations c ON c.id = m.conversation_id
LEFT JOIN identities i ON i.id = m.author_id
LEFT JOIN people p ON p.id = i.person_id
JOIN spaces sp ON sp.id = m.space_id
JOIN sources src ON src.id = m.source_id
WHERE m.kind NOT IN ({_KINDS}) AND NOT coalesce(i.is_bot, false) {{where}}
ORDER BY m.conversation_id, m.id = m.conversation_id DESC, m.sent_at, m.id
"""
# Reactions that say "this helped"; downvotes and moderation bookkeeping are not approval.
_NOT_APPROVAL = ("downvote", "undeletion", "moderator_review", "deletion", "close", "reopen", "spam", "offensive", "accept")


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One member message. ``person_id``/``author`` are the merged person (None when unknown)."""

    id: str
    native_id: str
    reply_to_id: str | None
    person_id: str | None
    author: str
    sent_at: datetime
    text: str
    kind: str
    label: ActLabel
    accepted: bool
    approvals: int
    post_number: int | None = None  # Discourse's position in the topic, for permalinks

    @property
    def act(self) -> Act:
        return self.label.act


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation in time order; ``messages[0]`` is the opening post when the root survived."""

    id: str
    title: str
    space_id: str
    space_name: str
    connector: str
    source_name: str
    meta: dict[str, Any]
    space_meta: dict[str, Any]
    messages: tuple[ThreadMessage, ...]

    @property
    def opener(self) -> ThreadMessage:
        return self.messages[0]

    def by_id(self) -> dict[str, ThreadMessage]:
        return {m.id: m for m in self.messages}


def _meta(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _accepted_flag(meta: dict[str, Any]) -> bool:
    # Stack Exchange marks the accepted answer "accepted", Discourse "accepted_answer".
    return bool(meta.get("accepted") or meta.get("accepted_answer"))


def iter_threads(store: Store, *, space: str | None = None, conversation: str | None = None) -> Iterator[Thread]:
    """Every conversation (or those of one space id, or one conversation id), messages in order."""
    where, params = "", []
    if conversation is not None:
        where, params = "AND m.conversation_id = ?", [conversation]
    elif space is not None:
        where, params = "AND m.space_id = ?", [space]
    accepted = {row[0] for row in store.con.execute("SELECT DISTINCT message_id FROM reactions WHERE kind = 'accept'").fetchall()}
    approvals = dict(
        store.con.execute(f"SELECT message_id, sum(count) FROM reactions WHERE kind NOT IN ({', '.join(repr(k) for k in _NOT_APPROVAL)}) GROUP BY 1").fetchall()
    )
    rows = store.con.execute(_THREAD_SQL.format(where=where), params).fetchall()
    labels = label_rows([row[:9] for row in rows])
    current: list[ThreadMessage] = []
    head: tuple[Any, ...] | None = None
    for row, labelled in zip(rows, labels, strict=True):
        if head is not None and row[1] != head[1]:
            yield _thread(head, current)
            current = []
        if not current:
            head = row
        meta = _meta(row[13])
        current.append(
            ThreadMessage(
                id=row[0], native_id=str(row[12]), reply_to_id=row[2], person_id=row[9], author=str(row[10]), sent_at=row[11],
                text=row[3] or "", kind=row[4], label=labelled.label,
                accepted=row[0] in accepted or _accepted_flag(meta), approvals=int(approvals.get(row[0], 0) or 0),
                post_number=_int_or_none(meta.get("post_number")),
            )
        )  # fmt: skip
    if head is not None and current:
        yield _thread(head, current)


def _thread(head: tuple[Any, ...], messages: list[ThreadMessage]) -> Thread:
    return Thread(
        id=head[1], title=head[7], space_id=head[14], space_name=head[15], connector=head[16], source_name=head[17],
        meta=_meta(head[18]), space_meta=_meta(head[19]), messages=tuple(messages),
    )  # fmt: skip


def load_thread(store: Store, conversation: str) -> Thread | None:
    """One conversation by its id, or None when it has no member messages."""
    return next(iter_threads(store, conversation=conversation), None)

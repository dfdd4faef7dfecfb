"""The canonical vocabulary every layer shares.

Connectors turn platform payloads into these records; the store writes them to tables of the
same names; analyses read those tables. Ids are deterministic (see :func:`make_id`), so an
import of the same content always produces the same rows, which is what makes imports
idempotent without lookups.

Records are plain slotted dataclasses (not frozen: frozen ones cost twice as much to build,
and an import builds millions). Treat them as values all the same. Timestamps are
timezone-aware UTC. ``meta`` holds platform details that have no canonical
column (accepted answers, view counts, edit times, attachments) as a JSON-able dict.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar, Literal

JsonDict = dict[str, Any]

SpaceKind = Literal["channel", "category", "list", "site", "group", "dm", "group_dm", "forum"]


# An id is the blake2b digest of "source_id<US>kind<US>native_id" (US: the ASCII unit separator).
ID_SEPARATOR = "\x1f"
ID_BYTES = 12


@lru_cache(maxsize=1 << 16)
def make_id(source_id: str, kind: str, native_id: str) -> str:
    """A stable 24-hex id for ``native_id`` of ``kind`` within ``source_id``.

    blake2b is used because it is fast in CPython and collision-safe at this width for any
    realistic community (96 bits).
    """
    digest = hashlib.blake2b(f"{source_id}{ID_SEPARATOR}{kind}{ID_SEPARATOR}{native_id}".encode(), digest_size=ID_BYTES)
    return digest.hexdigest()


def utc_from_epoch(seconds: float) -> datetime:
    """A UTC datetime from a Unix timestamp (Slack ``ts`` strings, epoch fields)."""
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(slots=True)
class RawItem:
    """A platform payload kept verbatim so mapping can be re-run without re-fetching."""

    TABLE: ClassVar[str] = "raw_items"
    id: str
    source_id: str
    connector: str
    connector_version: str
    kind: str
    native_id: str
    payload: str
    fetched_at: datetime


@dataclass(slots=True)
class Space:
    """Where conversations happen: a channel, category, mailing list or Q&A site."""

    TABLE: ClassVar[str] = "spaces"
    id: str
    source_id: str
    native_id: str
    name: str
    kind: SpaceKind
    private: bool = False
    meta: JsonDict = field(default_factory=dict)


@dataclass(slots=True)
class Identity:
    """One platform account. People (merged identities) are managed by the store."""

    TABLE: ClassVar[str] = "identities"
    id: str
    source_id: str
    native_id: str
    display_name: str
    handle: str | None = None
    email: str | None = None
    is_bot: bool = False
    meta: JsonDict = field(default_factory=dict)


@dataclass(slots=True)
class Conversation:
    """A thread. Its id is the id of its root message."""

    TABLE: ClassVar[str] = "conversations"
    id: str
    source_id: str
    space_id: str
    title: str | None
    started_at: datetime
    meta: JsonDict = field(default_factory=dict)

    @classmethod
    def opened_by(cls, root: Message, *, title_chars: int = 80) -> Conversation:
        """The conversation a root message starts, titled by its opening words.

        For platforms without thread titles (chats); ellipsised so a cut title reads as one.
        """
        words = " ".join(root.text.split())
        title = words if len(words) <= title_chars else words[: title_chars - 1].rstrip() + "…"
        return cls(id=root.id, source_id=root.source_id, space_id=root.space_id, title=title or None, started_at=root.sent_at)


@dataclass(slots=True)
class Message:
    """One contribution. ``conversation_id`` is the root message's id (a root points at itself)."""

    TABLE: ClassVar[str] = "messages"
    id: str
    source_id: str
    native_id: str
    conversation_id: str
    reply_to_id: str | None
    space_id: str
    author_id: str | None
    sent_at: datetime
    text: str
    kind: str = "message"
    meta: JsonDict = field(default_factory=dict)


@dataclass(slots=True)
class Reaction:
    """An emoji, like or vote on a message; ``identity_id`` is None where the platform hides who."""

    TABLE: ClassVar[str] = "reactions"
    id: str
    source_id: str
    message_id: str
    identity_id: str | None
    kind: str
    count: int = 1
    reacted_at: datetime | None = None


@dataclass(slots=True)
class Event:
    """Something that happened in a space that is not a contribution: a join, a leave, a rename."""

    TABLE: ClassVar[str] = "events"
    id: str
    source_id: str
    space_id: str | None
    identity_id: str | None
    kind: str
    occurred_at: datetime
    meta: JsonDict = field(default_factory=dict)


@dataclass(slots=True)
class Skipped:
    """An item that was not imported, with the reason the report shows the user."""

    TABLE: ClassVar[str] = ""
    kind: str
    reason: str
    where: str = ""


Record = RawItem | Space | Identity | Conversation | Message | Reaction | Event | Skipped

"""Pure functions from Zulip messages (either input format) to canonical records.

Both readers (the organisation export in :mod:`.export` and saved ``GET /api/v1/messages``
pages in :mod:`.pages`) first turn each Zulip message into a :class:`Post`, so every mapping
decision lives here once and an export and API pages of the same realm give the same rows.

Native ids: a message is its Zulip message id; a channel (stream) is its stream id; a direct
message conversation is ``dm:`` plus the sorted ids of everyone in it (Zulip files a 1:1
conversation under two recipients, one per direction, so the recipient id cannot be the key);
a user is the user id. Functions raise :class:`~villagegreen.errors.ItemError` for a message
that cannot be mapped; the reader turns that into a counted skip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.html_text import Style, html_to_text
from villagegreen.errors import ItemError
from villagegreen.model import Conversation, Identity, JsonDict, Message, Reaction, Space, SpaceKind, utc_from_epoch

# Zulip renames a topic to "✔ <name>" when someone marks it resolved.
RESOLVED_PREFIX = "✔ "
# What Zulip shows for the empty topic (channel messages sent without one, Zulip 10+).
EMPTY_TOPIC_NAME = "general chat"
# Message.type 2: the notification bot's "marked this topic as resolved" note.
RESOLVE_NOTICE_TYPE = 2
_MENTION = re.compile(r'class="user-mention[^"]*"[^>]*?data-user-id="(\d+)"')


# Quotes are kept apart from the author's words (analyses must see what a person wrote).
# Dropped: link embeds and inline image or video previews (Zulip only adds them for a link
# already in the message, which stays as its text), and KaTeX's visual duplicate of each
# formula (its MathML copy keeps the TeX source).
RENDERED = Style(
    separate_quotes=True,
    drop_classes=frozenset({"message_embed", "message_inline_image", "message_inline_ref", "youtube-video", "katex-html"}),
)


@dataclass(slots=True)
class SpaceInfo:
    """A channel or direct-message conversation as the reader learnt it."""

    native_id: str
    name: str
    kind: SpaceKind
    private: bool
    meta: JsonDict = field(default_factory=dict)
    # What the input said about it, kept verbatim in raw_items.
    payload: Any = None


@dataclass(slots=True)
class UserInfo:
    name: str
    email: str | None = None
    is_bot: bool = False
    meta: JsonDict = field(default_factory=dict)


@dataclass(slots=True)
class ReactionInfo:
    user_id: int
    emoji_name: str
    emoji_code: str
    reaction_type: str


@dataclass(slots=True)
class Post:
    """One Zulip message, whichever format it came from."""

    id: int
    sender_id: int
    space_key: str
    # None for direct messages, which have no topics.
    topic: str | None
    html: str | None
    markdown: str | None
    sent_at: datetime
    edited_at: datetime | None = None
    moved: bool = False
    resolve_notice: bool = False
    reactions: list[ReactionInfo] = field(default_factory=list)
    # The message as the input holds it, kept verbatim in raw_items.
    payload: Any = None

    @property
    def thread_key(self) -> tuple[str, str]:
        # Zulip matches topic names case-insensitively ("Lunch" and "lunch" are one topic).
        return self.space_key, (self.topic or "").casefold()


def message_id(value: object) -> int:
    """A positive integer id (message, user, stream); anything else is an ItemError."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ItemError(f"id {str(value)[:40]!r} is not a positive integer")
    return value


def epoch(value: object, name: str) -> datetime:
    """A UTC moment from Zulip's epoch seconds (a float in exports, an int in the API)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ItemError(f"{name} {str(value)[:40]!r} is not a Unix time")
    try:
        return utc_from_epoch(value)
    except (OverflowError, OSError, ValueError):
        raise ItemError(f"{name} {value!r} is out of range") from None


def optional_epoch(value: object) -> datetime | None:
    try:
        return epoch(value, "time") if value is not None else None
    except ItemError:
        return None


def dm_key(user_ids: Iterable[int]) -> str:
    return "dm:" + ",".join(str(u) for u in sorted(set(user_ids)))


def was_moved(edit_history: object) -> bool:
    """True when an edit moved the message to another topic or channel (an export stores the
    history as a JSON string, the API as a list; both are handled by the callers' parsing)."""
    if not isinstance(edit_history, list):
        return False
    keys = ("prev_topic", "prev_subject", "prev_stream")
    return any(isinstance(e, Mapping) and any(k in e for k in keys) for e in edit_history)


def reaction_infos(rows: Iterable[Any], user_key: str) -> list[ReactionInfo]:
    """Reactions from export rows (``user_key="user_profile"``) or API ones (``"user_id"``)."""
    found: list[ReactionInfo] = []
    for row in rows:
        if not isinstance(row, Mapping) or not isinstance(row.get(user_key), int):
            continue
        found.append(
            ReactionInfo(
                user_id=row[user_key],
                emoji_name=str(row.get("emoji_name") or ""),
                emoji_code=str(row.get("emoji_code") or ""),
                reaction_type=str(row.get("reaction_type") or "unicode_emoji"),
            )
        )
    return found


def emoji_kind(reaction: ReactionInfo) -> str:
    """The emoji itself for Unicode emoji ("1f44d" → "👍", so aliases merge and kinds match other
    platforms); the name for custom and Zulip-extra emoji, which have no character."""
    if reaction.reaction_type == "unicode_emoji" and reaction.emoji_code:
        try:
            return "".join(chr(int(part, 16)) for part in reaction.emoji_code.split("-"))
        except (ValueError, OverflowError):
            pass
    return reaction.emoji_name or reaction.emoji_code or "unknown"


def text_of(post: Post) -> tuple[str, list[str]]:
    """The words and the separated quotes; Markdown source is used as is when there is no HTML."""
    if post.html is not None:
        return html_to_text(post.html, RENDERED)
    return (post.markdown or "").strip(), []


def mentioned_user_ids(html: str | None) -> list[int]:
    if not html or "user-mention" not in html:
        return []
    return sorted({int(m) for m in _MENTION.findall(html)})


def conversation_title(topic: str | None) -> tuple[str, bool]:
    """A topic's display title and whether it is marked resolved."""
    name = topic or ""
    resolved = name.startswith(RESOLVED_PREFIX)
    if resolved:
        name = name[len(RESOLVED_PREFIX) :]
    return name or EMPTY_TOPIC_NAME, resolved


def space_record(context: ReadContext, info: SpaceInfo) -> Space:
    return Space(
        id=context.id("space", info.native_id),
        source_id=context.source_id,
        native_id=info.native_id,
        name=info.name,
        kind=info.kind,
        private=info.private,
        meta=dict(info.meta),
    )


def identity_record(context: ReadContext, user_id: int, info: UserInfo | None) -> Identity:
    native_id = str(user_id)
    return Identity(
        id=context.id("identity", native_id),
        source_id=context.source_id,
        native_id=native_id,
        display_name=info.name if info and info.name else "Unknown user",
        email=info.email if info else None,
        is_bot=info.is_bot if info else False,
        meta=dict(info.meta) if info else {},
    )


def message_record(context: ReadContext, post: Post, *, root_id: int) -> Message:
    native_id = str(post.id)
    text, quotes = text_of(post)
    meta: JsonDict = {}
    if post.topic is not None:
        meta["topic"] = post.topic
    if post.edited_at is not None:
        meta["edited_at"] = post.edited_at.isoformat()
    if post.moved:
        # The message now sits where it was moved to; where it was is not reconstructed.
        meta["moved"] = True
    if quotes:
        meta["quotes"] = len(quotes)
        meta["quoted_text"] = "\n\n".join(quotes)
    mentions = [context.id("identity", str(u)) for u in mentioned_user_ids(post.html)]
    if mentions:
        meta["mentions"] = mentions
    conversation_id = context.id("message", str(root_id))
    return Message(
        id=context.id("message", native_id),
        source_id=context.source_id,
        native_id=native_id,
        conversation_id=conversation_id,
        # Topics are flat: every later message in a topic answers the topic, i.e. its root.
        reply_to_id=None if root_id == post.id else conversation_id,
        space_id=context.id("space", post.space_key),
        author_id=context.id("identity", str(post.sender_id)),
        sent_at=post.sent_at,
        text=text,
        kind="resolve_notice" if post.resolve_notice else "message",
        meta=meta,
    )


def conversation_record(root: Message, post: Post) -> Conversation:
    """A topic's conversation, titled by the topic; a direct-message thread by its opening words."""
    if post.topic is None:
        return Conversation.opened_by(root)
    title, resolved = conversation_title(post.topic)
    meta: JsonDict = {"topic": post.topic}
    if resolved:
        meta["resolved"] = True
    return Conversation(id=root.id, source_id=root.source_id, space_id=root.space_id, title=title, started_at=root.sent_at, meta=meta)


def reaction_records(context: ReadContext, post: Post) -> list[Reaction]:
    message = context.id("message", str(post.id))
    records: dict[str, Reaction] = {}
    for reaction in post.reactions:
        key = f"{post.id}:{reaction.user_id}:{reaction.reaction_type}:{reaction.emoji_code or reaction.emoji_name}"
        records[key] = Reaction(
            id=context.id("reaction", key),
            source_id=context.source_id,
            message_id=message,
            identity_id=context.id("identity", str(reaction.user_id)),
            kind=emoji_kind(reaction),
        )
    return list(records.values())

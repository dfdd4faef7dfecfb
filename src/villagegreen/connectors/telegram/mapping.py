"""Pure functions from Telegram Desktop's machine-readable export (``result.json``) to records.

A chat is ``{"name", "type", "id", "messages": [...]}``; a message has ``"type": "message"``
(someone said something) or ``"service"`` (a join, a pin, a group created: an ``action``).
Message native ids are ``"<chat id>:<message id>"`` because message ids are only unique per
chat. Functions raise :class:`~villagegreen.errors.ItemError` for an entry that cannot be
mapped; the reader turns that into a counted skip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.errors import ItemError
from villagegreen.model import Event, Identity, JsonDict, Message, Reaction, Space, SpaceKind, utc_from_epoch

PUBLIC_CHAT_TYPES = frozenset({"public_supergroup", "public_channel"})
# Everything else is private, including types Telegram may add later: private unless included.
SPACE_KINDS: dict[str, SpaceKind] = {
    "personal_chat": "dm",
    "bot_chat": "dm",
    "saved_messages": "dm",
    "private_group": "group",
    "private_supergroup": "group",
    "public_supergroup": "group",
    "public_channel": "channel",
    "private_channel": "channel",
}
# Media kinds that say what a message without text was.
_MEDIA_KEYS = ("photo", "file", "poll", "location_information", "contact_information", "game_title", "invoice_information")


def is_private(chat: Mapping[str, Any]) -> bool:
    # A damaged file can hold a list or object here, which a set lookup would raise on.
    kind = chat.get("type")
    return not (isinstance(kind, str) and kind in PUBLIC_CHAT_TYPES)


def chat_native_id(chat: Mapping[str, Any]) -> str:
    chat_id = chat.get("id")
    if chat_id is None or chat_id == "":
        raise ItemError("the chat has no id")
    return str(chat_id)


def space_from_chat(context: ReadContext, chat: Mapping[str, Any]) -> Space:
    native_id = chat_native_id(chat)
    kind = str(chat.get("type") or "unknown")
    name = chat.get("name") if isinstance(chat.get("name"), str) else None
    return Space(
        id=context.id("space", native_id),
        source_id=context.source_id,
        native_id=native_id,
        name=name or ("Saved Messages" if kind == "saved_messages" else native_id),
        kind=SPACE_KINDS.get(kind, "group"),
        private=is_private(chat),
        meta={"type": kind},
    )


def parse_time(entry: Mapping[str, Any], unix_key: str = "date_unixtime", local_key: str = "date") -> tuple[datetime, bool]:
    """The moment and whether it is exact.

    ``date_unixtime`` (exports since late 2021) is exact. ``date`` alone is the exporting
    computer's local time without a zone, so it is read as UTC and flagged: times are then off
    by that computer's UTC offset.
    """
    unix = entry.get(unix_key)
    if unix not in (None, ""):
        try:
            return utc_from_epoch(int(str(unix))), True
        except (ValueError, OverflowError, OSError):
            raise ItemError(f"{unix_key} {str(unix)[:40]!r} is not a Unix time") from None
    local = entry.get(local_key)
    if not isinstance(local, str) or not local:
        raise ItemError("date is missing")
    try:
        moment = datetime.fromisoformat(local)
    except ValueError:
        raise ItemError(f"date {local[:40]!r} is not an ISO timestamp") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC), False
    return moment.astimezone(UTC), True


def flatten_text(value: object) -> str:
    """``text`` is a string, or a list of strings and entity objects; each entity is its text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part if isinstance(part, str) else str(part.get("text") or "") if isinstance(part, Mapping) else "" for part in value)
    return ""


def identity_native_id(from_id: object) -> str | None:
    """``from_id`` is ``"user123"``/``"channel123"`` in real exports (a bare number in some tools)."""
    if from_id is None or from_id == "":
        return None
    return str(from_id)


def identity_for(context: ReadContext, native_id: str, name: object) -> Identity:
    display = name if isinstance(name, str) and name else "Deleted Account"
    return Identity(
        id=context.id("identity", native_id),
        source_id=context.source_id,
        native_id=native_id,
        display_name=display,
        # Channels post as themselves; bots are not marked in exports beyond their chats.
        meta={"kind": "channel"} if native_id.startswith("channel") else {},
    )


def media_meta(entry: Mapping[str, Any]) -> JsonDict:
    """What the media was (kind, file name, type, sticker emoji); never the file itself."""
    kind = entry.get("media_type") or next((key for key in _MEDIA_KEYS if key in entry), None)
    if kind is None:
        return {}
    media: JsonDict = {"type": kind}
    for key in ("file_name", "mime_type", "sticker_emoji", "duration_seconds", "width", "height"):
        if entry.get(key) not in (None, ""):
            media[key] = entry[key]
    poll = entry.get("poll")
    if isinstance(poll, Mapping) and isinstance(poll.get("question"), str):
        media["question"] = poll["question"]
    return media


def placeholder(media: JsonDict) -> str:
    if not media:
        return ""
    if media["type"] == "sticker":
        return f"[sticker {media['sticker_emoji']}]" if media.get("sticker_emoji") else "[sticker]"
    if media.get("question"):
        return f"[poll: {media['question']}]"
    if media.get("file_name") and media["type"] != "photo":
        return f"[{media['type']}: {media['file_name']}]"
    return f"[{media['type']}]"


def message_from_entry(context: ReadContext, entry: Mapping[str, Any], *, native_id: str, root_native: str, reply_native: str | None, space_id: str) -> Message:
    sent_at, exact = parse_time(entry)
    author = identity_native_id(entry.get("from_id"))
    media = media_meta(entry)
    text = flatten_text(entry.get("text")) or flatten_text(entry.get("text_entities")) or placeholder(media)
    meta: JsonDict = {}
    if not exact:
        meta["local_time"] = True
    if media:
        meta["media"] = media
    if entry.get("edited") or entry.get("edited_unixtime"):
        meta["edited_at"] = parse_time(entry, "edited_unixtime", "edited")[0].isoformat()
    for key in ("forwarded_from", "via_bot", "author"):
        if isinstance(entry.get(key), str) and entry[key]:
            meta[key] = entry[key]
    mentions = [
        context.id("identity", f"user{e['user_id']}") for e in _dicts(entry.get("text_entities")) if e.get("type") == "mention_name" and e.get("user_id")
    ]
    if mentions:
        meta["mentions"] = mentions
    return Message(
        id=context.id("message", native_id),
        source_id=context.source_id,
        native_id=native_id,
        conversation_id=context.id("message", root_native),
        reply_to_id=context.id("message", reply_native) if reply_native else None,
        space_id=space_id,
        author_id=context.id("identity", author) if author else None,
        sent_at=sent_at,
        text=text,
        meta=meta,
    )



def event_from_entry(context: ReadContext, entry: Mapping[str, Any], *, native_id: str, space_id: str) -> Event:
    occurred_at, exact = parse_time(entry)
    actor = identity_native_id(entry.get("actor_id"))
    meta: JsonDict = {"text": flatten_text(entry.get("text")) or None, "local_time": None if exact else True}
    for key in ("title", "members", "inviter", "duration_seconds", "discard_reason"):
        if entry.get(key) not in (None, "", []):
            meta[key] = entry[key]
    if entry.get("message_id") not in (None, ""):
        # A pin names the pinned message by its id in the chat.
        meta["message_id"] = context.id("message", f"{native_id.partition(':')[0]}:{entry['message_id']}")
    return Event(
        id=context.id("event", native_id),
        source_id=context.source_id,
        space_id=space_id,
        identity_id=context.id("identity", actor) if actor else None,
        kind=str(entry.get("action") or "service"),
        occurred_at=occurred_at,
        meta={k: v for k, v in meta.items() if v is not None},
    )


def reactions_from_entry(context: ReadContext, entry: Mapping[str, Any], *, native_id: str) -> tuple[list[Reaction], list[Identity]]:
    """Named reactors from ``recent`` (one row each, dated); the rest of ``count`` as one anonymous row."""
    message_id = context.id("message", native_id)
    reactions: list[Reaction] = []
    people: list[Identity] = []
    for reaction in _dicts(entry.get("reactions")):
        kind = str(reaction.get("emoji") or reaction.get("document_id") or reaction.get("type") or "unknown")
        key = f"{native_id}:{kind}"
        count = reaction["count"] if isinstance(reaction.get("count"), int) else 1
        named = 0
        for recent in _dicts(reaction.get("recent")):
            who = identity_native_id(recent.get("from_id"))
            if who is None:
                continue
            try:
                reacted_at: datetime | None = parse_time(recent)[0]
            except ItemError:
                reacted_at = None
            reactions.append(Reaction(context.id("reaction", f"{key}:{who}"), context.source_id, message_id, context.id("identity", who), kind, 1, reacted_at))
            people.append(identity_for(context, who, recent.get("from")))
            named += 1
        if count > named:
            reactions.append(Reaction(context.id("reaction", key), context.source_id, message_id, None, kind, count=count - named))
    return reactions, people


def _dicts(value: object) -> Iterable[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []

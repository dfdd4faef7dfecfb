"""Pure functions from DiscordChatExporter (DCE) JSON objects to canonical records.

A DCE channel file is ``{"guild": {...}, "channel": {...}, "messages": [...]}``. Message
native ids are ``"<channel id>:<message id>"``: Discord ids are global snowflakes, but
exports that were edited or synthesised reuse them across files, and the channel prefix keeps
every message unique in its source at no cost. Functions raise
:class:`~villagegreen.errors.ItemError` for an entry that cannot be mapped; the reader turns
that into a counted skip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.errors import ItemError
from villagegreen.model import Event, Identity, JsonDict, Message, Reaction, Space, SpaceKind

# Types that carry something a person said. Numeric strings are kinds DCE's enum does not
# name (it writes the number): 20 and 23 are slash-command and context-menu command replies.
MESSAGE_TYPES = frozenset({"Default", "Reply", "20", "23", "ChatInputCommand", "ContextMenuCommand"})

# System messages, named like the Slack connector's events where the meaning is the same.
EVENT_KINDS: dict[str, str] = {
    "GuildMemberJoin": "join",
    "RecipientAdd": "member_added",
    "RecipientRemove": "member_removed",
    "ChannelNameChange": "rename",
    "ChannelIconChange": "icon_change",
    "ChannelPinnedMessage": "pin",
    "ThreadCreated": "thread_created",
    "21": "thread_starter",
    "ThreadStarterMessage": "thread_starter",
    "Call": "call",
}

PRIVATE_CHANNEL_TYPES = frozenset({"DirectTextChat", "DirectGroupTextChat", "GuildPrivateThread"})
THREAD_CHANNEL_TYPES = frozenset({"GuildPublicThread", "GuildPrivateThread", "GuildNewsThread"})
DM_GUILD_NAME = "Direct Messages"


# Raw (unrendered) Discord markup: user, role and channel mentions, custom emoji, timestamps.
_MARKUP = re.compile(r"<(@!?|@&|#)(\d+)>|<a?(:\w+:)\d+>|<t:(-?\d+)(?::[tTdDfFR])?>")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_time(value: object) -> datetime:
    """DCE writes ISO timestamps with an offset (usually +00:00); a naive one is taken as UTC."""
    if not isinstance(value, str) or not value:
        raise ItemError("timestamp is missing")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ItemError(f"timestamp {value[:40]!r} is not an ISO timestamp") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_private(guild: Mapping[str, Any] | None, channel: Mapping[str, Any]) -> bool:
    """DMs, group DMs and private threads; DCE files DMs under a pseudo-guild "Direct Messages"."""
    if channel.get("type") in PRIVATE_CHANNEL_TYPES:
        return True
    return not guild or guild.get("name") == DM_GUILD_NAME or str(guild.get("id") or "0") == "0"


def space_kind(channel: Mapping[str, Any]) -> SpaceKind:
    kind = channel.get("type")
    if kind == "DirectTextChat":
        return "dm"
    if kind == "DirectGroupTextChat":
        return "group_dm"
    if kind == "GuildForum":
        return "forum"
    return "channel"


def space_from_channel(context: ReadContext, guild: Mapping[str, Any] | None, channel: Mapping[str, Any]) -> Space:
    channel_id = str(channel["id"])
    meta: JsonDict = {
        "type": channel.get("type"),
        "guild_id": str(guild.get("id")) if guild and guild.get("id") is not None else None,
        "guild": text_of(guild.get("name")) if guild else None,
        "category_id": str(channel["categoryId"]) if channel.get("categoryId") else None,
        "category": text_of(channel.get("category")) or None,
        "topic": text_of(channel.get("topic")) or None,
    }
    return Space(
        id=context.id("space", channel_id),
        source_id=context.source_id,
        native_id=channel_id,
        name=text_of(channel.get("name")) or channel_id,
        kind=space_kind(channel),
        private=is_private(guild, channel),
        meta={k: v for k, v in meta.items() if v is not None},
    )


def identity_from_user(context: ReadContext, user: Mapping[str, Any]) -> Identity:
    """A server nickname is what members see, so it wins over the account name."""
    user_id = user.get("id")
    if user_id is None or user_id == "":
        raise ItemError("author has no id")
    name = text_of(user.get("name"))
    discriminator = text_of(user.get("discriminator"))
    # "0000"/"0" mark new-style unique usernames (and deleted users): no #tag to add.
    handle = f"{name}#{discriminator}" if name and discriminator.strip("0") else name or None
    return Identity(
        id=context.id("identity", user_id),
        source_id=context.source_id,
        native_id=str(user_id),
        display_name=text_of(user.get("nickname")) or name or f"user{user_id}",
        handle=handle,
        is_bot=user.get("isBot") is True,
    )


def message_native_id(channel_id: str, entry: Mapping[str, Any]) -> str:
    message_id = entry.get("id")
    if message_id is None or message_id == "":
        raise ItemError("message has no id")
    return f"{channel_id}:{message_id}"


def reference_native_id(channel_id: str, entry: Mapping[str, Any]) -> str | None:
    """The native id a reply points at (its channel may differ: cross-channel replies exist)."""
    reference = entry.get("reference")
    if not isinstance(reference, Mapping) or not reference.get("messageId"):
        return None
    return f"{reference.get('channelId') or channel_id}:{reference['messageId']}"


def event_kind(message_type: str) -> str | None:
    """None for a contribution; otherwise the event kind (unknown system types snake-cased)."""
    if message_type in MESSAGE_TYPES:
        return None
    return EVENT_KINDS.get(message_type) or _CAMEL.sub("_", message_type).lower() or "system"


def plain_text(content: str, mentions: Iterable[Mapping[str, Any]], channel_names: Mapping[str, str]) -> str:
    """Content with raw mention markup resolved; DCE usually renders ``@name`` already."""
    if "<" not in content:
        return content
    names = {str(m.get("id")): text_of(m.get("nickname")) or text_of(m.get("name")) for m in mentions if isinstance(m, Mapping)}

    def replace(match: re.Match[str]) -> str:
        sigil, target, emoji, stamp = match.groups()
        if emoji:
            return emoji
        if stamp is not None:
            try:
                return datetime.fromtimestamp(int(stamp), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
            except (OverflowError, OSError, ValueError):
                return match.group(0)
        if sigil == "#":
            return f"#{channel_names.get(target, 'unknown-channel')}"
        if sigil == "@&":
            return "@role"
        return f"@{names.get(target) or 'unknown-user'}"

    return _MARKUP.sub(replace, content)


def media_meta(entry: Mapping[str, Any]) -> JsonDict:
    """Names, types and urls of attachments, embeds and stickers; never their bytes."""
    meta: JsonDict = {}
    attachments = [{"name": text_of(a.get("fileName")), "url": text_of(a.get("url")), "size": a.get("fileSizeBytes")} for a in _dicts(entry.get("attachments"))]
    embeds = [{"title": text_of(e.get("title")), "url": text_of(e.get("url"))} for e in _dicts(entry.get("embeds"))]
    stickers = [{"name": text_of(s.get("name")), "format": text_of(s.get("format")), "url": text_of(s.get("sourceUrl"))} for s in _dicts(entry.get("stickers"))]
    for key, items in (("attachments", attachments), ("embeds", embeds), ("stickers", stickers)):
        if items:
            meta[key] = [{k: v for k, v in item.items() if v not in (None, "")} for item in items]
    return meta


def placeholder(meta: JsonDict) -> str:
    """Text for a message that is only media, so it still reads as something in a thread."""
    parts = [f"[attachment: {a.get('name') or 'file'}]" for a in meta.get("attachments", [])]
    parts += [f"[sticker: {s.get('name') or 'sticker'}]" for s in meta.get("stickers", [])]
    parts += [f"[embed: {e.get('title') or e.get('url') or 'link'}]" for e in meta.get("embeds", [])]
    return " ".join(parts)


def message_from_entry(
    context: ReadContext,
    entry: Mapping[str, Any],
    *,
    native_id: str,
    root_native: str,
    reply_native: str | None,
    space_id: str,
    channel_names: Mapping[str, str],
) -> Message:
    sent_at = parse_time(entry.get("timestamp"))
    author = entry.get("author")
    author_id = context.id("identity", author["id"]) if isinstance(author, Mapping) and author.get("id") else None
    mentions = list(_dicts(entry.get("mentions")))
    meta = media_meta(entry)
    text = plain_text(text_of(entry.get("content")), mentions, channel_names) or placeholder(meta)
    if entry.get("timestampEdited"):
        meta["edited_at"] = parse_time(entry["timestampEdited"]).isoformat()
    if entry.get("isPinned") is True:
        meta["pinned"] = True
    if entry.get("type") not in (None, "Default", "Reply"):
        meta["type"] = entry.get("type")
    if mentioned := [context.id("identity", m["id"]) for m in mentions if m.get("id")]:
        meta["mentions"] = mentioned
    if isinstance(entry.get("thread"), Mapping):
        meta["thread"] = {k: entry["thread"].get(k) for k in ("id", "name") if entry["thread"].get(k)}
    return Message(
        id=context.id("message", native_id),
        source_id=context.source_id,
        native_id=native_id,
        conversation_id=context.id("message", root_native),
        reply_to_id=context.id("message", reply_native) if reply_native else None,
        space_id=space_id,
        author_id=author_id,
        sent_at=sent_at,
        text=text,
        meta=meta,
    )



def reactions_from_entry(context: ReadContext, entry: Mapping[str, Any], *, native_id: str) -> list[Reaction]:
    """One row per reacting user where DCE lists them, else one anonymous row with the count.

    Where fewer users are listed than counted, the rest become one anonymous row, so the sum of
    counts always equals what Discord showed.
    """
    message_id = context.id("message", native_id)
    reactions: list[Reaction] = []
    for reaction in _dicts(entry.get("reactions")):
        emoji: Mapping[str, Any] = reaction["emoji"] if isinstance(reaction.get("emoji"), Mapping) else {}
        kind = text_of(emoji.get("name")) or str(emoji.get("id") or "") or "unknown"
        key = f"{native_id}:{emoji.get('id') or kind}"
        count = reaction["count"] if isinstance(reaction.get("count"), int) else 1
        users = [u for u in _dicts(reaction.get("users")) if u.get("id")]
        for user in users:
            reactions.append(Reaction(context.id("reaction", f"{key}:{user['id']}"), context.source_id, message_id, context.id("identity", user["id"]), kind))
        if count > len(users):
            reactions.append(Reaction(context.id("reaction", key), context.source_id, message_id, None, kind, count=count - len(users)))
    return reactions


def event_from_entry(context: ReadContext, entry: Mapping[str, Any], *, native_id: str, kind: str, space_id: str) -> Event:
    author = entry.get("author")
    meta: JsonDict = {"type": entry.get("type"), "text": text_of(entry.get("content")) or None}
    if (target := reference_native_id(native_id.partition(":")[0], entry)) is not None:
        meta["message_id"] = context.id("message", target)
    if entry.get("callEndedTimestamp"):
        meta["ended_at"] = parse_time(entry["callEndedTimestamp"]).isoformat()
    if added := [context.id("identity", m["id"]) for m in _dicts(entry.get("mentions")) if m.get("id")]:
        meta["members"] = added
    return Event(
        id=context.id("event", native_id),
        source_id=context.source_id,
        space_id=space_id,
        identity_id=context.id("identity", author["id"]) if isinstance(author, Mapping) and author.get("id") else None,
        kind=kind,
        occurred_at=parse_time(entry.get("timestamp")),
        meta={k: v for k, v in meta.items() if v is not None},
    )


def _dicts(value: object) -> Iterable[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []

"""Pure mapping from Slack payloads (export or Web API: the shapes are the same) to records.

Slack's shapes, and the choices made here:

- a message's native id is ``<channel id>:<ts>`` (``ts`` is unique only within a channel);
- a reply has ``thread_ts`` different from its ``ts``; its conversation and ``reply_to_id``
  are the root, the message whose ``ts`` equals that ``thread_ts`` in the same channel;
- joins, leaves, topic and purpose changes and the like come as messages with a ``subtype``;
  they become :class:`Event` records, not messages (``EVENT_KINDS``);
- ``reactions: [{name, users, count}]`` gives one reaction per user; when Slack lists fewer
  users than ``count``, the rest is one anonymous reaction carrying the remainder;
- files and attachments are kept as names and types in ``meta``; a message whose text is empty
  but has attachments (integrations such as GitHub post that way) takes its text from the
  attachments' plain-text ``fallback`` so it still says something.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.slack.directory import Directory
from villagegreen.connectors.slack.mrkdwn import mentioned_users, to_plain, unescape
from villagegreen.errors import ItemError
from villagegreen.model import Event, JsonDict, Message, Reaction, Space, SpaceKind

# Slack subtypes that record something happening to a channel rather than something said.
EVENT_KINDS: dict[str, str] = {
    "channel_join": "join",
    "group_join": "join",
    "channel_leave": "leave",
    "group_leave": "leave",
    "channel_topic": "topic",
    "group_topic": "topic",
    "channel_purpose": "purpose",
    "group_purpose": "purpose",
    "channel_name": "rename",
    "group_name": "rename",
    "channel_archive": "archive",
    "group_archive": "archive",
    "channel_unarchive": "unarchive",
    "group_unarchive": "unarchive",
    "channel_convert_to_private": "convert_to_private",
    "channel_convert_to_public": "convert_to_public",
    "channel_posting_permissions": "posting_permissions",
    "bot_add": "bot_add",
    "bot_remove": "bot_remove",
    "bot_enable": "bot_enable",
    "bot_disable": "bot_disable",
    "pinned_item": "pin",
    "unpinned_item": "unpin",
    "reminder_add": "reminder_add",
    "sh_room_created": "call",
}

# Subtypes whose author is an integration even when the payload names no bot.
_BOT_SUBTYPES = {"bot_message"}


class IdCache(dict[str, str]):
    """``context.id(kind, native_id)``, remembered: for ids that recur from message to message
    (authors, mentioned people), so each is hashed once per space rather than once per use."""

    def __init__(self, context: ReadContext, kind: str) -> None:
        super().__init__()
        self._make, self._kind = context.id, kind

    def __missing__(self, native_id: str) -> str:
        made = self[native_id] = self._make(self._kind, native_id)
        return made


def parse_ts(value: object, where: str) -> datetime:
    """A Slack ``ts`` ("1452837318.000002") or epoch number as a UTC datetime."""
    try:
        # model.utc_from_epoch's body, inlined: this runs once per message.
        return datetime.fromtimestamp(float(value), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError) as error:
        raise ItemError(f"{where}: timestamp {value!r} is not a Slack ts") from error


def map_space(entry: JsonDict, kind: SpaceKind, private: bool, name: str, context: ReadContext) -> Space:
    """A channel, private channel, DM or group DM from its listing entry."""
    native_id = str(entry["id"])
    meta: JsonDict = {
        "topic": _nested_value(entry.get("topic")),
        "purpose": _nested_value(entry.get("purpose")),
        "created_at": _iso(entry.get("created")),
        "creator_id": context.id("identity", creator) if (creator := _text(entry.get("creator"))) else None,
        "archived": entry.get("is_archived") or None,
        "general": entry.get("is_general") or None,
        "members": len(entry["members"]) if isinstance(entry.get("members"), list) else None,
        "previous_names": entry.get("previous_names") or None,
    }
    return Space(
        id=context.id("space", native_id),
        source_id=context.source_id,
        native_id=native_id,
        name=name,
        kind=kind,
        private=private,
        meta={key: value for key, value in meta.items() if value is not None},
    )


def event_kind(entry: JsonDict) -> str | None:
    """The canonical event kind when this payload is an event rather than a message."""
    subtype = entry.get("subtype")
    return EVENT_KINDS.get(subtype) if isinstance(subtype, str) else None


def message_native_id(channel_id: str, ts: str) -> str:
    return f"{channel_id}:{ts}"


def author_native_id(entry: JsonDict, people: Directory) -> str | None:
    """Who wrote ``entry``: a user, else the bot that posted it; registers them with ``people``."""
    user = _text(entry.get("user")) or _text(_dict(entry.get("comment")).get("user"))
    bot_id = _text(entry.get("bot_id"))
    subtype = _text(entry.get("subtype"))
    # bot_add/bot_remove carry the bot's id but are done by a person.
    via_bot = (bot_id is not None and subtype not in EVENT_KINDS) or subtype in _BOT_SUBTYPES
    if user:
        return people.touch_user(user, entry.get("user_profile"), via_bot=via_bot)
    if bot_id:
        return people.touch_bot(bot_id, entry.get("username"), entry.get("bot_profile"))
    return None


def plain_text(entry: JsonDict, people: Directory) -> tuple[str, bool]:
    """The text a reader saw, and whether it came from the attachments' fallback."""
    text = entry.get("text")
    text = text if isinstance(text, str) else ""
    from_attachments = False
    if not text.strip():
        fallbacks = [a.get("fallback") for a in _dicts(entry.get("attachments"))]
        text = "\n".join(f for f in fallbacks if isinstance(f, str) and f)
        from_attachments = bool(text)
    return to_plain(text, people.name, people.channel_name), from_attachments


def map_message(
    entry: JsonDict,
    *,
    message_id: str,
    native_id: str,
    space_id: str,
    conversation_id: str,
    reply_to_id: str | None,
    author: str | None,
    sent_at: datetime,
    people: Directory,
    context: ReadContext,
    identity_ids: IdCache | None = None,
) -> Message:
    """One message; ``identity_ids`` (one per space) saves re-hashing the same people's ids."""
    ids = identity_ids if identity_ids is not None else IdCache(context, "identity")
    text, from_attachments = plain_text(entry, people)
    subtype = _text(entry.get("subtype"))
    raw_text = _raw_text(entry)
    # Only the keys that have a value, in this order (the order is kept in the store's JSON).
    meta: JsonDict = {}
    if subtype is not None:
        meta["subtype"] = subtype
        if subtype == "thread_broadcast":
            meta["broadcast"] = True
    if from_attachments:
        meta["text_from"] = "attachments"
    if (bot_id := _text(entry.get("bot_id"))) is not None:
        meta["bot_id"] = bot_id
    if (username := _text(entry.get("username"))) is not None:
        meta["username"] = username
    # Most messages have neither; the key test spares building empty lists.
    if ("files" in entry or "file" in entry) and (files := _files(entry)):
        meta["files"] = files
    if "attachments" in entry and (attachments := _attachments(entry)):
        meta["attachments"] = attachments
    if "<@" in raw_text:
        meta["mentions"] = [ids[people.touch_user(u)] for u in mentioned_users(raw_text)]
    edited = entry.get("edited")
    if isinstance(edited, dict) and (edited_at := _iso(edited.get("ts"))):
        meta["edited_at"] = edited_at
        editor = _text(edited.get("user"))
        if editor and editor != entry.get("user"):
            meta["edited_by"] = ids[people.touch_user(editor)]
    return Message(
        id=message_id,
        source_id=context.source_id,
        native_id=native_id,
        conversation_id=conversation_id,
        reply_to_id=reply_to_id,
        space_id=space_id,
        author_id=ids[author] if author else None,
        sent_at=sent_at,
        text=text,
        kind="tombstone" if subtype == "tombstone" else "message",
        meta=meta,
    )


def map_reactions(
    entry: JsonDict, message_id: str, native_id: str, people: Directory, context: ReadContext, identity_ids: IdCache | None = None
) -> list[Reaction]:
    ids = identity_ids if identity_ids is not None else IdCache(context, "identity")
    reactions: list[Reaction] = []
    for reaction in _dicts(entry.get("reactions")):
        name = reaction.get("name")
        if not isinstance(name, str) or not name:
            continue
        users = list(dict.fromkeys(u for u in _list(reaction.get("users")) if isinstance(u, str) and u))
        for user in users:
            identity = ids[people.touch_user(user)]
            reactions.append(Reaction(context.id("reaction", f"{native_id}:{name}:{user}"), context.source_id, message_id, identity, name))
        count = reaction.get("count")
        # Slack lists at most a page of reactors; the rest are known only as a number.
        if isinstance(count, int) and not isinstance(count, bool) and count > len(users):
            reactions.append(Reaction(context.id("reaction", f"{native_id}:{name}:*"), context.source_id, message_id, None, name, count - len(users)))
    return reactions


def added_bot_name(entry: JsonDict) -> tuple[str, str] | None:
    """(bot id, name) from "added an integration to this channel: <https://x.slack.com/services/B1|github>"."""
    bot_id, text = entry.get("bot_id"), entry.get("text")
    if entry.get("subtype") != "bot_add" or not isinstance(bot_id, str) or not isinstance(text, str):
        return None
    match = re.search(rf"<[^<>|]*/services/{re.escape(bot_id)}\|([^<>]+)>", text)
    return (bot_id, unescape(match.group(1))) if match else None


def map_event(
    entry: JsonDict, kind: str, *, space_id: str, channel_id: str, occurred_at: datetime, actor: str | None, people: Directory, context: ReadContext
) -> Event:
    native_id = message_native_id(channel_id, entry["ts"])
    meta: JsonDict = {
        "subtype": entry.get("subtype"),
        "text": to_plain(_raw_text(entry), people.name, people.channel_name) or None,
        "inviter_id": context.id("identity", people.touch_user(entry["inviter"])) if isinstance(entry.get("inviter"), str) else None,
        "topic": entry.get("topic"),
        "purpose": entry.get("purpose"),
        "name": entry.get("name"),
        "old_name": entry.get("old_name"),
        "bot_id": _text(entry.get("bot_id")),
        # Reactions to a join (a welcome wave) are engagement, but reactions attach to messages.
        "reactions": sum(_count(r) for r in _dicts(entry.get("reactions"))) or None,
    }
    return Event(
        id=context.id("event", native_id),
        source_id=context.source_id,
        space_id=space_id,
        identity_id=context.id("identity", actor) if actor else None,
        kind=kind,
        occurred_at=occurred_at,
        meta={key: value for key, value in meta.items() if value is not None},
    )


def _iso(value: object) -> str | None:
    """An optional timestamp as ISO text; a malformed one is dropped, not fatal."""
    if not value:
        return None
    try:
        return parse_ts(value, "").isoformat()
    except ItemError:
        return None


def _raw_text(entry: JsonDict) -> str:
    text = entry.get("text")
    return text if isinstance(text, str) else ""


def _text(value: object) -> str | None:
    """``value`` when it is a non-empty string; exports from odd tools put anything anywhere."""
    return value if isinstance(value, str) and value else None


def _dict(value: object) -> JsonDict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[JsonDict]:
    return [item for item in _list(value) if isinstance(item, dict)]


def _count(reaction: JsonDict) -> int:
    count = reaction.get("count")
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else len(_list(reaction.get("users")))


def _nested_value(value: Any) -> str | None:
    # channels.json has {"value": "...", "creator": ..., "last_set": ...} for topic and purpose.
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) and value else None


def _files(entry: JsonDict) -> list[JsonDict]:
    files = _dicts(entry.get("files"))
    if isinstance(entry.get("file"), dict):  # older exports: one file on a file_share message
        files.append(entry["file"])
    described = []
    for file in files:
        item = {"name": file.get("name") or file.get("title"), "type": file.get("filetype") or file.get("mimetype")}
        described.append({key: value for key, value in item.items() if value})
    return described


def _attachments(entry: JsonDict) -> list[JsonDict]:
    described = []
    for attachment in _dicts(entry.get("attachments")):
        if attachment.get("is_msg_unfurl") or attachment.get("is_share"):
            kind = "message"
        elif attachment.get("from_url") or attachment.get("original_url"):
            kind = "link"
        else:
            kind = "attachment"
        item = {"kind": kind, "title": attachment.get("title"), "service": attachment.get("service_name")}
        described.append({key: value for key, value in item.items() if isinstance(value, str) and value})
    return described

"""Pure functions from Microsoft Graph ``chatMessage`` objects to canonical records.

A chatMessage (Graph v1.0, "chatMessage resource type") has ``id``, ``replyToId`` (the root
message for a channel reply, else null), ``messageType`` (``message``,
``systemEventMessage``, ``chatEvent``, ``typing``, ``unknownFutureValue``),
``createdDateTime``, ``lastEditedDateTime``, ``deletedDateTime``, ``subject``, ``body``
(``contentType`` ``html`` or ``text``, ``content``), ``from`` (an identitySet: ``user``,
``application`` or ``device``), ``channelIdentity`` (``teamId``, ``channelId``) or
``chatId``, ``mentions``, ``reactions``, ``attachments`` and, for system messages,
``eventDetail``. Message ids are unique within their channel or chat, so native ids are
``"<channel or chat id>/<message id>"``. Functions raise
:class:`~villagegreen.errors.ItemError` for a message that cannot be mapped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.html_text import Style, html_to_text
from villagegreen.errors import ItemError
from villagegreen.model import Event, Identity, JsonDict, Message, Reaction

HTML_STYLE = Style(outline=True)
# <at id="0">Jane Smith</at> is a mention: Teams shows it as a name; "@" keeps it one.
_MENTION = re.compile(r"<at\b([^>]*)>", re.IGNORECASE)
# <emoji id="smile" alt="😄" title="Smile"></emoji>: the emoji is only in the alt attribute.
_EMOJI = re.compile(r"<emoji\b[^>]*?\balt=\"([^\"]*)\"[^>]*>", re.IGNORECASE)
_DETAIL_TYPE = re.compile(r"^#?microsoft\.graph\.(\w+?)(?:EventMessageDetail)?$")


def as_dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def dicts(value: object) -> Iterable[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def container_of(message: Mapping[str, Any]) -> tuple[str, str | None, bool]:
    """(channel or chat id, team id, is a chat); a message with neither cannot be placed."""
    channel = as_dict(message.get("channelIdentity"))
    if isinstance(channel.get("channelId"), str) and channel["channelId"]:
        team = channel.get("teamId")
        return channel["channelId"], team if isinstance(team, str) and team else None, False
    chat = message.get("chatId")
    if isinstance(chat, str) and chat:
        return chat, None, True
    raise ItemError("neither channelIdentity nor chatId")


def native_id(container: str, message_id: object) -> str:
    return f"{container}/{message_id}"


def parse_time(value: object, field: str = "createdDateTime") -> datetime:
    """Graph's ISO 8601 UTC timestamps ("2021-03-28T21:11:12.395Z")."""
    if not isinstance(value, str) or not value:
        raise ItemError(f"{field} is missing")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ItemError(f"{field} {value[:40]!r} is not an ISO timestamp") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def sender(identity_set: object) -> tuple[str, str | None, bool] | None:
    """(native id, display name, is a bot) of an identitySet's user or application."""
    found = as_dict(identity_set)
    user = as_dict(found.get("user"))
    if isinstance(user.get("id"), str) and user["id"]:
        return user["id"], user.get("displayName") or None, False
    app = as_dict(found.get("application"))
    if isinstance(app.get("id"), str) and app["id"]:
        return f"app:{app['id']}", app.get("displayName") or None, True
    return None


def identity_for(context: ReadContext, native: str, name: str | None, is_bot: bool) -> Identity:
    return Identity(
        id=context.id("identity", native),
        source_id=context.source_id,
        native_id=native,
        display_name=name or "Unknown user",
        is_bot=is_bot,
    )


def body_text(body: object) -> str:
    """The message's words: HTML rendered (mentions as "@Name", emoji by their alt text), text as is."""
    found = as_dict(body)
    content = found.get("content")
    if not isinstance(content, str):
        return ""
    if str(found.get("contentType", "")).lower() != "html":
        return content.strip()
    markup = _EMOJI.sub(lambda m: m.group(1), _MENTION.sub(r"<at\1>@", content))
    return html_to_text(markup, HTML_STYLE)[0]


def attachments_meta(message: Mapping[str, Any]) -> list[JsonDict]:
    """What was attached (type, name, link); card and file contents are not kept."""
    found = []
    for item in dicts(message.get("attachments")):
        if item.get("contentType") == "messageReference":
            continue  # a quoted reply, not an attachment: it is the reply link
        entry = {key: item.get(key) for key in ("contentType", "name", "contentUrl") if item.get(key) not in (None, "")}
        if entry:
            found.append(entry)
    return found


def quoted_message(message: Mapping[str, Any]) -> str | None:
    """The id of a message this one quotes as a reply (a ``messageReference`` attachment, used in chats)."""
    for item in dicts(message.get("attachments")):
        if item.get("contentType") != "messageReference":
            continue
        if isinstance(item.get("id"), str) and item["id"]:
            return str(item["id"])
        # Seen in responses: the quoted message's id is also in the JSON of "content".
        try:
            quoted = json.loads(item["content"]).get("messageId") if isinstance(item.get("content"), str) else None
        except (ValueError, AttributeError):
            quoted = None
        if isinstance(quoted, str) and quoted:
            return quoted
    return None


def message_from(context: ReadContext, message: Mapping[str, Any], *, native: str, root_native: str, reply_native: str | None, space_id: str) -> Message:
    sent_at = parse_time(message.get("createdDateTime"))
    author = sender(message.get("from"))
    text = body_text(message.get("body"))
    meta: JsonDict = {}
    attachments = attachments_meta(message)
    if attachments:
        meta["attachments"] = attachments
        if not text:
            text = "[file: " + ", ".join(str(a.get("name") or a.get("contentType")) for a in attachments) + "]"
    if message.get("lastEditedDateTime"):
        meta["edited_at"] = parse_time(message["lastEditedDateTime"], "lastEditedDateTime").isoformat()
    for key in ("subject", "webUrl"):
        if isinstance(message.get(key), str) and message[key]:
            meta[key] = message[key]
    if message.get("importance") not in (None, "", "normal"):
        meta["importance"] = message["importance"]
    mentioned = [found[0] for m in dicts(message.get("mentions")) if (found := sender(m.get("mentioned")))]
    if mentioned:
        meta["mentions"] = [context.id("identity", who) for who in mentioned]
    return Message(
        id=context.id("message", native),
        source_id=context.source_id,
        native_id=native,
        conversation_id=context.id("message", root_native),
        reply_to_id=context.id("message", reply_native) if reply_native else None,
        space_id=space_id,
        author_id=context.id("identity", author[0]) if author else None,
        sent_at=sent_at,
        text=text,
        meta=meta,
    )


def reactions_from(context: ReadContext, message: Mapping[str, Any], *, native: str) -> list[tuple[Reaction, tuple[str, str | None, bool] | None]]:
    """One reaction per person and kind, with the reactor (to name them as an identity)."""
    found = []
    for reaction in dicts(message.get("reactions")):
        kind = reaction.get("reactionType")
        if not isinstance(kind, str) or not kind:
            continue
        who = sender(reaction.get("user"))
        try:
            reacted_at: datetime | None = parse_time(reaction.get("createdDateTime"))
        except ItemError:
            reacted_at = None
        key = f"{native}:{kind}:{who[0] if who else ''}"
        record = Reaction(
            id=context.id("reaction", key),
            source_id=context.source_id,
            message_id=context.id("message", native),
            identity_id=context.id("identity", who[0]) if who else None,
            kind=kind,
            reacted_at=reacted_at,
        )
        found.append((record, who))
    return found


def event_kind(detail: Mapping[str, Any]) -> str:
    """``#microsoft.graph.membersAddedEventMessageDetail`` → ``membersAdded``."""
    match = _DETAIL_TYPE.match(str(detail.get("@odata.type") or ""))
    return match.group(1) if match else "systemEvent"


def event_from(context: ReadContext, message: Mapping[str, Any], *, native: str, space_id: str) -> Event:
    detail = as_dict(message.get("eventDetail"))
    initiator = sender(detail.get("initiator")) or sender(message.get("from"))
    meta: JsonDict = {"messageType": message.get("messageType")}
    members = [found[0] for m in dicts(detail.get("members")) if (found := sender({"user": m}))]
    if members:
        meta["members"] = [context.id("identity", who) for who in members]
    for key, value in detail.items():
        if key not in ("@odata.type", "initiator", "members") and isinstance(value, str | int | float | bool):
            meta[key] = value
    return Event(
        id=context.id("event", native),
        source_id=context.source_id,
        space_id=space_id,
        identity_id=context.id("identity", initiator[0]) if initiator else None,
        kind=event_kind(detail),
        occurred_at=parse_time(message.get("createdDateTime")),
        meta=meta,
    )

"""Pure functions from Matrix client-server events to canonical records.

Events are the "ClientEvent" objects of the Matrix client-server API (spec v1.x, section
"Room event format"): ``event_id``, ``type``, ``sender``, ``origin_server_ts`` (milliseconds
since the epoch), ``content``, ``unsigned`` and, for state events, ``state_key``. Event ids are
globally unique, so they are the native ids as they are. Functions raise
:class:`~villagegreen.errors.ItemError` for an event that cannot be mapped; the reader turns
that into a counted skip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.html_text import Style, html_to_text
from villagegreen.errors import ItemError
from villagegreen.model import Event, Identity, JsonDict, Message, Reaction, utc_from_epoch

HTML_FORMAT = "org.matrix.custom.html"
# Message types whose body is a file name or caption rather than words typed in the chat.
MEDIA_MSGTYPES = frozenset({"m.image", "m.file", "m.audio", "m.video"})
# Lists, quotes and code keep their layout; a pill (<a href="https://matrix.to/#/@u:s">Name</a>)
# becomes the name, as Element shows it.
HTML_STYLE = Style(outline=True)
# The rich reply fallback: the quoted original a client prepends to a reply's formatted_body.
_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)
# The plain reply fallback opens with "> <@user:server> ..." (or "> * <@user:server>" for an emote).
_FALLBACK_OPENING = re.compile(r"^> (?:\* )?<[@!#]")


def as_dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def relation(content: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_dict(content.get("m.relates_to"))


def reply_target(content: Mapping[str, Any]) -> str | None:
    """The event a message replies to (``m.relates_to.m.in_reply_to.event_id``), if any."""
    target = as_dict(relation(content).get("m.in_reply_to")).get("event_id")
    return target if isinstance(target, str) and target else None


def thread_root(content: Mapping[str, Any]) -> str | None:
    """The thread root a message belongs to (``rel_type: m.thread``), if any."""
    rel = relation(content)
    target = rel.get("event_id")
    return target if rel.get("rel_type") == "m.thread" and isinstance(target, str) and target else None


def is_edit(event: Mapping[str, Any]) -> bool:
    return relation(as_dict(event.get("content"))).get("rel_type") == "m.replace"


def redaction_target(event: Mapping[str, Any]) -> str | None:
    """What a ``m.room.redaction`` removes: top-level ``redacts`` (room versions up to 10) or
    ``content.redacts`` (version 11 on)."""
    target = event.get("redacts") or as_dict(event.get("content")).get("redacts")
    return target if isinstance(target, str) and target else None


def is_redacted(event: Mapping[str, Any]) -> bool:
    """The server (or the exporting client) already stripped this event's content."""
    return bool(as_dict(event.get("unsigned")).get("redacted_because"))


def parse_time(event: Mapping[str, Any]) -> datetime:
    millis = event.get("origin_server_ts")
    if isinstance(millis, bool) or not isinstance(millis, int | float):
        raise ItemError(f"origin_server_ts {str(millis)[:40]!r} is not a millisecond timestamp")
    try:
        return utc_from_epoch(millis / 1000)
    except (OverflowError, OSError, ValueError):
        raise ItemError(f"origin_server_ts {millis!r} is out of range") from None


def strip_reply_fallback(body: str) -> str:
    """``body`` without the quoted original a client prepends to a reply (spec: "Fallbacks for rich replies")."""
    if not _FALLBACK_OPENING.match(body):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and not lines[index].strip():
        index += 1
    return "\n".join(lines[index:])


def attachment_meta(content: Mapping[str, Any]) -> JsonDict:
    """What a media message carried (type, file name, MIME type, size, mxc URL); never the file."""
    info = as_dict(content.get("info"))
    found: JsonDict = {"msgtype": content.get("msgtype"), "filename": content.get("filename") or content.get("body")}
    for key, value in (("mimetype", info.get("mimetype")), ("size", info.get("size")), ("url", content.get("url"))):
        if value not in (None, ""):
            found[key] = value
    return {key: value for key, value in found.items() if value not in (None, "")}


def message_text(content: Mapping[str, Any], *, is_reply: bool) -> str:
    """The words of a message: ``formatted_body`` rendered when it is HTML, else ``body``;
    reply fallbacks removed; a media message without a caption as ``[image: name]``."""
    raw_body = content.get("body")
    body = raw_body if isinstance(raw_body, str) else ""
    msgtype = content.get("msgtype")
    if msgtype in MEDIA_MSGTYPES:
        filename = content.get("filename")
        # Since spec v1.10 a body that differs from "filename" is a caption the sender wrote.
        if isinstance(filename, str) and filename and body and body != filename:
            return body
        return f"[{str(msgtype).removeprefix('m.')}: {body or filename or 'unnamed'}]"
    formatted = content.get("formatted_body")
    if content.get("format") == HTML_FORMAT and isinstance(formatted, str) and formatted.strip():
        return html_to_text(_MX_REPLY.sub("", formatted), HTML_STYLE)[0]
    return strip_reply_fallback(body) if is_reply else body


def user_native_id(value: object) -> str | None:
    return value if isinstance(value, str) and value.startswith("@") else None


def identity_for(context: ReadContext, user_id: str, display_name: str | None) -> Identity:
    return Identity(
        id=context.id("identity", user_id),
        source_id=context.source_id,
        native_id=user_id,
        display_name=display_name or user_id,
        handle=user_id,
    )


def message_from_event(
    context: ReadContext,
    event: Mapping[str, Any],
    *,
    edit: Mapping[str, Any] | None,
    root: str,
    reply_to: str | None,
    space_id: str,
) -> Message:
    """A message from ``m.room.message`` (or ``m.sticker``), with its latest edit applied.

    ``edit`` is the latest ``m.replace`` event by the same sender: its ``m.new_content``
    replaces the content (the relations stay the original's, as the spec requires).
    """
    event_id = event["event_id"]
    sent_at = parse_time(event)
    sender = user_native_id(event.get("sender"))
    original = as_dict(event.get("content"))
    content = original
    meta: JsonDict = {}
    if edit is not None:
        new_content = as_dict(as_dict(edit.get("content")).get("m.new_content"))
        if new_content:
            content = new_content
            meta["edited_at"] = parse_time(edit).isoformat()
            meta["edit_event_id"] = edit.get("event_id")
    msgtype = content.get("msgtype") or original.get("msgtype")
    if event.get("type") == "m.sticker":
        msgtype = "m.sticker"
        content = dict(content, msgtype="m.image")
    text = message_text(content, is_reply=reply_target(original) is not None)
    if msgtype and msgtype != "m.text":
        meta["msgtype"] = msgtype
    if msgtype in MEDIA_MSGTYPES or msgtype == "m.sticker":
        meta["attachment"] = attachment_meta(content)
    if thread_root(original):
        meta["thread_root"] = context.id("message", thread_root(original))
    mentioned = as_dict(content.get("m.mentions")).get("user_ids")
    if isinstance(mentioned, list) and (ids := [context.id("identity", u) for u in mentioned if user_native_id(u)]):
        meta["mentions"] = ids
    return Message(
        id=context.id("message", event_id),
        source_id=context.source_id,
        native_id=event_id,
        conversation_id=context.id("message", root),
        reply_to_id=context.id("message", reply_to) if reply_to else None,
        space_id=space_id,
        author_id=context.id("identity", sender) if sender else None,
        sent_at=sent_at,
        text=text,
        kind="notice" if msgtype == "m.notice" else "message",
        meta=meta,
    )


def reaction_from_event(context: ReadContext, event: Mapping[str, Any], *, target: str, key: str) -> Reaction:
    sender = user_native_id(event.get("sender"))
    return Reaction(
        id=context.id("reaction", event["event_id"]),
        source_id=context.source_id,
        message_id=context.id("message", target),
        identity_id=context.id("identity", sender) if sender else None,
        kind=key,
        count=1,
        reacted_at=parse_time(event),
    )


def event_from_state(context: ReadContext, event: Mapping[str, Any], *, space_id: str) -> Event:
    """A state event as an Event: memberships by what happened ("join", "leave", "invite",
    "ban", "knock"), other state by its event type (``m.room.name``, ``m.room.topic``, ...)."""
    occurred_at = parse_time(event)
    kind = str(event.get("type"))
    content = as_dict(event.get("content"))
    sender = user_native_id(event.get("sender"))
    subject = sender
    meta: JsonDict = {"type": kind}
    if kind == "m.room.member":
        membership = content.get("membership")
        if not isinstance(membership, str) or not membership:
            raise ItemError("membership event without a membership")
        kind = membership
        subject = user_native_id(event.get("state_key")) or sender
        if sender and sender != subject:
            meta["by"] = context.id("identity", sender)
        if isinstance(content.get("displayname"), str):
            meta["displayname"] = content["displayname"]
    else:
        for key in ("name", "topic", "join_rule", "history_visibility", "alias", "room_version"):
            if isinstance(content.get(key), str):
                meta[key] = content[key]
    return Event(
        id=context.id("event", event["event_id"]),
        source_id=context.source_id,
        space_id=space_id,
        identity_id=context.id("identity", subject) if subject else None,
        kind=kind,
        occurred_at=occurred_at,
        meta=meta,
    )

"""Pure functions from Mattermost payloads (bulk export lines, API v4 objects) to records.

Both shapes share Mattermost's conventions, and the choices made here:

- times are integer milliseconds since the epoch (``create_at``, ``edit_at``, ``delete_at``);
- threads are flat: every reply names the thread's root (``root_id`` in the API, nesting under
  the post in a bulk export), so ``reply_to_id`` and ``conversation_id`` are both the root;
- posts whose ``type`` starts with ``system_`` (joins, header changes, ...) record something
  happening, not something said: they become :class:`Event` records (``SYSTEM_KINDS``);
- channel type ``O`` is public; ``P`` (private), ``D`` (direct) and ``G`` (group) are private,
  and so is any type Mattermost may add later.

Functions raise :class:`~villagegreen.errors.ItemError` for a payload that cannot be mapped;
the readers turn that into a counted skip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from villagegreen.connectors.base import ReadContext
from villagegreen.errors import ItemError
from villagegreen.model import Event, Identity, JsonDict, Message, Reaction, Space, SpaceKind, utc_from_epoch

PUBLIC_CHANNEL_TYPE = "O"
# Mattermost's system post types with a canonical event kind; others keep their own name.
SYSTEM_KINDS: dict[str, str] = {
    "system_join_channel": "join",
    "system_add_to_channel": "join",
    "system_leave_channel": "leave",
    "system_remove_from_channel": "leave",
    "system_join_team": "join_team",
    "system_add_to_team": "join_team",
    "system_leave_team": "leave_team",
    "system_remove_from_team": "leave_team",
    "system_header_change": "topic",
    "system_purpose_change": "purpose",
    "system_displayname_change": "rename",
    "system_channel_deleted": "archive",
    "system_channel_restored": "unarchive",
    "system_change_chan_privacy": "privacy",
}


def parse_ms(value: object, what: str = "create_at") -> datetime:
    """A Mattermost millisecond timestamp as a UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ItemError(f"{what} {str(value)[:40]!r} is not a millisecond timestamp")
    try:
        return utc_from_epoch(value / 1000)
    except (OverflowError, OSError, ValueError):
        raise ItemError(f"{what} {value!r} is out of range") from None


def optional_ms(value: object) -> str | None:
    """An optional time (``edit_at``, ``delete_at``: 0 means never) as ISO text."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    try:
        return parse_ms(value).isoformat()
    except ItemError:
        return None


def is_private_type(channel_type: object) -> bool:
    return channel_type != PUBLIC_CHANNEL_TYPE


def space_kind(channel_type: object) -> SpaceKind:
    return "dm" if channel_type == "D" else "group_dm" if channel_type == "G" else "channel"


def event_kind(post_type: object) -> str | None:
    """The event kind of a system post, or None for a post someone wrote."""
    if not isinstance(post_type, str) or not post_type.startswith("system_"):
        return None
    return SYSTEM_KINDS.get(post_type, post_type.removeprefix("system_"))


def space_for(context: ReadContext, native_id: str, *, name: str, channel_type: object, meta: JsonDict) -> Space:
    return Space(
        id=context.id("space", native_id),
        source_id=context.source_id,
        native_id=native_id,
        name=name or native_id,
        kind=space_kind(channel_type),
        private=is_private_type(channel_type),
        meta={key: value for key, value in meta.items() if value not in (None, "")},
    )


def identity_for(context: ReadContext, native_id: str, user: Mapping[str, Any]) -> Identity:
    """An account from a bulk ``user`` line or an API user object (same field names)."""
    username = text(user.get("username"))
    full = " ".join(part for part in (text(user.get("first_name")), text(user.get("last_name"))) if part)
    meta: JsonDict = {
        "nickname": text(user.get("nickname")),
        "position": text(user.get("position")),
        "roles": text(user.get("roles")),
        "deleted_at": optional_ms(user.get("delete_at")),
    }
    return Identity(
        id=context.id("identity", native_id),
        source_id=context.source_id,
        native_id=native_id,
        display_name=full or text(user.get("nickname")) or username or native_id,
        handle=username,
        email=text(user.get("email")),
        is_bot=bool(user.get("is_bot")),
        meta={key: value for key, value in meta.items() if value is not None},
    )


def unknown_identity(context: ReadContext, native_id: str, *, name: str | None = None, is_bot: bool = False) -> Identity:
    """An author no user object describes: known only by the name or id the post gives."""
    return Identity(
        id=context.id("identity", native_id),
        source_id=context.source_id,
        native_id=native_id,
        display_name=name or native_id,
        handle=name,
        is_bot=is_bot,
        meta={"unlisted": True},
    )


def post_text(post: Mapping[str, Any]) -> tuple[str, bool]:
    """The message, or the integrations' attachment fallbacks when it is empty (and whether)."""
    message = text(post.get("message")) or ""
    if message.strip():
        return message, False
    fallbacks = [a.get("fallback") or a.get("text") for a in dicts(as_dict(post.get("props")).get("attachments"))]
    joined = "\n".join(f for f in fallbacks if isinstance(f, str) and f)
    return joined, bool(joined)


def message_for(
    context: ReadContext,
    post: Mapping[str, Any],
    *,
    native_id: str,
    root_native: str,
    space_id: str,
    author: str | None,
    files: list[JsonDict] | None = None,
) -> Message:
    """A post or reply; a deleted one (``delete_at`` > 0) is a tombstone without its text."""
    sent_at = parse_ms(post.get("create_at"))
    body, from_attachments = post_text(post)
    props = as_dict(post.get("props"))
    deleted_at = optional_ms(post.get("delete_at"))
    meta: JsonDict = {
        "type": text(post.get("type")),
        "edited_at": optional_ms(post.get("edit_at")),
        "deleted_at": deleted_at,
        "pinned": True if post.get("is_pinned") else None,
        "text_from": "attachments" if from_attachments else None,
        "from_webhook": True if props.get("from_webhook") == "true" else None,
        "override_username": text(props.get("override_username")),
        "files": files or None,
        "hashtags": text(post.get("hashtags")),
    }
    is_root = root_native == native_id
    return Message(
        id=context.id("message", native_id),
        source_id=context.source_id,
        native_id=native_id,
        conversation_id=context.id("message", root_native),
        reply_to_id=None if is_root else context.id("message", root_native),
        space_id=space_id,
        author_id=context.id("identity", author) if author else None,
        sent_at=sent_at,
        # Whoever deleted a post took it back: keep its place in the thread, not its words.
        text="" if deleted_at else body,
        kind="tombstone" if deleted_at else "message",
        meta={key: value for key, value in meta.items() if value is not None},
    )


def event_for(context: ReadContext, post: Mapping[str, Any], kind: str, *, native_id: str, space_id: str, actor: str | None) -> Event:
    props = as_dict(post.get("props"))
    meta: JsonDict = {
        "type": post.get("type"),
        "text": text(post.get("message")),
        # Header/purpose/rename posts carry the new value in props.
        "new": text(props.get("new_header")) or text(props.get("new_purpose")) or text(props.get("new_displayname")),
        "old": text(props.get("old_header")) or text(props.get("old_purpose")) or text(props.get("old_displayname")),
        "username": text(props.get("username")),
    }
    return Event(
        id=context.id("event", native_id),
        source_id=context.source_id,
        space_id=space_id,
        identity_id=context.id("identity", actor) if actor else None,
        kind=kind,
        occurred_at=parse_ms(post.get("create_at")),
        meta={key: value for key, value in meta.items() if value is not None},
    )


def reaction_for(context: ReadContext, *, message_native: str, message_id: str, reactor: str, emoji: str, created: object) -> Reaction:
    try:
        reacted_at: datetime | None = parse_ms(created)
    except ItemError:
        reacted_at = None
    return Reaction(
        id=context.id("reaction", f"{message_native}:{emoji}:{reactor}"),
        source_id=context.source_id,
        message_id=message_id,
        identity_id=context.id("identity", reactor),
        kind=emoji,
        reacted_at=reacted_at,
    )


def text(value: object) -> str | None:
    """``value`` when it is a non-empty string."""
    return value if isinstance(value, str) and value else None


def as_dict(value: object) -> JsonDict:
    return value if isinstance(value, dict) else {}


def dicts(value: object) -> list[JsonDict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str) and item] if isinstance(value, list) else []


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))

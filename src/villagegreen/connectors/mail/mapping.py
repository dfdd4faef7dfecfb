"""Pure functions from parsed mail headers and bodies to canonical records.

Addresses: pipermail writes ``ann at example.org``, which is undone exactly. Some archives
(stat.ethz.ch from 2018 on) used a lossy scheme instead, ``@nn @end|ng |rom ex@mp|e@org``,
where several letters collapse into ``@`` or ``|``. Such an address is matched to the one clean
address in the archive that collapses to the same shape; without a unique match it keeps the
collapsed shape as its identity key, so the same person's lossy variants still merge.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.mail.body import Parts
from villagegreen.model import Conversation, Identity, JsonDict, Message, Space

# " at " is pipermail's reversible obfuscation; the others are the lossy variants seen in
# Mailman archives (they read "sending from" and "mailing off" after letter substitution).
_OBFUSCATED_AT = re.compile(r"\s+(at|@ending from|@end\|ng \|rom|m@ili@g off|m@iii@g oii|@ending \|rom)\s+", re.IGNORECASE)
_LOSSY_SHAPE = str.maketrans({"a": "@", "s": "@", "n": "@", ".": "@", "i": "|", "l": "|", "f": "|"})
_ANGLE = re.compile(r"<([^<>]*)>")
_QUOTES = " \t\"'"


class ParsedHeader(NamedTuple):
    """What threading and mapping need from one message; kept small for million-message archives."""

    native_id: str
    links: tuple[str, ...]
    has_in_reply_to: bool
    sent_at: datetime
    subject: str
    address: str
    name: str
    lossy: bool
    list_id: str
    content_type: str
    transfer_encoding: str
    where: str
    date_source: str
    # For threading, computed with the header (in the first pass's workers, when it has them):
    # the normalised subject, and whether the message may be attached to a thread by it.
    subject_key: str = ""
    reply_hint: bool = False


def deobfuscate(text: str) -> tuple[str, bool]:
    """``text`` with obfuscated "at" separators turned into ``@``; True when the scheme was lossy."""
    if " " not in text and text.isprintable():
        # Every separator the pattern knows starts with whitespace, and a printable string
        # holds none but " ": the common case skips the regex and its callback.
        return text, False
    lossy = False

    def replace(match: re.Match[str]) -> str:
        nonlocal lossy
        lossy = lossy or match.group(1).lower() != "at"
        return "@"

    return _OBFUSCATED_AT.sub(replace, text), lossy


def parse_from(value: str) -> tuple[str, str, bool]:
    """(lowercased address, display name, lossy) from a From header in any of its usual forms."""
    value = value.strip()
    name = ""
    angle = _ANGLE.search(value)
    if angle:
        address = angle.group(1)
        name = (value[: angle.start()] + value[angle.end() :]).strip(_QUOTES)
    elif "(" in value:
        # "addr (Name)", pipermail's form; the name itself may contain parentheses.
        opening = value.index("(")
        address, name = value[:opening], value[opening + 1 : value.rindex(")") if value.endswith(")") else len(value)]
    else:
        address = value
    address, lossy = deobfuscate(address.strip())
    address = address.strip(_QUOTES).removeprefix("mailto:").replace(" ", "").lower()
    name = " ".join(name.strip(_QUOTES).split())
    return address, name, lossy or address.count("@") > 1


def lossy_shape(address: str) -> str:
    return address.lower().translate(_LOSSY_SHAPE)


def resolve_identities(headers: Iterable[ParsedHeader | None]) -> tuple[dict[tuple[str, bool], str], dict[str, Counter[str]]]:
    """Map each (address, lossy) seen to an identity key, and count the display names per key."""
    # Each (address, lossy, name) once, in first-seen order: far fewer than the messages, so
    # shapes are computed and names counted per sender rather than per message.
    senders = Counter((h.address, h.lossy, h.name) for h in headers if h is not None and h.address)
    clean_by_shape: dict[str, set[str]] = {}
    lossy_seen: set[str] = set()
    for address, lossy in dict.fromkeys((address, lossy) for address, lossy, _name in senders):
        if lossy:
            lossy_seen.add(address)
        else:
            clean_by_shape.setdefault(lossy_shape(address), set()).add(address)
    keys: dict[tuple[str, bool], str] = {}
    for address in lossy_seen:
        shape = lossy_shape(address)
        candidates = clean_by_shape.get(shape, set())
        keys[(address, True)] = next(iter(candidates)) if len(candidates) == 1 else f"obfuscated:{shape}"
    names: dict[str, Counter[str]] = {}
    for (address, lossy, name), count in senders.items():
        key = keys.get((address, lossy), address)
        names.setdefault(key, Counter())[name] += count
    return keys, names


def identity_record(context: ReadContext, key: str, names: Counter[str], handle: str | None) -> Identity:
    named = [(count, name) for name, count in names.items() if name]
    obfuscated = key.startswith("obfuscated:")
    display = max(named)[1] if named else (handle or key).split("@", 1)[0]
    meta: JsonDict = {"address_obfuscated": True} if obfuscated else {}
    return Identity(
        id=context.id("identity", key),
        source_id=context.source_id,
        native_id=key,
        display_name=display,
        handle=handle,
        email=None if obfuscated else key,
        meta=meta,
    )


def space_record(context: ReadContext, list_id: str, tag: str | None) -> Space:
    name = list_id.split(".", 1)[0] if "." in list_id and "@" not in list_id else list_id
    meta: JsonDict = {"list_id": list_id}
    if tag:
        meta["subject_tag"] = tag
    return Space(id=context.id("space", list_id), source_id=context.source_id, native_id=list_id, name=name, kind="list", meta=meta)


def conversation_record(context: ReadContext, header: ParsedHeader, message_id: str, space_id: str, title: str) -> Conversation:
    """The conversation a root message starts; it shares the root message's id."""
    return Conversation(
        id=message_id,
        source_id=context.source_id,
        space_id=space_id,
        title=title or None,
        started_at=header.sent_at,
    )


class MessageIds(NamedTuple):
    """The ids a message row points at, hashed once per archive by the caller."""

    message: str
    conversation: str  # the root message's id
    reply_to: str | None
    space: str
    author: str | None


def message_record(context: ReadContext, header: ParsedHeader, parts: Parts, *, ids: MessageIds, threaded_by: str) -> Message:
    meta: JsonDict = {"subject": header.subject}
    if parts.quoted:
        meta["quoted"] = parts.quoted
    if parts.signature:
        meta["signature"] = parts.signature
    if parts.list_footer:
        meta["list_footer_removed"] = True
    if threaded_by:
        meta["threaded_by"] = threaded_by
    if header.date_source:
        meta["date_source"] = header.date_source
    return Message(
        id=ids.message,
        source_id=context.source_id,
        native_id=header.native_id,
        conversation_id=ids.conversation,
        reply_to_id=ids.reply_to,
        space_id=ids.space,
        author_id=ids.author,
        sent_at=header.sent_at,
        text=parts.text,
        meta=meta,
    )

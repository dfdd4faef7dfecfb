"""Pure functions from parsed WhatsApp entries to canonical records.

An entry is either a message (``Name: text``) or a system line (``Ann added Bo``). System
phrasing is English-only and matched with anchored patterns whose actor part may not contain a
colon, so a message such as ``Ann: I added a photo`` can never be taken for a system line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from villagegreen.connectors.base import ReadContext
from villagegreen.model import Event, Identity, JsonDict, Message, Space, SpaceKind

# Bidi controls WhatsApp wraps around names and numbers (Android puts U+202A/U+202C around
# phone numbers, iOS puts U+200E before media and system text).
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_PHONE = re.compile(r"^\+?\d[\d \-().\u00a0]{5,}\d$")
_PHONE_IN_TEXT = re.compile(r"\+?\d[\d \-()\u00a0]{6,}\d")
# Bounded: names are short, and an unbounded lazy run costs seconds on a hostile 100 MB line.
_ACTOR = r"(?P<actor>[^:\n]{1,200}?)"
_SYSTEM: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.I))
    for kind, pattern in (
        ("system", r"^Messages (?:and calls )?(?:to this (?:group|chat) )?are (?:now )?(?:secured with )?end-to-end encrypt"),
        ("create", rf'^{_ACTOR} created (?:the )?group(?: ["“](?P<title>.*)["”])?$'),
        ("join", rf"^{_ACTOR} joined(?: using this group's invite link| from the community| via an invite link)?$"),
        ("join", rf"^{_ACTOR} added (?P<targets>[^:\n]+)$"),
        ("leave", rf"^{_ACTOR} left$"),
        ("leave", rf"^{_ACTOR} removed (?P<targets>[^:\n]+)$"),
        ("subject_change", rf'^{_ACTOR} changed the (?:subject|group name) (?:from ["“](?P<old>.*)["”] )?to ["“](?P<title>.*)["”]$'),
        ("description_change", rf"^{_ACTOR} (?:changed|deleted) the group description"),
        ("icon_change", rf"^{_ACTOR} (?:changed|deleted|removed) (?:this group's|the group) (?:icon|photo)$"),
        ("number_change", rf"^{_ACTOR} changed (?:their phone number|to )"),
        ("settings_change", rf"^{_ACTOR} (?:changed (?:this group's |the group )?settings|turned (?:on|off) disappearing messages)"),
        ("admin_change", rf"^{_ACTOR}(?: is|'re| are) (?:now|no longer) an admin$"),
        ("security_code", rf"^{_ACTOR}'s? security code (?:with .* )?changed"),
        ("call", r"^Missed (?:group )?(?:voice|video) call"),
    )
)
# File-name markers: iOS writes 00000012-PHOTO-..., Android IMG-..., VID-..., PTT-... (voice notes).
_MEDIA_TYPES = {
    **dict.fromkeys(("PHOTO", "IMG"), "image"),
    **dict.fromkeys(("VIDEO", "VID"), "video"),
    **dict.fromkeys(("AUDIO", "AUD", "PTT"), "audio"),
    **dict.fromkeys(("STICKER", "STK"), "sticker"),
    "GIF": "gif",
}
_OMITTED = re.compile(r"^(?:<media omitted>|(?P<type>image|video|audio|sticker|gif|document|contact card|video note)\s+omitted)$", re.I)
_DOCUMENT = re.compile(r"document omitted$", re.I)
_ATTACHED = re.compile(r"^<attached: (?P<file>[^<>\n]+)>$", re.I)
_FILE_ATTACHED = re.compile(r"^(?P<file>[^\n]+\.\w{1,5}) \(file attached\)$", re.I)
_DELETED = re.compile(r"^(?:this message was deleted|you deleted this message)\.?$", re.I)
_EDITED = re.compile(r"\s*<this message was edited>$", re.I)


@dataclass(slots=True)
class SystemLine:
    kind: str
    actor: str | None = None
    targets: list[str] = field(default_factory=list)
    meta: JsonDict = field(default_factory=dict)


def clean_name(name: str) -> str:
    return " ".join(_BIDI.sub("", name).split())


def is_phone(name: str) -> bool:
    return _PHONE.match(name) is not None


def identity_key(name: str) -> str:
    """The identity's native id: the name as shown, or a digest for a phone number, so that the
    number itself is stored only as the identity's handle."""
    if is_phone(name):
        digits = re.sub(r"\D", "", name)
        return "phone:" + hashlib.blake2b(digits.encode(), digest_size=8).hexdigest()
    return name


def is_you(name: str) -> bool:
    # System lines say "You" for the person who exported the chat; their name is not written.
    return name.casefold() == "you"


def system_line(text: str) -> SystemLine | None:
    """The system event ``text`` describes, or None when it reads like ``Name: message``."""
    for kind, pattern in _SYSTEM:
        match = pattern.match(text)
        if match is None:
            continue
        groups = match.groupdict()
        actor = clean_name(groups["actor"]) if groups.get("actor") else None
        targets = [clean_name(t) for t in re.split(r", | and ", groups["targets"]) if clean_name(t)] if groups.get("targets") else []
        meta: JsonDict = {k: groups[k] for k in ("title", "old") if groups.get(k) is not None}
        return SystemLine(kind, actor, targets, meta)
    return None


def split_entry(body: str) -> tuple[str | None, str, SystemLine | None]:
    """(author, text, system) for an entry's text after its stamp; exactly one of author and
    system is set."""
    first = body.split("\n", 1)[0]
    if (known := system_line(_BIDI.sub("", first))) is not None:
        return None, body, known
    author, colon, text = body.partition(": ")
    if not colon or "\n" in author:
        return None, body, SystemLine("system")
    author = clean_name(author)
    if text.startswith("\u200e") and placeholder(text)[1] is None:
        # iOS writes system lines as "<chat or person>: \u200e<what happened>".
        inner = _BIDI.sub("", text)
        system = system_line(inner) or SystemLine("system")
    elif (call := system_line(text)) is not None and call.kind == "call":
        inner, system = text, call
    else:
        return author, text, None
    if system.kind == "call":
        # A missed call is written as if the caller said it.
        system.actor = author
    return None, inner, system


def placeholder(text: str) -> tuple[str, JsonDict | None]:
    """(text, meta) with media and deletion placeholders replaced by ``[media]``/``[deleted]``;
    meta is None for an ordinary text."""
    first, _, caption = text.partition("\n")
    bare = _BIDI.sub("", first).strip()
    meta: JsonDict
    if _DELETED.match(bare):
        return "[deleted]", {"deleted": True}
    if match := _OMITTED.match(bare):
        meta = {"media": (match.group("type") or "media").lower().replace(" ", "_")}
    elif _DOCUMENT.search(bare):
        meta = {"media": "document"}
    elif match := _ATTACHED.match(bare) or _FILE_ATTACHED.match(bare):
        file = match.group("file").strip()
        kind = next((v for k, v in _MEDIA_TYPES.items() if k in file.upper()), "file")
        meta = {"media": kind, "attachment": file}
    else:
        return text, None
    return "[media]" + (f"\n{caption}" if caption.strip() else ""), meta


def message_text(text: str) -> tuple[str, JsonDict]:
    """The text to store for a message and the meta its placeholders and markers imply."""
    edited = _EDITED.search(text)
    if edited:
        text = text[: edited.start()]
    shown, meta = placeholder(text)
    meta = dict(meta or {})
    if edited:
        meta["edited"] = True
    return shown, meta


def redact_phones(text: str) -> str:
    return _PHONE_IN_TEXT.sub("[phone number]", text)


def identity_record(context: ReadContext, name: str) -> Identity:
    key = identity_key(name)
    phone = key != name
    display = f"phone number ending {re.sub(r'[^0-9]', '', name)[-2:]}" if phone else name
    return Identity(
        id=context.id("identity", key),
        source_id=context.source_id,
        native_id=key,
        display_name=display,
        handle=name if phone else None,
        meta={"phone_number": True} if phone else {},
    )


def space_record(context: ReadContext, chat: str, kind: SpaceKind, meta: JsonDict) -> Space:
    return Space(id=context.id("space", chat), source_id=context.source_id, native_id=chat, name=chat, kind=kind, private=True, meta=meta)


def message_record(context: ReadContext, native_id: str, space_id: str, author: str, sent_at: datetime, text: str, meta: JsonDict) -> Message:
    message_id = context.id("message", native_id)
    return Message(
        id=message_id,
        source_id=context.source_id,
        native_id=native_id,
        # WhatsApp exports carry no reply links: each message starts as its own root; the
        # connector then regroups the chat with flat-channel disentanglement.
        conversation_id=message_id,
        reply_to_id=None,
        space_id=space_id,
        author_id=context.id("identity", identity_key(author)),
        sent_at=sent_at,
        text=text,
        meta=meta,
    )



def event_record(context: ReadContext, native_id: str, space_id: str, system: SystemLine, text: str, occurred_at: datetime) -> Event:
    def ref(name: str) -> str:
        return "you" if is_you(name) else context.id("identity", identity_key(name))

    meta: JsonDict = {"text": redact_phones(_BIDI.sub("", text).strip()), **system.meta}
    if system.actor:
        meta["actor"] = ref(system.actor)
    if system.targets:
        meta["targets"] = [ref(t) for t in system.targets]
    # The identity an event is about: who joined or left (the target when someone was added or
    # removed), otherwise who acted.
    subjects = system.targets or ([system.actor] if system.actor else [])
    identity_id = ref(subjects[0]) if len(subjects) == 1 and not is_you(subjects[0]) else None
    return Event(
        id=context.id("event", native_id),
        source_id=context.source_id,
        space_id=space_id,
        identity_id=identity_id,
        kind=system.kind,
        occurred_at=occurred_at,
        meta=meta,
    )


def event_names(system: SystemLine) -> list[str]:
    """Names in a system line that stand for members (lurkers show up only here)."""
    return [name for name in ([system.actor] if system.actor else []) + system.targets if not is_you(name)]

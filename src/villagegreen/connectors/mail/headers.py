"""Header blocks to :class:`ParsedHeader`: the fields threading and mapping need.

Headers are split by hand (the ``email`` package costs ~20x more per message and is kept for
RFC 2047 words and MIME bodies, where its robustness matters).
"""

from __future__ import annotations

import hashlib
import re
from contextlib import suppress
from datetime import datetime
from email.errors import CharsetError, HeaderParseError
from email.header import decode_header, make_header
from functools import lru_cache

from villagegreen.connectors.mail.dates import send_time
from villagegreen.connectors.mail.mapping import ParsedHeader, parse_from
from villagegreen.connectors.mail.mbox import envelope, envelope_sender
from villagegreen.connectors.mail.threading import looks_like_reply, subject_key

_ID = re.compile(r"<([^<>]+)>")
_ID_AT = re.compile(r"\s+at\s+")
WANTED = frozenset(("from", "date", "subject", "message-id", "in-reply-to", "references", "list-id", "content-type", "content-transfer-encoding"))
MAX_REFERENCES = 20


# Cached: senders and subjects repeat across an archive (see _sender).
@lru_cache(maxsize=1 << 14)
def decode_header_text(raw: str) -> str:
    """A header value (read as Latin-1) as text: raw UTF-8 repaired, RFC 2047 words decoded."""
    if not raw.isascii():
        with suppress(UnicodeError):
            raw = raw.encode("latin-1").decode("utf-8")
    if "=?" in raw:
        # CharsetError: a charset name that is not ASCII (damaged or hostile header).
        with suppress(HeaderParseError, CharsetError, LookupError, UnicodeError, ValueError, AssertionError):
            raw = str(make_header(decode_header(raw)))
    return " ".join(raw.split())


def header_fields(block: str) -> dict[str, str] | str:
    """The wanted fields of a header block (first occurrence wins, folded lines joined), or why not.

    A header line is a name of printable ASCII without spaces or colons, optional spaces, a
    colon; lines starting with a space or tab continue it. The block ends at the first line
    that is neither, as in the email package; the first line must be a header. (A loop over
    lines: one regex match per header measured slower.)
    """
    fields: dict[str, str] = {}
    current = ""
    for number, text in enumerate(block.split("\n")):
        if text[:1] in (" ", "\t"):
            if number == 0:
                return "broken headers: the first line after the envelope is indented"
            if current:
                fields[current] += text
            continue
        colon = text.find(":")
        if colon <= 0:
            kind = _NOT_A_NAME
        else:
            name = text[:colon]
            found = _NAME_KINDS.get(name)
            kind = _name_kind(name) if found is None else found
        if kind == _NOT_A_NAME:
            # The email package ends the headers at such a line too; the first line must be one.
            if number == 0:
                return "broken headers: the first line after the envelope is not a header"
            break
        current = kind if kind and kind not in fields else ""
        if current:
            fields[current] = text[colon + 1 :]
    return fields


# What each raw header name (the text before the colon) is: its lowercased form when wanted,
# "" when not wanted, _NOT_A_NAME when it is no header name at all. Archives use few distinct
# names, so a dictionary look-up replaces five string checks per header line (measured: header
# splitting 20-30% cheaper on the synthetic and real archives); bounded, against invented names.
_NOT_A_NAME = ":"
_NAME_KINDS: dict[str, str] = {}
_MAX_NAME_KINDS = 4096


def _name_kind(name: str) -> str:
    """A header name is printable ASCII without spaces inside (spaces before the colon are allowed)."""
    stripped = name.strip()
    if not name.isascii() or not name.isprintable() or " " in stripped:
        kind = _NOT_A_NAME
    else:
        lowered = stripped.lower()
        kind = lowered if lowered in WANTED else ""
    if len(_NAME_KINDS) < _MAX_NAME_KINDS:
        _NAME_KINDS[name] = kind
    return kind


def parse_header(message: bytes, line: int, where: str, found: re.Match[bytes] | None = None) -> ParsedHeader | str:
    """The fields threading and mapping need, or the reason the message cannot be imported.

    ``found``: the :func:`~villagegreen.connectors.mail.mbox.envelope` match of the message's
    envelope line when the splitter already has it (the same groups as a new search of
    ``message`` would give, in whatever text it searched), saving the search; else it is searched.
    """
    return parse_header_span(message, 0, len(message), line, where, found)


def parse_header_span(buf: bytes, start: int, end: int, line: int, where: str, found: re.Match[bytes] | None = None) -> ParsedHeader | str:
    """:func:`parse_header` of the message ``buf[start:end]``, read in place (LF line ends only:
    the caller replaces CRLF first), so the first pass never copies a body."""
    envelope_end = buf.find(b"\n", start, end)
    if envelope_end < 0:
        return "the message has nothing after its envelope line"
    if found is None:
        found = envelope(buf, start, envelope_end)
    block_end = buf.find(b"\n\n", envelope_end, end)
    block = buf[envelope_end + 1 : end if block_end < 0 else block_end].decode("latin-1")
    fields = header_fields(block)
    if isinstance(fields, str):
        return fields
    sent_at, date_source = send_time(fields.get("date"), found)
    if sent_at is None:
        return "no parsable Date header or envelope date"
    subject = decode_header_text(fields.get("subject", ""))
    sender = _sender(fields.get("from", ""))
    if sender is None and found is not None:
        sender = parse_from(envelope_sender(found))
    address, name, lossy = sender or ("", "", False)
    native_id = _message_id(fields.get("message-id", "")) or _synthetic_id(address, sent_at, subject)
    in_reply_to = _ids(fields.get("in-reply-to", ""))[:1]
    references = _ids(fields.get("references", ""))[-MAX_REFERENCES:]
    if len(references) <= 1:  # the usual case, without building a dictionary
        links = tuple(in_reply_to) if references == in_reply_to or not references else (*in_reply_to, references[0])
    else:
        links = tuple(dict.fromkeys((*in_reply_to, *reversed(references))))
    list_id = _list_id(fields.get("list-id", ""))
    # Positional: a NamedTuple built from keywords cost 2-3 µs more per message (measured).
    return ParsedHeader(
        native_id,  # native_id
        links,  # links
        bool(in_reply_to),  # has_in_reply_to
        sent_at,  # sent_at
        subject,  # subject
        address,  # address
        name,  # name
        lossy,  # lossy
        list_id,  # list_id
        _collapsed(fields.get("content-type", "")),  # content_type
        fields.get("content-transfer-encoding", "").strip(),  # transfer_encoding
        f"{where}:{line}",  # where
        date_source,  # date_source
        subject_key(subject),  # subject_key
        bool(links) or looks_like_reply(subject),  # reply_hint
    )


# Senders, subjects, list ids and content types repeat across an archive (a thread's replies
# share a subject; a few people write most messages), so their parses are cached per raw value
# (measured: a header 10-15% cheaper, and the subject's threading key nearly free). Bounded, as a
# million-message archive has many of each.
@lru_cache(maxsize=1 << 14)
def _sender(raw: str) -> tuple[str, str, bool] | None:
    """(address, display name, lossy) of a raw From value; None when it decodes to nothing."""
    value = decode_header_text(raw)
    return parse_from(value) if value else None


@lru_cache(maxsize=1 << 10)
def _list_id(raw: str) -> str:
    found = _ids(raw.lower())
    return found[0] if found else ""


@lru_cache(maxsize=1 << 10)
def _collapsed(raw: str) -> str:
    return " ".join(raw.split())


def _ids(value: str) -> list[str]:
    if not value:
        return []
    single = value.strip()
    if single[:1] == "<" and single[-1:] == ">" and len(single) > 2 and single.count("<") == 1 and single.count(">") == 1:
        # The usual value, one "<id>": the only match the regex below would find, without it.
        normalised = _normalise_id(single[1:-1])
        return [normalised] if normalised else []
    found = _ID.findall(value)
    if not found:
        found = value.split()[:1]
    return [normalised for raw in found if (normalised := _normalise_id(raw))]


def _normalise_id(raw: str) -> str:
    # Pipermail obfuscates some Message-IDs ("<x at gmail.com>") but not the In-Reply-To that
    # points at them; both sides get the same treatment so the link still resolves.
    raw = raw.strip()
    if " " in raw or "\t" in raw or "\n" in raw:
        raw = "".join(_ID_AT.sub("@", raw).split())
    return raw.strip("<>")


def _message_id(value: str) -> str:
    found = _ids(value)
    return found[0] if found else ""


def _synthetic_id(address: str, sent_at: datetime, subject: str) -> str:
    digest = hashlib.blake2b(f"{address}\x1f{sent_at.isoformat()}\x1f{subject}".encode(), digest_size=12).hexdigest()
    return f"{digest}@missing-message-id.villagegreen.invalid"

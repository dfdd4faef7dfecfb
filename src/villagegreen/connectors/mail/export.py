"""Reading mbox and pipermail archives: finding the files, splitting messages, parsing headers.

Messages are split on envelope lines (``From <sender> <asctime date>``) found with
``bytes.find`` and confirmed by one compiled regex, over chunks of the file, so a body line
that merely starts with "From " never splits a message and memory stays bounded whatever the
file size. Headers are split by hand (the ``email`` package costs ~20x more per message and is
kept for RFC 2047 words and MIME bodies, where its robustness matters).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from email.errors import CharsetError, HeaderParseError
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime
from functools import cache, lru_cache
from typing import IO

from villagegreen.connectors.mail.mapping import ParsedHeader, parse_from
from villagegreen.connectors.mail.threading import looks_like_reply, subject_key
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_MONTH = "|".join(_MONTHS)
# The envelope's date sits at the end of the line, so it is matched from there: a regex that
# scanned the sender first would backtrack through every character of it.
_ENVELOPE_DATE = re.compile(
    rb" (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +(?P<mon>" + _MONTH.encode() + rb") +(?P<day>\d{1,2})"
    rb" +(?P<h>\d{1,2}):(?P<m>\d\d)(?::(?P<s>\d\d))?(?: +(?P<tz1>[A-Z]{1,5}|[+-]\d{4}))? +(?P<year>\d{4})(?: +(?P<tz2>[+-]\d{4}))?[ \t\r]*$"
)
_ENVELOPE_DATE_MAX = 48
_DATE = re.compile(r"\s*(?:\w{3},\s*)?(\d{1,2})\s+(" + _MONTH + r")\w*\s+(\d{4})\s+(\d{1,2}):(\d\d)(?::(\d\d))?(?:\.\d+)?\s*([+-]\d{4})", re.I)
_ID = re.compile(r"<([^<>]+)>")
_ID_AT = re.compile(r"\s+at\s+")
_MIME_FROM = re.compile(rb"^>(>*From )", re.M)
WANTED = frozenset(("from", "date", "subject", "message-id", "in-reply-to", "references", "list-id", "content-type", "content-transfer-encoding"))
MAIL_SUFFIXES = (".mbox", ".mbx", ".txt", ".txt.gz", ".mbox.gz", ".gz", ".mail")
CHUNK = 1 << 22
MAX_PREAMBLE = 1 << 20  # text allowed before the first envelope line before we call it "not an mbox"
DATE_TOLERANCE = timedelta(days=7)
MAX_REFERENCES = 20
Readable = IO[bytes] | gzip.GzipFile


def candidate_names(tree: SourceTree) -> list[str]:
    """Files that may be archives by name: known suffixes, or no suffix (Unix mbox files)."""
    names = []
    for name in tree.names():
        base = name.rsplit("/", 1)[-1].lower()
        if base.endswith(MAIL_SUFFIXES) or "." not in base:
            names.append(name)
    return names


@contextmanager
def open_archive(tree: SourceTree, name: str) -> Iterator[Readable]:
    """A binary stream of ``name``, gunzipped when it ends in .gz; closes the file underneath too."""
    with tree.open(name) as stream:
        if name.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
                yield unzipped
        else:
            yield stream


def head(tree: SourceTree, name: str, size: int = 4096) -> bytes:
    """The first bytes of a (possibly gzipped) file; empty when unreadable."""
    try:
        with tree.open(name) as stream:
            if not name.lower().endswith(".gz"):
                return stream.read(size)
            # A decompressor object returns what it can of a truncated file instead of raising,
            # so a damaged archive is still recognised and then reported by name when read.
            return zlib.decompressobj(wbits=31).decompress(stream.read(max(size, 1 << 16)), size)
    except (OSError, EOFError, zlib.error, InputError):
        return b""


def envelope(data: bytes, start: int, end: int) -> re.Match[bytes] | None:
    """The date part of the envelope line ``data[start:end]``, or None if that is no envelope line."""
    if not data.startswith(b"From ", start):
        return None
    return _ENVELOPE_DATE.search(data, max(start + 4, end - _ENVELOPE_DATE_MAX), end)


def envelope_sender(data: bytes, match: re.Match[bytes]) -> str:
    line_start = data.rfind(b"\n", 0, match.start()) + 1
    return data[line_start + 5 : match.start()].strip().decode("latin-1")


def starts_like_mbox(data: bytes) -> bool:
    data = data.lstrip(b"\r\n\xef\xbb\xbf")
    end = data.find(b"\n")
    return envelope(data, 0, end if end >= 0 else len(data)) is not None


def split_messages(stream: Readable, chunk_size: int = CHUNK) -> Iterator[tuple[int, bytes]]:
    """(line number of the envelope, message bytes with its envelope line) for each message."""
    for line, _offset, message in split_with_offsets(stream, chunk_size):
        yield line, message


def split_with_offsets(stream: Readable, chunk_size: int = CHUNK) -> Iterator[tuple[int, int, bytes]]:
    """:func:`split_messages` with each message's byte offset in the (decompressed) stream.

    Messages lie back to back, so the offsets alone are enough to cut the same messages out
    again (:func:`cut_messages`) without searching for envelope lines a second time.
    """
    buf = b""
    base = 0  # offset in the stream of buf[0]
    start = -1  # offset of the current message's envelope in buf; -1 before the first one
    scan = 0  # where to look for the next envelope line; always a line start
    line, line_pos = 1, 0  # the line number at offset line_pos, advanced monotonically
    eof = False
    while not eof:
        chunk = stream.read(chunk_size)
        eof = not chunk
        buf += chunk
        limit = len(buf) if eof else buf.rfind(b"\n") + 1
        for candidate in _line_starts_with_from(buf, scan, limit):
            end = buf.find(b"\n", candidate, limit)
            if envelope(buf, candidate, end if end >= 0 else limit) is None:
                continue
            if start >= 0:
                yield line, base + start, buf[start:candidate]
            line += buf.count(b"\n", line_pos, candidate)
            line_pos = start = candidate
        scan = max(limit, scan)
        if start > 0:
            buf, scan, line_pos, base, start = buf[start:], scan - start, 0, base + start, 0
        elif start < 0 and len(buf) > MAX_PREAMBLE:
            return
    if start >= 0:
        yield line, base + start, buf[start:]


def cut_messages(stream: Readable, offsets: Sequence[int], end: int | None = None, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The messages that start at ``offsets`` (ascending, from :func:`split_with_offsets`), the last
    running to ``end`` (the next message's offset) or to the end of the stream; the same bytes
    :func:`split_messages` yields. The stream is sought to the first offset (by reading forward
    for compressed ones, or where it cannot seek)."""
    if not offsets:
        return
    base = offsets[0]  # offset in the stream of buf[0]
    if base and stream.seekable():
        stream.seek(base)
    else:  # a zip member read from a stream that cannot seek: read up to the first message
        skipped = 0
        while skipped < base and (chunk := stream.read(min(chunk_size, base - skipped))):
            skipped += len(chunk)
    buf = b""
    eof = False
    for k, first in enumerate(offsets):
        following = offsets[k + 1] if k + 1 < len(offsets) else end
        while not eof and (following is None or base + len(buf) < following):
            chunk = stream.read(chunk_size)
            eof = not chunk
            buf += chunk
        yield buf[first - base :] if following is None else buf[first - base : following - base]
        if following is not None and following - base > chunk_size:
            buf, base = buf[following - base :], following


def _line_starts_with_from(buf: bytes, pos: int, limit: int) -> Iterator[int]:
    if buf.startswith(b"From ", pos) and pos < limit:
        yield pos
    while (found := buf.find(b"\nFrom ", pos, limit)) >= 0:
        pos = found + 1
        yield pos


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
        name = text[:colon]
        stripped = name.strip()
        if colon <= 0 or not name.isascii() or not name.isprintable() or " " in stripped:
            # The email package ends the headers at such a line too; the first line must be one.
            if number == 0:
                return "broken headers: the first line after the envelope is not a header"
            break
        name = stripped.lower()
        current = name if name in WANTED and name not in fields else ""
        if current:
            fields[current] = text[colon + 1 :]
    return fields


def parse_header(message: bytes, line: int, where: str) -> ParsedHeader | str:
    """The fields threading and mapping need, or the reason the message cannot be imported."""
    envelope_end = message.find(b"\n")
    if envelope_end < 0:
        return "the message has nothing after its envelope line"
    found = envelope(message, 0, envelope_end)
    block_end = message.find(b"\n\n", envelope_end)
    block = message[envelope_end + 1 : len(message) if block_end < 0 else block_end].decode("latin-1")
    fields = header_fields(block)
    if isinstance(fields, str):
        return fields
    sent_at, date_source = _sent_at(fields.get("date"), found)
    if sent_at is None:
        return "no parsable Date header or envelope date"
    subject = decode_header_text(fields.get("subject", ""))
    sender = _sender(fields.get("from", ""))
    if sender is None and found is not None:
        sender = parse_from(envelope_sender(message, found))
    address, name, lossy = sender or ("", "", False)
    native_id = _message_id(fields.get("message-id", "")) or _synthetic_id(address, sent_at, subject)
    in_reply_to = _ids(fields.get("in-reply-to", ""))[:1]
    references = _ids(fields.get("references", ""))[-MAX_REFERENCES:]
    links = tuple(dict.fromkeys((*in_reply_to, *reversed(references))))
    list_id = _list_id(fields.get("list-id", ""))
    return ParsedHeader(
        native_id=native_id,
        links=links,
        has_in_reply_to=bool(in_reply_to),
        sent_at=sent_at,
        subject=subject,
        address=address,
        name=name,
        lossy=lossy,
        list_id=list_id,
        content_type=_collapsed(fields.get("content-type", "")),
        transfer_encoding=fields.get("content-transfer-encoding", "").strip(),
        where=f"{where}:{line}",
        date_source=date_source,
        subject_key=subject_key(subject),
        reply_hint=bool(links) or looks_like_reply(subject),
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


def body_bytes(message: bytes) -> tuple[bytes, int]:
    """The message with mbox ``>From`` escapes undone, and the offset where its body starts."""
    block_end = message.find(b"\n\n")
    start = len(message) if block_end < 0 else block_end + 2
    if b">From " in message:
        message = message[:start] + _MIME_FROM.sub(rb"\1", message[start:])
    return message, start


def _sent_at(value: str | None, envelope: re.Match[bytes] | None) -> tuple[datetime | None, str]:
    header = _parse_date(value) if value else None
    fallback = _envelope_date(envelope) if envelope is not None else None
    if header is not None and (fallback is None or abs(header - fallback) <= DATE_TOLERANCE):
        return header, ""
    if fallback is not None:
        # A missing, unparsable or far-off Date header (wrong client clocks) loses to the
        # archive's receipt time.
        return fallback, "envelope"
    return header, ""


def _parse_date(value: str) -> datetime | None:
    fast = _DATE.match(value)
    try:
        if fast:
            day, mon, year, hour, minute, second, zone = fast.groups()
            parsed = datetime(int(year), _MONTHS[mon[:3].title()], int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
            return parsed - _zone_offset(zone)
        parsed = parsedate_to_datetime(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError, KeyError):
        return None


def _envelope_date(match: re.Match[bytes]) -> datetime | None:
    try:
        parsed = datetime(
            int(match["year"]), _MONTHS[match["mon"].decode()], int(match["day"]), int(match["h"]), int(match["m"]), int(match["s"] or 0), tzinfo=UTC
        )
    except (ValueError, OverflowError):
        return None
    zone = (match["tz1"] or match["tz2"] or b"").decode()
    if zone[:1] in ("+", "-"):
        parsed -= _zone_offset(zone)
    # mbox writers that do not know the delivery time write the epoch; that is no date at all.
    return parsed if parsed.year >= 1990 else None


@cache
def _zone_offset(zone: str) -> timedelta:
    """The UTC offset of a ``+hhmm``/``-hhmm`` zone; cached, as an archive uses few zones and
    building a timedelta was a tenth of the cost of parsing a date."""
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    return -offset if zone[0] == "-" else offset


def _ids(value: str) -> list[str]:
    if not value:
        return []
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

"""Finding mbox and pipermail archives and splitting them into messages.

Messages are split on envelope lines (``From <sender> <asctime date>``) found with
``bytes.find`` and confirmed by one compiled regex, over chunks of the file, so a body line
that merely starts with "From " never splits a message and memory stays bounded whatever the
file size.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Protocol

from villagegreen.connectors.mail.dates import MONTHS
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError

_MONTH = "|".join(MONTHS)
# The envelope's date sits at the end of the line, so it is matched from there: a regex that
# scanned the sender first would backtrack through every character of it.
_ENVELOPE_DATE = re.compile(
    rb" (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +(?P<mon>" + _MONTH.encode() + rb") +(?P<day>\d{1,2})"
    rb" +(?P<h>\d{1,2}):(?P<m>\d\d)(?::(?P<s>\d\d))?(?: +(?P<tz1>[A-Z]{1,5}|[+-]\d{4}))? +(?P<year>\d{4})(?: +(?P<tz2>[+-]\d{4}))?[ \t\r]*$"
)
_ENVELOPE_DATE_MAX = 48
MAIL_SUFFIXES = (".mbox", ".mbx", ".txt", ".txt.gz", ".mbox.gz", ".gz", ".mail")
CHUNK = 1 << 22
MAX_PREAMBLE = 1 << 20  # text allowed before the first envelope line before we call it "not an mbox"
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


def envelope_sender(match: re.Match[bytes]) -> str:
    """The sender of the envelope line whose date :func:`envelope` matched (in the text it searched)."""
    data = match.string
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
    for line, offset, buf, start, end, _found in split_spans(stream, chunk_size):
        yield line, offset, buf[start:end]


def split_with_envelopes(stream: Readable, chunk_size: int = CHUNK) -> Iterator[tuple[int, int, bytes, re.Match[bytes]]]:
    """:func:`split_with_offsets` with the :func:`envelope` match that confirmed each message's
    envelope line (a match in the read buffer, not in the message: see :func:`envelope_sender`),
    so the header pass need not search for the envelope's date again. A match keeps the buffer
    it was found in alive until its message is yielded: at most one chunk more in memory."""
    for line, offset, buf, start, end, found in split_spans(stream, chunk_size):
        yield line, offset, buf[start:end], found


class ReadsBytes(Protocol):
    """Anything :func:`split_spans` can read: a stream, or a part of one."""

    def read(self, size: int, /) -> bytes: ...


def split_spans(
    stream: ReadsBytes, chunk_size: int = CHUNK, *, offset: int = 0, first_line: int = 1
) -> Iterator[tuple[int, int, bytes, int, int, re.Match[bytes]]]:
    """:func:`split_with_envelopes` without copying the messages: (line, offset, buffer, start,
    end, envelope match), the message being ``buffer[start:end]``. The header pass reads only a
    message's first lines, so copying every body out of the buffer was wasted work (about a
    quarter of a second per 100,000 messages, measured).

    ``offset`` and ``first_line``: where in the file the stream starts (at an envelope line found
    by :func:`next_envelope`, for a run of a file read on its own), so offsets and line numbers
    are the file's."""
    buf = b""
    base = offset  # offset in the file of buf[0]
    start = -1  # offset of the current message's envelope in buf; -1 before the first one
    scan = 0  # where to look for the next envelope line; always a line start
    line, line_pos = first_line, 0  # the line number at offset line_pos, advanced monotonically
    found: re.Match[bytes] | None = None  # the current message's envelope match
    eof = False
    while not eof:
        chunk = stream.read(chunk_size)
        eof = not chunk
        buf += chunk
        limit = len(buf) if eof else buf.rfind(b"\n") + 1
        for candidate in _line_starts_with_from(buf, scan, limit):
            end = buf.find(b"\n", candidate, limit)
            following = envelope(buf, candidate, end if end >= 0 else limit)
            if following is None:
                continue
            if found is not None:
                yield line, base + start, buf, start, candidate, found
            line += buf.count(b"\n", line_pos, candidate)
            line_pos, start, found = candidate, candidate, following
        scan = max(limit, scan)
        if start > 0:
            buf, scan, line_pos, base, start = buf[start:], scan - start, 0, base + start, 0
        elif start < 0 and len(buf) > MAX_PREAMBLE:
            return
    if found is not None:
        yield line, base + start, buf, start, len(buf), found


def next_envelope(stream: Readable, after: int, chunk_size: int = 1 << 16, *, known: tuple[int, int] = (0, 1)) -> tuple[int, int] | None:
    """(offset, line number) of the first envelope line starting at or after byte ``after`` (> 0) of a
    seekable stream, or None: the place :func:`split_spans` would end a message there, so that
    the file can be split in runs read on their own. The stream is left anywhere.

    ``known``: an (offset, line number) at or before ``after``, such as the previous cut, from
    which lines are counted (so cutting a file in several places reads each byte once)."""
    stream.seek(after - 1)
    buf, base = b"", after - 1  # buf[0] is at offset base
    while True:
        chunk = stream.read(chunk_size)
        buf += chunk
        pos = 0
        while (found := buf.find(b"\nFrom ", pos)) >= 0:
            candidate = found + 1
            end = buf.find(b"\n", candidate)
            if end < 0 and chunk:
                break  # the line goes on in the next chunk
            if envelope(buf, candidate, end if end >= 0 else len(buf)) is not None:
                return base + candidate, _line_at(stream, base + candidate, known)
            pos = candidate
        if not chunk:
            return None
        keep = max(buf.rfind(b"\n", pos), 0)  # from the last line start not yet judged
        buf, base = buf[keep:], base + keep


def _line_at(stream: Readable, offset: int, known: tuple[int, int], chunk_size: int = CHUNK) -> int:
    """The line number of byte ``offset``, counted on from ``known`` (an offset before it and its line)."""
    read, lines = known
    stream.seek(read)
    while read < offset and (chunk := stream.read(min(chunk_size, offset - read))):
        lines += chunk.count(b"\n")
        read += len(chunk)
    return lines


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

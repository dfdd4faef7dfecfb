"""A mail archive read as a head and independent parts (see :class:`~villagegreen.connectors.base.PartedRead`).

Threads span monthly files, so an archive cannot be split before its headers are read. The
head does what needs the whole archive: the first pass (:func:`read_index`: split every file,
parse headers, note byte offsets), threading, spaces and identities. After it, every message's
records depend only on its own bytes and on what the head computed (its id, its root's and
parent's ids, its author's id), so the messages can be mapped in independent parts: runs of
consecutive messages, each cut out of the files at the noted offsets. A part is about
``PART_MESSAGES`` messages (more for huge archives, so there are at most ``MAX_PARTS``). A part
ends inside a file only where the file can be sought cheaply (a plain file on disk): reaching the
middle of a gzipped file or a zip member means decompressing everything before it, so such a
file is never split. The parts depend only on the archive, never on the number of workers, and
:func:`~villagegreen.connectors.base.read_in_order` over them is the one-process read.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.mail.body import body_bytes, body_text, split_body
from villagegreen.connectors.mail.mapping import (
    MessageIds,
    ParsedHeader,
    conversation_record,
    identity_record,
    message_record,
    resolve_identities,
    space_record,
)
from villagegreen.connectors.mail.threading import Threads, clean_subject, reconstruct
from villagegreen.connectors.tree import SourceTree
from villagegreen.model import Record, Skipped

if TYPE_CHECKING:
    from villagegreen.connectors.mail.connector import ListName, MailConnector

PART_MESSAGES = 2_500
MAX_PARTS = 256


@dataclass(slots=True)
class MailIndex:
    """What the first pass learnt: one header (None: skipped) and one byte offset per message."""

    listname: ListName
    headers: list[ParsedHeader | None] = field(default_factory=list)
    offsets: dict[str, array[int]] = field(default_factory=dict)  # per file, in reading order
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Part:
    first: int  # ordinal (index into MailIndex.headers) of the part's first message
    end: int  # ordinal after its last message
    kept_before: int  # headers not None before ``first``: the thread index of its first message


class MailParts:
    """The :class:`~villagegreen.connectors.base.PartedRead` of one mail archive."""

    def __init__(self, connector: MailConnector, tree: SourceTree, context: ReadContext, index: MailIndex) -> None:
        self.connector, self.tree, self.context, self.index = connector, tree, context, index
        self._parts = _plan(index, splittable=lambda name: tree.kind != "zip" and not name.lower().endswith(".gz"))
        # Set by head(), read by the parts (in forked workers, from the head's copy).
        self._threads = Threads([], [], [])
        self._message_ids: list[str] = []
        self._space_ids: dict[str, str] = {}
        self._identity_keys: dict[tuple[str, bool], str] = {}
        self._identity_ids: dict[str, str] = {}

    @property
    def labels(self) -> Sequence[str]:
        return [f"messages {part.first + 1:,}-{part.end:,}" for part in self._parts]

    def head(self) -> Iterator[Record]:
        index, context, listname = self.index, self.context, self.index.listname
        yield from index.skipped
        kept = [h for h in index.headers if h is not None]
        self._threads = reconstruct(kept, [h.list_id or listname.key for h in kept])
        for list_id in dict.fromkeys(h.list_id or listname.key for h in kept):
            space = space_record(context, list_id, listname.tag if list_id == listname.key else None)
            self._space_ids[list_id] = space.id
            yield space
        self._identity_keys, names = resolve_identities(kept)
        # An obfuscated identity keeps one address as written, so a person can recognise it.
        # Sorted, so the choice among several lossy spellings does not depend on set order.
        handles: dict[str, str] = {}
        for (address, _lossy), key in sorted(self._identity_keys.items()):
            if key.startswith("obfuscated:"):
                handles.setdefault(key, address)
        for key, counts in names.items():
            identity = identity_record(context, key, counts, handles.get(key))
            self._identity_ids[key] = identity.id
            yield identity
        # Each message's id is needed up to four times (its own, as a root, as a parent, by its
        # conversation): hashed once here.
        self._message_ids = [context.id("message", h.native_id) for h in kept]

    def part(self, index: int) -> Iterator[Record]:
        part = self._parts[index]
        context, listname, headers, threads, ids = self.context, self.index.listname, self.index.headers, self._threads, self._message_ids
        ordinal, k = part.first, part.kept_before
        for message in self._messages(part):
            header = headers[ordinal]
            ordinal += 1
            if header is None:
                continue
            full, start = body_bytes(message)
            parts = split_body(body_text(full, start, header.content_type, header.transfer_encoding))
            root, parent = threads.root[k], threads.parent[k]
            yield self.connector.raw_email(context, header.native_id, message)
            space_id = self._space_ids[header.list_id or listname.key]
            if root == k:
                yield conversation_record(context, header, ids[k], space_id, clean_subject(header.subject))
            author = self._identity_ids[self._identity_keys.get((header.address, header.lossy), header.address)] if header.address else None
            yield message_record(
                context,
                header,
                parts,
                ids=MessageIds(message=ids[k], conversation=ids[root], reply_to=ids[parent] if parent >= 0 else None, space=space_id, author=author),
                threaded_by=threads.how[k],
            )
            k += 1

    def part_learnt(self, index: int) -> object:
        return None  # a part learns nothing later records need: identities come from the head

    def absorb(self, index: int, learnt: object) -> None:
        pass

    def tail(self) -> Iterator[Record]:
        return iter(())

    def _messages(self, part: _Part) -> Iterator[bytes]:
        """The part's messages, file by file, cut out at the first pass's offsets."""
        base = 0  # ordinal of the current file's first message
        for name, starts in self.index.offsets.items():
            low, high = max(part.first - base, 0), min(part.end - base, len(starts))
            if low < high:
                self.context.on_file(f"{name} (messages)")
                yield from self.connector.cut(self.tree, name, starts[low:high], starts[high] if high < len(starts) else None)
            base += len(starts)
            if base >= part.end:
                break


def _plan(index: MailIndex, splittable: Callable[[str], bool]) -> list[_Part]:
    """Runs of consecutive messages of about ``size``; a file that is not ``splittable`` stays in one part."""
    headers = index.headers
    size = max(PART_MESSAGES, -(-len(headers) // MAX_PARTS))
    ends: list[int] = []  # ordinal after each part's last message
    first = 0  # ordinal of the current file's first message
    for name, starts in index.offsets.items():
        last = first + len(starts)
        if splittable(name):  # at the multiples of size inside the file, as if files did not matter
            ends.extend(range(size * (first // size + 1), last, size))
        if last - (ends[-1] if ends else 0) >= size:
            ends.append(last)
        first = last
    if not ends or ends[-1] < len(headers):
        ends.append(len(headers))
    parts, kept, start = [], 0, 0
    for end in ends:
        parts.append(_Part(start, end, kept))
        kept += sum(1 for h in headers[start:end] if h is not None)
        start = end
    return parts

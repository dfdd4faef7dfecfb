"""The mailing-list archive importer: mbox files and Mailman/pipermail text archives.

Threading needs the whole archive, so a read makes two passes over the files: the first
splits them into messages, parses headers only into small tuples (one per message) and
reconstructs the threads; the second cuts the same messages out again at the byte offsets the
first pass noted (no second search for envelope lines), decodes each body and yields the
records. Bodies are never held in memory all at once, which keeps a million-message mbox within
a laptop's means (the offsets take 8 bytes a message).
"""

from __future__ import annotations

import re
import zlib
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import orjson

from villagegreen.connectors.base import Connector, ReadContext, read_in_order
from villagegreen.connectors.mail.first_pass import first_pass_processes, plan_shares, read_shares
from villagegreen.connectors.mail.mbox import candidate_names, cut_messages, head, open_archive, starts_like_mbox
from villagegreen.connectors.mail.parts import MailIndex, MailParts
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import RawItem, Record, Skipped

_LIST_ID = re.compile(rb"^List-Id:[^\n]*<([^<>\s]+)>", re.M | re.I)
_FOOTER = re.compile(rb"^([\w.+-]+)(?: at |@)([\w-]+(?:\.[\w-]+)+)(?: ?<mailto:[^>\n]*>)? +mailing list", re.M)
_LISTINFO = re.compile(rb"/mailman/listinfo/([\w.-]+)")
_TAG = re.compile(rb"^Subject:(?: *(?:Re|AW|Fwd?|Fw) *:)* *\[([^\]\n]{1,40})\]", re.M | re.I)
_SNIFF_FILES = 5
_KEY_SAMPLE = 2 << 20


@dataclass(frozen=True, slots=True)
class ListName:
    key: str  # List-Id style "name.host" when the data says so, else a tag or the folder name
    tag: str | None


class MailConnector(Connector):
    name: ClassVar[str] = "mail"
    version: ClassVar[str] = "1"
    formats: ClassVar[str] = "mbox files and Mailman/pipermail .txt(.gz) archives: a file, a folder of them, or a zip"
    # mbox is recognised by its first line, which is specific, but .txt files are generic: let
    # connectors that check for named export files go first.
    priority: ClassVar[int] = 60

    def __init__(self) -> None:
        # source_key and read both need the list's name, found by scanning 2 MB: once per input.
        self._named: tuple[SourceTree, ListName] | None = None
        # read_parts reads the whole archive's headers to plan the parts; when the import then
        # reads in one process instead, read uses the same first pass.
        self._indexed: tuple[SourceTree, MailIndex] | None = None

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return any(starts_like_mbox(head(tree, name, 1024)) for name in candidate_names(tree)[:_SNIFF_FILES])

    def source_key(self, tree: SourceTree) -> str:
        return self._list_name(tree).key

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        # A one-process read (the import was asked for one worker): the first pass in this process too.
        return read_in_order(self._parts(tree, context, processes=1))

    def read_parts(self, tree: SourceTree, context: ReadContext) -> MailParts:
        """The archive as a head (first pass, threads, spaces, identities) and runs of messages.

        Only a parallel import asks for parts, so the first pass is read in several processes too
        (:mod:`~villagegreen.connectors.mail.first_pass`)."""
        return self._parts(tree, context, processes=first_pass_processes(context.workers))

    def _parts(self, tree: SourceTree, context: ReadContext, processes: int) -> MailParts:
        if self._indexed is None or self._indexed[0] is not tree:
            self._indexed = (tree, self._read_index(tree, context, processes))
        return MailParts(self, tree, context, self._indexed[1])

    def _read_index(self, tree: SourceTree, context: ReadContext, processes: int = 1) -> MailIndex:
        """The first pass: every file split into messages, headers parsed, offsets noted."""
        archives: list[str] = []
        skipped: list[Skipped] = []
        for name in candidate_names(tree):
            if starts_like_mbox(head(tree, name)):
                archives.append(name)
            elif tree.kind == "file":
                break
            else:
                skipped.append(Skipped(kind="file", reason="not an mbox archive (no envelope From line at its start)", where=name))
        if not archives:
            raise InputError(
                f"{tree.path}: no mbox or pipermail archive found (an archive starts with an envelope line like "
                "'From ann@example.org Mon Jan  1 00:00:00 2024'); export the list archive as mbox or pipermail .txt"
            )
        index = MailIndex(self._list_name(tree), skipped=skipped)
        headers = index.headers
        seen: set[str] = set()
        shares = plan_shares(tree, archives, processes)
        for name, offsets, found in read_shares(tree, shares, context.on_file):
            index.offsets.setdefault(name, array("q")).extend(offsets)
            for parsed in found:
                if isinstance(parsed, Skipped):
                    headers.append(None)
                    skipped.append(parsed)
                elif parsed.native_id in seen:
                    headers.append(None)
                    skipped.append(Skipped(kind="message", reason="duplicate Message-ID (a cross-post or re-sent copy); kept the first", where=parsed.where))
                else:
                    seen.add(parsed.native_id)
                    headers.append(parsed)
        return index

    def raw_email(self, context: ReadContext, native_id: str, message: bytes) -> RawItem:
        # What Connector.raw makes, serialised by orjson (6x faster than json.dumps on a whole
        # message). raw_items.payload is a JSON column, so the verbatim text travels inside an
        # object; the text is always valid Unicode, where orjson and json.dumps(ensure_ascii=False)
        # write the same bytes (tested on the real archives).
        return self.raw_json(context, "email", native_id, orjson.dumps({"message": _verbatim(message)}).decode())

    def cut(self, tree: SourceTree, name: str, starts: Sequence[int], end: int | None) -> Iterator[bytes]:
        """Messages the first pass (:func:`~villagegreen.connectors.mail.first_pass.spans`) found, cut out again at their offsets (``end``: after the last)."""
        try:
            with open_archive(tree, name) as stream:
                for message in cut_messages(stream, starts, end):
                    if not message.startswith(b"From "):
                        raise InputError(f"{tree.describe(name)}: the file changed while it was being imported; import it again")
                    yield message.replace(b"\r\n", b"\n") if b"\r" in message else message
        except (OSError, EOFError, zlib.error) as error:
            raise InputError(f"{tree.describe(name)}: cannot read the archive ({error}); re-download or re-export it") from error

    def _list_name(self, tree: SourceTree) -> ListName:
        if self._named is None or self._named[0] is not tree:
            self._named = (tree, self._scan_list_name(tree))
        return self._named[1]

    def _scan_list_name(self, tree: SourceTree) -> ListName:
        sample = b""
        for name in candidate_names(tree):
            data = head(tree, name, _KEY_SAMPLE)
            if starts_like_mbox(data):
                sample = data
                break
        tag = _most_common(m.group(1) for m in _TAG.finditer(sample))
        if match := _LIST_ID.search(sample):
            return ListName(match.group(1).decode("latin-1").lower(), tag)
        footer = _most_common(m.group(1) + b"." + m.group(2) for m in _FOOTER.finditer(sample))
        listinfo = _most_common(m.group(1) for m in _LISTINFO.finditer(sample))
        fallback = tree.path.stem if tree.kind == "zip" else tree.path.name if tree.kind == "folder" else tree.path.resolve().parent.name
        return ListName((footer or listinfo or tag or fallback).lower(), tag)


def _most_common(values: Iterator[bytes]) -> str | None:
    counts = Counter(values)
    return counts.most_common(1)[0][0].decode("latin-1") if counts else None


def _verbatim(message: bytes) -> str:
    # Latin-1 maps every byte, so a message that is not UTF-8 is still kept byte for byte.
    try:
        return message.decode("utf-8")
    except UnicodeDecodeError:
        return message.decode("latin-1")

"""The mailing-list archive importer: mbox files and Mailman/pipermail text archives.

Threading needs the whole archive, so a read makes two passes over the files: the first
parses headers only into small tuples (one per message) and reconstructs the threads; the
second re-splits the same files, decodes each body and yields the records. Bodies are never
held in memory all at once, which keeps a million-message mbox within a laptop's means.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import orjson

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.mail.body import body_text, split_body
from villagegreen.connectors.mail.export import (
    body_bytes,
    candidate_names,
    head,
    open_archive,
    parse_header,
    split_messages,
    starts_like_mbox,
)
from villagegreen.connectors.mail.mapping import (
    MessageIds,
    ParsedHeader,
    conversation_record,
    identity_record,
    message_record,
    resolve_identities,
    space_record,
)
from villagegreen.connectors.mail.threading import ThreadInput, clean_subject, looks_like_reply, reconstruct, subject_key
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

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return any(starts_like_mbox(head(tree, name, 1024)) for name in candidate_names(tree)[:_SNIFF_FILES])

    def source_key(self, tree: SourceTree) -> str:
        return self._list_name(tree).key

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        archives: list[str] = []
        for name in candidate_names(tree):
            if starts_like_mbox(head(tree, name)):
                archives.append(name)
            elif tree.kind == "file":
                break
            else:
                yield Skipped(kind="file", reason="not an mbox archive (no envelope From line at its start)", where=name)
        if not archives:
            raise InputError(
                f"{tree.path}: no mbox or pipermail archive found (an archive starts with an envelope line like "
                "'From ann@example.org Mon Jan  1 00:00:00 2024'); export the list archive as mbox or pipermail .txt"
            )
        listname = self._list_name(tree)
        headers: list[ParsedHeader | None] = []
        seen: set[str] = set()
        for name in archives:
            context.on_file(name)
            for line, message in self._messages(tree, name):
                parsed = parse_header(message, line, name)
                if isinstance(parsed, str):
                    headers.append(None)
                    yield Skipped(kind="message", reason=parsed, where=f"{name}:{line}")
                elif parsed.native_id in seen:
                    headers.append(None)
                    yield Skipped(kind="message", reason="duplicate Message-ID (a cross-post or re-sent copy); kept the first", where=parsed.where)
                else:
                    seen.add(parsed.native_id)
                    headers.append(parsed)
        seen.clear()
        yield from self._records(tree, context, archives, headers, listname)

    def _records(self, tree: SourceTree, context: ReadContext, archives: list[str], headers: list[ParsedHeader | None], listname: ListName) -> Iterator[Record]:
        kept = [h for h in headers if h is not None]
        threads = reconstruct(
            [
                ThreadInput(
                    native_id=h.native_id,
                    links=h.links,
                    sent_at=h.sent_at,
                    subject_key=subject_key(h.subject),
                    reply_hint=bool(h.links) or looks_like_reply(h.subject),
                    space=h.list_id or listname.key,
                    has_in_reply_to=h.has_in_reply_to,
                )
                for h in kept
            ]
        )
        space_ids: dict[str, str] = {}
        for list_id in dict.fromkeys(h.list_id or listname.key for h in kept):
            space = space_record(context, list_id, listname.tag if list_id == listname.key else None)
            space_ids[list_id] = space.id
            yield space
        identity_keys, names = resolve_identities(kept)
        # An obfuscated identity keeps one address as written, so a person can recognise it.
        # Sorted, so the choice among several lossy spellings does not depend on set order.
        handles: dict[str, str] = {}
        for (address, _lossy), key in sorted(identity_keys.items()):
            if key.startswith("obfuscated:"):
                handles.setdefault(key, address)
        identity_ids: dict[str, str] = {}
        for key, counts in names.items():
            identity = identity_record(context, key, counts, handles.get(key))
            identity_ids[key] = identity.id
            yield identity
        # Each message's id is needed up to four times (its own, as a root, as a parent, by its
        # conversation): hashed once here.
        message_ids = [context.id("message", h.native_id) for h in kept]
        ordinal = k = 0
        for name in archives:
            context.on_file(f"{name} (messages)")
            for _line, message in self._messages(tree, name):
                if ordinal >= len(headers):
                    raise InputError(f"{tree.describe(name)}: the file changed while it was being imported; import it again")
                header = headers[ordinal]
                ordinal += 1
                if header is None:
                    continue
                full, start = body_bytes(message)
                parts = split_body(body_text(full, start, header.content_type, header.transfer_encoding))
                root, parent = threads.root[k], threads.parent[k]
                yield self._raw_email(context, header.native_id, message)
                space_id = space_ids[header.list_id or listname.key]
                if root == k:
                    yield conversation_record(context, header, message_ids[k], space_id, clean_subject(header.subject))
                yield message_record(
                    context,
                    header,
                    parts,
                    ids=MessageIds(
                        message=message_ids[k],
                        conversation=message_ids[root],
                        reply_to=message_ids[parent] if parent >= 0 else None,
                        space=space_id,
                        author=identity_ids[identity_keys.get((header.address, header.lossy), header.address)] if header.address else None,
                    ),
                    threaded_by=threads.how[k],
                )
                k += 1

    def _raw_email(self, context: ReadContext, native_id: str, message: bytes) -> RawItem:
        # What Connector.raw makes, serialised by orjson (6x faster than json.dumps on a whole
        # message). raw_items.payload is a JSON column, so the verbatim text travels inside an
        # object; the text is always valid Unicode, where orjson and json.dumps(ensure_ascii=False)
        # write the same bytes (tested on the real archives).
        return self.raw_json(context, "email", native_id, orjson.dumps({"message": _verbatim(message)}).decode())

    def _messages(self, tree: SourceTree, name: str) -> Iterator[tuple[int, bytes]]:
        try:
            with open_archive(tree, name) as stream:
                for line, message in split_messages(stream):
                    yield line, message.replace(b"\r\n", b"\n") if b"\r" in message else message
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

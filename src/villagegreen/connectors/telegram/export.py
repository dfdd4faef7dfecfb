"""Reading Telegram Desktop's ``result.json``: one chat, or the full account export of many.

The file is parsed whole with ``json.loads`` (it is one JSON document; a chat of a million
messages needs a few GB of memory: a known limit). The parsed document is kept for the
connector instance's lifetime because ``source_key`` and ``read`` both need it. Reply links
(``reply_to_message_id``) are kept; each chat's other messages get their conversations from
flat-channel disentanglement (:func:`~villagegreen.connectors.disentangle.thread_messages`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.disentangle import thread_messages
from villagegreen.connectors.reply_roots import resolve_roots
from villagegreen.connectors.telegram import mapping as m
from villagegreen.connectors.tree import SourceTree, first_named
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Identity, Message, Record, Skipped

SNIFF_BYTES = 4096
SNIFF_FILES = 3
PRIVATE_SKIP = "private chat skipped (use --include-private)"
_OBJECT = re.compile(rb"^(?:\xef\xbb\xbf)?\s*\{")
_MESSAGE_TYPE = re.compile(rb'"type"\s*:\s*"(?:message|service)"')
_CHAT_TYPE = re.compile(rb'"type"\s*:\s*"(?:personal_chat|bot_chat|saved_messages|(?:private|public)_(?:group|supergroup|channel))"')
_FULL_EXPORT = re.compile(rb'^(?:\xef\xbb\xbf)?\s*\{\s*"about"\s*:')


def candidates(tree: SourceTree) -> list[str]:
    """``result.json`` files first (shallowest), then other JSON; a lone file whatever its name."""
    if tree.kind == "file":
        return tree.names()
    return first_named(tree.by_depth(".json"), lambda base: base == "result.json")


def looks_like_telegram(head: bytes) -> bool:
    if _OBJECT.match(head) is None:
        return False
    if _FULL_EXPORT.match(head) and (b'"personal_information"' in head or b'"chats"' in head):
        return True
    return b'"messages"' in head and _CHAT_TYPE.search(head) is not None and _MESSAGE_TYPE.search(head) is not None


def locate(tree: SourceTree) -> str | None:
    return next((name for name in candidates(tree)[:SNIFF_FILES] if looks_like_telegram(tree.head(name, SNIFF_BYTES))), None)


def export_files(tree: SourceTree) -> list[str]:
    """Every Telegram export file in the input (a folder may hold several chats' exports)."""
    return [name for name in candidates(tree) if looks_like_telegram(tree.head(name, SNIFF_BYTES))]


def load(tree: SourceTree, name: str) -> dict[str, Any]:
    """The document; empty, truncated, non-UTF-8 or wrong-shaped files are one fatal, one-line error."""
    where = tree.describe(name)
    data = tree.read_bytes(name)
    if not data.strip():
        raise InputError(f"{where}: the file is empty; export the chat again (Telegram Desktop: Export chat history, format JSON)")
    try:
        document = json.loads(data)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{where}: malformed JSON at line {error.lineno}, column {error.colno} ({error.msg}); the file is truncated or corrupt: export it again"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text, so not a Telegram JSON export; export the chat again with format JSON") from None
    if not isinstance(document, dict) or not (isinstance(document.get("messages"), list) or isinstance(document.get("chats"), dict)):
        raise InputError(f"{where}: not a Telegram Desktop JSON export (no messages or chats); export with format 'Machine-readable JSON'")
    return document


def chats_of(document: Mapping[str, Any]) -> list[Any]:
    """The chats of a single-chat or a full export (left chats count: the history is still there)."""
    if isinstance(document.get("messages"), list):
        return [document]
    found: list[Any] = []
    for key in ("chats", "left_chats"):
        section = document.get(key)
        if isinstance(section, Mapping) and isinstance(section.get("list"), list):
            found.extend(section["list"])
    return found


class ExportReader:
    """One pass over the chats of one export."""

    def __init__(self, connector: Connector, tree: SourceTree, context: ReadContext, documents: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self.connector = connector
        self.tree = tree
        self.context = context
        self.documents = documents
        self.people: dict[str, Identity] = {}
        self.chats: set[str] = set()

    def read(self) -> Iterator[Record]:
        for name, document in self.documents:
            self.context.on_file(name)
            yield from self._document(document, self.tree.describe(name))
        # Written once each, after every message, so the name an account last posted under wins.
        yield from self.people.values()

    def _document(self, document: Mapping[str, Any], file_where: str) -> Iterator[Record]:
        for index, chat in enumerate(chats_of(document)):
            if not isinstance(chat, Mapping) or not isinstance(chat.get("messages"), list):
                yield Skipped("space", "malformed chat: no messages list", f"{file_where} chat #{index}")
                continue
            try:
                chat_id = m.chat_native_id(chat)
            except ItemError as error:
                yield Skipped("space", f"malformed chat: {error}", f"{file_where} chat #{index}")
                continue
            where = f"{file_where} chat {chat_id}"
            if m.is_private(chat) and not self.context.include_private:
                yield Skipped("space", PRIVATE_SKIP, where)
                continue
            if chat_id in self.chats:
                # Two exports of one chat in one folder: overlapping ids would be read twice.
                yield Skipped("space", "chat already read from another file", where)
                continue
            self.chats.add(chat_id)
            yield from self._chat(chat, chat_id, where)

    def _chat(self, chat: Mapping[str, Any], chat_id: str, where: str) -> Iterator[Record]:
        space = m.space_from_chat(self.context, chat)
        yield self.connector.raw(self.context, "chat", chat_id, {k: v for k, v in chat.items() if k != "messages"})
        yield space
        entries: list[tuple[str, Mapping[str, Any]]] = []
        parents: dict[str, str | None] = {}
        events: set[str] = set()
        for index, entry in enumerate(chat["messages"]):
            if not isinstance(entry, Mapping) or entry.get("id") in (None, ""):
                yield Skipped("message", "malformed message: not an object with an id", f"{where} #{index}")
                continue
            native_id = f"{chat_id}:{entry['id']}"
            if native_id in parents or native_id in events:
                yield Skipped("message", "duplicate of a message already read", f"{where} id={entry['id']}")
                continue
            entries.append((native_id, entry))
            if entry.get("type") == "service":
                events.add(native_id)
            else:
                reply = entry.get("reply_to_message_id")
                parents[native_id] = f"{chat_id}:{reply}" if reply not in (None, "") else None
        # A reply to a service message (a welcome to a join) starts its own conversation.
        for native_id, parent in parents.items():
            if parent in events:
                parents[native_id] = None
        roots = resolve_roots(parents)
        # Held until the chat is threaded: messages without a reply link get their conversation
        # from flat-channel disentanglement over the whole chat.
        held: list[Record] = []
        for native_id, entry in entries:
            try:
                held.extend(self._entry(entry, native_id, space.id, roots, parents, events))
            except (ItemError, KeyError, TypeError, AttributeError, ValueError) as error:
                reason = str(error) if isinstance(error, ItemError) else f"unexpected shape ({type(error).__name__})"
                yield Skipped("message", f"malformed message: {reason}", f"{where} id={entry.get('id')}")
        messages = [record for record in held if isinstance(record, Message)]
        names = {person.id: person.display_name for person in self.people.values()}
        # A reply to a service message (a welcome) stays the start of its own conversation.
        welcomes = {message.id for message in messages if "reply_to_event" in message.meta}
        yield from thread_messages(messages, names, keep_roots=welcomes)
        yield from held

    def _entry(
        self, entry: Mapping[str, Any], native_id: str, space_id: str, roots: dict[str, str], parents: dict[str, str | None], events: set[str]
    ) -> Iterator[Record]:
        kind = entry.get("type")
        if kind == "service":
            event = m.event_from_entry(self.context, entry, native_id=native_id, space_id=space_id)
            self._person(entry.get("actor_id"), entry.get("actor"), authored=True)
            yield self.connector.raw(self.context, "message", native_id, entry)
            yield event
            return
        if kind != "message":
            raise ItemError(f"unknown type {str(kind)[:40]!r}")
        root = roots[native_id]
        reply = None if root == native_id else parents[native_id]
        message = m.message_from_entry(self.context, entry, native_id=native_id, root_native=root, reply_native=reply, space_id=space_id)
        reactions, reactors = m.reactions_from_entry(self.context, entry, native_id=native_id)
        self._person(entry.get("from_id"), entry.get("from"), authored=True)
        for person in reactors:
            self.people.setdefault(person.native_id, person)
        replied = entry.get("reply_to_message_id")
        if replied not in (None, "") and (target := f"{native_id.partition(':')[0]}:{replied}") in events:
            message.meta["reply_to_event"] = self.context.id("event", target)
        yield self.connector.raw(self.context, "message", native_id, entry)
        yield message
        yield from reactions

    def _person(self, from_id: object, name: object, *, authored: bool) -> None:
        native_id = m.identity_native_id(from_id)
        if native_id is None:
            return
        # The latest name an account posted under wins (people rename); one row per account.
        if authored or native_id not in self.people:
            self.people[native_id] = m.identity_for(self.context, native_id, name)

"""The WhatsApp importer: the text that WhatsApp's "Export chat" writes, alone or in its zip.

A chat is read whole (exports are text, megabytes at most), parsed into stamped entries, and
only then mapped, because the date order of every stamp depends on all the others. Chats are
private by nature, so nothing is imported unless the user asks for private spaces. Exports
record no replies, so each chat's conversations come from flat-channel disentanglement
(:func:`~villagegreen.connectors.disentangle.thread_messages`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import ClassVar

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.disentangle import thread_messages
from villagegreen.connectors.tree import SourceTree
from villagegreen.connectors.whatsapp.export import Chat, chat_names, decode, head_lines, parse_chat, starts_like_chat, timestamp
from villagegreen.connectors.whatsapp.mapping import (
    event_names,
    event_record,
    identity_key,
    identity_record,
    message_record,
    message_text,
    space_record,
    split_entry,
)
from villagegreen.errors import InputError
from villagegreen.model import JsonDict, Message, Record, Skipped, SpaceKind

PRIVATE_REASON = "WhatsApp chats are private; use --include-private to import"
_EXPORT_NAME = re.compile(r"^WhatsApp Chat(?: with| -) (?P<chat>.+)$")
_SNIFF_FILES = 5
_GROUP_EVENTS = frozenset(("create", "join", "leave", "subject_change", "description_change", "icon_change", "settings_change", "admin_change"))


def chat_key(tree: SourceTree, name: str) -> str:
    """The chat's name from its file name, which is all an export says about the chat."""
    base = name.rsplit("/", 1)[-1]
    stem = base[:-4] if base.lower().endswith(".txt") else base
    if match := _EXPORT_NAME.match(stem):
        return match.group("chat").strip()
    if stem != "_chat":
        return stem
    # iOS names the text "_chat.txt" and the zip (or the folder it unpacks to) after the chat.
    if "/" in name:
        container = name.rsplit("/", 2)[-2]
    elif tree.kind == "zip":
        container = tree.path.stem
    elif tree.kind == "folder":
        container = tree.path.name
    else:
        container = tree.path.resolve().parent.name
        if not _EXPORT_NAME.match(container):
            return stem
    match = _EXPORT_NAME.match(container)
    return match.group("chat").strip() if match else container


class WhatsAppConnector(Connector):
    name: ClassVar[str] = "whatsapp"
    version: ClassVar[str] = "1"
    formats: ClassVar[str] = "WhatsApp 'Export chat' text (_chat.txt, 'WhatsApp Chat with NAME.txt') or its zip, Android and iOS"
    # The first line of an export is a specific date stamp, but .txt is a generic suffix: let
    # connectors that look for named export files go first; mail (60) checks its own first line.
    priority: ClassVar[int] = 55

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        names = [tree.path.name] if tree.kind == "file" else chat_names(tree)[:_SNIFF_FILES]
        if tree.kind == "file" and not tree.path.name.lower().endswith(".txt"):
            return False
        return any(starts_like_chat(head_lines(tree, name)) for name in names)

    def source_key(self, tree: SourceTree) -> str:
        if tree.kind == "file":
            return chat_key(tree, tree.path.name)
        names = [n for n in chat_names(tree) if starts_like_chat(head_lines(tree, n))]
        if tree.kind == "folder" and len(names) > 1:
            return tree.path.name
        return chat_key(tree, names[0]) if names else tree.path.stem

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        if tree.kind == "file":
            names = [tree.path.name]
        else:
            names = []
            for name in chat_names(tree):
                if starts_like_chat(head_lines(tree, name)):
                    names.append(name)
                else:
                    yield Skipped(kind="file", reason="not a WhatsApp chat export (no WhatsApp date stamp at its start)", where=name)
        if not names:
            raise InputError(
                f"{tree.path}: no WhatsApp chat export found (expected _chat.txt or 'WhatsApp Chat with NAME.txt'); "
                "export the chat with WhatsApp's 'Export chat'"
            )
        members = frozenset(tree.names())
        for name in names:
            context.on_file(name)
            where = tree.describe(name)
            text, replaced = decode(tree.read_bytes(name), where)
            chat = parse_chat(text, where, replaced)
            if not context.include_private:
                yield Skipped(kind="space", reason=PRIVATE_REASON, where=name)
                continue
            yield from self._records(context, chat, name, chat_key(tree, name), members)

    def _records(self, context: ReadContext, chat: Chat, name: str, chat_name: str, members: frozenset[str]) -> Iterator[Record]:
        if chat.replaced_bytes:
            yield Skipped(kind="encoding", reason="invalid UTF-8 bytes replaced with U+FFFD", where=name)
        if chat.preamble_lines:
            yield Skipped(kind="line", reason="text before the first dated line", where=name)
        folder = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
        parsed = []
        authors: dict[str, str] = {}  # identity key -> name as shown, in order of appearance
        has_group_events = False
        for entry in chat.entries:
            sent_at = timestamp(entry, chat.order)
            if sent_at is None:
                yield Skipped(kind="message", reason=f"the date does not exist when read {chat.order}", where=f"{name}:{entry.line}")
                continue
            author, text, system = split_entry(entry.body())
            for person in ([author] if author else []) + (event_names(system) if system else []):
                authors.setdefault(identity_key(person), person)
            has_group_events = has_group_events or (system is not None and system.kind in _GROUP_EVENTS)
            parsed.append((entry, sent_at, author, text, system))
        kind: SpaceKind = "group" if has_group_events or len({a for _, _, a, _, _ in parsed if a}) > 2 else "dm"
        meta: JsonDict = {"date_order": chat.order}
        if chat.order_assumed:
            # Nothing in the file told day and month apart; users should check a few dates.
            meta["date_order_assumed"] = True
        space = space_record(context, chat_name, kind, meta)
        yield space
        for person in authors.values():
            yield identity_record(context, person)
        seen: Counter[tuple[str, str]] = Counter()
        messages: list[Message] = []
        for entry, sent_at, author, text, system in parsed:
            stamp = sent_at.isoformat()
            if system is not None:
                # Native ids count repeats of the same instant and author (or event kind), not
                # line numbers, so a later export of the same chat maps onto the same ids.
                native_id = f"{stamp}|event:{system.kind}|{seen[stamp, 'event:' + system.kind]}"
                seen[stamp, "event:" + system.kind] += 1
                yield self.raw(context, "event", native_id, {"line": entry.lines, "file": name})
                yield event_record(context, native_id, space.id, system, text, sent_at)
                continue
            assert author is not None  # split_entry sets exactly one of author and system
            key = identity_key(author)
            native_id = f"{stamp}|{key}|{seen[stamp, key]}"
            seen[stamp, key] += 1
            shown, message_meta = message_text(text)
            if "attachment" in message_meta:
                message_meta["attachment_included"] = folder + message_meta["attachment"] in members
            yield self.raw(context, "message", native_id, {"line": entry.lines, "file": name})
            messages.append(message_record(context, native_id, space.id, author, sent_at, shown, message_meta))
        # Exports record no replies: conversations are inferred over the whole chat once it is read.
        yield from thread_messages(messages, {context.id("identity", identity_key(person)): person for person in authors.values()})
        yield from messages

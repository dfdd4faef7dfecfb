"""Reading DiscordChatExporter JSON files: one channel per file, in a folder, a zip or alone.

Each file is parsed whole with ``json.loads`` (DCE writes one JSON document per channel, so
there is nothing to stream by without a streaming parser; a channel of a million messages
takes a few GB of memory: a known limit). Reply chains are resolved within each file; in a
channel (not a thread's file, which is one conversation) the messages that reply to nothing
get their conversations from flat-channel disentanglement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.discord import mapping as m
from villagegreen.connectors.disentangle import thread_messages
from villagegreen.connectors.json_documents import JsonFormat, json_candidates, load_json
from villagegreen.connectors.reply_roots import resolve_roots
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Conversation, Identity, Message, Record, Skipped

# DCE writes "guild" as the first key and "channel" right after it.
_DCE_HEAD = re.compile(rb'^(?:\xef\xbb\xbf)?\s*\{\s*"guild"\s*:\s*\{')
SNIFF_BYTES = 4096
SNIFF_FILES = 3
PRIVATE_SKIP = "private channel/DM skipped (use --include-private)"


def json_names(tree: SourceTree) -> list[str]:
    """Candidate channel files, shallowest first (a lone file counts whatever its name)."""
    return json_candidates(tree)


def looks_like_dce(head: bytes) -> bool:
    return _DCE_HEAD.match(head) is not None and b'"channel"' in head


JSON_FORMAT = JsonFormat(
    what="a DiscordChatExporter JSON export", hint="export the channel again with DiscordChatExporter (format: JSON)", again="export it again"
)


def load(tree: SourceTree, name: str) -> Any:
    return load_json(tree, name, JSON_FORMAT)


def is_channel_document(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("channel"), dict) and "messages" in data and "guild" in data


class ExportReader:
    """One pass over the channel files of one input."""

    def __init__(self, connector: Connector, tree: SourceTree, context: ReadContext) -> None:
        self.connector = connector
        self.tree = tree
        self.context = context
        self.authors: set[str] = set()
        self.others: dict[str, Identity] = {}
        self.channel_names: dict[str, str] = {}
        # Authors' names as members see them (identity id -> name), for the disentangler's cues.
        self.names: dict[str, str] = {}

    def read(self) -> Iterator[Record]:
        names = json_names(self.tree)
        channels = 0
        for name in names:
            self.context.on_file(name)
            data = load(self.tree, name)
            if not is_channel_document(data):
                if self.tree.kind == "file":
                    raise InputError(
                        f"{self.tree.describe(name)}: not a DiscordChatExporter JSON export (no guild, channel and messages); export the channel as JSON"
                    )
                yield Skipped("file", "not a DiscordChatExporter JSON export", self.tree.describe(name))
                continue
            channels += 1
            yield from self._channel(data, name)
        yield from (identity for user_id, identity in self.others.items() if user_id not in self.authors)
        if channels == 0:
            raise InputError(f"{self.tree.path}: no DiscordChatExporter JSON export found; export channels with DiscordChatExporter in JSON format")

    def _channel(self, data: Mapping[str, Any], name: str) -> Iterator[Record]:
        where = self.tree.describe(name)
        guild = data["guild"] if isinstance(data.get("guild"), Mapping) else None
        channel = data["channel"]
        if not channel.get("id"):
            raise InputError(f"{where}: the channel has no id; export the channel again with DiscordChatExporter (format: JSON)")
        if m.is_private(guild, channel) and not self.context.include_private:
            yield Skipped("space", PRIVATE_SKIP, where)
            return
        messages = data.get("messages")
        if not isinstance(messages, list):
            raise InputError(f"{where}: 'messages' is not a list; the file is damaged: export the channel again")
        space = m.space_from_channel(self.context, guild, channel)
        channel_id = space.native_id
        self.channel_names[channel_id] = space.name
        yield self.connector.raw(self.context, "channel", channel_id, {"guild": guild, "channel": channel})
        yield space
        entries, parents, events = self._index(messages, channel_id, where)
        yield from (skip for skip in entries if isinstance(skip, Skipped))
        thread = channel if channel.get("type") in m.THREAD_CHANNEL_TYPES else None
        roots = self._roots(parents, entries, thread)
        # Held until the channel is threaded (a thread's file is one conversation already).
        held: list[Record] = []
        for item in entries:
            if isinstance(item, Skipped):
                continue
            native_id, entry, kind = item
            try:
                held.extend(self._entry(entry, native_id, kind, space.id, roots, parents, events))
            except (ItemError, KeyError, TypeError, AttributeError) as error:
                reason = str(error) if isinstance(error, ItemError) else f"unexpected shape ({type(error).__name__})"
                yield Skipped("message", f"malformed message: {reason}", f"{where} id={entry.get('id')}")
        messages = [record for record in held if isinstance(record, Message)]
        if thread is None:
            yield from self._thread(messages)
        else:
            yield from (Conversation.opened_by(message) for message in messages if message.conversation_id == message.id)
        yield from held

    def _thread(self, messages: list[Message]) -> list[Conversation]:
        """Conversations of a flat channel: reply chains kept, the other messages disentangled.

        A message a thread was started from (``meta.thread``) stays a root, because its thread's
        file hangs the whole thread off it; so does a reply to a system message (a welcome).
        """
        names = {identity.id: identity.display_name for identity in self.others.values()}
        names.update(self.names)
        fixed = {message.id for message in messages if "thread" in message.meta or "reply_to_event" in message.meta}
        return thread_messages(messages, names, keep_roots=fixed)

    def _index(
        self, messages: list[Any], channel_id: str, where: str
    ) -> tuple[list[tuple[str, Mapping[str, Any], str | None] | Skipped], dict[str, str | None], set[str]]:
        """Entries in file order with their kind, plus the reply links between messages."""
        entries: list[tuple[str, Mapping[str, Any], str | None] | Skipped] = []
        parents: dict[str, str | None] = {}
        events: set[str] = set()
        seen: set[str] = set()
        for index, entry in enumerate(messages):
            if not isinstance(entry, Mapping):
                entries.append(Skipped("message", "malformed message: not a JSON object", f"{where} #{index}"))
                continue
            try:
                native_id = m.message_native_id(channel_id, entry)
            except ItemError as error:
                entries.append(Skipped("message", f"malformed message: {error}", f"{where} #{index}"))
                continue
            if native_id in seen:
                # DCE's partitioned and re-run exports can repeat a message; it is the same one.
                entries.append(Skipped("message", "duplicate of a message already read", f"{where} id={entry.get('id')}"))
                continue
            seen.add(native_id)
            kind = m.event_kind(str(entry.get("type") or "Default"))
            entries.append((native_id, entry, kind))
            if kind is None:
                parents[native_id] = m.reference_native_id(channel_id, entry)
            else:
                events.add(native_id)
        # A reply to a system message (a welcome to a join) starts its own conversation.
        for native_id, parent in parents.items():
            if parent in events:
                parents[native_id] = None
        return entries, parents, events

    def _roots(self, parents: dict[str, str | None], entries: list[Any], thread: Mapping[str, Any] | None) -> dict[str, str]:
        if thread is not None and parents:
            # A thread is one conversation. It hangs off the message it was started from, which
            # the thread-starter system message names (in the parent channel's file); without
            # one (forum posts, older exports) the thread's first message is the root.
            starters = [m.reference_native_id(str(thread["id"]), item[1]) for item in entries if not isinstance(item, Skipped) and item[2] == "thread_starter"]
            anchor = next((s for s in starters if s is not None), None) or next(iter(parents))
            for native_id, parent in parents.items():
                if parent is None and native_id != anchor:
                    parents[native_id] = anchor
        return resolve_roots(parents)

    def _entry(
        self,
        entry: Mapping[str, Any],
        native_id: str,
        kind: str | None,
        space_id: str,
        roots: dict[str, str],
        parents: dict[str, str | None],
        events: set[str],
    ) -> Iterator[Record]:
        if kind is not None:
            event = m.event_from_entry(self.context, entry, native_id=native_id, kind=kind, space_id=space_id)
            yield from self._people(entry)
            yield self.connector.raw(self.context, "message", native_id, entry)
            yield event
            return
        root = roots[native_id]
        reply = None if root == native_id else parents[native_id]
        message = m.message_from_entry(
            self.context, entry, native_id=native_id, root_native=root, reply_native=reply, space_id=space_id, channel_names=self.channel_names
        )
        reference = m.reference_native_id(native_id.partition(":")[0], entry)
        if reference in events:
            message.meta["reply_to_event"] = self.context.id("event", reference)
        reactions = m.reactions_from_entry(self.context, entry, native_id=native_id)
        yield from self._people(entry)
        yield self.connector.raw(self.context, "message", native_id, entry)
        yield message
        yield from reactions

    def _people(self, entry: Mapping[str, Any]) -> list[Identity]:
        """The author's identity the first time they author something.

        Mentioned and reacting accounts wait in ``others`` until the end: only an author entry
        says whether the account is a bot, so writing one identity twice with different
        content would make re-imports count spurious updates.
        """
        author = entry.get("author")
        found: list[Identity] = []
        if isinstance(author, Mapping) and author.get("id") and str(author["id"]) not in self.authors:
            identity = m.identity_from_user(self.context, author)
            found.append(identity)
            self.authors.add(str(author["id"]))
            self.names[identity.id] = identity.display_name
        users: list[Any] = list(entry.get("mentions") or [])
        for reaction in entry.get("reactions") or []:
            if isinstance(reaction, Mapping):
                users.extend(reaction.get("users") or [])
        for user in users:
            if isinstance(user, Mapping) and user.get("id") and str(user["id"]) not in self.others:
                self.others[str(user["id"])] = m.identity_from_user(self.context, user)
        return found

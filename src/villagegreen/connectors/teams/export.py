"""Mapping collected chatMessages to records, one channel or chat at a time.

Channel threads are what Teams shows: a root message (``replyToId`` null) and its replies
(``replyToId`` = the root), so each root is a conversation. Chats have no threads: a message
that quotes another (a ``messageReference`` attachment) replies to it and joins its
conversation; every other chat message is its own conversation (a later disentangler groups
flat chatter).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.reply_roots import resolve_roots
from villagegreen.connectors.teams import mapping as m
from villagegreen.connectors.teams.files import Collected
from villagegreen.errors import ItemError
from villagegreen.model import Conversation, Identity, Record, Skipped, Space, SpaceKind

PRIVATE_SKIP = "private chat or channel skipped (use --include-private)"
EVENT_TYPES = frozenset({"systemEventMessage", "unknownFutureValue"})
# Membership types whose members are invited one by one: private unless included.
PRIVATE_CHANNELS = frozenset({"private", "shared"})


class TeamsReader:
    def __init__(self, connector: Connector, context: ReadContext, collected: Collected) -> None:
        self.connector = connector
        self.context = context
        self.collected = collected
        self.people: dict[str, Identity] = {}

    def read(self) -> Iterator[Record]:
        yield from self.collected.skipped
        groups: dict[str, list[tuple[str, Mapping[str, Any], str]]] = {}
        for native, (message, where) in self.collected.messages.items():
            groups.setdefault(native.rpartition("/")[0], []).append((native, message, where))
        for container in sorted(groups):
            self.context.on_file(container)
            yield from self._container(container, groups[container])
        # Once each, after every message, so the name an account last posted under wins.
        yield from self.people.values()

    def _space(self, container: str, sample: Mapping[str, Any]) -> Space:
        _, team, is_chat = m.container_of(sample)
        if is_chat:
            # One-to-one chat ids end in "@unq.gbl.spaces"; group and meeting chats do not.
            kind: SpaceKind = "dm" if container.endswith("@unq.gbl.spaces") else "group_dm"
            return Space(self.context.id("space", container), self.context.source_id, container, container, kind, private=True, meta={"chat": True})
        channel = self.collected.channels.get(container, {})
        membership = channel.get("membershipType")
        meta = {k: v for k, v in (("teamId", team), ("membershipType", membership), ("description", channel.get("description"))) if v}
        name = channel.get("displayName") if isinstance(channel.get("displayName"), str) and channel.get("displayName") else container
        return Space(
            self.context.id("space", container), self.context.source_id, container, str(name), "channel", private=membership in PRIVATE_CHANNELS, meta=meta
        )

    def _container(self, container: str, entries: list[tuple[str, Mapping[str, Any], str]]) -> Iterator[Record]:
        space = self._space(container, entries[0][1])
        if space.private and not self.context.include_private:
            yield Skipped("space", PRIVATE_SKIP, container)
            return
        yield self.connector.raw(self.context, "space", container, {"id": container, **self.collected.channels.get(container, {})})
        yield space
        entries.sort(key=lambda e: (str(e[1].get("createdDateTime") or ""), e[0]))
        parents: dict[str, str | None] = {}
        for native, message, _where in entries:
            parent = message.get("replyToId") or m.quoted_message(message)
            parents[native] = m.native_id(container, parent) if parent else None
        roots = resolve_roots(parents)
        for native, message, where in entries:
            try:
                yield from self._message(message, native, roots[native], parents[native], space.id, where)
            except (ItemError, KeyError, TypeError, AttributeError, ValueError) as error:
                reason = str(error) if isinstance(error, ItemError) else f"unexpected shape ({type(error).__name__})"
                yield Skipped("message", f"malformed message: {reason}", where)

    def _message(self, message: Mapping[str, Any], native: str, root: str, parent: str | None, space_id: str, where: str) -> Iterator[Record]:
        kind = message.get("messageType")
        if message.get("deletedDateTime"):
            yield Skipped("message", "deleted", where)
            return
        if kind in EVENT_TYPES and (kind == "systemEventMessage" or m.as_dict(message.get("eventDetail"))):
            event = m.event_from(self.context, message, native=native, space_id=space_id)
            detail = m.as_dict(message.get("eventDetail"))
            self._person(m.sender(detail.get("initiator")) or m.sender(message.get("from")), authored=False)
            yield self.connector.raw(self.context, "message", native, message)
            yield event
            return
        if kind != "message":
            yield Skipped("message", f"unsupported messageType {str(kind)[:40]}", where)
            return
        record = m.message_from(self.context, message, native=native, root_native=root, reply_native=None if root == native else parent, space_id=space_id)
        self._person(m.sender(message.get("from")), authored=True)
        reactions = m.reactions_from(self.context, message, native=native)
        for _reaction, who in reactions:
            self._person(who, authored=False)
        yield self.connector.raw(self.context, "message", native, message)
        if root == native:
            conversation = Conversation.opened_by(record)
            if record.meta.get("subject"):
                conversation.title = record.meta["subject"]
            yield conversation
        yield record
        for reaction, _who in reactions:
            yield reaction

    def _person(self, found: tuple[str, str | None, bool] | None, *, authored: bool) -> None:
        if found is None:
            return
        native, name, is_bot = found
        known = self.people.get(native)
        # Reactions and system messages often carry no display name: never let them erase one.
        if known is None or (name and (authored or known.display_name == "Unknown user")):
            self.people[native] = m.identity_for(self.context, native, name if name or known is None else known.display_name, is_bot)

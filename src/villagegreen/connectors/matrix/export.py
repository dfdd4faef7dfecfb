"""Mapping one room's events to records: edits folded in, redactions honoured, threads rooted.

A room is read whole because later events change earlier ones: an ``m.replace`` edit
rewrites its original, an ``m.room.redaction`` (or ``unsigned.redacted_because``) removes its
target, and an ``m.reaction`` attaches to a message. Conversations: a thread (``rel_type:
m.thread``) is one conversation rooted at its thread root; outside threads a reply chain
(``m.in_reply_to``) is rooted at its first message (see
:func:`~villagegreen.connectors.reply_roots.resolve_roots`); every other message gets its
conversation from flat-channel disentanglement
(:func:`~villagegreen.connectors.disentangle.thread_messages`) over the whole room.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.disentangle import thread_messages
from villagegreen.connectors.matrix import mapping as m
from villagegreen.connectors.matrix.files import RoomInput
from villagegreen.connectors.matrix.rooms import RoomState, resolve_state, space_for
from villagegreen.connectors.reply_roots import resolve_roots
from villagegreen.errors import ItemError
from villagegreen.model import Conversation, Identity, Message, Record, Skipped

PRIVATE_SKIP = "private room skipped (use --include-private)"
ENCRYPTED_SKIP = "encrypted event (export from a client that holds the keys: Element's export decrypts)"
MESSAGE_TYPES = frozenset({"m.room.message", "m.sticker"})


def _ts(event: Mapping[str, Any]) -> int:
    value = event.get("origin_server_ts")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class RoomReader:
    """One pass over one room."""

    def __init__(self, connector: Connector, context: ReadContext, room: RoomInput, people: dict[str, Identity]) -> None:
        self.connector = connector
        self.context = context
        self.room = room
        self.people = people
        self.events = sorted(room.events.values(), key=lambda e: (_ts(e), e["event_id"]))
        self.state: RoomState = resolve_state(room.room_id, [*room.state, *self.events])
        self.redacted: set[str] = set()
        self.messages: dict[str, Mapping[str, Any]] = {}
        self.edits: dict[str, list[Mapping[str, Any]]] = {}

    def read(self) -> Iterator[Record]:
        space = space_for(self.context, self.room, self.state)
        if space.private and not self.context.include_private:
            yield Skipped("space", PRIVATE_SKIP, self.room.room_id)
            return
        yield space
        self._classify()
        roots = resolve_roots(self._parents())
        # Held until the room is threaded: messages outside threads and reply chains get their
        # conversations from flat-channel disentanglement over the whole room.
        held: list[Record] = []
        for event in self.events:
            where = f"{self.room.room_id} {event['event_id']}"
            try:
                held.extend(self._event(event, space.id, roots))
            except (ItemError, KeyError, TypeError, ValueError, AttributeError) as error:
                reason = str(error) if isinstance(error, ItemError) else f"unexpected shape ({type(error).__name__})"
                yield Skipped("message" if event.get("type") in MESSAGE_TYPES else "event", f"malformed event: {reason}", where)
        yield from self._thread([record for record in held if isinstance(record, Message)])
        yield from held

    def _thread(self, messages: list[Message]) -> list[Conversation]:
        """Conversations for the room: threads and reply chains kept, the other messages disentangled.

        Messages inside a thread are not in the room's timeline, so they are never a parent; a
        thread root stays a root (its thread is one conversation), though a later message may join it.
        """
        in_threads = {message.id for message in messages if "thread_root" in message.meta}
        thread_roots = {str(message.meta["thread_root"]) for message in messages if "thread_root" in message.meta}
        names = {person.id: person.display_name for person in self.people.values()}
        return thread_messages(messages, names, keep_roots=thread_roots, off_stream=in_threads)

    def _classify(self) -> None:
        for event in self.events:
            if event["type"] == "m.room.redaction" and (target := m.redaction_target(event)):
                self.redacted.add(target)
            elif m.is_redacted(event):
                self.redacted.add(event["event_id"])
        for event in self.events:
            if event["type"] not in MESSAGE_TYPES or event["event_id"] in self.redacted:
                continue
            if m.is_edit(event):
                target = m.relation(m.as_dict(event.get("content"))).get("event_id")
                self.edits.setdefault(str(target), []).append(event)
            else:
                self.messages[event["event_id"]] = event

    def _parents(self) -> dict[str, str | None]:
        parents: dict[str, str | None] = {}
        for event_id, event in self.messages.items():
            content = m.as_dict(event.get("content"))
            parent = m.thread_root(content) or m.reply_target(content)
            # A reply to a state event or a reaction (not a message) starts its own conversation.
            if parent in self.room.events and parent not in self.messages and parent not in self.redacted:
                parent = None
            parents[event_id] = parent
        return parents

    def _event(self, event: Mapping[str, Any], space_id: str, roots: dict[str, str]) -> Iterator[Record]:
        event_id, kind = event["event_id"], event["type"]
        where = f"{self.room.room_id} {event_id}"
        if event_id in self.messages:
            yield from self._message(event, space_id, roots)
        elif kind in MESSAGE_TYPES:
            if event_id in self.redacted:
                yield Skipped("message", "redacted", where)
            else:
                yield from self._unused_edit(event, where)
        elif kind == "m.reaction":
            yield from self._reaction(event, where)
        elif kind == "m.room.redaction":
            # Its effect is the target's absence; the redaction itself is kept only as raw.
            yield self.connector.raw(self.context, "event", event_id, event)
        elif isinstance(event.get("state_key"), str):
            record = m.event_from_state(self.context, event, space_id=space_id)
            self._person(event.get("state_key") if kind == "m.room.member" else event.get("sender"))
            self._person(event.get("sender"))
            yield self.connector.raw(self.context, "event", event_id, event)
            yield record
        elif kind == "m.room.encrypted":
            yield Skipped("message", ENCRYPTED_SKIP, where)
        else:
            yield Skipped("event", f"unsupported event type {kind[:60]}", where)

    def _message(self, event: Mapping[str, Any], space_id: str, roots: dict[str, str]) -> Iterator[Record]:
        event_id = event["event_id"]
        root = roots[event_id]
        content = m.as_dict(event.get("content"))
        reply_to: str | None = None
        if root != event_id:
            target, thread = m.reply_target(content), m.thread_root(content)
            falling_back = m.relation(content).get("is_falling_back") is True
            # In a thread, m.in_reply_to is only a real reply when it is not the fallback for
            # thread-unaware clients; otherwise the message answers the thread root.
            reply_to = (target if target and not falling_back else thread) if thread else (target or thread)
        edit = self._latest_edit(event)
        message = m.message_from_event(self.context, event, edit=edit, root=root, reply_to=reply_to, space_id=space_id)
        self._person(event.get("sender"))
        yield self.connector.raw(self.context, "event", event_id, event)
        if edit is not None:
            yield self.connector.raw(self.context, "event", edit["event_id"], edit)
        yield message

    def _latest_edit(self, event: Mapping[str, Any]) -> Mapping[str, Any] | None:
        # The spec ignores edits by anyone but the original sender.
        own = [e for e in self.edits.get(event["event_id"], []) if e.get("sender") == event.get("sender")]
        return max(own, key=lambda e: (_ts(e), e["event_id"])) if own else None

    def _unused_edit(self, event: Mapping[str, Any], where: str) -> Iterator[Record]:
        target = m.relation(m.as_dict(event.get("content"))).get("event_id")
        original = self.messages.get(str(target))
        if original is None:
            yield Skipped("edit", "edit of a message not in the input (or redacted)", where)
        elif original.get("sender") != event.get("sender"):
            yield Skipped("edit", "edit by someone other than the sender (ignored, as the spec says)", where)
        # Otherwise an older edit superseded by a later one: folded into the message, nothing to say.

    def _reaction(self, event: Mapping[str, Any], where: str) -> Iterator[Record]:
        if event["event_id"] in self.redacted:
            yield Skipped("reaction", "redacted (reaction removed)", where)
            return
        rel = m.relation(m.as_dict(event.get("content")))
        target, key = rel.get("event_id"), rel.get("key")
        if rel.get("rel_type") != "m.annotation" or not isinstance(target, str) or not isinstance(key, str) or not key:
            raise ItemError("reaction without an m.annotation target and key")
        if target not in self.messages:
            yield Skipped("reaction", "reaction to a message not imported", where)
            return
        reaction = m.reaction_from_event(self.context, event, target=target, key=key)
        self._person(event.get("sender"))
        yield self.connector.raw(self.context, "event", event["event_id"], event)
        yield reaction

    def _person(self, user: object) -> None:
        user_id = m.user_native_id(user)
        if user_id is None:
            return
        # A name from this room's membership beats a bare user id seen in another room.
        name = self.state.display_names.get(user_id)
        if user_id not in self.people or (name and self.people[user_id].display_name == user_id):
            self.people[user_id] = m.identity_for(self.context, user_id, name)

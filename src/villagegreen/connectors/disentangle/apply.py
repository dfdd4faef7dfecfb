"""Threading a flat stream of canonical messages: what connectors call after mapping a space.

Connectors of flat platforms (WhatsApp, Telegram, Discord channels, unthreaded Slack and Matrix
messages) map each message first, then hand one space's messages to :func:`thread_messages`,
which fills in the conversations the platform did not record. Messages are changed in place
(records are plain dataclasses built for this one import).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from villagegreen.connectors.disentangle.threader import ChatLine, conversation_roots, disentangle
from villagegreen.model import Conversation, Message


def explicit_parent(message: Message) -> str | None:
    """Where the connector already placed the message: its conversation, else its reply target.

    The conversation comes first because the connector may know more than the reply link (a
    chain through a message it skipped, a platform thread); None means "not placed".
    """
    if message.conversation_id and message.conversation_id != message.id:
        return message.conversation_id
    return message.reply_to_id or None


def thread_messages(
    messages: Sequence[Message],
    author_names: Mapping[str, str],
    *,
    keep_roots: Collection[str] = (),
    off_stream: Collection[str] = (),
) -> list[Conversation]:
    """Give every message of ONE space a conversation; returns the conversations these messages open.

    ``messages`` are one space's messages (any order; they are threaded in time order, ties
    kept in the given order). ``author_names`` maps ``author_id`` to the name members see
    (used for ``@name`` and ``name:`` cues; a missing one falls back to the id).

    - A message the connector already placed (:func:`explicit_parent`: a conversation other
      than itself, or a reply link) keeps its ``reply_to_id`` and stays in that conversation,
      even one rooted outside ``messages`` (the store then infers it); it moves only when its
      root itself gets an inferred parent.
    - Every other message gets a parent from :func:`~.threader.disentangle`, or starts a
      conversation. An inferred parent becomes ``reply_to_id`` and the message carries
      ``meta["reply_inferred"] = True``.
    - ``keep_roots``: ids of messages that get no inferred parent (a platform thread's root,
      whose replies the platform has already grouped); they can still be the parent of a
      later message, and a recorded link of their own still counts.
    - ``off_stream``: ids of messages that readers of the channel do not see in its stream
      (replies inside a platform thread). They keep their recorded link and are never chosen
      as a parent; they follow their root's conversation like everyone else.

    Every message's ``conversation_id`` is then its root's id, and one
    :meth:`Conversation.opened_by` is returned per root among ``messages``, in time order.
    """
    return [Conversation.opened_by(root) for root in place_messages(messages, author_names, keep_roots=keep_roots, off_stream=off_stream)]


def place_messages(
    messages: Sequence[Message],
    author_names: Mapping[str, str],
    *,
    keep_roots: Collection[str] = (),
    off_stream: Collection[str] = (),
) -> list[Message]:
    """:func:`thread_messages`, returning the root messages (in time order) instead of their
    conversations: for a connector that yields its own Conversation records."""
    ordered = sorted(messages, key=_sent_at)
    kept, hidden = set(keep_roots), set(off_stream)
    # One explicit_parent per message; a list, not a dict, so that messages sharing an id
    # (a corrupt export) each keep their own link in the stream, as they always did.
    links = [explicit_parent(message) for message in ordered]
    lines = [
        # A self link pins a root: disentangle keeps a given link, conversation_roots reads it as "no parent".
        ChatLine(
            message.id,
            author_names.get(message.author_id, message.author_id) if message.author_id else "",
            message.sent_at,
            message.text,
            link or (message.id if message.id in kept else None),
        )
        for message, link in zip(ordered, links, strict=True)
        if message.id not in hidden
    ]
    parents = disentangle(lines)
    recorded = {message.id: link for message, link in zip(ordered, links, strict=True)}
    for message in ordered:
        if message.id in hidden:
            parents[message.id] = recorded[message.id] or message.id
    inferred = [message.id for message in ordered if recorded[message.id] is None and parents[message.id] != message.id]
    if _has_forward_link(ordered, recorded):
        _drop_cycles(parents, inferred)
    roots = conversation_roots(parents)
    opened: list[Message] = []
    for message in ordered:
        message_id = message.id
        parent = parents[message_id]
        if parent != message_id and recorded[message_id] is None:
            message.reply_to_id = parent
            # A fresh dict: a mapper may share one meta dict between records.
            message.meta = {**message.meta, "reply_inferred": True}
        root = message.conversation_id = roots[message_id]
        if root == message_id:
            opened.append(message)
    return opened


def _sent_at(message: Message) -> datetime:
    return message.sent_at


def _has_forward_link(ordered: Sequence[Message], recorded: Mapping[str, str | None]) -> bool:
    """Whether a recorded link points at a later message (only then can an inferred one close a cycle)."""
    position = {message.id: index for index, message in enumerate(ordered)}
    return any(position.get(target or "", -1) > position[child] for child, target in recorded.items())


def _drop_cycles(parents: dict[str, str], inferred: Sequence[str]) -> None:
    """Undo each inferred link that leads back to its own message; that message stays a root.

    Inferred links point backwards, so a cycle needs a recorded forward link, which only a
    corrupt export holds; without this, the cut would leave a root with a parent.
    """
    for child in inferred:
        node, seen = parents[child], set()
        while node != child and node not in seen and parents.get(node, node) != node:
            seen.add(node)
            node = parents[node]
        if node == child:
            parents[child] = child

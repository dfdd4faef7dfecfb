"""What mapping one Slack space carries from one message to the next (see :class:`SpaceState`)."""

from __future__ import annotations

from datetime import datetime

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.slack.export import PlannedSpace
from villagegreen.connectors.slack.mapping import IdCache, message_native_id


class SpaceState:
    """What mapping one space carries from message to message.

    Ids are hashes (:meth:`ReadContext.id`), a few per message; the ones that recur are
    remembered here: an author's identity id is hashed once per space, and a reply's
    conversation id is its root's message id, hashed when the root was read.
    """

    __slots__ = ("_context", "channel_id", "event_conversations", "event_roots", "identity_ids", "message_ids", "space_id")

    def __init__(self, space: PlannedSpace, context: ReadContext) -> None:
        self.channel_id = space.native_id
        self.space_id = context.id("space", space.native_id)
        # Threads can hang off a join or topic change; those roots are events, not messages.
        self.event_roots: dict[str, datetime] = {}
        self.event_conversations: set[str] = set()
        self.message_ids: dict[str, str] = {}  # ts -> message id
        self.identity_ids = IdCache(context, "identity")
        self._context = context

    def message_id(self, ts: str) -> str:
        """The id of this space's message ``ts``, read or not (a reply may outlive its root)."""
        known = self.message_ids.get(ts)
        return known if known is not None else self._context.id("message", message_native_id(self.channel_id, ts))

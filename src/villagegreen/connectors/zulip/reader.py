"""The read loop both Zulip formats share: topics into conversations, privacy, identities.

A format reader (:mod:`.export` or :mod:`.pages`) is a :class:`PostSource`: it yields
:class:`~.mapping.Post` values (and :class:`~villagegreen.model.Skipped` notes) and answers which
space a post is in and who a user is. This loop makes two passes over the posts because a
topic's root is its earliest message and messages of one topic are spread over many files
(exports are split every 1000 messages; saved API pages may be in any order). The first pass
keeps only one integer per topic, so memory stays small whatever the size of the realm.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.zulip import mapping as m
from villagegreen.errors import ItemError
from villagegreen.model import Record, Skipped

PRIVATE_SKIP = "private channel or direct messages skipped (use --include-private)"
UNKNOWN_PRIVACY_SKIP = "channel of unknown privacy skipped (save GET /api/v1/streams as streams.json beside the pages, or use --include-private)"


class PostSource(Protocol):
    def posts(self, *, announce: bool) -> Iterator[m.Post | Skipped]:
        """Every message of the input, in any order; callable more than once. ``announce``: report
        each file to ``ReadContext.on_file`` (only on the pass the user sees as the import)."""

    def space(self, post: m.Post) -> m.SpaceInfo:
        """Where ``post`` was sent; raises ItemError when the input does not say."""

    def user(self, user_id: int) -> m.UserInfo | None: ...

    def raw_payload(self, post: m.Post) -> Any: ...


class ThreadReader:
    """One pass to find each topic's root, one to yield records."""

    def __init__(self, connector: Connector, context: ReadContext, source: PostSource) -> None:
        self.connector = connector
        self.context = context
        self.source = source

    def read(self) -> Iterator[Record]:
        roots: dict[tuple[str, str], int] = {}
        for item in self.source.posts(announce=False):
            if isinstance(item, m.Post):
                key = item.thread_key
                if item.id < roots.get(key, item.id + 1):
                    roots[key] = item.id
        seen: set[int] = set()
        spaces: set[str] = set()
        refused: set[str] = set()
        people: dict[int, None] = {}
        for item in self.source.posts(announce=True):
            if isinstance(item, Skipped):
                yield item
                continue
            if item.id in seen:
                # Saved API pages overlap at their anchors; the first copy read wins.
                continue
            seen.add(item.id)
            where = f"message id={item.id}"
            try:
                info = self.source.space(item)
            except ItemError as error:
                yield Skipped("message", f"malformed message: {error}", where)
                continue
            if info.private and not self.context.include_private:
                if info.native_id not in refused:
                    refused.add(info.native_id)
                    reason = UNKNOWN_PRIVACY_SKIP if info.meta.get("privacy_unknown") else PRIVATE_SKIP
                    yield Skipped("space", reason, f"space {info.native_id}")
                continue
            try:
                records = self._records(item, roots[item.thread_key])
            except (ItemError, KeyError, TypeError, ValueError, AttributeError) as error:
                reason = str(error) if isinstance(error, ItemError) else f"unexpected shape ({type(error).__name__})"
                yield Skipped("message", f"malformed message: {reason}", where)
                continue
            if info.native_id not in spaces:
                spaces.add(info.native_id)
                yield self.connector.raw(self.context, "space", info.native_id, info.payload if info.payload is not None else {"name": info.name})
                yield m.space_record(self.context, info)
            yield self.connector.raw(self.context, "message", item.id, self.source.raw_payload(item))
            yield from records
            people[item.sender_id] = None
            for reaction in item.reactions:
                people[reaction.user_id] = None
        # Written once each, after every message, with what the input says about the account.
        for user_id in people:
            yield m.identity_record(self.context, user_id, self.source.user(user_id))

    def _records(self, post: m.Post, root_id: int) -> list[Record]:
        message = m.message_record(self.context, post, root_id=root_id)
        records: list[Record] = []
        if root_id == post.id:
            records.append(m.conversation_record(message, post))
        records.append(message)
        records.extend(m.reaction_records(self.context, post))
        return records

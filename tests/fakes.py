"""A tiny connector over a JSON list, for testing the store without any platform's quirks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Conversation, Identity, Message, Record, Space


class JsonListConnector(Connector):
    """Reads ``[{"id", "user", "t", "text", "parent"?, "fail"?}]``; ``fail`` raises mid-import."""

    name = "jsonlist"
    version = "1"
    formats = "a JSON list of messages (tests only)"

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return tree.names()[0].endswith(".jsonlist")

    def source_key(self, tree: SourceTree) -> str:
        return "test-community"

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        items = json.loads(tree.read_bytes(tree.names()[0]))
        space = context.id("space", "general")
        yield Space(space, context.source_id, "general", "general", "channel")
        for item in items:
            if item.get("fail"):
                raise InputError("planted failure")
            root = item.get("parent", item["id"])
            message_id = context.id("message", item["id"])
            yield self.raw(context, "message", item["id"], item)
            yield Identity(context.id("identity", item["user"]), context.source_id, item["user"], item["user"].title())
            if "parent" not in item:
                yield Conversation(message_id, context.source_id, space, item["text"][:20], datetime.fromtimestamp(item["t"], UTC))
            yield Message(
                id=message_id,
                source_id=context.source_id,
                native_id=item["id"],
                conversation_id=context.id("message", root),
                reply_to_id=context.id("message", item["parent"]) if "parent" in item else None,
                space_id=space,
                author_id=context.id("identity", item["user"]),
                sent_at=datetime.fromtimestamp(item["t"], UTC),
                text=item["text"],
            )


def messages(n: int, start: int = 0) -> list[dict[str, object]]:
    """``n`` messages in threads of five, alternating between three people."""
    out: list[dict[str, object]] = []
    for i in range(start, start + n):
        item: dict[str, object] = {"id": str(i), "user": ["ann", "bo", "cy"][i % 3], "t": 1_700_000_000 + i * 60, "text": f"message {i}"}
        if i % 5:
            item["parent"] = str(i - i % 5)
        out.append(item)
    return out

"""``MatrixConnector``: detection, the room (or server) as source key, and reading rooms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.matrix.export import RoomReader
from villagegreen.connectors.matrix.files import collect, locate
from villagegreen.connectors.parsed_once import ParsedOnce
from villagegreen.connectors.tree import SourceTree
from villagegreen.model import Identity, Record


class MatrixConnector(Connector):
    name: ClassVar[str] = "matrix"
    version: ClassVar[str] = "1.0.0"
    formats: ClassVar[str] = (
        "Matrix client-server JSON (/rooms/{id}/messages pages, /sync responses, /state lists) or Element's Export chat JSON, as a file, folder or zip"
    )
    # An object with a Matrix container key and event_id/origin_server_ts events is specific.
    priority: ClassVar[int] = 30

    def __init__(self) -> None:
        # source_key and read both need every file parsed: parse once per input.
        self._inputs = ParsedOnce(collect)

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return locate(tree) is not None

    def source_key(self, tree: SourceTree) -> str:
        """The room id when the input holds one room; else the server most room ids name."""
        return self._inputs.get(tree).source_key()

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        collected = self._inputs.take(tree)
        yield from collected.skipped
        people: dict[str, Identity] = {}
        for room_id in sorted(collected.rooms):
            context.on_file(room_id)
            yield from RoomReader(self, context, collected.rooms[room_id], people).read()
        # Once each, after every room, so each account is one row.
        yield from people.values()

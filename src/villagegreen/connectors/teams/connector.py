"""``TeamsConnector``: detection, the team (or chat) as source key, and reading Graph message JSON."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.parsed_once import ParsedOnce
from villagegreen.connectors.teams.export import TeamsReader
from villagegreen.connectors.teams.files import collect, locate
from villagegreen.connectors.tree import SourceTree
from villagegreen.model import Record


class TeamsConnector(Connector):
    name: ClassVar[str] = "teams"
    version: ClassVar[str] = "1.0.0"
    formats: ClassVar[str] = (
        "Microsoft Teams messages as Microsoft Graph JSON (channel messages and replies, chat messages; "
        "pages of {'value': [chatMessage]}), as a file, folder or zip"
    )
    # JSON with chatMessage keys (messageType, createdDateTime, channelIdentity/chatId) is specific.
    priority: ClassVar[int] = 30

    def __init__(self) -> None:
        # source_key and read both need every file parsed: parse once per input.
        self._inputs = ParsedOnce(collect)

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return locate(tree) is not None

    def source_key(self, tree: SourceTree) -> str:
        """The team id of the first channel message; the first chat's id for chats only."""
        return self._inputs.get(tree).source_key()

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        collected = self._inputs.take(tree)
        return TeamsReader(self, context, collected).read()

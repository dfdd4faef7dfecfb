"""``TeamsConnector``: detection, the team (or chat) as source key, and reading Graph message JSON."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.teams.export import TeamsReader
from villagegreen.connectors.teams.files import Collected, collect, locate
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
        self._loaded: tuple[str, Collected] | None = None

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return locate(tree) is not None

    def source_key(self, tree: SourceTree) -> str:
        """The team id of the first channel message; the first chat's id for chats only."""
        return self._collected(tree).source_key()

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        collected = self._collected(tree)
        self._loaded = None
        return TeamsReader(self, context, collected).read()

    def _collected(self, tree: SourceTree) -> Collected:
        if self._loaded is not None and self._loaded[0] == tree.location:
            return self._loaded[1]
        collected = collect(tree)
        self._loaded = (tree.location, collected)
        return collected

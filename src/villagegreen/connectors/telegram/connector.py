"""``TelegramConnector``: detection, the chat (or account) as source key, and reading ``result.json``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.parsed_once import ParsedOnce
from villagegreen.connectors.telegram.export import ExportReader, candidates, export_files, load, locate
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Record

FULL_EXPORT_KEY = "telegram-export"


class TelegramConnector(Connector):
    name: ClassVar[str] = "telegram"
    version: ClassVar[str] = "1.0.0"
    formats: ClassVar[str] = "Telegram Desktop JSON export: result.json of one chat or of the whole account, alone or in its folder or zip"
    # A JSON object holding a Telegram chat type and "message"/"service" entries is specific.
    priority: ClassVar[int] = 30

    def __init__(self) -> None:
        # source_key and read both need the parsed document; parse it once per input.
        self._first = ParsedOnce(_first_document)

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return locate(tree) is not None

    def source_key(self, tree: SourceTree) -> str:
        """The chat's id for a one-chat export; the exporting account's id for a full export."""
        _name, document = self._first.get(tree)
        if isinstance(document.get("messages"), list):
            return str(document.get("id") or FULL_EXPORT_KEY)
        me = document.get("personal_information")
        user_id = me.get("user_id") if isinstance(me, dict) else None
        return str(user_id) if user_id not in (None, "") else FULL_EXPORT_KEY

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        return ExportReader(self, tree, context, self._documents(tree)).read()

    def _documents(self, tree: SourceTree) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each export file's document, parsed as it is reached (only one is held at a time)."""
        first, document = self._first.take(tree)
        yield first, document
        for name in export_files(tree):
            if name != first:
                yield name, load(tree, name)


def _first_document(tree: SourceTree) -> tuple[str, dict[str, Any]]:
    """The name and parsed document of the export's main file (result.json)."""
    name = locate(tree)
    if name is None:
        # Forced with --platform, or the head is unusual: read the likeliest file and let
        # its shape decide, so the error names what is wrong with it.
        found = candidates(tree)
        if not found:
            raise InputError(f"{tree.path}: no result.json found; export with Telegram Desktop (Export chat history, format JSON)")
        name = found[0]
    return name, load(tree, name)

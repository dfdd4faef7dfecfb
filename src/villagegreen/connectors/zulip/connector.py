"""``ZulipConnector``: detection of either Zulip format, the realm as source key, and reading."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.tree import SourceTree
from villagegreen.connectors.zulip.documents import SNIFF_FILES, export_folder, page_files
from villagegreen.connectors.zulip.export import ExportSource
from villagegreen.connectors.zulip.pages import PagesSource
from villagegreen.connectors.zulip.reader import ThreadReader
from villagegreen.model import Record


class ZulipConnector(Connector):
    name: ClassVar[str] = "zulip"
    version: ClassVar[str] = "1.0.0"
    formats: ClassVar[str] = (
        "Zulip organisation export (folder or zip with realm.json and messages-*.json), "
        "or saved GET /api/v1/messages responses (JSON files, a folder or zip of them)"
    )
    # realm.json's zerver_* tables, or a messages list with Zulip-only keys, are specific.
    priority: ClassVar[int] = 30

    def __init__(self) -> None:
        # source_key and read both need realm.json, which can be large: parse it once per input.
        self._export: tuple[str, ExportSource] | None = None

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return export_folder(tree) is not None or bool(page_files(tree, limit=SNIFF_FILES))

    def source_key(self, tree: SourceTree) -> str:
        """The realm's subdomain (``string_id``), the same for an export and API pages of one realm."""
        export = self._export_source(tree)
        return export.key if export is not None else PagesSource(tree).key()

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        export = self._export_source(tree)
        if export is not None:
            export.context = context
            return ThreadReader(self, context, export).read()
        return ThreadReader(self, context, PagesSource(tree, context)).read()

    def _export_source(self, tree: SourceTree) -> ExportSource | None:
        if self._export is not None and self._export[0] == tree.location:
            return self._export[1]
        folder = export_folder(tree)
        if folder is None:
            return None
        source = ExportSource(tree, folder)
        self._export = (tree.location, source)
        return source

"""``MattermostConnector``: detection, the team as source key, and dispatch to the two readers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from villagegreen.connectors.base import Connector, ReadContext
from villagegreen.connectors.mattermost import api, bulk
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Record

NOT_MATTERMOST = (
    "not a Mattermost bulk export (a .jsonl file starting with a version line) nor saved API v4 "
    "posts pages; export with mmctl export create, or save GET /api/v4/channels/{id}/posts responses"
)


class MattermostConnector(Connector):
    name: ClassVar[str] = "mattermost"
    version: ClassVar[str] = "0.1.0"
    formats: ClassVar[str] = (
        "Mattermost bulk export (.jsonl, or mmctl's export zip holding it); or a folder of saved API v4 responses (channel posts pages, channels, users)"
    )
    # A version line or a posts page keyed by 26-character ids is specific.
    priority: ClassVar[int] = 35

    def __init__(self) -> None:
        # source_key and read both need the API responses; parse them once per input.
        self._saved: tuple[str, api.SavedResponses] | None = None

    @classmethod
    def sniff(cls, tree: SourceTree) -> bool:
        return bulk.locate(tree) is not None or api.locate(tree) is not None

    def source_key(self, tree: SourceTree) -> str:
        """The team name (bulk export) or team id (API); failing that, what the input is called."""
        name = bulk.locate(tree)
        if name is not None:
            key = bulk.team_name(tree, name)
        else:
            saved = self._load(tree)
            key = saved.team() or min((p["channel_id"] for p in saved.posts.values()), default=None)
        return key or (tree.path.stem if tree.kind != "folder" else tree.path.resolve().name)

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        name = bulk.locate(tree)
        if name is not None:
            return bulk.BulkReader(self, tree, name, context).read()
        return api.ApiReader(self, tree, context, self._load(tree)).read()

    def _load(self, tree: SourceTree) -> api.SavedResponses:
        if self._saved is not None and self._saved[0] == tree.location:
            return self._saved[1]
        if api.locate(tree) is None and not _forced_readable(tree):
            raise InputError(f"{tree.path}: {NOT_MATTERMOST}")
        saved = api.load(tree)
        self._saved = (tree.location, saved)
        return saved


def _forced_readable(tree: SourceTree) -> bool:
    """With --platform, a folder whose posts pages are not among the first files sniffed is still read."""
    return tree.kind != "file" and any(api.looks_like_page(tree.head(n, api.SNIFF_BYTES)) for n in api.candidates(tree))

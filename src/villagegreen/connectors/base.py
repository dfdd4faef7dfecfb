"""The contract every connector follows.

A connector is a class with a ``name``, a ``version`` and a one-line ``formats`` description.
Export importers implement :meth:`Connector.sniff` (does this input look like mine?),
:meth:`Connector.source_key` (which community is this, stable across later exports) and
:meth:`Connector.read` (yield canonical records). They never touch the store: the store's
ingest stage consumes the records, which is why every connector can be tested without a
database and every one gets the same transactional, idempotent import.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from villagegreen.connectors.tree import SourceTree
from villagegreen.model import RawItem, Record, make_id


@dataclass(slots=True)
class ReadContext:
    """What a connector needs to know about this import."""

    source_id: str
    # The community's name as resolved for this import (``source_key`` or the user's --source).
    source_name: str = ""
    include_private: bool = False
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Called with a short label as each input file starts, so the CLI can show progress.
    on_file: Callable[[str], None] = lambda _name: None

    def id(self, kind: str, native_id: object) -> str:
        """The deterministic id of a native object of ``kind`` in this source."""
        return make_id(self.source_id, kind, str(native_id))


class Connector(ABC):
    """Base class of export importers (and, later, live API connectors)."""

    name: ClassVar[str]
    version: ClassVar[str]
    formats: ClassVar[str]
    # Detection order: a more specific connector (lower number) wins when several accept.
    priority: ClassVar[int] = 50

    @classmethod
    @abstractmethod
    def sniff(cls, tree: SourceTree) -> bool:
        """True when ``tree`` looks like this connector's format. Must be cheap: read little."""

    @abstractmethod
    def source_key(self, tree: SourceTree) -> str:
        """A stable name for the community this input comes from.

        Later exports of the same community must give the same key (it seeds every id), so use
        something inside the data (a team id, a list address, a site name), not the file path.
        """

    @abstractmethod
    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        """Yield canonical records (and :class:`~villagegreen.model.Skipped` notes)."""

    def raw(self, context: ReadContext, kind: str, native_id: object, payload: Any) -> RawItem:
        """Wrap a platform payload for the ``raw_items`` table as JSON (a string becomes a JSON string)."""
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return RawItem(
            id=context.id(f"raw:{kind}", native_id),
            source_id=context.source_id,
            connector=self.name,
            connector_version=self.version,
            kind=kind,
            native_id=str(native_id),
            payload=text,
            fetched_at=context.fetched_at,
        )

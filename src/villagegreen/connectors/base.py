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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any, ClassVar, Protocol

from villagegreen.connectors.tree import SourceTree
from villagegreen.model import ID_BYTES, ID_SEPARATOR, RawItem, Record


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
    # Processes the import may read with (``--workers``): a connector that splits its own work
    # (the mail first pass) uses no more than this.
    workers: int = 1
    _prefixes: dict[str, blake2b] = field(default_factory=dict, init=False, repr=False, compare=False)

    def id(self, kind: str, native_id: object) -> str:
        """The deterministic id of a native object of ``kind`` in this source: :func:`make_id`'s.

        Called several times per message, so it continues a hash that has already taken in the
        prefix of ``kind`` (copying that state costs a quarter less than hashing the prefix
        again; twice as fast as make_id's cache, which misses on every new id). Same bytes
        hashed, so the same ids (tested against make_id).
        """
        started = self._prefixes.get(kind)
        if started is None:
            prefix = f"{self.source_id}{ID_SEPARATOR}{kind}{ID_SEPARATOR}"
            started = self._prefixes[kind] = blake2b(prefix.encode(), digest_size=ID_BYTES)
        digest = started.copy()
        digest.update(f"{native_id}".encode())
        return digest.hexdigest()


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

    def read_parts(self, tree: SourceTree, context: ReadContext) -> PartedRead | None:
        """The same records as :meth:`read`, split into parts that may be read in parallel.

        None (the default) when this connector or this input cannot be split; the import then
        reads :meth:`read` in one process.
        """
        return None

    def raw(self, context: ReadContext, kind: str, native_id: object, payload: Any) -> RawItem:
        """Wrap a platform payload for the ``raw_items`` table as JSON (a string becomes a JSON string)."""
        return self.raw_json(context, kind, native_id, json.dumps(payload, ensure_ascii=False, separators=(",", ":")))

    def raw_json(self, context: ReadContext, kind: str, native_id: object, text: str) -> RawItem:
        """:meth:`raw` for a payload already serialised (by a faster writer, on a hot path)."""
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


class PartedRead(Protocol):
    """A read split into a head, independent parts (one channel each, say) and a tail.

    Each part must depend only on what the head established, never on another part: the
    import may read parts in worker processes (forked, so a part's closure needs no pickling),
    in any order, each from the state the head left. What a part learnt that later records
    need (accounts seen only in its messages) comes back through :meth:`part_learnt`, which
    must return something picklable, and is folded in by :meth:`absorb` in part order, so the
    records are the same whatever the number of workers. :func:`read_in_order` is the
    one-process reading, and ``read`` of a connector that offers parts should be exactly it.
    """

    @property
    def labels(self) -> Sequence[str]:
        """One short label per part, for progress (a channel's name)."""
        ...

    def head(self) -> Iterator[Record]:
        """Records before any part (listings, spaces); establishes the state parts start from."""
        ...

    def part(self, index: int) -> Iterator[Record]:
        """The records of part ``index``, from the head's state."""
        ...

    def part_learnt(self, index: int) -> object:
        """After :meth:`part` is exhausted (in the same process): what it learnt, picklable."""
        ...

    def absorb(self, index: int, learnt: object) -> None:
        """Fold one part's learnt state in; called once per part, in part order."""
        ...

    def tail(self) -> Iterator[Record]:
        """Records after every part (identities of everyone the parts met)."""
        ...


def read_in_order(parted: PartedRead) -> Iterator[Record]:
    """Every record of ``parted`` in one process: head, each part in order, tail."""
    yield from parted.head()
    for index in range(len(parted.labels)):
        yield from parted.part(index)
        parted.absorb(index, parted.part_learnt(index))
    yield from parted.tail()

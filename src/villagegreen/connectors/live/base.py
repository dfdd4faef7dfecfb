"""The contract of a live connector, and the staging folder it fetches into.

A live connector never maps anything itself. It fetches what changed since its cursor and
writes it into a :class:`Staging` folder **in the very layout that platform's importer reads**
(saved API responses, or export files); the store then runs the importer's own connector over
that folder. So a synced message and an imported one go through the same mapping code and get
the same ids (given the same ``source_key``). Where the importer needs more than the new items
to map a space the same way (Slack threads unthreaded channel messages over the whole
channel), the live connector also stages what is already stored, read through ``stored``.

Cursors are strings the connector defines (a timestamp, or JSON for per-channel state); the
store saves one per source, only in the transaction that writes what was fetched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

# (raw kind, native id prefix) -> (native id, payload) of raw_items already stored for the source.
StoredRaw = Callable[[str, str], Iterator[tuple[str, Any]]]


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """What tests inject: the HTTP transport and the sleep used for rate-limit waits."""

    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one fetch produced: the cursor to save with it, and how many spaces/topics it touched."""

    cursor_after: str
    touched: int


class Staging:
    """A folder the fetched responses are saved into, as the importer expects to find them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0

    def write(self, name: str, payload: Any) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        self.files += 1


class LiveConnector(Protocol):
    """One configured source of one platform, ready to fetch."""

    # The importer (registry name) whose connector reads the staging folder.
    platform: str
    # Where the data comes from, for the import run's record (a URL; never a secret).
    location: str

    def source_key(self) -> str:
        """The community's stable key (seeds every id); may ask the API (Slack: the team id)."""

    def fetch(self, cursor: str | None, staging: Staging, stored: StoredRaw) -> Fetched:
        """Fetch what changed since ``cursor`` into ``staging``; raise a VillageGreenError on failure."""

    def close(self) -> None: ...

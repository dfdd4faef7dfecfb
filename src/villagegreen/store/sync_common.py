"""What every sync shares: the report, the token from the environment, the cursor, crash points."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from villagegreen.config import SourceConfig
from villagegreen.errors import ConfigError
from villagegreen.store.database import Store
from villagegreen.store.ingest import CRASH_AT_ENV
from villagegreen.store.report import ImportReport

STREAM = "sync"


@dataclass(slots=True)
class SyncReport:
    """What one source's sync did: counts, cursor before/after, and the error if it failed.

    ``rooms`` counts the spaces (rooms, channels, topics) that had something new.
    """

    source: str
    source_id: str = ""
    new: int = 0
    updated: int = 0
    redacted: int = 0
    rooms: int = 0
    cursor_before: str | None = None
    cursor_after: str | None = None
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    platform: str = ""
    imported: ImportReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "platform": self.platform, "source_id": self.source_id, "new": self.new,
            "updated": self.updated, "redacted": self.redacted, "rooms": self.rooms, "cursor_before": self.cursor_before,
            "cursor_after": self.cursor_after, "errors": self.errors, "seconds": round(self.seconds, 3),
            # Items the importer's mapping skipped (private spaces, malformed records), as in an import.
            "skipped": sum(self.imported.skipped.values()) if self.imported else 0,
        }  # fmt: skip


def token_for(source: SourceConfig) -> str:
    token = os.environ.get(source.token_env, "").strip()
    if not token:
        raise ConfigError(f"source {source.name}: environment variable {source.token_env} is not set; export the access token there")
    return token


def read_cursor(store: Store, source_id: str) -> str | None:
    row = store.con.execute("SELECT cursor FROM sync_state WHERE source_id = ? AND stream = ?", [source_id, STREAM]).fetchone()
    return str(row[0]) if row else None


def save_cursor(con: duckdb.DuckDBPyConnection, source_id: str, cursor: str, now: datetime) -> None:
    con.execute("INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?, ?)", [source_id, STREAM, cursor, now])


def crash_point(name: str) -> None:
    """SIGKILL this process at ``name`` when a crash-safety test asks (see store/ingest.py).

    Sync's points: ``sync-batch`` (records written, transaction open), ``sync-before-commit``
    (cursor written, not committed) and ``sync-after-commit``.
    """
    if os.environ.get(CRASH_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)

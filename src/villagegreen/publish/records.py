"""The ``publications`` table: what was posted where (store migration 8).

A row is written only after the platform accepted the post, in the same transaction as its
audit-log entry, so a failure leaves neither and a re-run finds the row and posts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from villagegreen.store import audit
from villagegreen.store.database import Store


@dataclass(frozen=True, slots=True)
class Publication:
    item_kind: str
    item_id: str
    target: str
    target_kind: str
    remote_id: str | None
    remote_url: str | None
    content_hash: str
    published_at: datetime
    actor: str

    def to_dict(self) -> dict[str, Any]:
        return {"item_kind": self.item_kind, "item_id": self.item_id, "target": self.target, "target_kind": self.target_kind,
                "remote_id": self.remote_id, "remote_url": self.remote_url, "content_hash": self.content_hash,
                "published_at": self.published_at.isoformat(), "actor": self.actor}  # fmt: skip


_COLUMNS = "item_kind, item_id, target, target_kind, remote_id, remote_url, content_hash, published_at, actor"


def find(store: Store, item_kind: str, item_id: str, target: str) -> Publication | None:
    rows = store.con.execute(f"SELECT {_COLUMNS} FROM publications WHERE item_kind = ? AND item_id = ? AND target = ?", [item_kind, item_id, target]).fetchall()
    return Publication(*rows[0]) if rows else None


def list_publications(store: Store, *, target: str | None = None) -> list[Publication]:
    rows = store.con.execute(
        f"SELECT {_COLUMNS} FROM publications WHERE ? IS NULL OR target = ? ORDER BY published_at, item_kind, item_id", [target, target]
    ).fetchall()
    return [Publication(*row) for row in rows]


def record(store: Store, publication: Publication) -> None:
    """The row and its audit entry, together or not at all."""
    with store.transaction():
        store.con.execute(f"INSERT INTO publications ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            publication.item_kind, publication.item_id, publication.target, publication.target_kind, publication.remote_id,
            publication.remote_url, publication.content_hash, publication.published_at, publication.actor])  # fmt: skip
        details = {k: v for k, v in publication.to_dict().items() if k not in ("actor", "published_at")}
        audit.record(store, "publish", None, details, actor=publication.actor)

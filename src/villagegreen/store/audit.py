"""The audit log: facilitator actions that touch people.

One row per action: merges, unmerges, rejections, consent changes and erasures (publishing
will add its own). ``details`` is a small JSON object whose keys depend on the action. The
caller owns the transaction, so an action and its audit row commit together or not at all.
An erasure rewrites the rows about the erased person (see :mod:`villagegreen.store.erasure`),
so the log keeps that something happened without keeping who it happened to.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from villagegreen.store.database import Store

ACTIONS = ("merge", "unmerge", "reject", "consent", "erase", "publish")


def default_actor() -> str:
    """The person acting: ``$USER`` (or the login name), ``unknown`` in bare containers."""
    if user := os.environ.get("USER"):
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    recorded_at: datetime
    actor: str
    action: str
    person_id: str | None
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "recorded_at": self.recorded_at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "person_id": self.person_id,
            "details": self.details,
        }


def record(store: Store, action: str, person_id: str | None, details: dict[str, Any], *, actor: str | None = None) -> AuditEntry:
    """Append one entry; call inside the transaction of the action it describes."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    ((next_id,),) = store.con.execute("SELECT coalesce(max(id), 0) + 1 FROM audit_log").fetchall()
    entry = AuditEntry(int(next_id), datetime.now(UTC), actor or default_actor(), action, person_id, details)
    store.con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?)",
        [entry.id, entry.recorded_at, entry.actor, action, person_id, json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)],
    )
    return entry


def entries(store: Store, *, action: str | None = None, person_id: str | None = None) -> list[AuditEntry]:
    """The log, oldest first, optionally only one action or one person."""
    rows = store.con.execute(
        "SELECT id, recorded_at, actor, action, person_id, details FROM audit_log WHERE (? IS NULL OR action = ?) AND (? IS NULL OR person_id = ?) ORDER BY id",
        [action, action, person_id, person_id],
    ).fetchall()
    return [AuditEntry(int(i), at, actor, act, pid, json.loads(details) if details else {}) for i, at, actor, act, pid, details in rows]

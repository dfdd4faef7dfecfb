"""The consent registry: what each person agreed to or refused, for every platform at once.

Consent is keyed by person (all their merged identities), so a choice made once applies to
every account they have. Purposes:

- ``analysis``: person-level analysis (``people activity`` and any per-person figure);
- ``quoting``: being quoted by name in stories and digests;
- ``routing``: being suggested as an expert to ask;
- ``records``: contribution records for reviews.

A missing row means "not recorded", which is not consent. When people merge, the strictest
recorded status wins per purpose (a refusal by either identity's person beats a grant, a grant
beats nothing): a refusal given on one platform must never be lost by a merge. An unmerge
leaves that merged status on every person it restores. Every change is written to the audit
log in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from villagegreen.errors import InputError
from villagegreen.store import audit
from villagegreen.store.database import Store

PURPOSES: dict[str, str] = {
    "analysis": "person-level analysis (per-person figures such as `people activity`)",
    "quoting": "being quoted by name in stories and digests",
    "routing": "being suggested as an expert to ask",
    "records": "contribution records for reviews",
}
Status = Literal["granted", "refused"]
STATUSES: tuple[Status, ...] = ("granted", "refused")
# Higher is stricter; the strictest status wins a merge.
_STRICTNESS = {"granted": 1, "refused": 2}


@dataclass(frozen=True, slots=True)
class ConsentRow:
    person_id: str
    display_name: str
    purpose: str
    status: str
    recorded_at: datetime
    actor: str
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id, "display_name": self.display_name, "purpose": self.purpose, "status": self.status,
            "recorded_at": self.recorded_at.isoformat(), "actor": self.actor, "note": self.note,
        }  # fmt: skip


def check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise InputError(f"unknown consent purpose {purpose!r}; choose one of: {', '.join(PURPOSES)}")
    return purpose


def consent_status(store: Store, person_id: str, purpose: str) -> Status | None:
    """``granted``, ``refused``, or None when nothing is recorded for this person and purpose."""
    found = store.con.execute("SELECT status FROM consent WHERE person_id = ? AND purpose = ?", [person_id, check_purpose(purpose)]).fetchall()
    return found[0][0] if found else None


def refused_people(store: Store, purpose: str) -> set[str]:
    """Person ids who refused ``purpose``: leave them out of whatever serves it."""
    rows = store.con.execute("SELECT person_id FROM consent WHERE purpose = ? AND status = 'refused'", [check_purpose(purpose)]).fetchall()
    return {str(row[0]) for row in rows}


def set_consent(store: Store, person_id: str, purpose: str, status: str, *, note: str | None = None, actor: str | None = None) -> audit.AuditEntry:
    """Record a grant or refusal for a person (a resolved person id) and log it."""
    check_purpose(purpose)
    if status not in STATUSES:
        raise InputError(f"consent status must be granted or refused, not {status!r}")
    if not store.con.execute("SELECT 1 FROM people WHERE id = ?", [person_id]).fetchall():
        raise InputError(f"{person_id!r}: no such person; give an id from `villagegreen people list`")
    who = actor or audit.default_actor()
    previous = consent_status(store, person_id, purpose)
    with store.transaction():
        store.con.execute("INSERT OR REPLACE INTO consent VALUES (?, ?, ?, ?, ?, ?)", [person_id, purpose, status, datetime.now(UTC), who, note])
        return audit.record(store, "consent", person_id, {"purpose": purpose, "status": status, "previous": previous, "note": note}, actor=who)


def list_consent(store: Store) -> list[ConsentRow]:
    rows = store.con.execute(
        """
        SELECT c.person_id, coalesce(p.display_name, ''), c.purpose, c.status, c.recorded_at, c.actor, c.note
        FROM consent c LEFT JOIN people p ON p.id = c.person_id ORDER BY p.display_name, c.person_id, c.purpose
        """
    ).fetchall()
    return [ConsentRow(*row) for row in rows]


def merge_consent(store: Store, target: str, absorbed: list[str], *, actor: str) -> dict[str, str]:
    """Fold the consent of ``absorbed`` people into ``target``: the strictest status wins per purpose.

    Call inside the merge's transaction, before the absorbed people are removed. Returns the
    purposes whose status changed on ``target`` (purpose -> new status).
    """
    everyone = [target, *absorbed]
    marks = ", ".join("?" for _ in everyone)
    rows = store.con.execute(
        f"SELECT person_id, purpose, status, recorded_at, actor, note FROM consent WHERE person_id IN ({marks}) ORDER BY recorded_at", everyone
    ).fetchall()
    best: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        current = best.get(row[1])
        if current is None or _STRICTNESS[row[2]] >= _STRICTNESS[current[2]]:
            best[row[1]] = row
    before = {row[1]: row[2] for row in rows if row[0] == target}
    store.con.execute(f"DELETE FROM consent WHERE person_id IN ({marks})", everyone)
    changed = {}
    for purpose, (_, _, status, recorded_at, who, note) in best.items():
        store.con.execute("INSERT INTO consent VALUES (?, ?, ?, ?, ?, ?)", [target, purpose, status, recorded_at, who, note])
        if before.get(purpose) != status:
            changed[purpose] = status
    if changed:
        audit.record(store, "consent", target, {"merged_from": absorbed, "changes": changed, "rule": "strictest wins"}, actor=actor)
    return changed


def copy_consent(store: Store, source: str, targets: list[str]) -> int:
    """Give ``targets`` the consent rows of ``source`` (used by unmerge: both keep it)."""
    copied = 0
    for target in targets:
        if target == source:
            continue
        store.con.execute(
            "INSERT OR REPLACE INTO consent SELECT ?, purpose, status, recorded_at, actor, note FROM consent WHERE person_id = ?", [target, source]
        )
        ((n,),) = store.con.execute("SELECT count(*) FROM consent WHERE person_id = ?", [target]).fetchall()
        copied += int(n)
    return copied

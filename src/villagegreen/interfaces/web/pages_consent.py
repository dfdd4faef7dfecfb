"""Settings → consent: the consent registry and a form to record a person's choice.

The registry is :func:`villagegreen.store.consent.list_consent` (person, purpose, status, when,
by whom, note); a change goes through :func:`~villagegreen.store.consent.set_consent`, which
checks the purpose and status, writes the row and the audit entry in one transaction. The actor
is ``dashboard:<user>`` (the signed-in user, or the local login on 127.0.0.1).
"""

from __future__ import annotations

from typing import Any

from villagegreen.errors import InputError
from villagegreen.store import audit
from villagegreen.store.consent import PURPOSES, STATUSES, list_consent, set_consent
from villagegreen.store.database import Store
from villagegreen.store.people import resolve_person

HISTORY_SHOWN = 20
FOUND_LIMIT = 20
MAX_NOTE_CHARS = 500


def consent_data(store: Store, find: str = "") -> dict[str, Any]:
    rows = [r.to_dict() for r in list_consent(store)]
    history = [e.to_dict() for e in reversed(audit.entries(store, action="consent"))][:HISTORY_SHOWN]
    ((people,),) = store.con.execute("SELECT count(*) FROM people").fetchall()
    found: list[dict[str, str]] = []
    wanted = find.strip()[:100]
    if wanted:
        found = [
            {"person_id": pid, "name": name}
            for pid, name in store.con.execute(
                "SELECT id, display_name FROM people WHERE display_name ILIKE '%' || ? || '%' OR starts_with(id, ?) ORDER BY display_name, id LIMIT ?",
                [wanted, wanted, FOUND_LIMIT],
            ).fetchall()
        ]
    return {
        "purposes": [{"purpose": p, "meaning": meaning} for p, meaning in PURPOSES.items()],
        "statuses": list(STATUSES),
        "registry": rows,
        "counts": {status: sum(1 for r in rows if r["status"] == status) for status in STATUSES},
        "people": int(people),
        "history": history,
        "find": wanted,
        "found": found,
    }


def change_consent(store: Store, form: dict[str, str], *, actor: str) -> dict[str, Any]:
    """Records one choice from the form (fields person, purpose, status, note); InputError if bad."""
    person = form.get("person", "").strip()
    if not person:
        raise InputError("choose a person: give their id (find it with the search above)")
    note = form.get("note", "").strip()[:MAX_NOTE_CHARS] or None
    person_id = resolve_person(store, person)
    entry = set_consent(store, person_id, form.get("purpose", ""), form.get("status", ""), note=note, actor=actor)
    return {"person_id": person_id, "purpose": entry.details["purpose"], "status": entry.details["status"],
            "previous": entry.details["previous"], "audit_id": entry.id, "actor": entry.actor}  # fmt: skip

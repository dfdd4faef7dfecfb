"""People: merging identities, undoing merges, rejecting suggestions, listing, and the audit.

Every merge and unmerge is one transaction that also writes a row to ``people_merges``: the
identities moved, the person each belonged to before (parallel arrays) and the people rows the
merge removed. An unmerge replays that row backwards, so it restores ``identities.person_id``
and ``people`` exactly. Rejected pairs (``people_merge_rejections``) are never suggested again.
Ids may be given in full or as a unique prefix of at least six characters.

Merges, unmerges and rejections also go to the audit log (:mod:`villagegreen.store.audit`),
and a merge folds the people's consent together, strictest status first
(:func:`villagegreen.store.consent.merge_consent`); an unmerge leaves that consent on everyone
it restores.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from villagegreen.errors import InputError, StoreError
from villagegreen.store import audit as audit_log
from villagegreen.store.consent import copy_consent, merge_consent
from villagegreen.store.database import Store
from villagegreen.store.merge_suggestions import identity_facts, suggest

MIN_PREFIX = 6


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """One row of the merge log."""

    id: int
    kind: str
    merged_at: datetime
    actor: str
    reason: str
    score: float | None
    target_person_id: str
    identity_ids: list[str]
    previous_person_ids: list[str]
    undoes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["merged_at"] = self.merged_at.isoformat()
        return data


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


def resolve_person(store: Store, ref: str) -> str:
    """The person id for a person id, an identity id, or a unique prefix of either."""
    ref = ref.strip()
    exact = store.con.execute("SELECT id FROM people WHERE id = ? UNION SELECT person_id FROM identities WHERE id = ?", [ref, ref]).fetchall()
    if exact:
        return str(exact[0][0])
    if len(ref) < MIN_PREFIX:
        raise InputError(f"{ref!r}: no person or identity has this id; give a full id from `villagegreen people list`")
    found = store.con.execute(
        "SELECT id FROM people WHERE starts_with(id, ?) UNION SELECT person_id FROM identities WHERE starts_with(id, ?)", [ref, ref]
    ).fetchall()
    if len(found) != 1:
        problem = "no person or identity" if not found else f"{len(found)} people"
        raise InputError(f"{ref!r}: {problem} match this id; give a full id from `villagegreen people list`")
    return str(found[0][0])


def merge(store: Store, refs: Sequence[str], *, reason: str, actor: str | None = None, score: float | None = None) -> MergeRecord:
    """Merge the people of ``refs`` (people or identities) into the first one's person.

    ``score`` defaults to the best suggestion score among the merged identities (None when no
    rule holds: the reason given is then the only evidence).
    """
    if not reason.strip():
        raise InputError('a merge needs a reason (--reason "same email on both platforms"); nothing was merged')
    targets = list(dict.fromkeys(resolve_person(store, ref) for ref in refs))
    if len(targets) < 2:
        raise InputError("these ids are already one person; give ids of at least two different people")
    target, absorbed = targets[0], targets[1:]
    if score is None:
        # The log keeps how strong the evidence was, computed on the merged identities alone.
        found = suggest(identity_facts(store, targets), per_person=len(targets)).suggestions
        score = max((s.score for s in found), default=None)
    marks = ", ".join("?" for _ in absorbed)
    moved = store.con.execute(f"SELECT id, person_id FROM identities WHERE person_id IN ({marks}) ORDER BY id", absorbed).fetchall()
    removed = store.con.execute(f"SELECT id, display_name, created_at FROM people WHERE id IN ({marks}) ORDER BY id", absorbed).fetchall()
    removed_json = json.dumps([{"id": i, "display_name": n, "created_at": c.isoformat()} for i, n, c in removed])
    with store.transaction():
        record = _log(store, "merge", actor, reason, score, target, [m[0] for m in moved], [m[1] for m in moved], removed_json, None)
        store.con.execute(f"UPDATE identities SET person_id = ? WHERE person_id IN ({marks})", [target, *absorbed])
        merge_consent(store, target, absorbed, actor=record.actor)
        _merge_routing(store, target, absorbed)
        store.con.execute(f"DELETE FROM people WHERE id IN ({marks})", absorbed)
        details = {"merge_id": record.id, "absorbed_people": absorbed, "identity_ids": record.identity_ids, "reason": reason, "score": score}
        audit_log.record(store, "merge", target, details, actor=record.actor)
    return record


def _merge_routing(store: Store, target: str, absorbed: list[str]) -> None:
    """Expert routing follows the person: their routed questions count towards the merged
    person's load, and the target's availability wins (else the first absorbed one's that has one).

    An unmerge leaves both with the target: which identity a suggestion was meant for is not known.
    """
    store.con.execute("UPDATE routing_log SET person_id = ? WHERE list_contains(?, person_id)", [target, absorbed])
    has_own = store.con.execute("SELECT count(*) FROM availability WHERE person_id = ?", [target]).fetchall()[0][0]
    if not has_own:
        store.con.execute(
            "UPDATE availability SET person_id = ? WHERE person_id = (SELECT person_id FROM availability WHERE list_contains(?, person_id) "
            "ORDER BY array_position(?, person_id) LIMIT 1)",
            [target, absorbed, absorbed],
        )
    store.con.execute("DELETE FROM availability WHERE list_contains(?, person_id)", [absorbed])


def unmerge(store: Store, ref: str, *, reason: str = "", actor: str | None = None) -> MergeRecord:
    """Undo the latest merge still in force that involves ``ref`` (a person or an identity).

    Undoing merges one at a time, newest first, walks back any chain of merges exactly.
    """
    keys = {ref.strip(), resolve_person(store, ref)}
    active = store.con.execute(
        """
        SELECT m.id, m.target_person_id, m.identity_ids, m.previous_person_ids, m.removed_people
        FROM people_merges m
        WHERE m.kind = 'merge' AND m.id NOT IN (SELECT undoes FROM people_merges WHERE undoes IS NOT NULL)
          AND (m.target_person_id IN (SELECT unnest(?::VARCHAR[]))
               OR len(list_intersect(m.identity_ids, ?::VARCHAR[])) > 0
               OR len(list_intersect(m.previous_person_ids, ?::VARCHAR[])) > 0)
        ORDER BY m.id DESC LIMIT 1
        """,
        [list(keys)] * 3,
    ).fetchall()
    if not active:
        raise InputError(f"{ref!r}: no merge in force involves this person or identity; see `villagegreen people log`")
    merge_id, target, identity_ids, previous, removed_json = active[0]
    marks = ", ".join("?" for _ in identity_ids)
    ((drifted,),) = store.con.execute(f"SELECT count(*) FROM identities WHERE id IN ({marks}) AND person_id <> ?", [*identity_ids, target]).fetchall()
    if drifted:
        raise StoreError(f"merge #{merge_id} cannot be undone: {drifted} of its identities were changed by hand since; fix them first")
    with store.transaction():
        for person in json.loads(removed_json or "[]"):
            store.con.execute(
                "INSERT INTO people VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                [person["id"], person["display_name"], datetime.fromisoformat(person["created_at"])],
            )
        for identity_id, person_id in zip(identity_ids, previous, strict=True):
            store.con.execute("UPDATE identities SET person_id = ? WHERE id = ?", [person_id, identity_id])
        why = reason.strip() or f"undo merge #{merge_id}"
        record = _log(store, "unmerge", actor, why, None, target, list(identity_ids), [target] * len(identity_ids), None, int(merge_id))
        restored = sorted(set(previous) - {target})
        copy_consent(store, target, restored)
        details = {"merge_id": record.id, "undoes": int(merge_id), "restored_people": restored, "identity_ids": list(identity_ids), "reason": why}
        audit_log.record(store, "unmerge", target, details, actor=record.actor)
        return record


def reject(store: Store, first: str, second: str, *, reason: str, actor: str | None = None) -> int:
    """Record that two people are different, so no suggestion pairs them again; returns pairs added."""
    if not reason.strip():
        raise InputError('a rejection needs a reason (--reason "different people, same name")')
    a, b = resolve_person(store, first), resolve_person(store, second)
    if a == b:
        raise InputError("these ids are one person already; unmerge first if they are not the same person")
    pairs = store.con.execute(
        "SELECT least(x.id, y.id), greatest(x.id, y.id) FROM identities x, identities y WHERE x.person_id = ? AND y.person_id = ?", [a, b]
    ).fetchall()
    now = datetime.now(UTC)
    with store.transaction():
        before = store.con.execute("SELECT count(*) FROM people_merge_rejections").fetchall()[0][0]
        for x, y in pairs:
            store.con.execute(
                "INSERT INTO people_merge_rejections VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", [x, y, now, actor or default_actor(), reason]
            )
        after = store.con.execute("SELECT count(*) FROM people_merge_rejections").fetchall()[0][0]
        details = {"other_person_id": b, "pairs_added": int(after - before), "reason": reason}
        audit_log.record(store, "reject", a, details, actor=actor or default_actor())
    return int(after - before)


def merge_log(store: Store) -> list[MergeRecord]:
    rows = store.con.execute(
        "SELECT id, kind, merged_at, actor, reason, score, target_person_id, identity_ids, previous_person_ids, undoes FROM people_merges ORDER BY id"
    ).fetchall()
    return [MergeRecord(*row) for row in rows]


def _log(
    store: Store,
    kind: str,
    actor: str | None,
    reason: str,
    score: float | None,
    target: str,
    identity_ids: list[str],
    previous: list[str],
    removed_json: str | None,
    undoes: int | None,
) -> MergeRecord:
    ((next_id,),) = store.con.execute("SELECT coalesce(max(id), 0) + 1 FROM people_merges").fetchall()
    record = MergeRecord(int(next_id), kind, datetime.now(UTC), actor or default_actor(), reason, score, target, identity_ids, previous, undoes)
    store.con.execute(
        "INSERT INTO people_merges VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [record.id, kind, record.merged_at, record.actor, reason, score, target, identity_ids, previous, removed_json, undoes],
    )
    return record


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentityView:
    id: str
    source: str
    display_name: str
    handle: str | None
    email: str | None
    is_bot: bool
    messages: int


@dataclass(frozen=True, slots=True)
class PersonView:
    id: str
    display_name: str
    identities: list[IdentityView] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return sum(i.messages for i in self.identities)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "display_name": self.display_name, "messages": self.messages, "identities": [asdict(i) for i in self.identities]}


def list_people(store: Store, *, merged_only: bool = False) -> list[PersonView]:
    """People with their identities, most messages first; ``merged_only`` keeps people with several."""
    rows = store.con.execute(
        """
        WITH counts AS (SELECT author_id, count(*) AS n FROM messages WHERE author_id IS NOT NULL GROUP BY author_id)
        SELECT p.id, p.display_name, i.id, s.name, i.display_name, i.handle, i.email, i.is_bot, coalesce(c.n, 0)
        FROM people p JOIN identities i ON i.person_id = p.id
        JOIN sources s ON s.id = i.source_id LEFT JOIN counts c ON c.author_id = i.id
        ORDER BY p.id, coalesce(c.n, 0) DESC, i.id
        """
    ).fetchall()
    people: dict[str, PersonView] = {}
    for person_id, person_name, *identity in rows:
        people.setdefault(person_id, PersonView(person_id, person_name)).identities.append(IdentityView(*identity))
    chosen = [p for p in people.values() if not merged_only or len(p.identities) > 1]
    return sorted(chosen, key=lambda p: (-p.messages, p.display_name, p.id))


@dataclass(frozen=True, slots=True)
class SourceAudit:
    """Per source, counts to hold against the platform's own member and message numbers.

    ``identities``: accounts seen (members listed in the export plus authors); ``posting``:
    accounts with at least one message; ``people``: distinct people those accounts belong to
    after merges; ``merged_identities``: accounts sharing their person with another account;
    ``shared_people``: people who also appear in another source.
    """

    source: str
    connector: str
    identities: int
    bots: int
    posting: int
    people: int
    merged_identities: int
    shared_people: int
    messages: int
    messages_without_author: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def audit(store: Store) -> list[SourceAudit]:
    rows = store.con.execute(
        """
        WITH sizes AS (SELECT person_id, count(*) AS identities, count(DISTINCT source_id) AS sources FROM identities GROUP BY person_id),
        posting AS (SELECT DISTINCT author_id FROM messages WHERE author_id IS NOT NULL),
        per_source AS (
            SELECT i.source_id,
                   count(*) AS identities,
                   count(*) FILTER (WHERE i.is_bot) AS bots,
                   count(*) FILTER (WHERE i.id IN (SELECT author_id FROM posting)) AS posting,
                   count(DISTINCT i.person_id) AS people,
                   count(*) FILTER (WHERE z.identities > 1) AS merged_identities,
                   count(DISTINCT i.person_id) FILTER (WHERE z.sources > 1) AS shared_people
            FROM identities i JOIN sizes z ON z.person_id = i.person_id GROUP BY i.source_id
        ),
        msgs AS (SELECT source_id, count(*) AS n, count(*) FILTER (WHERE author_id IS NULL) AS anonymous FROM messages GROUP BY source_id)
        SELECT s.name, s.connector, coalesce(p.identities, 0), coalesce(p.bots, 0), coalesce(p.posting, 0), coalesce(p.people, 0),
               coalesce(p.merged_identities, 0), coalesce(p.shared_people, 0), coalesce(m.n, 0), coalesce(m.anonymous, 0)
        FROM sources s LEFT JOIN per_source p ON p.source_id = s.id LEFT JOIN msgs m ON m.source_id = s.id
        ORDER BY s.name
        """
    ).fetchall()
    return [SourceAudit(*row) for row in rows]


def people_totals(store: Store) -> dict[str, int]:
    ((identities, people, merged),) = store.con.execute(
        "SELECT count(*), count(DISTINCT person_id), count(*) FILTER (WHERE id <> person_id) FROM identities"
    ).fetchall()
    return {"identities": int(identities), "people": int(people), "identities_moved_by_merges": int(merged)}

"""``villagegreen people forget``: erase a person from every table, and keep them out of re-imports.

What happens to each kind of row (one transaction, all or nothing):

- identities, the person, their consent, reactions they gave, events about them, analysis
  results and findings scoped to them, merge log rows and rejections naming their identities:
  deleted;
- messages they wrote: deleted, except those that other people's messages still point at
  (a reply or a conversation root), which become tombstones (empty text, no author, kind
  ``erased``, no meta, native id replaced) so every remaining reply and conversation stays
  valid; a conversation rooted at a tombstone loses its title (usually their words), and a
  conversation left without messages is deleted;
- raw payloads: items that are theirs (their account, their messages, items whose own author
  field is them) are deleted; in every other payload their names, handles, emails and ids
  are replaced by ``[erased]`` (see :mod:`villagegreen.store.privacy_redaction`);
- every other text cell of every table (others' message text, titles, meta, findings, the
  audit log, tables added later such as story drafts): the same replacement;
- the audit log keeps one ``erase`` entry with counts and no identifying data; entries about
  them lose their person id.

Forgetting is also a block list: a SHA-256 of (source id, native id) of each erased identity
goes to ``erased_identities``, and :func:`apply_block_list` (run at the end of each import)
erases the same accounts again if a re-import brings them back. Quotes of their words inside
other people's messages are not removed (only their names and addresses are).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from villagegreen.store import audit
from villagegreen.store.database import Store
from villagegreen.store.privacy_redaction import Needles, owned_by, redact_store

_BLOCK_KEY_SQL = "sha256(concat_ws(chr(31), 'villagegreen-erased', {source}, {native}))"


@dataclass(slots=True)
class ErasureReport:
    """What an erasure removed: rows deleted per table, tombstones left, cells rewritten per table."""

    people: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    tombstoned_messages: int = 0
    redacted: dict[str, int] = field(default_factory=dict)
    names_too_short_to_search: int = 0

    def add(self, other: ErasureReport) -> None:
        self.people += other.people
        self.tombstoned_messages += other.tombstoned_messages
        self.names_too_short_to_search += other.names_too_short_to_search
        for mine, theirs in ((self.deleted, other.deleted), (self.redacted, other.redacted)):
            for table, n in theirs.items():
                mine[table] = mine.get(table, 0) + n

    def to_dict(self) -> dict[str, Any]:
        return {
            "people": self.people, "deleted": self.deleted, "tombstoned_messages": self.tombstoned_messages,
            "redacted_cells": self.redacted, "names_too_short_to_search": self.names_too_short_to_search,
        }  # fmt: skip


def forget_person(store: Store, person_id: str, *, actor: str | None = None) -> ErasureReport:
    """Erase a (resolved) person everywhere, in one transaction, and log a tombstone entry."""
    with store.transaction():
        report = erase(store, person_id)
        audit.record(store, "erase", None, {"reason": "people forget", **report.to_dict()}, actor=actor)
    return report


def apply_block_list(store: Store, source_id: str | None = None) -> ErasureReport:
    """Erase again any identity on the block list that an import brought back.

    Call inside the import's transaction, after its rows are written (the lead's hook in
    ``store/ingest.py``). Returns an empty report when nobody came back.
    """
    blocked = store.con.execute(
        f"""
        SELECT DISTINCT i.person_id FROM identities i JOIN erased_identities e
          ON e.key = {_BLOCK_KEY_SQL.format(source="i.source_id", native="i.native_id")}
        WHERE ? IS NULL OR i.source_id = ?
        """,
        [source_id, source_id],
    ).fetchall()
    total = ErasureReport()
    for (person_id,) in blocked:
        total.add(erase(store, str(person_id)))
    if blocked:
        audit.record(store, "erase", None, {"reason": "re-import of an erased identity", **total.to_dict()}, actor="import")
    return total


def erase(store: Store, person_id: str) -> ErasureReport:
    """The erasure itself, inside the caller's transaction."""
    con = store.con
    report = ErasureReport(people=1)
    identities = con.execute("SELECT id, source_id, native_id, display_name, handle, email FROM identities WHERE person_id = ?", [person_id]).fetchall()
    identity_ids = [row[0] for row in identities]
    names = con.execute("SELECT display_name FROM people WHERE id = ?", [person_id]).fetchall()
    messages = con.execute("SELECT id, source_id, native_id FROM messages WHERE list_contains(?, author_id)", [identity_ids]).fetchall()
    needles = _needles(person_id, identities, [n for (n,) in names], [m[2] for m in messages])
    report.names_too_short_to_search = needles.too_short

    def delete(table: str, where: str, params: list[Any]) -> None:
        ((n,),) = con.execute(f'DELETE FROM "{table}" WHERE {where}', params).fetchall()  # DuckDB returns the count
        if n:
            report.deleted[table] = report.deleted.get(table, 0) + int(n)

    tombstones = _tombstones(store, [m[0] for m in messages])
    doomed = [m[0] for m in messages if m[0] not in tombstones]
    delete("reactions", "list_contains(?, identity_id) OR list_contains(?, message_id)", [identity_ids, doomed])
    delete("messages", "list_contains(?, id)", [doomed])
    if tombstones:
        ids = sorted(tombstones)
        con.execute(
            "UPDATE messages SET text = '', word_count = 0, author_id = NULL, kind = 'erased', meta = NULL, native_id = 'erased:' || id "
            "WHERE list_contains(?, id)",
            [ids],
        )
        con.execute("UPDATE conversations SET title = NULL WHERE list_contains(?, id)", [ids])
        report.tombstoned_messages = len(ids)
    touched = sorted({m[0] for m in messages})
    # Derived per-message rows: dialogue-act evidence quotes their words, vectors encode them.
    delete("message_acts", "list_contains(?, message_id)", [touched])
    delete("embeddings", "list_contains(?, message_id)", [touched])
    delete("conversations", "list_contains(?, id) AND id NOT IN (SELECT conversation_id FROM messages)", [touched])
    delete("events", "list_contains(?, identity_id)", [identity_ids])
    _delete_raw(store, identities, messages, delete)
    scopes = [person_id, *identity_ids]
    delete("analysis_results", "scope_kind IN ('person', 'identity') AND list_contains(?, scope_id)", [scopes])
    delete("analysis_findings", "scope_kind IN ('person', 'identity') AND list_contains(?, scope_id)", [scopes])
    delete("consent", "person_id = ?", [person_id])
    # Expert routing (analyses/experts_availability.py): their availability and every time they were suggested.
    delete("availability", "person_id = ?", [person_id])
    delete("routing_log", "person_id = ?", [person_id])
    delete(
        "people_merges",
        "target_person_id = ? OR len(list_intersect(identity_ids, ?)) > 0 OR len(list_intersect(previous_person_ids, ?)) > 0",
        [person_id, identity_ids, scopes],
    )
    delete("people_merge_rejections", "list_contains(?, identity_a) OR list_contains(?, identity_b)", [identity_ids, identity_ids])
    con.execute("UPDATE audit_log SET person_id = NULL WHERE person_id = ?", [person_id])
    now = datetime.now(UTC)
    for _, source_id, native_id, *_ in identities:
        con.execute(
            f"INSERT INTO erased_identities SELECT {_BLOCK_KEY_SQL.format(source='?', native='?')}, ?, ? ON CONFLICT DO NOTHING",
            [source_id, native_id, source_id, now],
        )
    delete("identities", "person_id = ?", [person_id])
    delete("people", "id = ?", [person_id])
    report.redacted = redact_store(store, needles)
    return report


def _needles(person_id: str, identities: list[tuple[Any, ...]], names: list[str], message_native_ids: list[str]) -> Needles:
    needles = Needles()
    needles.add_text(person_id)
    for identity_id, _, native_id, display_name, handle, email in identities:
        needles.add_text(identity_id)
        needles.native_ids.add(str(native_id))
        if len(native_id) >= 6 and not native_id.lstrip("-").isdigit():
            needles.add_text(native_id)
        needles.add_text(display_name)
        needles.add_text(handle)
        needles.add_email(email)
    for name in names:
        needles.add_text(name)
    for native_id in message_native_ids:
        # Mail Message-IDs carry login and host names; short numeric post ids say nothing.
        if len(native_id) >= 8 and not native_id.isdigit():
            needles.add_text(native_id)
    return needles


def _tombstones(store: Store, theirs: list[str]) -> set[str]:
    """Their messages that messages by others still point at, directly or through a chain of theirs."""
    keep: set[str] = set()
    while True:
        rows = store.con.execute(
            """
            SELECT DISTINCT target FROM (
                SELECT reply_to_id AS target, id FROM messages UNION ALL SELECT conversation_id, id FROM messages
            ) WHERE list_contains(?, target) AND target <> id AND (NOT list_contains(?, id) OR list_contains(?, id))
            """,
            [theirs, theirs, sorted(keep)],
        ).fetchall()
        found = {str(r[0]) for r in rows}
        if found <= keep:
            return keep
        keep |= found


def _delete_raw(store: Store, identities: list[tuple[Any, ...]], messages: list[tuple[Any, ...]], delete: Any) -> None:
    by_source: dict[str, set[str]] = {}
    for _, source_id, native_id, *_ in identities:
        by_source.setdefault(source_id, set()).add(str(native_id))
    user_ids = {native for ids in by_source.values() for native in ids}
    for _, source_id, native_id in messages:
        by_source.setdefault(source_id, set()).add(str(native_id))
    for source_id, natives in by_source.items():
        delete("raw_items", "source_id = ? AND list_contains(?, native_id)", [source_id, sorted(natives)])
        owned = [
            raw_id
            for raw_id, payload in store.con.execute("SELECT id, payload FROM raw_items WHERE source_id = ?", [source_id]).fetchall()
            if owned_by(_loads(payload), user_ids)
        ]
        if owned:
            delete("raw_items", "list_contains(?, id)", [owned])


def _loads(payload: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None

"""Who the facilitators are: declared in configuration, never guessed.

Platform flags (Discourse staff, moderator, admin) are a *hint*: they count only when the
configuration says ``platform_role = "..."``; otherwise they are reported so the facilitator
can decide.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from villagegreen.config import IDENTITY_FIELDS, PLATFORM_ROLES, Config, FacilitatorRule

if TYPE_CHECKING:
    import ibis.expr.types as ir


@dataclass(frozen=True, slots=True)
class FacilitatorResolution:
    person_ids: frozenset[str]
    # rule description -> identities it matched (a rule matching nothing is a likely typo)
    matches: dict[str, int] = field(default_factory=dict)
    # identities with a platform staff flag that no rule declared
    flagged_undeclared: int = 0


def resolve_facilitators(identities: ir.Table, sources: ir.Table, config: Config) -> FacilitatorResolution:
    rows = _identity_rows(identities, sources)
    person_ids: set[str] = set()
    matches: dict[str, int] = {}
    for rule in config.facilitators:
        matched = [row for row in rows if _matches(rule, row)]
        matches[rule.describe()] = len(matched)
        person_ids.update(row["person_id"] for row in matched)
    flagged = sum(1 for row in rows if row["roles"] and row["person_id"] not in person_ids)
    return FacilitatorResolution(frozenset(person_ids), matches, flagged)


def _identity_rows(identities: ir.Table, sources: ir.Table) -> list[dict[str, Any]]:
    named = sources.select(source_key=sources.id, source_name=sources.name)
    joined = identities.left_join(named, identities.source_id == named.source_key)
    table = joined.select("source_id", "source_name", "person_id", "is_bot", "meta", *IDENTITY_FIELDS)
    rows = []
    for row in table.to_pyarrow().to_pylist():
        meta = row.pop("meta")
        parsed = json.loads(meta) if isinstance(meta, str) else (meta or {})
        row["roles"] = {role for role in PLATFORM_ROLES if parsed.get(role)}
        rows.append(row)
    return rows


def _matches(rule: FacilitatorRule, row: dict[str, Any]) -> bool:
    if row["is_bot"]:
        return False
    if rule.source is not None and rule.source not in (row["source_id"], row["source_name"]):
        return False
    for name in IDENTITY_FIELDS:
        wanted = getattr(rule, name)
        if wanted is not None and (row[name] or "").casefold() != wanted.casefold():
            return False
    return rule.platform_role is None or rule.platform_role in row["roles"]

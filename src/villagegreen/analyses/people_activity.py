"""The per-person activity table, with the consent policy applied: ``villagegreen people activity``.

Policy (see docs/analyses/activity.md and villagegreen.config):

- a person who refused person-level analysis (consent purpose ``analysis``) never appears by
  name or in a group row; aggregates elsewhere still count their messages anonymously;
- a person who granted it appears by name;
- a person with no recorded consent appears by name only when the organisation's policy says
  ``unrecorded = "show"``; by default (``"aggregate"``) such people are shown only as groups of
  at least k people with similar effort (k-anonymity), never one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from villagegreen.analyses.activity import TimeAndEnergy
from villagegreen.analyses.framework import Window
from villagegreen.analyses.results import latest_run, metric_values
from villagegreen.config import PrivacyConfig
from villagegreen.errors import InputError
from villagegreen.store.database import Store

CONSENT_PURPOSE = "analysis"
COLUMNS = tuple(m.name for m in TimeAndEnergy.metrics if m.name != "active_people")


@dataclass(slots=True)
class PeopleActivity:
    window: str
    named: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    k: int = 5

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window, "k_anonymity": self.k, "people": self.named, "groups": self.groups, "opted_out": self.refused}


def people_activity(store: Store, privacy: PrivacyConfig, window: Window, *, limit: int | None = None) -> PeopleActivity:
    whole = Window("all", window.since, window.until)
    run = latest_run(store, TimeAndEnergy.name, "all", whole.key)
    if run is None:
        raise InputError(f"no activity results for window {whole.key}; run `villagegreen analyze` first")
    per_person = metric_values(store, run, "person")
    consent = dict(store.con.execute("SELECT person_id, status FROM consent WHERE purpose = ?", [CONSENT_PURPOSE]).fetchall())
    names = dict(store.con.execute("SELECT id, display_name FROM people").fetchall())
    result = PeopleActivity(window=whole.key, k=privacy.k_anonymity)
    unrecorded: list[dict[str, Any]] = []
    for person_id, metrics in per_person.items():
        row = {name: metrics.get(name, {}).get(None) or 0.0 for name in COLUMNS}
        status = consent.get(person_id)
        if status == "refused":
            result.refused += 1
        elif status == "granted" or privacy.unrecorded == "show":
            result.named.append({"person_id": person_id, "name": names.get(person_id, person_id), "consent": status or "not recorded", **row})
        else:
            unrecorded.append(row)
    result.named.sort(key=lambda r: r["effort_index"], reverse=True)
    if limit is not None:
        result.named = result.named[:limit]
    result.groups = k_anonymous_groups(unrecorded, privacy.k_anonymity)
    return result


def k_anonymous_groups(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Consecutive groups of at least ``k`` people by effort, each reported as its mean.

    Sorting by effort keeps groups meaningful (the busiest k people, the next k...); a short
    tail joins the group before it, so no group is ever smaller than k. Fewer than k people in
    all: nothing is shown.
    """
    ordered = sorted(rows, key=lambda r: r["effort_index"], reverse=True)
    if len(ordered) < k:
        return []
    chunks = [ordered[i : i + k] for i in range(0, len(ordered), k)]
    if len(chunks[-1]) < k:
        tail = chunks.pop()
        chunks[-1].extend(tail)
    groups = []
    for rank, chunk in enumerate(chunks, start=1):
        group: dict[str, Any] = {"group": rank, "people": len(chunk)}
        for name in COLUMNS:
            group[f"mean_{name}"] = sum(r[name] for r in chunk) / len(chunk)
        groups.append(group)
    return groups

"""Role profiles and role flex from the stored role evidence: ``villagegreen people roles``.

A profile is a score per role with the counts behind it, per person and period, never a
single label; the *dominant* role of a period (highest score) exists only to count role flex,
the moves between a person's dominant roles from one active period to their next.

Scores are weighted evidence counts (``ROLE_EVIDENCE``); one unit is about one message's
worth of evidence, and validated or uptaken acts weigh double because others confirmed them.

Consent (purpose ``analysis``, the policy of analyses/people_activity.py): people who refused
never appear and are not counted in flex; people who granted appear by name; people without
a recorded consent appear by name only under ``unrecorded = "show"``, otherwise they are only
counted in the community's role distribution and flex, never one by one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from villagegreen.analyses.acts_store import ActsReport, label_store
from villagegreen.analyses.framework import Grain, Shared, Window
from villagegreen.analyses.people_activity import CONSENT_PURPOSE
from villagegreen.analyses.results import latest_run, metric_values
from villagegreen.analyses.roles import ROLES_POSTS, Roles, roles_inputs
from villagegreen.analyses.runner import RunSummary, facilitators_of, run_one
from villagegreen.config import Config, PrivacyConfig
from villagegreen.errors import InputError
from villagegreen.store.database import Store

if TYPE_CHECKING:
    import ibis.expr.types as ir

# role -> (evidence metric, weight). Observer is decided separately: reads without messages.
ROLE_EVIDENCE: dict[str, tuple[tuple[str, float], ...]] = {
    "expert": (("answers_given", 1.0), ("answers_validated", 2.0), ("answers_accepted", 1.0)),
    "learner": (("questions_asked", 1.0), ("follow_ups", 0.5), ("thanks_given", 1.0)),
    "challenger": (("challenges", 1.0), ("challenges_answered", 2.0)),
    "leader": (("discussions_joined", 2.0), ("summaries", 2.0)),
    # Bridging a second space is the evidence; betweenness (0-1) is scaled to message units.
    "connector": (("extra_spaces_bridged", 2.0), ("reply_betweenness", 2.0)),
}
ROLES = (*ROLE_EVIDENCE, "observer")
PARTICIPANT = "participant"  # wrote, but nothing that is evidence of a role


@dataclass(slots=True)
class RolesReport:
    window: str
    grain: str
    people: list[dict[str, Any]] = field(default_factory=list)
    distribution: dict[str, dict[str, int]] = field(default_factory=dict)
    flex: list[dict[str, Any]] = field(default_factory=list)
    opted_out: int = 0
    not_named: int = 0
    acts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window, "grain": self.grain, "weights": {r: dict(w) for r, w in ROLE_EVIDENCE.items()},
            "people": self.people, "distribution": self.distribution, "flex": self.flex,
            "sankey": sankey(self.flex), "opted_out": self.opted_out, "not_named": self.not_named, "acts": self.acts,
        }  # fmt: skip


def run_roles(
    store: Store, config: Config, *, grain: Grain = "month", since: datetime | None = None, until: datetime | None = None
) -> tuple[ActsReport, list[RunSummary]]:
    """Labels acts that are missing, then runs the roles analysis per period and for the whole window."""
    acts = label_store(store)
    facilitators = facilitators_of(store, config).person_ids
    # Both grains read the same per-message flags, computed once (roles._posts).
    shared = _RolesPostsOnly()
    try:
        runs = [run_one(store, Roles(), roles_inputs(store, Window(g, since, until), facilitators, shared=shared)) for g in (grain, "all")]
    finally:
        shared.release()
    return acts, runs


class _RolesPostsOnly(Shared):
    """Keeps only the roles' per-message flags for the run. A fully materialising Shared would
    also keep the contribution history, whose word count of every text roles never read (15
    CPU-s at 1M messages, more than the flags save)."""

    def get(self, key: str, build: Callable[[], ir.Table]) -> ir.Table:
        if not key.startswith(f"{ROLES_POSTS}|"):
            return build()
        if key not in self.tables:
            self.tables[key] = build().cache()
        return self.tables[key]


def role_scores(evidence: dict[str, float]) -> dict[str, float]:
    values = dict(evidence)
    values["extra_spaces_bridged"] = max(values.get("spaces_bridged", 0.0) - 1.0, 0.0)
    return {role: round(sum(values.get(metric, 0.0) * weight for metric, weight in parts), 3) for role, parts in ROLE_EVIDENCE.items()}


def dominant_role(scores: dict[str, float], evidence: dict[str, float]) -> str:
    if not evidence.get("messages") and evidence.get("reads"):
        return "observer"
    role, score = max(scores.items(), key=lambda item: item[1])
    return role if score > 0 else PARTICIPANT


def transitions(sequence: list[str]) -> list[tuple[str, str]]:
    """Consecutive pairs of a person's dominant roles over their active periods."""
    return list(pairwise(sequence))


def roles_report(store: Store, privacy: PrivacyConfig, window: Window, *, person: str | None = None, limit: int | None = 50) -> RolesReport:
    """Profiles per person and period, the community's role distribution per period, and flex."""
    run = latest_run(store, Roles.name, window.grain, window.key)
    whole_run = latest_run(store, Roles.name, "all", Window("all", window.since, window.until).key)
    if run is None or whole_run is None:
        raise InputError(f"no roles results for window {window.key}; run `villagegreen people roles` first")
    per_person = metric_values(store, run, "person")
    whole = metric_values(store, whole_run, "person")
    consent = dict(store.con.execute("SELECT person_id, status FROM consent WHERE purpose = ?", [CONSENT_PURPOSE]).fetchall())
    names = dict(store.con.execute("SELECT id, display_name FROM people").fetchall())
    report = RolesReport(window=window.key, grain=window.grain)
    distribution: dict[str, Counter[str]] = defaultdict(Counter)
    flex: Counter[tuple[str, str]] = Counter()
    for person_id, metrics in per_person.items():
        status = consent.get(person_id)
        if status == "refused":
            report.opted_out += 1
            continue
        periods = _periods(metrics)
        sequence = [p["dominant"] for p in periods]
        for entry in periods:
            distribution[entry["period"]][entry["dominant"]] += 1
        flex.update(transitions(sequence))
        if not (status == "granted" or privacy.unrecorded == "show"):
            report.not_named += 1
            continue
        if person is not None and person_id != person:
            continue
        overall_evidence = {m: by_period.get(None) or 0.0 for m, by_period in whole.get(person_id, {}).items()}
        overall_scores = role_scores(overall_evidence)
        report.people.append({
            "person_id": person_id, "name": names.get(person_id, person_id), "consent": status or "not recorded",
            "overall": {"dominant": dominant_role(overall_scores, overall_evidence), "scores": overall_scores, "evidence": overall_evidence},
            "periods": periods, "flex": [{"from": a, "to": b, "count": n} for (a, b), n in sorted(Counter(transitions(sequence)).items())],
        })  # fmt: skip
    report.people.sort(key=lambda p: sum(p["overall"]["scores"].values()), reverse=True)
    if limit is not None:
        report.people = report.people[:limit]
    report.distribution = {period: dict(counts) for period, counts in sorted(distribution.items())}
    report.flex = [{"from": a, "to": b, "count": n} for (a, b), n in flex.most_common()]
    return report


def _periods(metrics: dict[str, dict[datetime | None, float | None]]) -> list[dict[str, Any]]:
    by_period: dict[datetime, dict[str, float]] = defaultdict(dict)
    for metric, values in metrics.items():
        for period, value in values.items():
            if period is not None and value:
                by_period[period][metric] = value
    entries = []
    for period in sorted(by_period):
        evidence = by_period[period]
        if not evidence.get("messages") and not evidence.get("reads"):
            continue
        scores = role_scores(evidence)
        entries.append({"period": period.date().isoformat(), "dominant": dominant_role(scores, evidence), "scores": scores, "evidence": evidence})
    return entries


def sankey(flex: list[dict[str, Any]]) -> dict[str, Any]:
    """Flex as Sankey nodes and links: each role appears twice, before and after a move."""
    roles = sorted({f["from"] for f in flex} | {f["to"] for f in flex})
    nodes = [f"{role} (before)" for role in roles] + [f"{role} (after)" for role in roles]
    index = {name: i for i, name in enumerate(nodes)}
    links = [{"source": index[f"{f['from']} (before)"], "target": index[f"{f['to']} (after)"], "value": f["count"]} for f in flex]
    return {"nodes": nodes, "links": links}

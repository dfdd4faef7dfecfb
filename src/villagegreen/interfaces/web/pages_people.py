"""People: time and energy within the consent policy, and identity merge suggestions.

The activity table is :func:`people_activity`: named rows only for people who granted consent
(or everyone, when the organisation's policy says ``unrecorded = "show"``), everybody else in
groups of at least k, opted-out people never. Merge suggestions come with buttons; accepting
merges the two people (logged in ``people_merges``), rejecting records the pair so it is never
suggested again (``people_merge_rejections``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from villagegreen.analyses.framework import Window
from villagegreen.analyses.people_activity import COLUMNS, people_activity
from villagegreen.config import Config
from villagegreen.errors import InputError
from villagegreen.interfaces.web.figures import NotAnalysed, direction_text, metric_info, window_text
from villagegreen.store.database import Store
from villagegreen.store.merge_suggestions import suggestions_from_store
from villagegreen.store.people import default_actor, merge, reject

NAMED_LIMIT = 50
SUGGESTIONS_SHOWN = 25
ACCEPT_REASON = "merge suggestion accepted in the dashboard"
REJECT_REASON = "merge suggestion rejected in the dashboard"


def people_data(store: Store, config: Config) -> dict[str, Any]:
    try:
        activity = people_activity(store, config.privacy, Window("all"), limit=NAMED_LIMIT)
    except InputError as error:
        raise NotAnalysed(str(error)) from None
    suggestions = suggestions_from_store(store, limit=SUGGESTIONS_SHOWN)
    return {
        "activity": activity.to_dict(),
        "window_text": window_text(activity.window),
        "columns": [{"metric": c, "label": c.replace("_", " "), "direction": direction_text(metric_info(c))} for c in COLUMNS],
        "privacy": {"k_anonymity": config.privacy.k_anonymity, "unrecorded": config.privacy.unrecorded},
        "merge_suggestions": {
            "counts": suggestions.counts(),
            "not_shown": suggestions.not_shown,
            "suggestions": [
                {
                    "identity_a": s.identity_ids[0], "identity_b": s.identity_ids[1], "names": list(s.names),
                    "tier": s.tier.value, "score": round(s.score, 3), "reason": s.reason,
                }
                for s in suggestions.suggestions
            ],
        },
        "see_also": [{"href": "/roles", "label": "roles and role flex"}, {"href": "/settings/consent", "label": "the consent registry"}],
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class MergeDecision:
    """What a facilitator decided about one suggestion, as the page reports it back."""

    action: str  # "accepted" | "rejected"
    identity_a: str
    identity_b: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"action": self.action, "identity_a": self.identity_a, "identity_b": self.identity_b, "detail": self.detail}


def decide_merge(store: Store, action: str, identity_a: str, identity_b: str) -> MergeDecision:
    """Accept (merge) or reject one suggestion; bad ids or a stale suggestion raise InputError."""
    if not identity_a or not identity_b:
        raise InputError("a merge decision needs identity_a and identity_b")
    actor = f"dashboard:{default_actor()}"
    if action == "accept":
        record = merge(store, [identity_a, identity_b], reason=ACCEPT_REASON, actor=actor)
        return MergeDecision(
            "accepted", identity_a, identity_b, f"merged into one person (log entry #{record.id}; undo with `villagegreen people unmerge {identity_b}`)"
        )
    if action == "reject":
        added = reject(store, identity_a, identity_b, reason=REJECT_REASON, actor=actor)
        return MergeDecision("rejected", identity_a, identity_b, f"recorded as different people ({added} identity pair(s)); never suggested again")
    raise InputError(f"unknown action {action!r}; use accept or reject")

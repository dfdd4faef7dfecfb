"""The overall health report: ``villagegreen health``.

It reads the stored health and facilitation results for one window and says, for the
community or one space, what is good, what needs attention and why, and which spaces and
conversations to look at. The verdict thresholds below are Village Green's defaults, stated so
that a facilitator can disagree with them; only the concentration band comes from published
studies (see health.TOP10_BAND).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from villagegreen.analyses.conversation_facts import conversation_facts
from villagegreen.analyses.framework import Window
from villagegreen.analyses.health import TOP10_BAND, TOP10_FRAGILE, Health
from villagegreen.analyses.results import findings, latest_run, metric_values, space_names
from villagegreen.analyses.runner import analysis_inputs
from villagegreen.errors import InputError
from villagegreen.store.database import Store

Verdict = Literal["good", "ok", "attention"]


@dataclass(frozen=True, slots=True)
class Rule:
    metric: str
    good_if: tuple[str, float]  # ("<=" | ">=", threshold)
    attention_if: tuple[str, float]
    why: str


RULES = (
    Rule("reply_coverage_7d", (">=", 0.8), ("<", 0.5), "when half the conversations go unanswered for a week, people stop asking"),
    Rule("first_reply_median_hours", ("<=", 24.0), (">", 72.0), "an answer within a day keeps the asker engaged"),
    Rule("solo_thread_rate", ("<=", 0.2), (">", 0.4), "many monologues are a ghost-town sign"),
    Rule("unanswered_share", ("<=", 0.05), (">", 0.15), "every unanswered question is a member who may not ask again"),
    Rule("top10_share", ("<=", TOP10_BAND[1]), (">", TOP10_FRAGILE), "concentration makes a community fragile"),
    Rule("facilitator_message_share", ("<=", 0.25), (">", 0.5), "members, not facilitators, should carry the conversation"),
    Rule("facilitator_first_reply_share", ("<=", 0.3), (">", 0.6), "facilitators answering first leave no room for members"),
)
HEADLINE = (
    "conversations", "messages", "active_people", "new_people", "reply_coverage_7d", "member_reply_coverage_7d",
    "first_reply_median_hours", "first_reply_p90_hours", "solo_thread_rate", "questions", "unanswered_questions", "unanswered_share",
    "top10_share", "reply_reciprocity", "reply_centralisation", "views_per_conversation", "facilitator_message_share",
    "facilitator_first_reply_share", "lecture_conversations",
)  # fmt: skip
_COMPARE = {"<=": lambda v, t: v <= t, ">=": lambda v, t: v >= t, "<": lambda v, t: v < t, ">": lambda v, t: v > t}


@dataclass(slots=True)
class HealthReport:
    scope: str
    window: str
    figures: dict[str, float | None] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    spaces_to_look_at: list[dict[str, Any]] = field(default_factory=list)
    unanswered: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope, "window": self.window, "figures": self.figures, "verdicts": self.verdicts,
            "alerts": self.alerts, "spaces_to_look_at": self.spaces_to_look_at, "unanswered_questions": self.unanswered,
            "notes": self.notes,
        }  # fmt: skip


def judge(metric: str, value: float | None) -> Verdict | None:
    for rule in RULES:
        if rule.metric == metric and value is not None:
            if _COMPARE[rule.attention_if[0]](value, rule.attention_if[1]):
                return "attention"
            return "good" if _COMPARE[rule.good_if[0]](value, rule.good_if[1]) else "ok"
    return None


def build_health_report(store: Store, window: Window, *, space: str | None = None, unanswered_limit: int = 10) -> HealthReport:
    """Reads the stored runs for ``window`` (run ``analyze`` or ``run_analyses`` first)."""
    names = space_names(store)
    space_id = _resolve_space(names, space) if space else None
    scope_kind, scope_id = ("space", space_id) if space_id else ("community", "community")
    whole = Window("all", window.since, window.until)
    report = HealthReport(scope=names.get(scope_id, "whole community") if space_id else "whole community", window=whole.key)
    for analysis in ("health", "facilitation"):
        run = latest_run(store, analysis, "all", whole.key)
        if run is None:
            raise InputError(f"no {analysis} results for window {whole.key}; run `villagegreen analyze` first")
        values = metric_values(store, run, scope_kind, scope_id).get(scope_id, {})
        report.figures.update({metric: by_period.get(None) for metric, by_period in values.items()})
        if analysis == "facilitation":
            report.notes.extend(f["message"] for f in findings(store, run) if f["kind"] == "hint")
    questions, unanswered = report.figures.get("questions"), report.figures.get("unanswered_questions")
    if questions and unanswered is not None:
        report.figures["unanswered_share"] = unanswered / questions
    report.figures = {name: report.figures.get(name) for name in HEADLINE if name in report.figures}
    for rule in RULES:
        verdict = judge(rule.metric, report.figures.get(rule.metric))
        if verdict is not None:
            report.verdicts.append({"metric": rule.metric, "value": report.figures[rule.metric], "verdict": verdict, "why": rule.why})
    periodic = latest_run(store, "health", Health.default_grain, Window(Health.default_grain, window.since, window.until).key)
    if periodic is not None:
        report.alerts = [_named(f, names) for f in findings(store, periodic) if not space_id or f["scope_id"] == space_id]
    if not space_id:
        report.spaces_to_look_at = _weakest_spaces(store, whole, names)
    report.unanswered = _unanswered(store, window, space_id, names, unanswered_limit)
    return report


def _resolve_space(names: dict[str, str], wanted: str) -> str:
    matches = [sid for sid, name in names.items() if wanted in (sid, name, name.split(" / ", 1)[-1])]
    if len(matches) != 1:
        problem = "matches several spaces" if matches else "matches no space"
        raise InputError(f"--space {wanted!r} {problem}; use a space id or 'source / space' from `villagegreen stats`")
    return matches[0]


def _named(finding: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    label = names.get(finding["scope_id"], "whole community")
    return {**finding, "scope": label}


def _weakest_spaces(store: Store, whole: Window, names: dict[str, str], limit: int = 5) -> list[dict[str, Any]]:
    run = latest_run(store, "health", "all", whole.key)
    if run is None:
        return []
    spaces = metric_values(store, run, "space")
    candidates: list[dict[str, Any]] = []
    for space_id, metrics in spaces.items():
        conversations = metrics.get("conversations", {}).get(None) or 0
        coverage = metrics.get("reply_coverage_7d", {}).get(None)
        if conversations >= 5 and coverage is not None:
            unanswered = metrics.get("unanswered_questions", {}).get(None) or 0
            candidates.append({"space": names.get(space_id, space_id), "space_id": space_id, "conversations": conversations,
                               "reply_coverage_7d": coverage, "unanswered_questions": unanswered})  # fmt: skip
    candidates.sort(key=lambda c: (float(c["reply_coverage_7d"]), -float(c["conversations"])))
    return [c for c in candidates[:limit] if judge("reply_coverage_7d", float(c["reply_coverage_7d"])) != "good"]


def _unanswered(store: Store, window: Window, space_id: str | None, names: dict[str, str], limit: int) -> list[dict[str, Any]]:
    inputs = analysis_inputs(store, window, frozenset())
    facts = conversation_facts(inputs)
    open_questions = facts.filter(facts.is_question & facts.first_other_at.isnull())
    if space_id:
        open_questions = open_questions.filter(open_questions.space_id == space_id)
    conversations = inputs.tables["conversations"]
    messages = inputs.tables["messages"]
    roots = messages.select(root_id=messages.id, root_text=messages.text)
    joined = open_questions.left_join(conversations.select(cid=conversations.id, title=conversations.title), open_questions.conversation_id == conversations.id)
    joined = joined.left_join(roots, joined.conversation_id == roots.root_id)
    # Chat platforms have no titles: the opening words stand in for one.
    joined = joined.mutate(title=joined.title.nullif("").fill_null(joined.root_text.substr(0, 80)))
    newest = joined.order_by(joined.opened_at.desc()).limit(limit).select("conversation_id", "space_id", "title", "opened_at")
    return [
        {"conversation_id": row["conversation_id"], "space": names.get(row["space_id"], row["space_id"]), "title": row["title"] or "",
         "opened_at": row["opened_at"].isoformat() if isinstance(row["opened_at"], datetime) else row["opened_at"]}
        for row in newest.to_pyarrow().to_pylist()
    ]  # fmt: skip

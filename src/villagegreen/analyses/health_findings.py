"""The part of the health analysis that needs Python: alerts (reply-graph measures: analyses/reply_graph.py).

Alerts compare each space with its own recent past, never with other communities, and use the
*median* of the previous periods as the baseline: one launch month or event burst barely moves a
median, so the ordinary month after a burst does not look like a collapse.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median
from typing import TYPE_CHECKING, Any

from villagegreen.analyses.framework import Finding, Inputs

if TYPE_CHECKING:
    from datetime import datetime

    from villagegreen.analyses.framework import Analysis

BASELINE_PERIODS = 6
MIN_BASELINE_PERIODS = 3
DROP_RATIO = 0.5  # activity below half its usual level
MIN_BASELINE_MESSAGES = 10  # too quiet a space to call a drop
COVERAGE_DROP = 0.20  # reply coverage 20 points under its usual level
MIN_CONVERSATIONS = 5
FRAGILE_SHARE = 0.70
FRAGILE_MIN_PEOPLE = 20
MAX_UNANSWERED_LISTED = 20


def health_findings(analysis: Analysis, inputs: Inputs, rows: list[dict[str, Any]]) -> list[Finding]:
    if inputs.window.grain == "all":
        return []
    series: dict[tuple[str, str, str], dict[datetime, float]] = defaultdict(dict)
    for row in rows:
        if row["period_start"] is not None and row["value"] is not None:
            series[(row["scope_kind"], row["scope_id"], row["metric"])][row["period_start"]] = row["value"]
    community_periods = sorted(series.get(("community", "community", "messages"), {}))
    if len(community_periods) < 2:
        return []
    # The newest period is usually cut short by the export date: judge the one before it.
    judged = community_periods[-2]
    findings: list[Finding] = []
    scopes = {(kind, scope_id) for kind, scope_id, _ in series}
    for scope_kind, scope_id in sorted(scopes):
        findings.extend(_scope_alerts(series, scope_kind, scope_id, judged, community_periods))
    return findings


def _baseline(values: dict[datetime, float], judged: datetime, periods: list[datetime]) -> float | None:
    before = [p for p in periods if p < judged][-BASELINE_PERIODS:]
    if len(before) < MIN_BASELINE_PERIODS:
        return None
    # A period with no row had no activity: it counts as zero, not as missing.
    return median(values.get(p, 0.0) for p in before)


def _scope_alerts(
    series: dict[tuple[str, str, str], dict[datetime, float]], scope_kind: str, scope_id: str, judged: datetime, periods: list[datetime]
) -> list[Finding]:
    found: list[Finding] = []
    messages = series.get((scope_kind, scope_id, "messages"), {})
    usual = _baseline(messages, judged, periods)
    now = messages.get(judged, 0.0)
    period = judged.date().isoformat()
    evidence: dict[str, Any] = {"period": period, "messages": now, "usual_messages": usual}
    if usual is not None and usual >= MIN_BASELINE_MESSAGES and now < DROP_RATIO * usual:
        ghost = now == 0
        found.append(
            Finding(
                "ghost_town" if ghost else "activity_drop",
                scope_kind,
                scope_id,
                "warning" if ghost else "attention",
                f"{now:.0f} messages in the period of {period}, against a usual {usual:.0f} (median of the previous periods)",
                evidence,
            )
        )
    coverage = series.get((scope_kind, scope_id, "reply_coverage_7d"), {})
    conversations = series.get((scope_kind, scope_id, "conversations"), {}).get(judged, 0.0)
    usual_coverage = _baseline(coverage, judged, [p for p in periods if p in coverage])
    if usual_coverage is not None and judged in coverage and conversations >= MIN_CONVERSATIONS and coverage[judged] < usual_coverage - COVERAGE_DROP:
        found.append(
            Finding(
                "coverage_drop", scope_kind, scope_id, "attention",
                f"only {coverage[judged]:.0%} of conversations opened in the period of {period} got a reply within 7 days, "
                f"against a usual {usual_coverage:.0%}",
                {**evidence, "reply_coverage_7d": coverage[judged], "usual": usual_coverage},
            )
        )  # fmt: skip
    share = series.get((scope_kind, scope_id, "top10_share"), {}).get(judged)
    people = series.get((scope_kind, scope_id, "active_people"), {}).get(judged, 0.0)
    if share is not None and share > FRAGILE_SHARE and people >= FRAGILE_MIN_PEOPLE:
        found.append(
            Finding(
                "fragile", scope_kind, scope_id, "attention",
                f"the 10 most active people wrote {share:.0%} of the messages in the period of {period}: losing a few would silence it",
                {**evidence, "top10_share": share, "active_people": people},
            )
        )  # fmt: skip
    return found

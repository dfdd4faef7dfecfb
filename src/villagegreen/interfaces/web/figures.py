"""What every page shares: how a figure is described and shown, and the two "cannot show
this" conditions (nothing analysed yet; no such item).

Page data is plain JSON (str, int, float, bool, None, lists, dicts): the ``.json`` twin of a
page returns exactly the dict its template renders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from villagegreen.analyses.activity import TimeAndEnergy
from villagegreen.analyses.facilitation import Facilitation
from villagegreen.analyses.framework import Metric
from villagegreen.analyses.health import Health
from villagegreen.analyses.health_report import RULES, judge

_METRICS: dict[str, Metric] = {m.name: m for m in (*TimeAndEnergy.metrics, *Health.metrics, *Facilitation.metrics)}
# Derived by the health report, not stored by an analysis.
_EXTRA: dict[str, Metric] = {
    "unanswered_share": Metric("unanswered_share", "share", "unanswered questions / questions", "lower", "Questions nobody answered yet."),
}
_WHY = {rule.metric: rule.why for rule in RULES}
_DIRECTION_TEXT = {"higher": "higher is better", "lower": "lower is better", "context": "context: no good direction"}


class NotAnalysed(Exception):
    """The store has no results for what a page needs; the page says so and offers the command."""


class NotFound(Exception):
    """No such space or conversation (or it is private)."""


def metric_info(name: str) -> Metric | None:
    return _METRICS.get(name) or _EXTRA.get(name)


def direction_text(metric: Metric | None) -> str:
    if metric is None:
        return "context: no good direction"
    if metric.good == "band" and metric.band:
        low, high = metric.band
        return f"best between {show(metric.name, low)} and {show(metric.name, high)}"
    return _DIRECTION_TEXT.get(metric.good, metric.good)


def show(name: str, value: float | None) -> str:
    """A figure as a person reads it: shares as percentages, hours with one decimal."""
    if value is None:
        return "n/a"
    metric = metric_info(name)
    unit = metric.unit if metric else ""
    if unit == "share":
        return f"{value:.0%}"
    if unit in ("hours", "minutes", "points") or name.startswith(("views", "posters", "mean_")):
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def figure(name: str, value: float | None) -> dict[str, Any]:
    """One figure with its label, display text, good direction and (when a rule exists) verdict."""
    metric = metric_info(name)
    return {
        "metric": name,
        "label": name.replace("_", " "),
        "value": value,
        "display": show(name, value),
        "unit": metric.unit if metric else "",
        "good": metric.good if metric else "context",
        "direction": direction_text(metric),
        "explanation": metric.explanation if metric else "",
        "verdict": judge(name, value),
        "why": _WHY.get(name, ""),
    }


def iso(value: Any) -> Any:
    """Datetimes as ISO 8601 text (UTC as stored); anything else unchanged."""
    return value.isoformat() if isinstance(value, datetime) else value


def window_text(key: str) -> str:
    """A window key ("all:2024-01-01..") as words ("from 2024-01-01")."""
    _, _, span = key.partition(":")
    since, _, until = span.partition("..")
    if since and until:
        return f"{since} to {until} (exclusive)"
    if since:
        return f"from {since}"
    return f"until {until} (exclusive)" if until else "all time"


def analyse_command(db: str) -> str:
    return f"villagegreen analyze --db {db}"

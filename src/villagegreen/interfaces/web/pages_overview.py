"""The overview page: health at a glance, alerts, what to look at this week, and the monthly
activity and participation charts.

Everything comes from stored results (``villagegreen analyze``): the whole-window health and
facilitation runs through :func:`build_health_report`, and the monthly health run for the
charts. Charts are Vega-Lite specs with their data inline, drawn in the browser by the
vendored Vega bundle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from villagegreen.analyses.framework import Window
from villagegreen.analyses.health import Health
from villagegreen.analyses.health_report import build_health_report
from villagegreen.analyses.results import latest_run, metric_values
from villagegreen.errors import InputError
from villagegreen.interfaces.web.figures import NotAnalysed, figure, iso, window_text
from villagegreen.store.database import Store

ACTIVITY_SERIES = ("messages", "conversations")
PARTICIPATION_SERIES = ("active_people", "new_people", "returning_people")


def store_totals(store: Store) -> dict[str, int]:
    """Counts straight from the canonical tables (public spaces only)."""
    ((sources, spaces, conversations, messages, people),) = store.con.execute(
        """
        SELECT (SELECT count(*) FROM sources),
               (SELECT count(*) FROM spaces WHERE NOT private),
               (SELECT count(*) FROM conversations c JOIN spaces s ON s.id = c.space_id WHERE NOT s.private),
               (SELECT count(*) FROM messages m JOIN spaces s ON s.id = m.space_id WHERE NOT s.private),
               (SELECT count(DISTINCT person_id) FROM identities)
        """
    ).fetchall()
    return {"sources": sources, "spaces": spaces, "conversations": conversations, "messages": messages, "people": people}


def overview_data(store: Store) -> dict[str, Any]:
    try:
        report = build_health_report(store, Window(Health.default_grain))
    except InputError as error:
        raise NotAnalysed(str(error)) from None
    monthly = monthly_series(store)
    return {
        "totals": store_totals(store),
        "scope": report.scope,
        "window": report.window,
        "window_text": window_text(report.window),
        "figures": [figure(name, value) for name, value in report.figures.items()],
        "attention": [v["metric"] for v in report.verdicts if v["verdict"] == "attention"],
        "alerts": [
            {"scope": a["scope"], "scope_id": a["scope_id"], "severity": a["severity"], "kind": a["kind"], "message": a["message"]} for a in report.alerts
        ],
        "spaces_to_look_at": report.spaces_to_look_at,
        "unanswered_questions": report.unanswered,
        "notes": report.notes,
        "monthly": monthly,
        "charts": {
            "activity": line_chart(monthly, ACTIVITY_SERIES, "Activity per month", "count"),
            "participation": line_chart(monthly, PARTICIPATION_SERIES, "Participation per month", "people"),
        },
    }


def monthly_series(store: Store) -> list[dict[str, Any]]:
    """Community figures per month from the monthly health run: one row per month, oldest first."""
    run = latest_run(store, Health.name, Health.default_grain, Window(Health.default_grain).key)
    if run is None:
        return []
    values = metric_values(store, run, "community").get("community", {})
    months: dict[datetime, dict[str, Any]] = {}
    for metric in (*ACTIVITY_SERIES, *PARTICIPATION_SERIES):
        for period, value in values.get(metric, {}).items():
            if period is not None:
                months.setdefault(period, {})[metric] = value
    return [{"month": iso(period)[:7], **{m: row.get(m) for m in (*ACTIVITY_SERIES, *PARTICIPATION_SERIES)}} for period, row in sorted(months.items())]


def line_chart(monthly: list[dict[str, Any]], series: tuple[str, ...], title: str, y_title: str) -> dict[str, Any]:
    """A Vega-Lite line chart of ``series`` over months, data inline (long layout)."""
    values = [{"month": row["month"], "series": name.replace("_", " "), "value": row[name]} for row in monthly for name in series if row.get(name) is not None]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",  # an identifier, never fetched
        "title": title,
        "width": "container",
        "height": 220,
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "month", "type": "temporal", "timeUnit": "yearmonth", "title": "month"},
            "y": {"field": "value", "type": "quantitative", "title": y_title},
            "color": {"field": "series", "type": "nominal", "title": None},
            "tooltip": [
                {"field": "month", "type": "temporal", "timeUnit": "yearmonth", "title": "month"},
                {"field": "series", "type": "nominal"},
                {"field": "value", "type": "quantitative"},
            ],
        },
    }

"""Topics: emergent topics (the newest stored ``villagegreen topics`` run over public spaces),
and, when the dashboard knows the programme file, the programme's goals against them: goals
covered and gaps, topics nobody planned, key-message uptake, poll ideas.

Topics are read from the store (tables ``topics``, ``conversation_topics`` and the run's
monthly rows in ``analysis_results``); a run that included private spaces is never shown. The
goals report is :func:`villagegreen.analyses.programme_report.build_programme_report` with the
shipped static embedder on a read-only store (messages without a stored vector are embedded on
the fly, not stored), cached until the store changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from villagegreen.analyses.embeddings import get_embedder
from villagegreen.analyses.framework import Window
from villagegreen.analyses.programme import load_programme
from villagegreen.analyses.programme_report import build_programme_report
from villagegreen.errors import InputError
from villagegreen.interfaces.web.app import NotRunYet
from villagegreen.interfaces.web.figures import iso, window_text
from villagegreen.store.database import Store

TOPICS_COMMAND = "villagegreen topics --db {db}"
PROGRAMME_ENV = "VILLAGEGREEN_PROGRAMME"
CHART_TOPICS = 8  # the busiest topics get their own colour; the rest are "other topics"
EXAMPLES = 3


def topics_data(store: Store, programme: Path | None) -> dict[str, Any]:
    runs = store.con.execute(
        "SELECT id, window_key, finished_at, params FROM analysis_runs WHERE analysis = 'topics' AND NOT include_private ORDER BY finished_at DESC LIMIT 1"
    ).fetchall()
    if not runs:
        raise NotRunYet("emergent topics have not been computed on this store", TOPICS_COMMAND.format(db=store.path))
    run_id, window_key, finished_at, params = runs[0]
    details = json.loads(params) if isinstance(params, str) else (params or {})
    topics = _topics(store, run_id)
    return {
        "run": {
            "id": run_id,
            "window": window_key,
            "window_text": window_text(window_key),
            "finished_at": iso(finished_at),
            "model": details.get("model"),
            "silhouette": details.get("silhouette"),
        },
        "conversations": sum(t["conversations"] for t in topics),
        "topics": topics,
        "charts": {"monthly": monthly_chart(store, run_id, topics)},
        "programme": programme_section(store, programme),
    }


def _topics(store: Store, run_id: str) -> list[dict[str, Any]]:
    rows = store.con.execute(
        "SELECT topic_id, label, keyphrases, conversations, trend, slope FROM topics WHERE run_id = ? ORDER BY conversations DESC, topic_id", [run_id]
    ).fetchall()
    examples: dict[int, list[dict[str, str]]] = {}
    for topic_id, conversation_id, title in store.con.execute(
        """
        SELECT ct.topic_id, ct.conversation_id, coalesce(nullif(c.title, ''), left(m.text, 80)) FROM conversation_topics ct
        JOIN messages m ON m.id = ct.conversation_id JOIN spaces s ON s.id = m.space_id LEFT JOIN conversations c ON c.id = ct.conversation_id
        WHERE ct.run_id = ? AND NOT s.private
        QUALIFY row_number() OVER (PARTITION BY ct.topic_id ORDER BY ct.similarity DESC, ct.conversation_id) <= ?
        ORDER BY ct.topic_id, ct.similarity DESC
        """,
        [run_id, EXAMPLES],
    ).fetchall():
        examples.setdefault(topic_id, []).append({"conversation_id": conversation_id, "title": title or "(untitled)"})
    return [
        {"id": tid, "label": label, "keyphrases": list(phrases), "conversations": n, "trend": trend,
         "slope_per_month": None if slope is None else round(slope, 4), "examples": examples.get(tid, [])}
        for tid, label, phrases, n, trend, slope in rows
    ]  # fmt: skip


def monthly_chart(store: Store, run_id: str, topics: list[dict[str, Any]]) -> dict[str, Any]:
    labels = {str(t["id"]): t["label"] for t in topics[:CHART_TOPICS]}
    rows = store.con.execute(
        "SELECT strftime(period_start, '%Y-%m'), scope_id, value FROM analysis_results WHERE run_id = ? AND scope_kind = 'topic' AND metric = 'conversations' "
        "ORDER BY 1",
        [run_id],
    ).fetchall()
    totals: dict[tuple[str, str], float] = {}
    for month, topic, value in rows:
        key = (month, labels.get(topic, "other topics"))
        totals[key] = totals.get(key, 0.0) + value
    values = [{"month": month, "topic": topic, "conversations": n} for (month, topic), n in sorted(totals.items())]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",  # an identifier, never fetched
        "title": "New conversations per month, by topic",
        "width": 560, "height": 220, "data": {"values": values}, "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "month", "type": "ordinal", "title": "month", "axis": {"labelAngle": -45}},
            "y": {"field": "conversations", "type": "quantitative", "stack": True, "title": "conversations"},
            "color": {"field": "topic", "type": "nominal", "title": "topic"},
            "tooltip": [{"field": "month"}, {"field": "topic"}, {"field": "conversations", "type": "quantitative"}],
        },
    }  # fmt: skip


def programme_section(store: Store, programme: Path | None) -> dict[str, Any]:
    """The goals report, or why there is none (no programme file, or a bad one)."""
    if programme is None:
        return {
            "status": "no_programme",
            "message": f"the dashboard has no programme file; set {PROGRAMME_ENV}=programme.yaml before `villagegreen serve`, "
            f"or run `villagegreen goals --programme programme.yaml --db {store.path}`",
        }
    try:
        declared = load_programme(programme)
    except InputError as error:
        return {"status": "bad_programme", "message": str(error)}
    report = build_programme_report(store, get_embedder("static"), declared, Window("month"))
    return {"status": "ok", "file": str(programme), **report.to_dict()}

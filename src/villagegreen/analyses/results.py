"""Reading stored analysis results back: the only way the CLI, dashboard and stories see them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from villagegreen.store.database import Store


@dataclass(frozen=True, slots=True)
class StoredRun:
    id: str
    analysis: str
    version: str
    window_key: str
    grain: str
    finished_at: datetime


def latest_run(store: Store, analysis: str, grain: str, window_key: str | None = None) -> StoredRun | None:
    query = "SELECT id, analysis, version, window_key, grain, finished_at FROM analysis_runs WHERE analysis = ? AND grain = ?"
    params: list[Any] = [analysis, grain]
    if window_key is not None:
        query += " AND window_key = ?"
        params.append(window_key)
    rows = store.con.execute(query + " ORDER BY finished_at DESC LIMIT 1", params).fetchall()
    return StoredRun(*rows[0]) if rows else None


def metric_values(store: Store, run: StoredRun, scope_kind: str, scope_id: str | None = None) -> dict[str, dict[str, dict[datetime | None, float | None]]]:
    """scope_id -> metric -> period_start -> value."""
    query = "SELECT scope_id, metric, period_start, value FROM analysis_results WHERE run_id = ? AND scope_kind = ?"
    params: list[Any] = [run.id, scope_kind]
    if scope_id is not None:
        query += " AND scope_id = ?"
        params.append(scope_id)
    values: dict[str, dict[str, dict[datetime | None, float | None]]] = {}
    for scope, metric, period, value in store.con.execute(query, params).fetchall():
        values.setdefault(scope, {}).setdefault(metric, {})[period] = value
    return values


def findings(store: Store, run: StoredRun) -> list[dict[str, Any]]:
    rows = store.con.execute(
        "SELECT kind, scope_kind, scope_id, severity, message, evidence FROM analysis_findings WHERE run_id = ? ORDER BY severity DESC, kind",
        [run.id],
    ).fetchall()
    return [
        {"kind": k, "scope_kind": sk, "scope_id": sid, "severity": sev, "message": msg, "evidence": json.loads(ev) if ev else {}}
        for k, sk, sid, sev, msg, ev in rows
    ]


def space_names(store: Store) -> dict[str, str]:
    rows = store.con.execute("SELECT sp.id, so.name || ' / ' || sp.name FROM spaces sp JOIN sources so ON so.id = sp.source_id").fetchall()
    return {space_id: name for space_id, name in rows}

"""Run analyses against the store and keep their results: ``villagegreen analyze``.

Each analysis runs twice: per period at its own grain (weeks for activity, months for
health) and once over the whole window. A run replaces the previous run of the same
(analysis, version, window), in one transaction, so readers never see half a result.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ibis
import pyarrow as pa

from villagegreen.analyses.activity import TimeAndEnergy
from villagegreen.analyses.acts_store import label_store
from villagegreen.analyses.engines import duckdb_tables, engine_tables, lean_runtime
from villagegreen.analyses.facilitation import Facilitation
from villagegreen.analyses.facilitators import FacilitatorResolution, resolve_facilitators
from villagegreen.analyses.framework import RESULT_COLUMNS, Analysis, Finding, Grain, Inputs, Shared, Window
from villagegreen.analyses.health import Health
from villagegreen.analyses.roles import Roles
from villagegreen.config import Config
from villagegreen.errors import ConfigError
from villagegreen.model import make_id
from villagegreen.store.database import Store

ANALYSES: tuple[type[Analysis], ...] = (TimeAndEnergy, Health, Facilitation, Roles)
_RESULT_SCHEMA = pa.schema(
    [("period_start", pa.timestamp("us")), ("scope_kind", pa.string()), ("scope_id", pa.string()), ("metric", pa.string()), ("value", pa.float64())]
)


def get_analysis(name: str) -> type[Analysis]:
    for analysis in ANALYSES:
        if analysis.name == name:
            return analysis
    raise ConfigError(f"unknown analysis {name!r}; choose one of: {', '.join(a.name for a in ANALYSES)}")


@dataclass(frozen=True, slots=True)
class RunSummary:
    analysis: str
    version: str
    window_key: str
    run_id: str
    rows: int
    findings: int
    seconds: float


@dataclass(slots=True)
class AnalysisReport:
    """What ``analyze`` did: one entry per analysis and grain, plus who counted as facilitator."""

    runs: list[RunSummary] = field(default_factory=list)
    facilitators: int = 0
    facilitator_rules: dict[str, int] = field(default_factory=dict)
    flagged_undeclared: int = 0
    seconds: float = 0.0
    engine: str = "duckdb"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "engine": self.engine,
            "facilitators": self.facilitators,
            "facilitator_rules": self.facilitator_rules,
            "platform_flagged_not_declared": self.flagged_undeclared,
            "runs": [
                {
                    "analysis": r.analysis, "version": r.version, "window": r.window_key, "run_id": r.run_id,
                    "rows": r.rows, "findings": r.findings, "seconds": round(r.seconds, 3),
                }
                for r in self.runs
            ],
        }  # fmt: skip


def analysis_inputs(store: Store, window: Window, facilitators: frozenset[str], *, include_private: bool = False) -> Inputs:
    return Inputs(duckdb_tables(store), window, facilitators, include_private)


def facilitators_of(store: Store, config: Config) -> FacilitatorResolution:
    backend = ibis.duckdb.from_connection(store.con)
    # Small and needed before any engine starts: always read from the store itself.
    return resolve_facilitators(backend.table("identities"), backend.table("sources"), config)


def run_analyses(
    store: Store,
    config: Config,
    *,
    names: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    include_private: bool = False,
    engine: str = "duckdb",
    spark_master: str | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> AnalysisReport:
    """Runs the analyses (all, or ``names``) per period and over the whole window.

    ``engine="spark"`` runs the same ibis expressions on Spark (see engines.py); results are
    written into the store either way.
    """
    started = time.perf_counter()
    selected = [get_analysis(name) for name in names] if names else list(ANALYSES)
    resolution = facilitators_of(store, config)
    report = AnalysisReport(facilitators=len(resolution.person_ids), facilitator_rules=resolution.matches, flagged_undeclared=resolution.flagged_undeclared)
    report.engine = engine
    if any(analysis.name == Roles.name for analysis in selected):
        # Roles read the dialogue acts; labelling is incremental (only unlabelled messages).
        label_store(store)
    # On DuckDB, intermediates every analysis needs (member messages with word counts,
    # conversation facts) become temporary tables once per run instead of once per query.
    shared = Shared(materialise=engine == "duckdb")
    with lean_runtime(store), engine_tables(store, engine, spark_master=spark_master) as tables:
        try:
            for analysis_class in selected:
                analysis = analysis_class()
                grains: tuple[Grain, ...] = (analysis.default_grain, "all")
                for grain in grains:
                    if on_progress:
                        on_progress(f"{analysis.name} ({grain}) on {engine}")
                    inputs = Inputs(tables, Window(grain, since, until), resolution.person_ids, include_private, shared)
                    report.runs.append(run_one(store, analysis, inputs, in_store=engine == "duckdb"))
        finally:
            shared.release()
    report.seconds = time.perf_counter() - started
    return report


def run_one(store: Store, analysis: Analysis, inputs: Inputs, *, in_store: bool = False) -> RunSummary:
    """Computes one analysis at one grain and replaces its stored run.

    ``in_store``: the expressions run on the store's own DuckDB connection, so rows that no
    Python code needs to see (no findings) go from the query straight into
    ``analysis_results`` instead of through Arrow (2.3M rows for weekly activity, 1.4M for
    monthly roles at 1M messages); rows computed in Python (``python_rows``) are added after.
    """
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    expression = analysis.compute(inputs)
    extra = analysis.python_rows(inputs)
    window = inputs.window
    run_id = make_id(analysis.name, "run", f"{analysis.version}|{window.key}|{inputs.include_private}")
    if in_store and not _reads_rows(analysis):
        with store.transaction():
            _clear_run(store, run_id)
            row_count = _insert_from_query(store, run_id, str(ibis.to_sql(expression, dialect="duckdb")))
            if extra:
                row_count += _insert_arrow(store, run_id, pa.Table.from_pylist(extra, schema=_RESULT_SCHEMA))
            _insert_run(store, analysis, inputs, run_id, started_at, row_count)
        return RunSummary(analysis.name, analysis.version, window.key, run_id, row_count, 0, time.perf_counter() - clock)
    computed = expression.to_pyarrow()
    results = pa.concat_tables([computed.select(list(RESULT_COLUMNS)).cast(_RESULT_SCHEMA), pa.Table.from_pylist(extra, schema=_RESULT_SCHEMA)])
    # Only analyses that look at their rows get them as Python dicts (millions for weekly activity).
    findings = analysis.findings(inputs, results.to_pylist()) if _reads_rows(analysis) else []
    with store.transaction():
        _replace_run(store, analysis, inputs, run_id, started_at, len(results), results, findings)
    return RunSummary(analysis.name, analysis.version, window.key, run_id, len(results), len(findings), time.perf_counter() - clock)


def _reads_rows(analysis: Analysis) -> bool:
    return type(analysis).findings is not Analysis.findings


def _replace_run(
    store: Store, analysis: Analysis, inputs: Inputs, run_id: str, started_at: datetime, row_count: int, results: pa.Table, findings: list[Finding]
) -> None:
    con = store.con
    _clear_run(store, run_id)
    _insert_run(store, analysis, inputs, run_id, started_at, row_count)
    _insert_arrow(store, run_id, results)
    if findings:
        con.executemany(
            "INSERT INTO analysis_findings VALUES (?, ?, ?, ?, ?, ?, ?)",
            [[run_id, f.kind, f.scope_kind, f.scope_id, f.severity, f.message, json.dumps(f.evidence, default=str)] for f in findings],
        )


def _clear_run(store: Store, run_id: str) -> None:
    for table in ("analysis_results", "analysis_findings"):
        store.con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
    store.con.execute("DELETE FROM analysis_runs WHERE id = ?", [run_id])


def _insert_run(store: Store, analysis: Analysis, inputs: Inputs, run_id: str, started_at: datetime, row_count: int) -> None:
    window = inputs.window
    store.con.execute(
        "INSERT INTO analysis_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id, analysis.name, analysis.version, window.key, window.grain, window.since, window.until, inputs.include_private,
            started_at, datetime.now(UTC), row_count, json.dumps({"facilitators": len(inputs.facilitators)}),
        ],
    )  # fmt: skip


def _insert_arrow(store: Store, run_id: str, results: pa.Table) -> int:
    """Inserts Arrow rows of _RESULT_SCHEMA under ``run_id``; returns how many."""
    store.con.register("_vg_results", results)
    try:
        store.con.execute(f"INSERT INTO analysis_results SELECT ?, {', '.join(RESULT_COLUMNS)} FROM _vg_results", [run_id])
    finally:
        store.con.unregister("_vg_results")
    return len(results)


def _insert_from_query(store: Store, run_id: str, sql: str) -> int:
    """Inserts the rows of ``sql`` (the layout of RESULT_COLUMNS) under ``run_id``; returns how many."""
    # The same types as _RESULT_SCHEMA gives the Arrow path.
    columns = "CAST(period_start AS TIMESTAMP), scope_kind, scope_id, metric, CAST(value AS DOUBLE)"
    inserted = store.con.execute(f"INSERT INTO analysis_results SELECT ?, {columns} FROM ({sql})", [run_id]).fetchone()
    return int(inserted[0]) if inserted else 0

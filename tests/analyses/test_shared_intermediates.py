"""Sharing intermediates between analyses changes no result.

``run_analyses`` on DuckDB materialises the member messages (with word counts and each parent's
author) and the conversation facts once per run and lets every analysis and grain read them.
Without sharing (tests, Spark), each analysis builds its own self-contained expression from the
canonical tables, exactly as before sharing existed. These tests run both on the real Conlang
community shipped as the demo, with a declared facilitator and a window that starts mid-history
(so replies whose parent is before the window are exercised), and compare every stored row.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from villagegreen.analyses.activity import TimeAndEnergy
from villagegreen.analyses.facilitation import Facilitation
from villagegreen.analyses.framework import Analysis, Grain, Window
from villagegreen.analyses.health import Health
from villagegreen.analyses.roles import Roles
from villagegreen.analyses.runner import analysis_inputs, facilitators_of, run_analyses
from villagegreen.config import Config, FacilitatorRule
from villagegreen.interfaces.demo import demo_data_path
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

# Roles too: its per-person rows go from the query straight into the store and its Python rows
# (betweenness) are added after, where the unshared path below goes through Arrow.
ANALYSES: list[type[Analysis]] = [TimeAndEnergy, Health, Facilitation, Roles]
Key = tuple[str, str, datetime | None, str, str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Config, datetime]]:
    folder = tmp_path_factory.mktemp("shared")
    with Store.open(folder / "store.duckdb") as store:
        import_path(store, demo_data_path(), platform="stackexchange")
        ((top_author,),) = store.con.execute(
            "SELECT i.native_id FROM messages m JOIN identities i ON i.id = m.author_id GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchall()
        ((since,),) = store.con.execute("SELECT date_trunc('month', quantile_disc(sent_at, 0.5)) + INTERVAL 1 MONTH FROM messages").fetchall()
        yield store, Config(facilitators=(FacilitatorRule(native_id=str(top_author)),)), since


def unshared_rows(store: Store, config: Config, since: datetime | None) -> dict[Key, float | None]:
    """Each analysis and grain computed on its own, with no intermediates shared."""
    facilitators = facilitators_of(store, config).person_ids
    out: dict[Key, float | None] = {}
    for analysis_class in ANALYSES:
        analysis = analysis_class()
        grains: tuple[Grain, ...] = (analysis.default_grain, "all")
        for grain in grains:
            window = Window(grain, since)
            inputs = analysis_inputs(store, window, facilitators)
            assert not inputs.shared.materialise
            for row in analysis.compute(inputs).to_pyarrow().to_pylist() + analysis.python_rows(inputs):
                period = row["period_start"]
                key = (analysis.name, window.key, period.replace(tzinfo=None) if period else None, row["scope_kind"], row["scope_id"], row["metric"])
                out[key] = row["value"]
    return out


def stored_rows(store: Store) -> dict[Key, float | None]:
    rows = store.con.execute(
        "SELECT r.analysis, r.window_key, x.period_start, x.scope_kind, x.scope_id, x.metric, x.value "
        "FROM analysis_results x JOIN analysis_runs r ON r.id = x.run_id"
    ).fetchall()
    return {(a, w, p.replace(tzinfo=None) if p else None, k, s, m): v for a, w, p, k, s, m, v in rows}


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("windowed", [False, True], ids=["whole history", "window from mid-history"])
def test_shared_run_stores_exactly_what_each_analysis_computes_alone(demo: tuple[Store, Config, datetime], windowed: bool) -> None:
    store, config, middle = demo
    since = middle if windowed else None
    if windowed:
        # The window must cut reply chains, or the parent blanking would go untested.
        ((cut,),) = store.con.execute(
            "SELECT count(*) FROM messages m JOIN messages p ON p.id = m.reply_to_id WHERE m.sent_at >= ? AND p.sent_at < ?", [since, since]
        ).fetchall()
        assert cut > 0
    store.con.execute("DELETE FROM analysis_results")
    store.con.execute("DELETE FROM analysis_runs")
    run_analyses(store, config, names=[a.name for a in ANALYSES], since=since)
    stored = stored_rows(store)
    alone = unshared_rows(store, config, since)
    assert len(alone) > 500
    assert {key[:2] for key in alone} == {key[:2] for key in stored}
    assert stored.keys() == alone.keys()
    different = {key: (stored[key], alone[key]) for key in stored if not same(stored[key], alone[key])}
    assert not different, f"{len(different)} rows differ, e.g. {list(different.items())[:5]}"
    # The facilitator is declared, so the facilitator shares (which read shared facts) are there.
    assert any(key[5] == "facilitator_first_reply_share" and value is not None for key, value in stored.items())


def test_shared_temporary_tables_are_dropped_after_the_run(demo: tuple[Store, Config, datetime]) -> None:
    store, config, _ = demo
    before = store.con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()
    run_analyses(store, config, names=["activity", "health"])
    after = store.con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()
    assert before == after

"""benchmarks/dashboard_load.py: its safety rule, its arithmetic, and a one-second run on a tiny store."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmarks.scripts import load_script
from villagegreen.analyses.runner import run_analyses
from villagegreen.config import Config
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

TINY_EXPORT = Path(__file__).resolve().parents[1] / "data" / "mail" / "standard.mbox"


def load() -> ModuleType:
    return load_script("dashboard_load")


@pytest.mark.parametrize("host", ["0.0.0.0", "localhost", "example.org", "10.0.0.1"])
def test_any_host_but_loopback_is_refused(host: str, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="only runs against 127.0.0.1"):
        load().main(["--db", str(tmp_path / "x.duckdb"), "--host", host])


def test_percentiles_are_nearest_rank() -> None:
    percentile = load().percentile
    hundred = [float(value) for value in range(100, 0, -1)]
    assert percentile(hundred, 0.5) == 50.0
    assert percentile(hundred, 0.95) == 95.0
    assert percentile(hundred, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0


def test_path_parameters_are_filled_from_the_lists_pages_return() -> None:
    fill = load().fill
    documents = [{"spaces": [{"id": "s1"}, {"id": "s2"}]}, {"id": "s1", "conversations": [{"id": "c9", "title": "x"}]}]
    assert fill("/spaces/{space_id}.json", documents) == ["/spaces/s1.json", "/spaces/s2.json"]
    assert fill("/conversations/{conversation_id}.json", documents) == ["/conversations/c9.json"]
    assert fill("/stories/{story_id}.json", documents) == []


def test_one_second_against_a_tiny_store_reports_every_page_and_no_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "tiny.duckdb"
    with Store.open(db) as store:
        import_path(store, TINY_EXPORT)
        run_analyses(store, Config())  # the pages answer 409 "not analysed" before this
    assert load().main(["--db", str(db), "--seconds", "1", "--clients", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["errors"] == 0 and result["clients"] == 2
    assert result["server_cpu_ms_per_request"] > 0 and result["server_peak_rss_mb"] > 0
    assert {"/overview", "/overview.json", "/spaces", "/spaces.json", "/spaces/{space_id}", "/conversations/{conversation_id}.json"} <= set(result["pages"])
    assert result["requests"] == sum(page["requests"] for page in result["pages"].values()) > 0
    overview = result["pages"]["/overview.json"]
    assert overview["cold_ms"] > 0 and overview["p50_ms"] <= overview["p95_ms"] <= overview["p99_ms"] <= overview["max_ms"]

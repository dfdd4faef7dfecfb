"""benchmarks/import_limit.py on a tiny synthetic export; timings are never asserted."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import duckdb
import pytest

from tests.benchmarks.scripts import load_script

STEPS = ("bare_json", "duckdb_read_json", "raw_layer_floor", "villagegreen_import_workers_1")


def load() -> ModuleType:
    return load_script("import_limit")


def test_every_step_is_measured_and_ratios_are_over_the_bare_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load().main(["--sizes", "300", "--workers", "1", "--work", str(tmp_path), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["messages"] == 300
    # The day files the generator wrote, counted here independently.
    assert result["day_files"] == len(list((tmp_path / "slack-300").glob("*/*.json"))) > 0
    for step in STEPS:
        measured = result[step]
        assert measured["seconds"] > 0 and measured["cpu_seconds"] > 0 and measured["peak_rss_mb"] > 0
    bare = result["bare_json"]
    assert result["raw_layer_floor_over_bare"] == round(result["raw_layer_floor"]["seconds"] / bare["seconds"], 2)
    assert result["villagegreen_import_workers_1_over_bare_cpu"] == round(result["villagegreen_import_workers_1"]["cpu_seconds"] / bare["cpu_seconds"], 2)
    # The floor's scratch store is removed; the import's store is kept and holds every message.
    assert not list(tmp_path.glob("raw-floor-*.duckdb"))
    with duckdb.connect(str(tmp_path / "store-300.duckdb"), read_only=True) as store:
        assert store.execute("SELECT count(*) FROM messages").fetchone() == (300,)

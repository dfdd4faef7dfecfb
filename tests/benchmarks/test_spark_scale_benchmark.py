"""benchmarks/spark_scale.py: its comparison of two stores' results, and a run on a small real import.

Spark itself is exercised by tests/analyses/test_spark_parity.py; here both engines are DuckDB,
so the script's timing, copying and comparison run in seconds. Timings are never asserted.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmarks.scripts import load_script
from tests.conftest import TEST_DATA


def load() -> ModuleType:
    return load_script("spark_scale")


def test_compare_counts_missing_rows_and_values_outside_the_tolerance() -> None:
    first = {("a", 1): 1.0, ("a", 2): 2.0, ("a", 3): None, ("a", 4): 5.0}
    second = {("a", 1): 1.0 + 1e-12, ("a", 2): 2.001, ("a", 3): math.nan, ("b", 9): 1.0}
    comparison = load().compare(first, second)
    assert comparison["rows"] == [4, 4]
    assert comparison["only_in_first"] == 1 and comparison["only_in_second"] == 1  # ("a", 4) and ("b", 9)
    assert comparison["differing_values"] == 1  # 2.0 against 2.001; 1e-12 apart and None/NaN agree
    assert comparison["examples"] == [[repr(("a", 2)), 2.0, 2.001]]


def test_the_same_engine_twice_gives_identical_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "chat.duckdb"
    chat = TEST_DATA / "telegram" / "chat"
    subprocess.run([sys.executable, "-m", "villagegreen", "import", str(chat), "--db", str(store), "--json"], check=True, capture_output=True)
    before = store.read_bytes()
    code = load().main(["--store", str(store), "--engines", "duckdb,duckdb", "--only", "activity", "--work", str(tmp_path), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["identical"] is True
    rows = summary["comparison"]["rows"]
    assert rows[0] == rows[1] > 0
    assert [run["engine"] for run in summary["runs"]] == ["duckdb", "duckdb"]
    assert all(run["cpu_s"] > 0 and run["peak_rss_mb"] > 0 for run in summary["runs"])
    assert store.read_bytes() == before  # only copies were analysed
    assert sorted(path.name for path in tmp_path.iterdir()) == ["chat.duckdb"]  # and removed after

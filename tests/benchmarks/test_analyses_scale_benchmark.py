"""benchmarks/analyses_scale.py on a tiny synthetic community; timings are never asserted."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmarks.scripts import load_script
from villagegreen.analyses.runner import ANALYSES


def load() -> ModuleType:
    return load_script("analyses_scale")


def test_every_step_and_every_registered_analysis_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load().main(["--sizes", "200", "--work", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    (result,) = summary["results"]
    assert result["messages"] == 200  # what the generator was asked for
    for step in ("import", "acts", "analyze", "embed"):
        assert result[step]["seconds"] > 0 and result[step]["cpu_s"] > 0 and result[step]["peak_rss_mb"] > 0
    assert set(result["analyses_s"]) == {analysis.name for analysis in ANALYSES}
    assert result["acts"]["labelled"] == 200
    assert 0 < result["embed"]["embedded"] <= 200
    assert summary["growth"] == []  # one size: nothing to compare
    assert not list(tmp_path.glob("store-*.duckdb"))  # without --keep the store is removed


def test_growth_is_the_time_ratio_over_the_size_ratio() -> None:
    def result(messages: int, seconds: float, health: float) -> dict[str, object]:
        steps = {step: {"seconds": seconds, "cpu_s": seconds / 2} for step in ("import", "acts", "analyze", "embed")}
        return {"messages": messages, **steps, "analyses_s": {"health": health}}

    # 10x the data: 20x the time is twice linear; 5x the time is half.
    (row,) = load().growth([result(1_000, 1.0, 2.0), result(10_000, 20.0, 10.0)])
    assert row["from"] == 1_000 and row["to"] == 10_000
    assert row["import"] == row["analyze"] == row["embed_cpu"] == 2.0
    assert row["analysis:health"] == 0.5

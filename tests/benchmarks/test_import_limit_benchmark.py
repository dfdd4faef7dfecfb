"""benchmarks/import_limit.py on a tiny synthetic export; timings are never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from tests.benchmarks.scripts import BENCHMARKS, load_script

STEPS = ("bare_json", "duckdb_read_json", "raw_layer_floor", "villagegreen_import_workers_1")
LAYOUTS = ("message_json", "file_zstd", "file_zstd_no_index", "file_text", "file_text_zstd", "parquet_messages", "parquet_files")
FILE_LAYOUTS = ("file_zstd", "file_zstd_no_index", "file_text", "file_text_zstd", "parquet_files")
MENTIONED = "U0000001"


def load() -> ModuleType:
    return load_script("import_limit")


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "slack-300"
    subprocess.run([sys.executable, str(BENCHMARKS / "synthetic.py"), str(folder), "--messages", "300"], check=True, capture_output=True)
    # The generator writes no mentions; one is added, so that erasing U0000001 must also rewrite
    # someone else's message.
    day = sorted(folder.glob("*/*.json"))[0]
    messages = json.loads(day.read_text(encoding="utf-8"))
    other = next(message for message in messages if message.get("user") != MENTIONED)
    other["text"] += f" thanks <@{MENTIONED}>"
    day.write_text(json.dumps(messages), encoding="utf-8")
    return folder


def source_messages(export: Path) -> dict[str, dict[str, Any]]:
    """channel/ts → message, read straight from the day files."""
    messages: dict[str, dict[str, Any]] = {}
    for path in export.glob("*/*.json"):
        for message in json.loads(path.read_text(encoding="utf-8")):
            messages[f"{path.parent.name}/{message['ts']}"] = message
    return messages


def test_every_step_is_measured_and_ratios_are_over_the_bare_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load().main(["--sizes", "300", "--workers", "1", "--work", str(tmp_path), "--raw-layouts", "2", "--json"]) == 0
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
    raw = result["raw_layouts"]
    authors = [message.get("user") for message in source_messages(tmp_path / "slack-300").values()]
    top = max(set(authors), key=authors.count)
    assert raw["erased_person"]["user"] == top and raw["erased_person"]["messages"] == authors.count(top)
    assert set(raw["layouts"]) == {"parse_only", *LAYOUTS}
    # Two rounds: the bare parse's and each layout's least-CPU run is the one reported.
    best_bare = raw["bare_json_best"]
    assert best_bare["cpu_seconds"] <= bare["cpu_seconds"]
    for layout in ("parse_only", *LAYOUTS):
        measured = raw["layouts"][layout]
        assert measured["seconds"] > 0 and measured["cpu_seconds"] > 0 and measured["store_mb"] >= 0
        assert len(measured["cpu_seconds_per_round"]) == 2 and measured["cpu_seconds"] == min(measured["cpu_seconds_per_round"])
        assert measured["over_bare_cpu"] == round(measured["cpu_seconds"] / best_bare["cpu_seconds"], 2)
        assert measured["erase_most_active_person"]["seconds"] > 0
    # Every layout's scratch folder is removed after it is measured.
    assert not list(tmp_path.glob("raw-*"))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_payload_comes_back_from_the_layout(layout: str, export: Path, tmp_path: Path) -> None:
    limit = load()
    limit.write_layout(layout, export, tmp_path / layout)
    assert limit.recover_messages(layout, tmp_path / layout) == source_messages(export)
    if layout == "file_text_zstd":
        with duckdb.connect(str(tmp_path / layout / "raw.duckdb"), read_only=True) as con:
            kinds = con.execute("SELECT DISTINCT compression FROM pragma_storage_info('raw_files') WHERE column_name = 'content'").fetchall()
        assert ("ZSTD",) in kinds
    if layout in FILE_LAYOUTS:
        # Not only equivalent: the day files' own bytes.
        assert limit.recover_files(layout, tmp_path / layout) == {f"{path.parent.name}/{path.name}": path.read_bytes() for path in export.glob("*/*.json")}


def assert_index_points_at_every_message_once(limit: ModuleType, layout: str, out: Path, natives: set[str]) -> None:
    """Each (id, file, position) row leads to a distinct message, and every message has one."""
    with duckdb.connect(str(out / "raw.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT i.id, f.path, i.position FROM raw_message_index i JOIN raw_files f USING (file_id)").fetchall()
    files = {path: json.loads(data) for path, data in limit.recover_files(layout, out).items()}
    pointed = {f"{path.split('/')[0]}/{files[path][position]['ts']}" for _, path, position in rows}
    assert pointed == natives and len(rows) == len(pointed) == len({row[0] for row in rows})


@pytest.mark.parametrize("layout", ["file_zstd", "file_text", "file_text_zstd"])
def test_the_index_points_at_every_message_once(layout: str, export: Path, tmp_path: Path) -> None:
    limit = load()
    limit.write_layout(layout, export, tmp_path)
    assert_index_points_at_every_message_once(limit, layout, tmp_path, set(source_messages(export)))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_erasing_removes_the_person_and_keeps_everyone_else(layout: str, export: Path, tmp_path: Path) -> None:
    limit = load()
    source = source_messages(export)
    user = MENTIONED
    assert any(message.get("user") == user for message in source.values())
    assert any(message.get("user") != user and user in message["text"] for message in source.values())
    limit.write_layout(layout, export, tmp_path)
    limit.erase_layout(layout, tmp_path, user)
    # Their messages are gone; in everyone else's their id is replaced, nothing else changes.
    expected = {native: json.loads(json.dumps(message).replace(user, "[erased]")) for native, message in source.items() if message.get("user") != user}
    recovered = limit.recover_messages(layout, tmp_path)
    assert recovered == expected
    assert user not in json.dumps(recovered)
    if layout in ("file_zstd", "file_text", "file_text_zstd"):
        assert_index_points_at_every_message_once(limit, layout, tmp_path, set(expected))

"""The command line as a user meets it: real processes, real store files, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "villagegreen", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def row_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    result = run("demo", "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["import"]["counts"]["messages"]["new"] > 100
    return db


def test_every_command_has_an_example_in_its_help() -> None:
    for command in ("import", "sources", "stats", "export", "demo", "migrate", "platforms"):
        result = run(command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Example: villagegreen" in result.stdout, command


def test_import_of_a_missing_path_is_one_clear_line(tmp_path: Path) -> None:
    result = run("import", tmp_path / "nowhere.zip", "--db", tmp_path / "s.duckdb")
    assert_one_line_error(result, "no such file or folder")
    assert result.returncode == 2
    assert list(tmp_path.iterdir()) == []  # no empty store left behind for a mistyped path


def test_unknown_format_names_the_supported_ones(tmp_path: Path) -> None:
    odd = tmp_path / "notes.csv"
    odd.write_text("a,b\n1,2\n")
    result = run("import", odd, "--db", tmp_path / "s.duckdb")
    assert_one_line_error(result, "not a format Village Green recognises", "slack", "discourse", "stackexchange", "mail", "--platform")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.csv"]


def test_corrupt_zip_leaves_the_store_unchanged(tmp_path: Path, demo_db: Path) -> None:
    db = tmp_path / "copy.duckdb"
    db.write_bytes(demo_db.read_bytes())
    before = row_counts(db)
    broken = tmp_path / "export.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("channels.json", "[]" * 1000)
    broken.write_bytes(broken.read_bytes()[:-30])
    result = run("import", broken, "--db", db)
    assert_one_line_error(result, "zip")
    assert row_counts(db) == before


def test_a_first_import_that_cannot_open_its_input_creates_no_store(tmp_path: Path) -> None:
    broken = tmp_path / "export.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("channels.json", "[]" * 1000)
    broken.write_bytes(broken.read_bytes()[:-30])
    corrupt = run("import", broken, "--db", tmp_path / "s.duckdb")
    assert_one_line_error(corrupt, "zip")
    notes = tmp_path / "notes.csv"
    notes.write_text("a,b\n1,2\n")
    unknown_platform = run("import", notes, "--db", tmp_path / "s.duckdb", "--platform", "myspace")
    assert_one_line_error(unknown_platform, "myspace")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["export.zip", "notes.csv"]


def test_demo_is_idempotent_and_stats_agree_with_the_store(tmp_path: Path, demo_db: Path) -> None:
    again = run("demo", "--db", demo_db, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["import"]["counts"]["messages"]["new"] == 0
    stats = json.loads(run("stats", "--db", demo_db, "--json").stdout)
    counts = row_counts(demo_db)
    assert sum(s["messages"] for s in stats) == counts["messages"]
    assert all(0.0 <= s["reply_share"] <= 1.0 for s in stats)
    sources = json.loads(run("sources", "--db", demo_db, "--json").stdout)
    assert [s["connector"] for s in sources] == ["stackexchange"]


def test_convokit_export_round_trips_every_message(tmp_path: Path, demo_db: Path) -> None:
    out = tmp_path / "corpus"
    result = run("export", out, "--format", "convokit", "--db", demo_db)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {"utterances.jsonl", "speakers.json", "conversations.json", "corpus.json", "index.json"}
    utterances = [json.loads(line) for line in (out / "utterances.jsonl").read_text().splitlines()]
    assert len(utterances) == row_counts(demo_db)["messages"]
    ids = {u["id"] for u in utterances}
    assert all(u["reply-to"] is None or u["reply-to"] in ids for u in utterances)
    assert all(u["conversation_id"] in ids for u in utterances)
    speakers = json.loads((out / "speakers.json").read_text())
    assert {u["speaker"] for u in utterances} - {"unknown"} <= set(speakers)


def test_parquet_export_writes_every_canonical_table(tmp_path: Path, demo_db: Path) -> None:
    out = tmp_path / "pq"
    result = run("export", out, "--format", "parquet", "--db", demo_db, "--json")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)["counts"]
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM '{out / 'messages.parquet'}'").fetchall()[0][0] == counts["messages"] > 0


def test_export_refuses_a_non_empty_folder(tmp_path: Path, demo_db: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    assert_one_line_error(run("export", tmp_path / "full", "--format", "parquet", "--db", demo_db), "not empty")

"""Every hostile input of issue 11 through ``villagegreen import`` against a populated store.

A refused input must leave every row of the store as it was (a content fingerprint of each
table, before and after), say in one line what is wrong and what to do, exit non-zero and
finish in bounded time; the bombs and the 100 MiB line run in a child process so that its
peak memory is measured too. An input with one bad record imports the rest and counts the
bad one instead: those cases check the counts against the generated input.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tests.trust.helpers import (
    fingerprint,
    one_clear_line,
    run_cli,
    run_cli_process,
    source_rows_fingerprint,
)
from tests.trust.hostile_corpus import CASES, HostileCase

MEMORY_BOUND = 1536 * 1024**2

REFUSED = [case for case in CASES if case.expect == "refuse"]
SKIPPED = [case for case in CASES if case.expect == "skip"]


def _marks(case: HostileCase) -> list[pytest.MarkDecorator]:
    return [pytest.mark.slow] if case.isolate else []


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=_marks(c)) for c in REFUSED])
def test_refused_input_changes_nothing(case: HostileCase, populated_db: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, _source = populated_db
    before = fingerprint(db)
    target = case.build(tmp_path)
    args = ["import", str(target), "--db", str(db), *case.args]
    if case.isolate:
        result = run_cli_process(args, timeout=case.timeout_s)
        assert result.peak_rss_bytes is not None
        assert result.peak_rss_bytes < MEMORY_BOUND
    else:
        result = run_cli(args, capsys)
    assert result.code != 0, f"{case.name}: accepted\n{result.stdout[-1500:]}"
    line = one_clear_line(result.stderr)
    assert case.says in line.lower(), line
    assert result.seconds < case.timeout_s
    assert fingerprint(db) == before


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in SKIPPED])
def test_one_bad_record_is_skipped_and_counted(case: HostileCase, populated_db: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, baseline_source = populated_db
    before = source_rows_fingerprint(db, baseline_source)
    target = case.build(tmp_path)
    result = run_cli(["import", str(target), "--db", str(db), "--json", *case.args], capsys)
    assert result.code == 0, result.stderr
    assert result.seconds < case.timeout_s
    report = result.json()
    assert report["counts"]["messages"]["new"] == case.messages
    if case.skipped is not None:
        kind, words = case.skipped
        reasons = [entry["reason"].lower() for entry in report["skipped"] if entry["kind"] == kind]
        assert any(words in reason for reason in reasons), report["skipped"]
    # The other source in the store is untouched.
    assert source_rows_fingerprint(db, baseline_source) == before


def test_duplicated_ids_keep_one_row_the_last_read(populated_db: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = populated_db
    case = next(c for c in CASES if c.name.startswith("duplicated ids"))
    result = run_cli(["import", str(case.build(tmp_path)), "--db", str(db), "--json"], capsys)
    assert result.code == 0, result.stderr
    assert result.json()["counts"]["messages"]["duplicates"] == 1
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT text FROM messages WHERE text LIKE 'version %'").fetchall()
    # Day files are read in date order, so the later day's version is the one kept.
    assert rows == [("version B with other content",)]


def test_far_past_and_future_timestamps_are_stored_exactly(populated_db: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = populated_db
    case = next(c for c in CASES if c.name.startswith("timestamps"))
    assert run_cli(["import", str(case.build(tmp_path)), "--db", str(db), "--json"], capsys).code == 0
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        years = dict(con.execute("SELECT text, year(sent_at) FROM messages WHERE text IN ('year one', 'year 9999', 'before the epoch')").fetchall())
    assert years == {"year one": 1, "year 9999": 9999, "before the epoch": 1969}


def test_nul_characters_survive_the_round_trip(populated_db: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = populated_db
    case = next(c for c in CASES if c.name.startswith("NUL bytes in Slack"))
    assert run_cli(["import", str(case.build(tmp_path)), "--db", str(db), "--json"], capsys).code == 0
    with duckdb.connect(str(db), read_only=True) as con:
        texts = [row[0] for row in con.execute("SELECT text FROM messages WHERE text LIKE 'nul %'").fetchall()]
    assert texts == ["nul \x00 inside \x00\x00 text"]


def test_reimporting_a_refused_input_still_changes_nothing(populated_db: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A refusal must not leave a half state that a second attempt trips over."""
    db, _ = populated_db
    before = fingerprint(db)
    case = next(c for c in CASES if c.name.startswith("100k nested arrays in channels"))
    target = case.build(tmp_path)
    for _ in range(2):
        result = run_cli(["import", str(target), "--db", str(db)], capsys)
        assert result.code == 2
        one_clear_line(result.stderr)
    assert fingerprint(db) == before

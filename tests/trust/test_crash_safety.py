"""SIGKILL an import at several points, reopen the store, re-run: all or nothing, no duplicates.

The deterministic points come from the tiny hook in ``store/ingest.py``
(``VILLAGEGREEN_TEST_CRASH_AT``): after a batch has been written inside the open transaction,
after the import_runs row but before COMMIT, and just after COMMIT. Those children call
``import_path`` with small batches so that an 8k-message export spans several of them; one
more child is the real ``python -m villagegreen import``, killed by a timer part-way through.
Two real CLI imports into one store at once check the file lock: the second waits or says the
store is busy (exit 3), and both end states are consistent.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from tests.trust.helpers import fingerprint, one_clear_line, source_rows_fingerprint
from tests.trust.large_export import LargeExport, write_large_slack

from villagegreen.store import Store
from villagegreen.store.ingest import CRASH_AT_ENV, import_path, source_id_for

pytestmark = pytest.mark.slow

MESSAGES = 8_000
BATCH_ROWS = 1_000
CHILD_TIMEOUT_S = 180

_CHILD = """
import sys
from pathlib import Path
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
with Store.open(Path(sys.argv[2])) as store:
    import_path(store, Path(sys.argv[1]), batch_rows=int(sys.argv[3]))
"""


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> LargeExport:
    return write_large_slack(tmp_path_factory.mktemp("large") / "large-community", messages=MESSAGES)


_REFERENCE_SECONDS: list[float] = []


@pytest.fixture(scope="module")
def reference(large: LargeExport, baseline_db: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """Row counts per table after a clean, uninterrupted import on top of the baseline store."""
    path = tmp_path_factory.mktemp("reference") / "reference.duckdb"
    shutil.copyfile(baseline_db[0], path)
    with Store.open(path) as store:
        report = import_path(store, large.path)
        counts = store.table_counts()
    _REFERENCE_SECONDS.append(report.seconds)
    # The importer agrees with what the generator wrote (counted independently of it).
    assert report.kind("messages").new == large.messages
    assert report.kind("identities").new == large.users
    assert report.kind("spaces").new == large.channels
    return counts


def _source_id(large: LargeExport) -> str:
    return source_id_for("slack", large.path.name)


def _kill_at(point: str, large: LargeExport, db: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(large.path), str(db), str(BATCH_ROWS)],
        env={**os.environ, CRASH_AT_ENV: point},
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, f"the {point} hook did not fire: {child.returncode} {child.stderr[-1000:]}"


def _source_messages(db: Path, source_id: str) -> int:
    with Store.open(db) as store:  # opening at all proves the file is not corrupt
        ((count,),) = store.con.execute("SELECT count(*) FROM messages WHERE source_id = ?", [source_id]).fetchall()
    return int(count)


def assert_consistent(db: Path, reference: dict[str, int], source_id: str, runs: int, messages: int) -> None:
    """No duplicate ids, nothing missing, and one import_runs row per committed import."""
    with Store.open(db) as store:
        con = store.con
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.columns WHERE column_name = 'id' AND table_schema = 'main'").fetchall()]
        for table in tables:
            ((total, distinct),) = con.execute(f'SELECT count(*), count(DISTINCT id) FROM "{table}"').fetchall()
            assert total == distinct, f"{table}: {total - distinct} duplicate ids"
        assert store.table_counts() == {table: count + (runs - 1 if table == "import_runs" else 0) for table, count in reference.items()}
        rows = con.execute("SELECT started_at, finished_at, report FROM import_runs WHERE source_id = ? ORDER BY started_at", [source_id]).fetchall()
    assert len(rows) == runs
    for started, finished, _report in rows:
        assert started <= finished
    counts = [json.loads(report)["counts"]["messages"] for _, _, report in rows]
    # The first committed run added every message; any later one found them all unchanged.
    assert counts[0]["new"] == messages
    assert all(c["new"] == 0 and c["unchanged"] == messages for c in counts[1:])


@pytest.mark.parametrize(("point", "committed"), [("batch", False), ("before-commit", False), ("after-commit", True)])
def test_kill_then_rerun_is_all_or_nothing(point: str, committed: bool, large: LargeExport, reference: dict[str, int], populated_db: tuple[Path, str]) -> None:
    db, baseline_source = populated_db
    baseline_rows = source_rows_fingerprint(db, baseline_source)
    _kill_at(point, large, db)
    source_id = _source_id(large)
    assert _source_messages(db, source_id) == (large.messages if committed else 0)
    assert source_rows_fingerprint(db, baseline_source) == baseline_rows
    if not committed:
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM import_runs WHERE source_id = ?", [source_id]).fetchone() == (0,)
    with Store.open(db) as store:
        import_path(store, large.path)
    assert_consistent(db, reference, source_id, runs=2 if committed else 1, messages=large.messages)


def test_cli_killed_by_a_timer_then_rerun(large: LargeExport, reference: dict[str, int], populated_db: tuple[Path, str]) -> None:
    db, _ = populated_db
    child = subprocess.Popen(
        [sys.executable, "-m", "villagegreen", "import", str(large.path), "--db", str(db), "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    # Kill half-way through the import proper: once the child has the store open (start-up
    # takes longer than the import on a busy machine), after half a clean import's time.
    _wait_until_open(child.pid, db)
    time.sleep(_REFERENCE_SECONDS[0] / 2)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=CHILD_TIMEOUT_S)
    source_id = _source_id(large)
    found = _source_messages(db, source_id)
    assert found in (0, large.messages)
    committed_before = found == large.messages
    with Store.open(db) as store:
        import_path(store, large.path)
    assert_consistent(db, reference, source_id, runs=2 if committed_before else 1, messages=large.messages)


def _wait_until_open(pid: int, db: Path) -> None:
    """Until process ``pid`` holds ``db`` open (Linux /proc; elsewhere, a fixed second)."""
    fds = Path(f"/proc/{pid}/fd")
    if not fds.parent.exists():
        time.sleep(1.0)
        return
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if any(fd.readlink() == db for fd in fds.iterdir()):
                return
        except OSError:  # an fd closed while we looked, or the process ended
            if not fds.exists():
                return
        time.sleep(0.02)


def test_two_imports_at_once_wait_or_say_busy(large: LargeExport, reference: dict[str, int], populated_db: tuple[Path, str]) -> None:
    db, _ = populated_db
    command = [sys.executable, "-m", "villagegreen", "import", str(large.path), "--db", str(db), "--json"]
    env = {**os.environ, "COLUMNS": "200"}
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(0.3)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    outcomes = []
    for child in (first, second):
        _out, err = child.communicate(timeout=CHILD_TIMEOUT_S)
        outcomes.append((child.returncode, err))
    codes = sorted(code for code, _ in outcomes)
    assert codes in ([0, 0], [0, 3]), outcomes
    for code, err in outcomes:
        if code == 3:
            assert "another village green process" in one_clear_line(err).lower()
    before_retry = fingerprint(db)
    successes = codes.count(0)
    assert_consistent(db, reference, _source_id(large), runs=successes, messages=large.messages)
    # The one told "busy" can simply run again afterwards.
    if successes == 1:
        with Store.open(db) as store:
            import_path(store, large.path)
        assert_consistent(db, reference, _source_id(large), runs=2, messages=large.messages)
    else:
        assert fingerprint(db) == before_retry

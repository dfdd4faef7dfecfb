"""The import's runtime settings: DuckDB threads capped and restored, pyarrow's conversion loaded before a fork."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from villagegreen.store.database import Store
from villagegreen.store.ingest import IMPORT_THREADS
from villagegreen.store.lean_runtime import lean_runtime


def _threads(con: duckdb.DuckDBPyConnection) -> int:
    ((value,),) = con.execute("SELECT current_setting('threads')").fetchall()
    return int(value)


def test_threads_are_capped_inside_and_restored_after() -> None:
    with duckdb.connect() as con:
        con.execute("SET threads = 3")
        with lean_runtime(con, memory_limit="256MB", gc_threshold=1000, threads=1):
            assert _threads(con) == 1
        assert _threads(con) == 3


def test_threads_are_restored_when_the_step_fails() -> None:
    with duckdb.connect() as con:
        con.execute("SET threads = 2")
        try:
            with lean_runtime(con, memory_limit="256MB", gc_threshold=1000, threads=1):
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert _threads(con) == 2


def test_threads_untouched_without_the_option() -> None:
    with duckdb.connect() as con:
        con.execute("SET threads = 3")
        with lean_runtime(con, memory_limit="256MB", gc_threshold=1000):
            assert _threads(con) == 3


def test_an_import_leaves_the_stores_thread_setting_as_it_was(tmp_path: Path) -> None:
    from villagegreen.store.ingest import import_path

    export = tmp_path / "export"
    (export / "general").mkdir(parents=True)
    (export / "channels.json").write_text('[{"id": "C1", "name": "general", "created": 1452837318}]')
    (export / "users.json").write_text('[{"id": "U1", "name": "ada"}]')
    (export / "general" / "2016-01-15.json").write_text('[{"type": "message", "user": "U1", "text": "hi there", "ts": "1452837318.000002"}]')
    with Store.open(tmp_path / "s.duckdb") as store:
        store.con.execute("SET threads = 2")
        assert IMPORT_THREADS != 2  # else this test could not tell a restore from no change
        report = import_path(store, export, platform="slack", workers=1)
        assert report.kind("messages").new == 1
        assert _threads(store.con) == 2


def test_loading_arrow_conversion_leaves_nothing_for_the_first_batch_to_import() -> None:
    # Run fresh: this test process has long since converted values with pyarrow.
    script = (
        "import sys\n"
        "from villagegreen.store.staging import SPECS, Stager, load_arrow_conversion\n"
        "load_arrow_conversion()\n"
        "before = set(sys.modules)\n"
        "from villagegreen.model import Message\n"
        "from datetime import datetime, UTC\n"
        "stager = Stager(lambda: None, name='t', batch_rows=10, on_duplicate=lambda _t: None)\n"
        "stager.add(Message('m', 's', 'n', 'm', None, 'sp', 'a', datetime(2020, 1, 1, tzinfo=UTC), 'two words'))\n"
        "table = stager.take(Message)\n"
        "assert table.column('word_count').to_pylist() == [2]\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

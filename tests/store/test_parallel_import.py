"""Imports whose parts are read in worker processes end up exactly as one-process imports."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.cli_support import run_cli
from tests.fakes import JsonListConnector, messages
from tests.store_contents import table_rows
from villagegreen.connectors.base import ReadContext, read_in_order
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Record, Skipped, make_id
from villagegreen.store import Store, ingest
from villagegreen.store.ingest import finalise_source, import_path
from villagegreen.store.parallel_read import can_fork, read_parts
from villagegreen.store.report import ImportReport
from villagegreen.store.staging import STAGING_PREFIX
from villagegreen.store.writer import BatchWriter

pytestmark = pytest.mark.skipif(not can_fork(), reason="parallel reading needs fork (Linux)")

CANONICAL = ("raw_items", "spaces", "identities", "conversations", "messages", "reactions", "events", "people")


def _counts(report: ImportReport) -> dict[str, tuple[int, int, int, int]]:
    return {kind: (c.new, c.updated, c.unchanged, c.duplicates) for kind, c in report.counts.items()}


def _assert_same_stores(left: Store, right: Store) -> None:
    for table in CANONICAL:
        assert table_rows(left, table) == table_rows(right, table), table


@pytest.mark.realdata
def test_a_slack_export_read_by_two_workers_equals_one_process(shared_data: Path, tmp_path: Path) -> None:
    export = shared_data / "slack" / "olake" / "export"
    # With the private listings included the export has more spaces than MIN_PARTS.
    with Store.open(tmp_path / "one.duckdb") as one, Store.open(tmp_path / "two.duckdb") as two:
        serial = import_path(one, export, include_private=True, workers=1)
        parallel = import_path(two, export, include_private=True, workers=2)
        _assert_same_stores(one, two)
        assert _counts(serial) == _counts(parallel)
        assert serial.skipped == parallel.skipped
        ((messages_in_store,),) = two.con.execute("SELECT count(*) FROM messages").fetchall()
        assert parallel.counts["messages"].new == messages_in_store > 0
        again = import_path(two, export, include_private=True, workers=2)
    assert {kind: c.new + c.updated for kind, c in again.counts.items()} == dict.fromkeys(again.counts, 0)
    assert list(tmp_path.glob(f"{STAGING_PREFIX}*")) == []


@pytest.mark.realdata
def test_workers_read_a_zipped_export_each_with_its_own_file_handle(shared_data: Path, tmp_path: Path) -> None:
    export = shared_data / "slack" / "olake" / "export"
    archive = tmp_path / "olake.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(export.rglob("*")):
            if path.is_file():
                zipped.write(path, path.relative_to(export).as_posix())
    with Store.open(tmp_path / "folder.duckdb") as folder, Store.open(tmp_path / "zip.duckdb") as zipped_store:
        import_path(folder, export, include_private=True, workers=1)
        import_path(zipped_store, archive, include_private=True, workers=2)
        _assert_same_stores(folder, zipped_store)


class PartedJsonList(JsonListConnector):
    """JsonListConnector split into parts of ten items; a part says when an item is a duplicate."""

    name = "partedjsonlist"

    def read(self, tree: SourceTree, context: ReadContext) -> Iterator[Record]:
        return read_in_order(_Parts(self, tree, context))

    def read_parts(self, tree: SourceTree, context: ReadContext) -> _Parts:
        return _Parts(self, tree, context)


class _Parts:
    def __init__(self, connector: PartedJsonList, tree: SourceTree, context: ReadContext) -> None:
        self.items = json.loads(tree.read_bytes(tree.names()[0]))
        self.connector, self.tree, self.context = connector, tree, context
        self.seen_users: list[str] = []

    @property
    def labels(self) -> list[str]:
        return [f"part {start}" for start in range(0, len(self.items), 10)]

    def head(self) -> Iterator[Record]:
        yield Skipped("note", "head ran", "")

    def part(self, index: int) -> Iterator[Record]:
        chunk = self.items[index * 10 : index * 10 + 10]
        whole = JsonListConnector().read(_OneFile(chunk), self.context)
        yield from whole
        yield Skipped("note", f"part {index} ran", "")

    def part_learnt(self, index: int) -> object:
        return sorted({item["user"] for item in self.items[index * 10 : index * 10 + 10]})

    def absorb(self, index: int, learnt: object) -> None:
        assert isinstance(learnt, list)
        self.seen_users.extend(learnt)

    def tail(self) -> Iterator[Record]:
        yield Skipped("note", f"tail saw {len(self.seen_users)} part users", "")


class _OneFile(SourceTree):
    """A tree over items already in memory (what JsonListConnector.read needs of a tree)."""

    def __init__(self, items: list[dict[str, object]]) -> None:
        self._items = items

    def names(self) -> list[str]:
        return ["chunk.jsonlist"]

    def read_bytes(self, name: str) -> bytes:
        return json.dumps(self._items).encode()


def _write(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps(items))
    return path


def test_parts_are_adopted_in_order_whatever_the_workers(tmp_path: Path) -> None:
    items = messages(60)
    # The same message id in parts 0 and 4: the later part's version must win, as in one process.
    items[45] = dict(items[3], text="the later version")
    path = _write(tmp_path / "a.jsonlist", items)
    with Store.open(tmp_path / "one.duckdb") as one, Store.open(tmp_path / "three.duckdb") as three:
        serial = import_path(one, path, connector_class=PartedJsonList, workers=1, batch_rows=4)
        parallel = import_path(three, path, connector_class=PartedJsonList, workers=3, batch_rows=4)
        _assert_same_stores(one, three)
        ((text,),) = three.con.execute("SELECT text FROM messages WHERE native_id = '3'").fetchall()
    assert text == "the later version"
    assert _counts(serial) == _counts(parallel)
    assert parallel.counts["messages"].duplicates >= 1
    notes = [reason for _kind, reason in parallel.skipped]
    assert notes == ["head ran", *(f"part {i} ran" for i in range(6)), "tail saw 18 part users"]
    assert [reason for _kind, reason in serial.skipped] == notes


def test_a_fatal_error_in_a_worker_leaves_the_store_unchanged(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        import_path(store, _write(tmp_path / "first.jsonlist", messages(10)), connector_class=PartedJsonList, workers=2)
        before = {table: table_rows(store, table) for table in CANONICAL}
        failing = messages(50, start=100)
        failing[37]["fail"] = True  # in part 3 of 5
        with pytest.raises(InputError, match="planted failure"):
            import_path(store, _write(tmp_path / "second.jsonlist", failing), connector_class=PartedJsonList, workers=2)
        assert {table: table_rows(store, table) for table in CANONICAL} == before
    assert list(tmp_path.glob(f"{STAGING_PREFIX}*")) == []


def test_context_ids_are_make_ids() -> None:
    context = ReadContext(source_id="s-1")
    for kind, native in (("message", "C1:1452837318.000002"), ("identity", "U1"), ("raw:user", 42), ("reaction", "C:1:+1:U2")):
        assert context.id(kind, native) == make_id("s-1", kind, str(native))


def test_context_ids_stay_make_ids_when_kinds_repeat_and_interleave() -> None:
    # The id continues a hash state kept per kind: using it must never alter that state.
    context = ReadContext(source_id="s-\u00e9")
    calls = [("message", f"C{n % 3}:{n}") for n in range(5)] + [("identity", "U\u00fc"), ("message", "C0:0"), ("identity", "U\u00fc"), ("raw:user", 7)]
    ids = [context.id(kind, native) for kind, native in calls]
    assert ids == [make_id("s-\u00e9", kind, str(native)) for kind, native in calls]
    assert ids[0] == ids[6] and ids[5] == ids[7] and len(set(ids)) == 7


def test_reading_in_order_needs_no_workers(tmp_path: Path) -> None:
    # The same connector, not split, still imports everything (small inputs take this path).
    path = _write(tmp_path / "a.jsonlist", messages(20))
    with Store.open(tmp_path / "s.duckdb") as store:
        report = import_path(store, path, connector_class=PartedJsonList, workers=1)
        assert report.counts["messages"].new == 20


@pytest.mark.realdata
def test_the_cli_takes_a_worker_count(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = shared_data / "slack" / "olake" / "export"
    reports = []
    for workers in ("1", "3"):
        code, out, err = run_cli(capsys, "import", export, "--db", tmp_path / f"w{workers}.duckdb", "--workers", workers, "--json")
        assert code == 0, err
        reports.append(json.loads(out)["counts"])
    assert reports[0] == reports[1]
    code, _out, err = run_cli(capsys, "import", export, "--db", tmp_path / "w0.duckdb", "--workers", "0")
    assert code == 2
    assert "workers" in err


def _read_back(limit: str) -> str:
    # DuckDB reads a limit back rounded ("244.1 MiB"); a fresh connection rounds it the same way.
    with duckdb.connect() as fresh:
        fresh.execute(f"SET memory_limit = '{limit}'")
        ((value,),) = fresh.execute("SELECT current_setting('memory_limit')").fetchall()
    return str(value)


def test_duckdb_has_a_lower_cap_while_workers_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, str] = {}

    def limit(con: duckdb.DuckDBPyConnection) -> str:
        ((value,),) = con.execute("SELECT current_setting('memory_limit')").fetchall()
        return str(value)

    def reading(parted: object, tree: object, writer: BatchWriter, **options: Any) -> None:
        seen["parts"] = limit(writer.con)
        read_parts(parted, tree, writer, **options)  # type: ignore[arg-type]

    def finalising(con: duckdb.DuckDBPyConnection, *args: Any) -> None:
        seen["finalise"] = limit(con)
        finalise_source(con, *args)

    monkeypatch.setattr(ingest, "read_parts", reading)
    monkeypatch.setattr(ingest, "finalise_source", finalising)
    with Store.open(tmp_path / "s.duckdb") as store:
        before = limit(store.con)
        report = import_path(store, _write(tmp_path / "a.jsonlist", messages(40)), connector_class=PartedJsonList, workers=2)
        after = limit(store.con)
    assert seen == {"parts": _read_back(ingest.PARTS_MEMORY_LIMIT), "finalise": _read_back(ingest.IMPORT_MEMORY_LIMIT)}
    assert after == before != seen["parts"]
    assert report.counts["messages"].new == 40

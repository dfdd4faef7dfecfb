"""Early insert: a new source's bulk tables take each staged file as it is adopted.

Each test checks the store against the usual anti-join merge (a writer without
``early_insert``) or against counts worked out from the input itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from villagegreen.model import Message, RawItem, Record, make_id
from villagegreen.store import Store
from villagegreen.store.ingest import source_id_for
from villagegreen.store.report import ImportReport
from villagegreen.store.writer import BatchWriter

SMALL_BATCH = 16
SOURCE = source_id_for("test", "early")
SENT = datetime(2024, 5, 1, tzinfo=UTC)


def _raw(native: int, source_id: str = SOURCE, payload: str = "{}") -> RawItem:
    return RawItem(make_id(source_id, "raw:message", str(native)), source_id, "test", "1", "message", str(native), payload, SENT)


def _message(native: int, text: str = "") -> Message:
    message_id = make_id(SOURCE, "message", str(native))
    return Message(message_id, SOURCE, str(native), message_id, None, "space", None, SENT, text or f"message {native}")


def _records(count: int) -> Iterator[Record]:
    for native in range(count):
        yield _raw(native, payload=json.dumps({"n": native}))
        yield _message(native)


def _write(store: Store, records: list[Record], *, early: bool) -> ImportReport:
    report = ImportReport(source_id=SOURCE, source_name="early", connector="test", location="here")
    with store.transaction():
        writer = BatchWriter(store.con, report, batch_rows=SMALL_BATCH, early_insert=early)
        for record in records:
            writer.add(record)
        writer.flush()
    return report


def _table(store: Store, table: str) -> list[tuple[object, ...]]:
    return store.con.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def _natives_in_stored_order(store: Store, table: str) -> list[str]:
    return [native for (native,) in store.con.execute(f"SELECT native_id FROM {table} ORDER BY rowid").fetchall()]


def _stores(tmp_path: Path) -> tuple[Store, Store]:
    return Store.open(tmp_path / "early.duckdb"), Store.open(tmp_path / "merged.duckdb")


def test_a_new_sources_rows_and_counts_equal_the_merges(tmp_path: Path) -> None:
    records = list(_records(100))  # about six staged files per table
    early_store, merged_store = _stores(tmp_path)
    with early_store, merged_store:
        early, merged = _write(early_store, records, early=True), _write(merged_store, records, early=False)
        for table in ("raw_items", "messages"):
            assert _table(early_store, table) == _table(merged_store, table), table
            # The early path keeps the order records were added in (the merge's join need not).
            assert _natives_in_stored_order(early_store, table) == [str(native) for native in range(100)], table
        assert early.counts["messages"].new == merged.counts["messages"].new == 100
        assert early.counts["raw_items"].new == 100


def test_rows_are_in_the_table_before_flush(store: Store) -> None:
    report = ImportReport(source_id=SOURCE, source_name="early", connector="test", location="here")
    with store.transaction():
        writer = BatchWriter(store.con, report, batch_rows=SMALL_BATCH, early_insert=True)
        for record in _records(40):
            writer.add(record)
        writer.adopt([], messages=0, duplicates={})  # what a worker's result does: stages and adopts
        ((before_flush,),) = store.con.execute("SELECT count(*) FROM messages").fetchall()
        writer.flush()
    assert before_flush == 40
    assert store.table_counts()["messages"] == 40


@pytest.mark.parametrize("late", ["duplicate", "other source"])
def test_what_the_early_path_cannot_take_is_merged_as_before(tmp_path: Path, late: str) -> None:
    records = list(_records(40))
    # A second version of message 3 two batches on (latest wins), or a raw item of another source.
    records.append(_message(3, "second version") if late == "duplicate" else _raw(7, source_id=source_id_for("test", "other")))
    early_store, merged_store = _stores(tmp_path)
    with early_store, merged_store:
        early, merged = _write(early_store, records, early=True), _write(merged_store, records, early=False)
        for table in ("raw_items", "messages"):
            assert _table(early_store, table) == _table(merged_store, table), table
        assert early.counts == merged.counts
    if late == "duplicate":
        assert early.counts["messages"].duplicates == 1 and early.counts["messages"].new == 40
    else:
        assert early.counts["raw_items"].new == 41


def test_another_sources_rows_stay_and_a_reimport_takes_the_merge(store: Store) -> None:
    other = source_id_for("test", "other")
    # Another source's raw item, put in directly: its source_id is not the one being imported.
    store.con.execute("INSERT INTO raw_items SELECT * FROM (VALUES ('x', ?, 'test', '1', 'message', '1', '{}', now()))", [other])
    first = _write(store, list(_records(30)), early=True)
    again = _write(store, [*_records(30), _message(31)], early=True)  # the same source again, one message more
    assert first.counts["messages"].new == 30
    assert (again.counts["messages"].new, again.counts["messages"].unchanged) == (1, 30)
    assert store.table_counts()["messages"] == 31
    assert store.table_counts()["raw_items"] == 31  # 30 of ours and the other source's one
    ((others,),) = store.con.execute("SELECT count(*) FROM raw_items WHERE source_id = ?", [other]).fetchall()
    assert others == 1

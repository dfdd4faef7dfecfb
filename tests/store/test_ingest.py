"""Import semantics: idempotent, transactional, overlap-aware, with honest counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes import JsonListConnector, messages
from villagegreen.errors import InputError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path


def write(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps(items))
    return path


def test_first_import_counts_every_row_as_new(store: Store, tmp_path: Path) -> None:
    report = import_path(store, write(tmp_path / "a.jsonlist", messages(20)), connector_class=JsonListConnector)
    assert report.counts["messages"].new == 20
    assert report.counts["conversations"].new == 4
    assert report.counts["people"].new == 3
    assert store.table_counts()["messages"] == 20
    ((replies,),) = store.con.execute("SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL").fetchall()
    assert replies == 16


def test_reimport_adds_nothing_and_reports_unchanged(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonlist", messages(20))
    import_path(store, path, connector_class=JsonListConnector)
    before = store.table_counts()
    again = import_path(store, path, connector_class=JsonListConnector)
    after = store.table_counts()
    assert again.rows_added == 0
    assert again.counts["messages"].unchanged == 20
    assert again.counts["messages"].updated == 0
    assert {k: v for k, v in after.items() if k != "import_runs"} == {k: v for k, v in before.items() if k != "import_runs"}


def test_overlapping_export_adds_new_and_updates_changed(store: Store, tmp_path: Path) -> None:
    import_path(store, write(tmp_path / "a.jsonlist", messages(20)), connector_class=JsonListConnector)
    later = messages(15, start=10)
    later[0]["text"] = "message 10, edited"
    report = import_path(store, write(tmp_path / "b.jsonlist", later), connector_class=JsonListConnector)
    assert report.counts["messages"].new == 5
    assert report.counts["messages"].updated == 1
    assert report.counts["messages"].unchanged == 9
    assert store.table_counts()["messages"] == 25
    ((text,),) = store.con.execute("SELECT text FROM messages WHERE native_id = '10'").fetchall()
    assert text == "message 10, edited"


@pytest.mark.parametrize("fail_at", [0, 7, 199])
def test_failure_mid_import_leaves_store_unchanged(store: Store, tmp_path: Path, fail_at: int) -> None:
    import_path(store, write(tmp_path / "a.jsonlist", messages(10)), connector_class=JsonListConnector)
    before = store.table_counts()
    items = messages(200, start=100)
    items[fail_at]["fail"] = True
    with pytest.raises(InputError, match="planted failure"):
        # A small batch size forces several flushes before the failure, so rollback is real.
        import_path(store, write(tmp_path / "b.jsonlist", items), connector_class=JsonListConnector, batch_rows=16)
    assert store.table_counts() == before


def test_duplicate_ids_in_one_input_keep_the_last_and_are_counted(store: Store, tmp_path: Path) -> None:
    items = messages(5)
    duplicate = dict(items[2], text="second version")
    report = import_path(store, write(tmp_path / "a.jsonlist", [*items, duplicate]), connector_class=JsonListConnector)
    assert report.counts["messages"].duplicates == 1
    ((text,),) = store.con.execute("SELECT text FROM messages WHERE native_id = '2'").fetchall()
    assert text == "second version"


def test_replies_without_their_root_get_an_inferred_conversation(store: Store, tmp_path: Path) -> None:
    items = [m for m in messages(10) if m["id"] != "5"]
    import_path(store, write(tmp_path / "a.jsonlist", items), connector_class=JsonListConnector)
    rows = store.con.execute("SELECT meta FROM conversations WHERE title IS NULL").fetchall()
    assert [json.loads(r[0]) for r in rows] == [{"inferred": True}]
    orphans = store.con.execute(
        "SELECT count(*) FROM messages m ANTI JOIN conversations c ON c.id = m.conversation_id"
    ).fetchall()
    assert orphans == [(0,)]


def test_reimport_keeps_a_manual_person_merge(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonlist", messages(9))
    import_path(store, path, connector_class=JsonListConnector)
    ((ann,),) = store.con.execute("SELECT person_id FROM identities WHERE native_id = 'ann'").fetchall()
    store.con.execute("UPDATE identities SET person_id = ? WHERE native_id = 'bo'", [ann])
    import_path(store, path, connector_class=JsonListConnector)
    assert store.con.execute("SELECT count(DISTINCT person_id) FROM identities").fetchall() == [(2,)]


def test_each_import_is_recorded_with_its_report(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonlist", messages(5))
    import_path(store, path, connector_class=JsonListConnector)
    import_path(store, path, connector_class=JsonListConnector)
    reports = [json.loads(r[0]) for r in store.con.execute("SELECT report FROM import_runs ORDER BY started_at").fetchall()]
    assert [r["counts"]["messages"]["new"] for r in reports] == [5, 0]

"""Slack exports through the whole import into a store, checked against facts counted independently."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.slack.disentangled import stream_roots
from villagegreen.connectors import registry
from villagegreen.connectors.slack.connector import PRIVATE_REASON
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

DATA = Path(__file__).resolve().parents[2] / "data" / "slack"
# Counted here from the raw files, not taken from the connector: subtypes that are not speech.
EVENT_SUBTYPES = {
    "channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name", "channel_archive",
    "channel_unarchive", "group_join", "group_leave", "group_topic", "group_purpose", "group_name",
    "bot_add", "bot_remove", "pinned_item", "unpinned_item",
}  # fmt: skip


@pytest.fixture
def slack_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Detection and lookup see only the Slack connector, whatever else is built in."""
    monkeypatch.setattr(registry, "BUILTIN_CONNECTORS", {"slack": registry.BUILTIN_CONNECTORS["slack"]})
    registry.registered_connectors.cache_clear()
    yield
    registry.registered_connectors.cache_clear()


def count(store: Store, sql: str, *params: Any) -> int:
    ((value,),) = store.con.execute(sql, list(params)).fetchall()
    return int(value)


def day_entries(export: Path) -> list[dict[str, Any]]:
    return [entry for day in sorted(export.glob("*/*.json")) for entry in json.loads(day.read_text())]


def test_import_is_detected_idempotent_and_keeps_private_out(store: Store, slack_only: None) -> None:
    first = import_path(store, DATA / "synthetic")
    assert first.connector == "slack" and first.source_name == "T0TEST"
    assert first.kind("messages").new == 10
    assert first.kind("events").new == 3
    # The channel streams' roots, one conversation hanging off a join event, and one inferred
    # by the store for a root older than the export.
    assert first.kind("conversations").new == len(stream_roots(store)) + 1 + 1
    assert count(store, "SELECT count(*) FROM conversations WHERE (meta->>'root') = 'event'") == 1
    assert count(store, "SELECT count(*) FROM conversations WHERE (meta->>'inferred') = 'true'") == 1
    assert first.skipped[("space", PRIVATE_REASON)] == 4
    assert count(store, "SELECT count(*) FROM spaces WHERE private") == 0
    assert count(store, "SELECT count(*) FROM messages WHERE text LIKE '%private words%' OR text LIKE '%secret%'") == 0
    assert count(store, "SELECT count(*) FROM raw_items WHERE payload::VARCHAR LIKE '%private words%'") == 0

    again = import_path(store, DATA / "synthetic")
    assert again.rows_added == 0
    assert again.kind("messages").unchanged == 10 and again.kind("messages").updated == 0


def test_include_private_adds_the_private_spaces(store: Store, slack_only: None) -> None:
    import_path(store, DATA / "synthetic")
    report = import_path(store, DATA / "synthetic", include_private=True)
    assert report.kind("spaces").new == 4
    assert report.kind("messages").new == 5
    assert count(store, "SELECT count(*) FROM spaces WHERE private") == 4


def test_official_zip_into_the_store(store: Store, slack_only: None) -> None:
    report = import_path(store, DATA / "viewer-test" / "testarchive.zip")
    entries = 158
    assert report.kind("messages").new + report.kind("events").new == entries
    assert count(store, "SELECT count(*) FROM identities WHERE is_bot") == 3
    assert count(store, "SELECT count(*) FROM people") == 7


@pytest.mark.realdata
def test_olake_counts_match_the_raw_files(shared_data: Path, store: Store, slack_only: None) -> None:
    export = shared_data / "slack" / "olake" / "export"
    entries = day_entries(export)
    events = [e for e in entries if e.get("subtype") in EVENT_SUBTYPES]
    said = [e for e in entries if e.get("subtype") not in EVENT_SUBTYPES]
    # The data README's figures: 304 messages, 41 posters, 29 threads.
    assert len(entries) == 304
    assert len({e["user"] for e in entries}) == 41
    assert len({(e["thread_ts"]) for e in entries if e.get("thread_ts") and e["thread_ts"] != e["ts"]}) == 29

    report = import_path(store, export)
    assert report.source_name == "T0820LGJGRF"
    assert count(store, "SELECT count(*) FROM messages") == len(said) == 302
    assert count(store, "SELECT count(*) FROM events") == len(events) == 2
    assert count(store, "SELECT count(DISTINCT author_id) FROM messages") == len({e["user"] for e in said}) == 40
    assert count(store, "SELECT count(DISTINCT conversation_id) FROM messages WHERE reply_to_id IS NOT NULL AND (meta->>'reply_inferred') IS NULL") == 29
    replies = [e for e in said if e.get("thread_ts") and e["thread_ts"] != e["ts"]]
    recorded = "SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL AND (meta->>'reply_inferred') IS NULL"
    assert count(store, recorded) == len(replies)
    assert count(store, "SELECT count(*) FROM conversations") == len(stream_roots(store)) < len(said) - len(replies)
    assert count(store, "SELECT sum(count) FROM reactions") == sum(r["count"] for e in said for r in e.get("reactions", []))
    assert count(store, "SELECT count(*) FROM messages WHERE meta->>'edited_at' IS NOT NULL") == sum(1 for e in said if e.get("edited"))
    assert count(store, "SELECT count(*) FROM identities") == len(json.loads((export / "users.json").read_text()))

    # The export has DM, group and group-DM listings, all empty: nothing private, nothing skipped.
    for listing in ("dms.json", "groups.json", "mpims.json"):
        assert json.loads((export / listing).read_text()) == []
    assert count(store, "SELECT count(*) FROM spaces WHERE private") == 0
    assert count(store, "SELECT count(*) FROM spaces") == 5
    assert not report.skipped

    assert import_path(store, export).rows_added == 0

"""haskell-jp's slack-log layout (reduced messages paged per channel id), read by the Slack connector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.slack.disentangled import stream_roots
from villagegreen.connectors.slack.connector import SlackExportConnector
from villagegreen.connectors.slack.flat_json import PRIVATE_PAGE_REASON, PRIVATE_REASON
from villagegreen.connectors.tree import SourceTree
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

HASKELL_JP = "slack/haskell-jp"


def count(store: Store, sql: str, *params: Any) -> int:
    ((value,),) = store.con.execute(sql, list(params)).fetchall()
    return int(value)


def without_runs(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k != "import_runs"}


def is_notice(entry: dict[str, Any]) -> bool:
    """Slack's fixed notice wording (private groups say "group"), by string comparison (the connector uses patterns)."""
    me, text = f"<@{entry.get('user')}>", entry.get("text") or ""
    return any(
        text in (f"{me} has joined the {where}", f"{me} has left the {where}")
        or text.startswith((f"{me} set the {where} topic: ", f"{me} set the {where} purpose: "))
        for where in ("channel", "group")
    )


def facts(root: Path, include_private: bool) -> dict[str, int]:
    """Counted with plain json over the folder."""
    groups = json.loads((root / ".groups.json").read_text()) if (root / ".groups.json").exists() else {}
    messages = replies = broadcasts = events = event_threads = 0
    channels = 0
    for channel in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (channel.name in groups or channel.name[0] in "GD") and not include_private:
            continue
        channels += 1
        paged = {e["ts"]: e for page in channel.glob("*.json") for e in json.loads(page.read_text())}
        threaded: dict[str, dict[str, Any]] = {}
        for thread in channel.glob("*/*.json"):
            entries = json.loads(thread.read_text())
            threaded.update({e["ts"]: e for e in entries[1:]})
            root_entry = entries[0]
            event_threads += is_notice(root_entry) and len(entries) > 1
        every = {**paged, **threaded}
        events += sum(1 for ts, e in every.items() if ts not in threaded and is_notice(e))
        messages += len(every) - sum(1 for ts, e in every.items() if ts not in threaded and is_notice(e))
        replies += len(threaded)
        broadcasts += len(threaded.keys() & paged.keys())
    return {
        "channels": channels,
        "messages": messages,
        "replies": replies,
        "broadcasts": broadcasts,
        "events": events,
        "conversations": messages - replies + event_threads,
        "event_threads": event_threads,
    }


def write_log(root: Path) -> Path:
    """A tiny invented slack-log folder: two pages that overlap, one thread, one private group."""
    json_root = root / "docs" / "json"
    (json_root / "C0TESTCHAN" / "1").mkdir(parents=True)
    (json_root / "GTESTGROUP").mkdir()
    (json_root / ".users.json").write_text(json.dumps({"U0AAAAAAA": "akane", "U0BBBBBBB": ""}))
    (json_root / ".groups.json").write_text(json.dumps({"GTESTGROUP": "staff"}))
    page1 = [
        {"ts": "1600000000.000100", "text": "<@U0AAAAAAA> has joined the channel", "user": "U0AAAAAAA", "type": "message"},
        {"ts": "1600000100.000100", "text": "How do I read a file lazily?", "user": "U0AAAAAAA", "type": "message"},
        {"ts": "1600000300.000100", "text": "Use conduit; see the thread", "user": "U0BBBBBBB", "type": "message"},
    ]
    page2 = [page1[-1], {"ts": "1600000400.000100", "text": "<@U0BBBBBBB> has joined the channel, says someone", "user": "U0AAAAAAA", "type": "message"}]
    thread = [page1[1], {"ts": "1600000200.000100", "text": "interact with hGetContents carefully", "user": "U0BBBBBBB", "type": "message"}, page1[2]]
    (json_root / "C0TESTCHAN" / "1.json").write_text(json.dumps(page1))
    (json_root / "C0TESTCHAN" / "2.json").write_text(json.dumps(page2))
    (json_root / "C0TESTCHAN" / "1" / "1600000100.000100.json").write_text(json.dumps(thread))
    (json_root / "GTESTGROUP" / "1.json").write_text(json.dumps([{"ts": "1600000500.000100", "text": "secret plans", "user": "U0AAAAAAA", "type": "message"}]))
    return root


def test_small_log_threads_broadcasts_notices_and_privacy(store: Store, tmp_path: Path) -> None:
    root = write_log(tmp_path / "community")
    with SourceTree(root) as tree:
        assert SlackExportConnector.sniff(tree)
    report = import_path(store, root, connector_class=SlackExportConnector)
    assert report.source_name == "community"
    assert report.skipped[("space", PRIVATE_REASON)] == 1 and report.skipped[("page file", PRIVATE_PAGE_REASON)] == 1
    assert count(store, "SELECT count(*) FROM messages WHERE text LIKE '%secret%'") == 0
    rows = {r[0]: r[1:] for r in store.con.execute("SELECT text, id, conversation_id, reply_to_id, meta->>'broadcast' FROM messages").fetchall()}
    question = rows["How do I read a file lazily?"][0]
    assert rows["interact with hGetContents carefully"][1:3] == (question, question)
    assert rows["Use conduit; see the thread"][1:] == (question, question, "true")  # in the thread and the channel
    said = [text for text in rows if text.endswith("says someone")]
    assert len(said) == 1  # not the notice's exact wording: a message, not an event
    assert count(store, "SELECT count(*) FROM messages") == 4
    assert count(store, "SELECT count(*) FROM events WHERE kind = 'join' AND (meta->>'subtype_inferred') = 'true'") == 1
    assert count(store, "SELECT count(*) FROM identities WHERE display_name = 'akane'") == 1
    assert count(store, "SELECT count(*) FROM spaces WHERE name = 'C0TESTCHAN' AND NOT private") == 1
    private = import_path(store, root, connector_class=SlackExportConnector, include_private=True)
    assert private.kind("messages").new == 1
    assert count(store, "SELECT count(*) FROM spaces WHERE name = 'staff' AND private") == 1


def test_an_ordinary_export_is_not_taken_for_the_flat_layout(tmp_path: Path) -> None:
    root = write_log(tmp_path / "community") / "docs" / "json"
    (root / "channels.json").write_text("[]")
    with SourceTree(root) as tree:
        from villagegreen.connectors.slack.connector import looks_like_flat

        assert not looks_like_flat(tree)


@pytest.mark.realdata
def test_haskell_jp_counts_match_the_raw_files(shared_data: Path, store: Store) -> None:
    folder = shared_data / HASKELL_JP
    expected = facts(folder / "docs" / "json", include_private=False)
    with SourceTree(folder) as tree:
        assert SlackExportConnector.sniff(tree)
    report = import_path(store, folder, connector_class=SlackExportConnector)
    assert report.connector == "slack"
    assert report.kind("spaces").new == expected["channels"]
    assert report.kind("messages").new == expected["messages"]
    assert report.kind("events").new == expected["events"]
    assert count(store, "SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL AND (meta->>'reply_inferred') IS NULL") == expected["replies"]
    assert count(store, "SELECT count(*) FROM messages WHERE (meta->>'broadcast') = 'true'") == expected["broadcasts"]
    # Unthreaded messages are disentangled: the streams' roots plus the threads hanging off notices,
    # fewer than one conversation per unthreaded message.
    conversations = count(store, "SELECT count(*) FROM conversations")
    assert conversations == len(stream_roots(store)) + expected["event_threads"] < expected["conversations"]
    assert count(store, "SELECT count(*) FROM spaces WHERE private") == 0
    # Every reply is in the conversation of its thread file's root.
    assert (
        count(store, "SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL AND reply_to_id <> conversation_id AND (meta->>'reply_inferred') IS NULL")
        == 0
    )
    again = import_path(store, folder, connector_class=SlackExportConnector)
    assert again.rows_added == 0 and sum(c.updated for c in again.counts.values()) == 0


@pytest.mark.realdata
def test_haskell_jp_private_group_with_include_private(shared_data: Path, store: Store) -> None:
    folder = shared_data / HASKELL_JP
    expected = facts(folder / "docs" / "json", include_private=True)
    report = import_path(store, folder, connector_class=SlackExportConnector, include_private=True)
    assert report.kind("messages").new == expected["messages"]
    assert report.kind("events").new == expected["events"]
    groups = json.loads((folder / "docs" / "json" / ".groups.json").read_text())
    assert sorted(r[0] for r in store.con.execute("SELECT name FROM spaces WHERE private").fetchall()) == sorted(groups.values())

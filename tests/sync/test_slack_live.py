"""Live Slack sync against recorded real Web API responses (perceval's fixtures, read in place).

Recorded: the channel (``slack_info.json``), two history pages (``slack_history.json`` with
``has_more``, then ``slack_history_next.json``) and three users. A thread and its replies come
from ``tests/data/slack/live`` (documented example shapes, invented text). Messages "posted
after the recording" are added on top, newest first, as Slack lists them.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_DATA
from tests.sync.live_support import Recorded, assert_token_nowhere, cursor, load, messages
from villagegreen.config import SourceConfig
from villagegreen.connectors.slack.mapping import EVENT_KINDS
from villagegreen.errors import ConfigError, TransientError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

pytestmark = pytest.mark.realdata

TOKEN = "xoxb-planted-0000000000-1111111111-SeCrEtToKeN42"
ENV = "VG_TEST_SLACK_TOKEN"
LIVE = TEST_DATA / "slack" / "live"
SOURCE = SourceConfig(name="club", platform="slack", token_env=ENV)


class Workspace:
    def __init__(self, recorded: Path) -> None:
        self.channel = load(recorded / "slack_info.json")["channel"]
        self.private = load(LIVE / "private_channel.json")
        self.users = [load(recorded / f"slack_user_U000{n}.json")["user"] for n in (1, 2, 3)]
        self.first_page = load(recorded / "slack_history.json")
        self.next_page = load(recorded / "slack_history_next.json")
        self.later: list[dict[str, Any]] = []  # posted after the recording, oldest first
        self.replies = load(LIVE / "conversations.replies.json")
        self.server = Recorded(self.route, lambda r: r.headers.get("Authorization") == f"Bearer {TOKEN}")

    def recorded_entries(self) -> list[dict[str, Any]]:
        return self.first_page["messages"] + self.next_page["messages"]

    def route(self, request: httpx.Request) -> httpx.Response:
        method, params = request.url.path.rsplit("/", 1)[1], request.url.params
        if method == "auth.test":
            return httpx.Response(200, json=load(LIVE / "auth.test.json"))
        if method == "users.list":
            return httpx.Response(200, json={"ok": True, "members": self.users})
        if method == "conversations.list":
            listed = [self.channel] + ([self.private] if "private_channel" in params["types"] else [])
            return httpx.Response(200, json={"ok": True, "channels": listed})
        if method == "conversations.history":
            assert params["channel"] == self.channel["id"], "only the public channel is read"
            return httpx.Response(200, json=self.history(params.get("oldest"), params.get("latest")))
        if method == "conversations.replies":
            page = self.replies[1 if params.get("cursor") else 0]
            return httpx.Response(200, json=page)
        return httpx.Response(200, json={"ok": False, "error": "unknown_method"})

    def history(self, oldest: str | None, latest: str | None) -> dict[str, Any]:
        newest_first = list(reversed(self.later))
        if oldest is None and latest is None:
            return {**self.first_page, "messages": newest_first + self.first_page["messages"]}
        if oldest is None and latest == min((m["ts"] for m in self.first_page["messages"]), key=float):
            return self.next_page
        everything = newest_first + self.recorded_entries()
        kept = [m for m in everything if (oldest is None or float(m["ts"]) > float(oldest)) and (latest is None or float(m["ts"]) < float(latest))]
        return {"ok": True, "has_more": False, "messages": kept}


@pytest.fixture
def workspace(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv(ENV, TOKEN)
    return Workspace(shared_data / "formats" / "perceval-fixtures" / "tests" / "data" / "slack")


def said(entries: list[dict[str, Any]]) -> set[str]:
    """Native ids of the entries that are messages (not channel events such as joins)."""
    return {f"C011DUKE8:{e['ts']}" for e in entries if e.get("subtype") not in EVENT_KINDS}


def test_first_sync_incremental_and_threads(workspace: Workspace, tmp_path: Path) -> None:
    server = workspace.server
    with Store.open(tmp_path / "vg.duckdb") as store:
        first = server.sync(store, SOURCE)
        recorded = said(workspace.recorded_entries())
        assert set(messages(store)) == recorded and first.new == len(recorded)
        # The recorded first page says has_more: the second was asked for before its oldest ts.
        assert [r.url.params.get("latest") for r in server.requests if r.url.path.endswith("conversations.history")] == [None, "1427135733.000068"]
        (types,) = [r.url.params["types"] for r in server.requests if r.url.path.endswith("conversations.list")]
        assert types == "public_channel"
        quiet = server.sync(store, SOURCE)
        assert (quiet.new, quiet.updated, quiet.cursor_after, quiet.rooms) == (0, 0, first.cursor_after, 0)
        workspace.later.append({"type": "message", "user": "U0003", "text": "Rain tomorrow, cover the seedlings", "ts": "1487000100.000050"})
        one = server.sync(store, SOURCE)
        assert (one.new, one.updated) == (1, 0) and one.cursor_before == first.cursor_after
        workspace.later.append(load(LIVE / "thread_root.json"))
        threaded = server.sync(store, SOURCE)
        thread = {m["ts"] for page in workspace.replies for m in page["messages"]}
        assert threaded.new == len(thread)  # the root and its three replies, over two pages
        assert sum(r.url.path.endswith("conversations.replies") for r in server.requests) == 2
        unchanged = server.sync(store, SOURCE)
        assert unchanged.new == 0 and not any(r.url.path.endswith("conversations.replies") for r in server.requests)
        # A fourth reply: the root's reply_count and latest_reply change, so the thread is re-read.
        reply = {"type": "message", "user": "U0003", "text": "Mine are chitting now", "ts": "1487004000.000400", "thread_ts": "1487000500.000100"}
        workspace.replies = copy.deepcopy(workspace.replies)
        workspace.replies[1]["messages"].append(reply)
        for message in [workspace.later[-1]] + [page["messages"][0] for page in workspace.replies]:
            message.update(reply_count=4, latest_reply=reply["ts"])
        fourth = server.sync(store, SOURCE)
        assert (fourth.new, fourth.updated) == (1, 0)
        rows = messages(store)
        root_id = rows["C011DUKE8:1487000500.000100"][0]
        in_thread = {ts for ts in thread | {reply["ts"]} if ts != "1487000500.000100"}
        assert all(rows[f"C011DUKE8:{ts}"][1] == root_id and rows[f"C011DUKE8:{ts}"][2] == root_id for ts in in_thread)
        assert "<@U0002>" not in rows["C011DUKE8:1487002000.000250"][3]  # mentions rendered as the importer does
    assert_token_nowhere(tmp_path / "vg.duckdb", TOKEN, json.dumps([first.to_dict(), fourth.to_dict()]))


def test_a_429_waits_as_told(workspace: Workspace, store: Store) -> None:
    workspace.server.queue.append(httpx.Response(429, headers={"Retry-After": "30"}, json={"ok": False, "error": "ratelimited"}))
    report = workspace.server.sync(store, SOURCE)
    assert workspace.server.sleeps == [30.0] and report.new == len(said(workspace.recorded_entries()))


def test_a_500_mid_run_changes_nothing_and_a_rerun_completes(workspace: Workspace, store: Store) -> None:
    server = workspace.server
    server.sync(store, SOURCE)
    before_rows, before_cursor = messages(store), cursor(store)
    workspace.later.append(load(LIVE / "thread_root.json"))
    server.failing.add("conversations.replies")  # history answers; the thread breaks part-way
    with pytest.raises(TransientError, match="server error 500 on /conversations.replies") as caught:
        server.sync(store, SOURCE)
    assert TOKEN not in str(caught.value)
    assert messages(store) == before_rows and cursor(store) == before_cursor
    server.failing.clear()
    assert server.sync(store, SOURCE).new == 4


def test_private_channels_only_with_include_private(workspace: Workspace, store: Store) -> None:
    private = SourceConfig(name="club", platform="slack", token_env=ENV, include_private=True, channels=("committee",))
    workspace.server.route = lambda request: (
        httpx.Response(200, json={"ok": True, "messages": [{"type": "message", "user": "U0001", "text": "Agenda?", "ts": "1487000000.000001"}]})
        if request.url.path.endswith("conversations.history")
        else Workspace.route(workspace, request)
    )
    report = workspace.server.sync(store, private)
    assert report.new == 1
    (types,) = {r.url.params["types"] for r in workspace.server.requests if r.url.path.endswith("conversations.list")}
    assert "private_channel" in types
    assert store.con.execute("SELECT native_id FROM spaces").fetchall() == [("G0PRIV0001",)]


def test_a_synced_channel_and_the_exported_one_are_the_same_rows(workspace: Workspace, tmp_path: Path) -> None:
    # The same recorded content as a workspace export, day files by UTC date.
    export = tmp_path / "export"
    (export / "test channel").mkdir(parents=True)
    (export / "channels.json").write_text(json.dumps([workspace.channel]))
    (export / "users.json").write_text(json.dumps(workspace.users))
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in sorted(workspace.recorded_entries(), key=lambda e: float(e["ts"])):
        days[datetime.fromtimestamp(float(entry["ts"]), UTC).strftime("%Y-%m-%d")].append(entry)
    for day, entries in days.items():
        (export / "test channel" / f"{day}.json").write_text(json.dumps(entries))
    with Store.open(tmp_path / "imported.duckdb") as store:
        import_path(store, export, platform="slack", source_name="T0LIVE0001")
        imported = messages(store)
        report = workspace.server.sync(store, SOURCE)
        assert (report.new, report.updated) == (0, 0)
    with Store.open(tmp_path / "synced.duckdb") as store:
        workspace.server.sync(store, SOURCE)
        assert messages(store) == imported and set(imported) == said(workspace.recorded_entries())
    shutil.rmtree(export)


def test_a_revoked_token_and_a_missing_scope_are_config_errors(workspace: Workspace, store: Store) -> None:
    workspace.server.queue.append(httpx.Response(200, json={"ok": False, "error": "token_revoked"}))
    with pytest.raises(ConfigError, match=f"rejected the credentials .*{ENV}"):
        workspace.server.sync(store, SOURCE)
    workspace.server.queue += [
        httpx.Response(200, json=load(LIVE / "auth.test.json")),
        httpx.Response(200, json={"ok": False, "error": "missing_scope", "needed": "channels:read", "provided": "users:read"}),
    ]
    with pytest.raises(ConfigError, match="needs the scope channels:read") as caught:
        workspace.server.sync(store, SOURCE)
    assert TOKEN not in str(caught.value)

"""Live Zulip sync against a fake server that serves the documented-shape pages in tests/data/zulip/pages.

The server holds the union of the saved pages' messages and answers ``GET /messages`` as the
get-messages documentation says: ``anchor`` (``oldest``, ``newest`` or an id), ``num_before``,
``num_after``, ``include_anchor`` and ``narrow`` (``streams:public``, ``channel:<name>``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_DATA
from tests.sync.live_support import Recorded, assert_token_nowhere, cursor, load, messages
from villagegreen.config import SourceConfig
from villagegreen.connectors.zulip import live as zulip_live
from villagegreen.errors import ConfigError, TransientError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

PAGES = TEST_DATA / "zulip" / "pages"
KEY = "zulipkeyPlanted0123456789abcdef"
ENV = "VG_TEST_ZULIP_KEY"
SOURCE = SourceConfig(name="river", platform="zulip", token_env=ENV, url="https://riverside.zulipchat.example", email="vg-bot@riverside.example")


class Server:
    def __init__(self) -> None:
        pages = [load(PAGES / "messages-oldest.json"), load(PAGES / "messages-newest.json")]
        self.template = {k: v for k, v in pages[0].items() if k != "messages"}
        self.messages = sorted({m["id"]: m for page in pages for m in page["messages"]}.values(), key=lambda m: m["id"])
        self.streams = load(PAGES / "streams.json")
        self.users = load(PAGES / "users.json")
        self.server = Recorded(self.route, self.authorised)

    @staticmethod
    def authorised(request: httpx.Request) -> bool:
        import base64

        expected = base64.b64encode(f"{SOURCE.email}:{KEY}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def visible(self, narrow: list[dict[str, str]]) -> list[dict[str, Any]]:
        invite_only = {s["name"] for s in self.streams["streams"] if s["invite_only"]}
        shown = self.messages
        for term in narrow:
            if term["operator"] in ("streams", "channels") and term["operand"] == "public":
                shown = [m for m in shown if m["type"] == "stream" and m["display_recipient"] not in invite_only]
            elif term["operator"] in ("channel", "stream"):
                shown = [m for m in shown if m["type"] == "stream" and m["display_recipient"] == term["operand"]]
        return shown

    def route(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        if path == "/api/v1/streams":
            return httpx.Response(200, json=self.streams)
        if path == "/api/v1/users":
            return httpx.Response(200, json=self.users)
        if path != "/api/v1/messages":
            return httpx.Response(404, json={"result": "error", "msg": "Not found", "code": "BAD_REQUEST"})
        shown = self.visible(json.loads(params.get("narrow", "[]")))
        anchor, before, after = params["anchor"], int(params["num_before"]), int(params["num_after"])
        ids = [m["id"] for m in shown]
        if anchor == "newest":
            picked = shown[-before:] if before else []
            return httpx.Response(200, json={**self.template, "messages": picked, "found_newest": True, "found_oldest": len(picked) == len(shown)})
        start = 0 if anchor == "oldest" else sum(i < int(anchor) for i in ids)
        if anchor != "oldest" and params.get("include_anchor") == "false" and int(anchor) in ids:
            start += 1
        picked = shown[start : start + after]
        return httpx.Response(
            200, json={**self.template, "anchor": anchor, "messages": picked, "found_newest": start + after >= len(shown), "found_oldest": start == 0}
        )


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Server:
    monkeypatch.setenv(ENV, KEY)
    monkeypatch.setattr(zulip_live, "PAGE", 3)  # several pages from a handful of messages
    return Server()


def public_ids(server: Server) -> set[str]:
    return {str(m["id"]) for m in server.visible([{"operator": "streams", "operand": "public"}])}


def test_first_sync_pages_then_nothing_new_then_exactly_one_new(server: Server, tmp_path: Path) -> None:
    with Store.open(tmp_path / "vg.duckdb") as store:
        first = server.server.sync(store, SOURCE)
        stored = set(messages(store))
        # Public channels only: no DM, nothing from the invite-only channel.
        assert stored == public_ids(server) and first.new == len(stored)
        anchors = [r.url.params["anchor"] for r in server.server.requests if r.url.path.endswith("/messages")]
        assert anchors[0] == "newest" and anchors[1] == "oldest" and len(anchors) == 1 + -(-len(stored) // 3)
        assert json.loads(str(first.cursor_after))["after"] == {"*": max(int(i) for i in stored)}
        quiet = server.server.sync(store, SOURCE)
        assert (quiet.new, quiet.updated, quiet.cursor_after) == (0, 0, first.cursor_after)
        new = copy.deepcopy(server.messages[-1])
        new.update(id=1013, content="<p>The footbridge is open again.</p>", timestamp=new["timestamp"] + 60, reactions=[])
        server.messages.append(new)
        one = server.server.sync(store, SOURCE)
        assert (one.new, one.updated) == (1, 0) and "1013" in messages(store)
        assert [r.url.params.get("include_anchor") for r in server.server.requests if r.url.params.get("anchor") not in (None, "newest")] == ["false"]
    assert_token_nowhere(tmp_path / "vg.duckdb", KEY, json.dumps([first.to_dict(), one.to_dict()]))


def test_a_429_waits_as_told(server: Server, store: Store) -> None:
    server.server.queue.append(
        httpx.Response(
            429, headers={"Retry-After": "28"}, json={"result": "error", "msg": "API usage exceeded rate limit", "code": "RATE_LIMIT_HIT", "retry-after": 28}
        )
    )
    report = server.server.sync(store, SOURCE)
    assert server.server.sleeps == [28.0] and report.new == len(public_ids(server))


def test_a_500_mid_run_changes_nothing_and_a_rerun_completes(server: Server, store: Store) -> None:
    server.server.failing.add("/users")  # every messages page answers, the users companion breaks
    with pytest.raises(TransientError, match="server error 500 on /users") as caught:
        server.server.sync(store, SOURCE)
    assert KEY not in str(caught.value) and messages(store) == {} and cursor(store) == []
    server.server.failing.clear()
    assert server.server.sync(store, SOURCE).new == len(public_ids(server))


def test_a_synced_message_and_an_imported_page_are_the_same_row(server: Server, tmp_path: Path) -> None:
    with Store.open(tmp_path / "imported.duckdb") as store:
        report = import_path(store, PAGES, platform="zulip")
        imported = messages(store)
        assert report.source_name == "riverside"
        synced = server.server.sync(store, SOURCE)  # the default key is the realm too
        assert (synced.new, synced.updated) == (0, 0)
    with Store.open(tmp_path / "synced.duckdb") as store:
        server.server.sync(store, SOURCE)
        assert messages(store) == imported and set(imported) == public_ids(server)


def test_one_channel_and_a_rejected_key(server: Server, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    design = SourceConfig(name="river", platform="zulip", token_env=ENV, url=SOURCE.url, email=SOURCE.email, channels=("design",), source_key="riverside")
    server.server.sync(store, design)
    expected = {str(m["id"]) for m in server.messages if m["type"] == "stream" and m["display_recipient"] == "design"}
    assert set(messages(store)) == expected
    monkeypatch.setenv(ENV, "wrong_zulip_key_planted")
    with pytest.raises(ConfigError, match=f"rejected the credentials .*{ENV}") as caught:
        server.server.sync(store, design)
    assert "wrong_zulip_key_planted" not in str(caught.value)

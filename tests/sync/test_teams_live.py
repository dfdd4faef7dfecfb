"""Live Teams sync against a fake Microsoft Graph serving the documented-shape pages in tests/data/teams/export.

Each channel's roots are served by a delta query (two roots a page; the last page carries the
delta link), replies by "List replies" (the general channel's replies file, the projects
channel's inlined replies). A root "changed since" is appended to the channel's change log,
which is what a later delta link returns.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from tests.conftest import TEST_DATA
from tests.sync.live_support import Recorded, assert_token_nowhere, cursor, load, messages
from villagegreen.config import SourceConfig
from villagegreen.errors import ConfigError, TransientError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

EXPORT = TEST_DATA / "teams" / "export"
TEAM = "5b1e4c2a-7d3f-4e8a-9c10-2f6b8d4a1e01"
SECRET = "client~secret~planted~0123456789"
ACCESS = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.planted-access-token"
ENV = "VG_TEST_TEAMS_SECRET"
SOURCE = SourceConfig(name="org", platform="teams", token_env=ENV, team_id=TEAM, tenant_id="contoso-tenant", client_id="app-1234")
PER_PAGE = 2


class Graph:
    def __init__(self) -> None:
        self.channels = load(EXPORT / "channels.json")
        by_name = {c["displayName"]: c["id"] for c in self.channels["value"]}
        self.log: dict[str, list[dict[str, Any]]] = {}
        self.replies: dict[str, list[dict[str, Any]]] = {}
        general = [m for n in (1, 2) for m in load(EXPORT / "general" / f"messages-{n}.json")["value"]]
        self.log[by_name["General"]] = list(reversed(general))  # oldest first, as they were written
        self.replies["1712001000000"] = load(EXPORT / "general" / "replies-1712001000000.json")["value"]
        projects = load(EXPORT / "projects" / "messages-expanded.json")["value"]
        for root in projects:
            self.replies[root["id"]] = root.pop("replies", [])
            root.pop("replies@odata.context", None)
        self.log[by_name["Projects"]] = projects
        self.log[by_name["Leads"]] = load(EXPORT / "leads" / "messages.json")["value"]
        self.server = Recorded(self.route, self.authorised)

    @staticmethod
    def authorised(request: httpx.Request) -> bool:
        if request.url.host == "login.microsoftonline.com":
            return parse_qs(request.content.decode())["client_secret"] == [SECRET]
        return request.headers.get("Authorization") == f"Bearer {ACCESS}"

    def route(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        if request.url.host == "login.microsoftonline.com":
            return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": ACCESS})
        if path == f"/v1.0/teams/{TEAM}/channels":
            return httpx.Response(200, json=self.channels)
        if match := re.fullmatch(rf"/v1.0/teams/{TEAM}/channels/([^/]+)/messages/delta", path):
            return httpx.Response(200, json=self.delta(match[1], params))
        if match := re.fullmatch(rf"/v1.0/teams/{TEAM}/channels/([^/]+)/messages/([^/]+)/replies", path):
            return httpx.Response(200, json={"@odata.context": "replies", "value": self.replies.get(match[2], [])})
        return httpx.Response(404, json={"error": {"code": "NotFound", "message": "not found"}})

    def delta(self, channel: str, params: httpx.QueryParams) -> dict[str, Any]:
        log = self.log[channel]
        start = int(params.get("$skiptoken") or params.get("$deltatoken") or 0)
        base = f"https://graph.microsoft.com/v1.0/teams/{TEAM}/channels/{channel}/messages/delta"
        page = log[start : start + PER_PAGE]
        link = (
            {"@odata.nextLink": f"{base}?$skiptoken={start + PER_PAGE}"}
            if start + PER_PAGE < len(log)
            else {"@odata.deltaLink": f"{base}?$deltatoken={len(log)}"}
        )
        return {"@odata.context": "delta", "value": copy.deepcopy(page), **link}


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Graph:
    monkeypatch.setenv(ENV, SECRET)
    return Graph()


def public_roots(graph: Graph) -> list[dict[str, Any]]:
    private = {c["id"] for c in graph.channels["value"] if c["membershipType"] != "standard"}
    return [m for channel, log in graph.log.items() if channel not in private for m in log]


def said(graph: Graph) -> set[str]:
    """Message ids of plain, undeleted messages (roots and replies) in the standard channels."""
    everything = [*public_roots(graph), *(r for m in public_roots(graph) for r in graph.replies.get(m["id"], []))]
    return {m["id"] for m in everything if m["messageType"] == "message" and not m.get("deletedDateTime")}


def by_message_id(rows: dict[str, Any]) -> dict[str, Any]:
    """Stored rows keyed by the Graph message id (native ids are "<channel id>/<message id>")."""
    return {native.rsplit("/", 1)[1]: row for native, row in rows.items()}


def test_first_sync_then_nothing_new_then_a_new_reply(graph: Graph, tmp_path: Path) -> None:
    server = graph.server
    with Store.open(tmp_path / "vg.duckdb") as store:
        first = server.sync(store, SOURCE)
        stored = set(by_message_id(messages(store)))
        assert said(graph) <= stored and first.new == len(stored)
        assert not any("19:9f8e7d6c" in r.url.path for r in server.requests)  # the private channel is never read
        links = json.loads(str(first.cursor_after))["delta"]
        assert all("$deltatoken=" in link for link in links.values()) and len(links) == 2
        quiet = server.sync(store, SOURCE)
        assert (quiet.new, quiet.updated, quiet.cursor_after) == (0, 0, first.cursor_after)
        assert not any(r.url.path.endswith("/replies") for r in server.requests)
        # A reply to an old root: Graph returns the root as changed, the reply comes with it.
        general = next(c for c, log in graph.log.items() if any(m["id"] == "1712001000000" for m in log))
        root = next(m for m in graph.log[general] if m["id"] == "1712001000000")
        template = next(r for r in graph.replies["1712001000000"] if not r.get("deletedDateTime") and not r.get("lastEditedDateTime"))
        reply = {**copy.deepcopy(template), "id": "1712009000000", "createdDateTime": "2024-04-02T10:00:00Z", "lastModifiedDateTime": "2024-04-02T10:00:00Z"}
        reply["body"] = {"contentType": "text", "content": "Agreed, let us start Monday."}
        graph.replies["1712001000000"] = [reply, *graph.replies["1712001000000"]]
        graph.log[general].append(root)
        one = server.sync(store, SOURCE)
        assert (one.new, one.updated) == (1, 0)
        rows = by_message_id(messages(store))
        assert rows["1712009000000"][1] == rows["1712001000000"][0] and rows["1712009000000"][2] == rows["1712001000000"][0]
    assert_token_nowhere(tmp_path / "vg.duckdb", SECRET, json.dumps([first.to_dict(), one.to_dict()]))
    assert_token_nowhere(tmp_path / "vg.duckdb", ACCESS)


def test_a_429_waits_as_told(graph: Graph, store: Store) -> None:
    graph.server.queue.append(httpx.Response(429, headers={"Retry-After": "9"}, json={"error": {"code": "TooManyRequests", "message": "Too many requests"}}))
    report = graph.server.sync(store, SOURCE)
    assert graph.server.sleeps == [9.0] and said(graph) <= set(by_message_id(messages(store))) and report.new == len(messages(store))


def test_a_500_mid_run_changes_nothing_and_a_rerun_completes(graph: Graph, store: Store) -> None:
    graph.server.failing.add("skiptoken=2")  # the second page of a channel's delta breaks
    with pytest.raises(TransientError, match="server error 500 on .*/messages/delta") as caught:
        graph.server.sync(store, SOURCE)
    assert SECRET not in str(caught.value) and ACCESS not in str(caught.value)
    assert messages(store) == {} and cursor(store) == []
    graph.server.failing.clear()
    rerun = graph.server.sync(store, SOURCE)
    assert said(graph) <= set(by_message_id(messages(store))) and rerun.new == len(messages(store))


def test_a_synced_message_and_an_imported_one_are_the_same_row(graph: Graph, tmp_path: Path) -> None:
    with Store.open(tmp_path / "imported.duckdb") as store:
        report = import_path(store, EXPORT, platform="teams")
        imported = messages(store)
        assert report.source_name == TEAM
        synced = graph.server.sync(store, SOURCE)
        assert (synced.new, synced.updated) == (0, 0)
    with Store.open(tmp_path / "synced.duckdb") as store:
        graph.server.sync(store, SOURCE)
        assert messages(store) == imported


def test_a_rejected_secret_is_a_config_error(graph: Graph, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "wrong~secret~planted")
    graph.server.queue.append(httpx.Response(401, json={"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}))
    with pytest.raises(ConfigError, match=f"rejected the credentials .*{ENV}") as caught:
        graph.server.sync(store, SOURCE)
    assert "wrong~secret~planted" not in str(caught.value)

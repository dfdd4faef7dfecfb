"""Live Mattermost sync against recorded real API v4 responses (perceval's fixtures, read in place).

Recorded: two posts pages (``mattermost_posts.json``, ``mattermost_posts_next.json``), an
empty one, the channel and two users. perceval recorded the channel from another channel than
the posts (its id differs from the posts' ``channel_id``), so the fake server serves that
channel object under the posts' channel id; nothing else is changed. Posts "written after the
recording" are added on top.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sync.live_support import Recorded, assert_token_nowhere, cursor, load, messages
from villagegreen.config import SourceConfig
from villagegreen.connectors.mattermost import live as mattermost_live
from villagegreen.errors import ConfigError, TransientError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

pytestmark = pytest.mark.realdata

TOKEN = "mmtok_planted_9x8c7v6b5n4m3q2w1e0r"
ENV = "VG_TEST_MATTERMOST_TOKEN"
CHANNEL = "cf6axeehstft9eq4nq5uk5jqby"
SOURCE = SourceConfig(name="chat", platform="mattermost", token_env=ENV, url="https://chat.example.org", channels=(CHANNEL,))


class Server:
    def __init__(self, recorded: Path) -> None:
        self.recorded = recorded
        self.channel = {**load(recorded / "mattermost_channel.json"), "id": CHANNEL}
        self.pages = [load(recorded / "mattermost_posts.json"), load(recorded / "mattermost_posts_next.json")]
        self.users = {u["id"]: u for u in (load(recorded / f"mattermost_user_{n}.json") for n in ("sduenas", "valcos"))}
        self.later: list[dict[str, Any]] = []
        self.server = Recorded(self.route, lambda r: r.headers.get("Authorization") == f"Bearer {TOKEN}")

    def all_posts(self) -> dict[str, dict[str, Any]]:
        return {**{k: v for page in self.pages for k, v in page["posts"].items()}, **{p["id"]: p for p in self.later}}

    def route(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        if path == f"/api/v4/channels/{CHANNEL}":
            return httpx.Response(200, json=self.channel)
        if path == f"/api/v4/channels/{CHANNEL}/posts":
            if "since" in params:
                changed = {k: v for k, v in self.all_posts().items() if v["update_at"] > int(params["since"])}
                if not changed:
                    return httpx.Response(200, json=load(self.recorded / "mattermost_posts_empty.json"))
                order = sorted(changed, key=lambda k: changed[k]["create_at"], reverse=True)
                return httpx.Response(200, json={"order": order, "posts": changed})
            number = int(params["page"])
            return httpx.Response(200, json=self.pages[number] if number < len(self.pages) else load(self.recorded / "mattermost_posts_empty.json"))
        if match := re.fullmatch(r"/api/v4/users/([a-z0-9]+)", path):
            return httpx.Response(200, json=self.users[match[1]])
        return httpx.Response(404, json={"id": "api.context.404.app_error", "message": "not found", "status_code": 404})


@pytest.fixture
def server(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Server:
    monkeypatch.setenv(ENV, TOKEN)
    # perceval recorded pages of 5 posts; page the same way so both recorded pages are asked for.
    monkeypatch.setattr(mattermost_live, "PER_PAGE", 5)
    return Server(shared_data / "formats" / "perceval-fixtures" / "tests" / "data" / "mattermost")


def said(posts: dict[str, dict[str, Any]]) -> set[str]:
    """Post ids that are messages: system posts (type system_*) are events."""
    return {k for k, v in posts.items() if not str(v.get("type") or "").startswith("system_")}


NEW_POST = {
    "id": "n3wp0stn3wp0stn3wp0stn3wp0",
    "create_at": 1523550000000, "update_at": 1523550000000, "edit_at": 0, "delete_at": 0, "is_pinned": False,
    "user_id": "haqnaxe4cpn4jfsx3w7x3y96ea", "channel_id": CHANNEL, "root_id": "pot46s7kjif7xx6x91ua7m4d7y",
    "parent_id": "pot46s7kjif7xx6x91ua7m4d7y", "original_id": "", "message": "y la final, el sábado", "type": "", "props": {},
    "hashtags": "", "pending_post_id": "",
}  # fmt: skip


def test_first_sync_then_nothing_new_then_exactly_one_new(server: Server, tmp_path: Path) -> None:
    with Store.open(tmp_path / "vg.duckdb") as store:
        first = server.server.sync(store, SOURCE)
        expected = said(server.all_posts())
        assert set(messages(store)) == expected and first.new == len(expected)
        pages = [r.url.params.get("page") for r in server.server.requests if r.url.path.endswith("/posts")]
        assert pages == ["0", "1"]
        newest = max(p["update_at"] for p in server.all_posts().values())
        assert json.loads(str(first.cursor_after))["channels"] == {CHANNEL: newest}
        quiet = server.server.sync(store, SOURCE)
        assert (quiet.new, quiet.updated, quiet.cursor_after) == (0, 0, first.cursor_after)
        assert [r.url.params.get("since") for r in server.server.requests if r.url.path.endswith("/posts")] == [str(newest)]
        server.later.append(NEW_POST)
        one = server.server.sync(store, SOURCE)
        assert (one.new, one.updated) == (1, 0)
        rows = messages(store)
        # The new post answers a thread root (root_id in the post): same conversation as the root.
        assert rows[NEW_POST["id"]][1] == rows["pot46s7kjif7xx6x91ua7m4d7y"][0]
        # The recorded reply 59io... names the same root.
        assert rows["59io5i1f5bbetxtj6mbm67fouw"][1] == rows["pot46s7kjif7xx6x91ua7m4d7y"][0]
    assert_token_nowhere(tmp_path / "vg.duckdb", TOKEN, json.dumps([first.to_dict(), one.to_dict()]))


def test_a_429_waits_as_told(server: Server, store: Store) -> None:
    server.server.queue.append(httpx.Response(429, headers={"Retry-After": "12"}, json={"message": "Too many requests", "status_code": 429}))
    report = server.server.sync(store, SOURCE)
    assert server.server.sleeps == [12.0] and report.new == len(said(server.all_posts()))


def test_a_500_mid_run_changes_nothing_and_a_rerun_completes(server: Server, store: Store) -> None:
    server.server.failing.add("page=1")  # the first page answers, the second breaks
    with pytest.raises(TransientError, match="server error 500 on /channels/.*/posts, still failing") as caught:
        server.server.sync(store, SOURCE)
    assert TOKEN not in str(caught.value)
    assert messages(store) == {} and cursor(store) == []
    server.server.failing.clear()
    assert server.server.sync(store, SOURCE).new == len(said(server.all_posts()))


def test_a_synced_channel_and_the_imported_one_are_the_same_rows(server: Server, tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    for n, page in enumerate(server.pages):
        (saved / f"posts{n}.json").write_text(json.dumps(page))
    (saved / "channel.json").write_text(json.dumps(server.channel))
    (saved / "users.json").write_text(json.dumps(list(server.users.values())))
    with Store.open(tmp_path / "imported.duckdb") as store:
        imported_report = import_path(store, saved, platform="mattermost")
        imported = messages(store)
        assert imported_report.source_name == server.channel["team_id"]  # the key the sync derives too
        report = server.server.sync(store, SOURCE)
        assert (report.new, report.updated) == (0, 0)
    with Store.open(tmp_path / "synced.duckdb") as store:
        server.server.sync(store, SOURCE)
        assert messages(store) == imported and set(imported) == said(server.all_posts())


def test_a_rejected_token_is_a_config_error(server: Server, store: Store) -> None:
    server.server.queue.append(
        httpx.Response(401, json={"id": "api.context.session_expired.app_error", "message": "Invalid or expired session", "status_code": 401})
    )
    with pytest.raises(ConfigError, match=f"rejected the credentials .*{ENV}"):
        server.server.sync(store, SOURCE)


def test_every_channel_of_the_teams_but_private_ones_only_when_asked(server: Server, store: Store) -> None:
    team = server.channel["team_id"]
    private = {**server.channel, "id": "pr1vatechann3lpr1vatechann", "type": "P", "name": "staff"}
    route = server.route

    def listing(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v4/users/me/teams":
            return httpx.Response(200, json=[{"id": team, "name": "grimoire"}])
        if request.url.path == f"/api/v4/users/me/teams/{team}/channels":
            return httpx.Response(200, json=[server.channel, private])
        if request.url.path == f"/api/v4/channels/{private['id']}/posts":
            return httpx.Response(200, json=load(server.recorded / "mattermost_posts_empty.json"))
        return route(request)

    server.server.route = listing
    everything = SourceConfig(name="chat", platform="mattermost", token_env=ENV, url="https://chat.example.org")
    report = server.server.sync(store, everything)
    assert report.new == len(said(server.all_posts())) and report.source_id
    assert not any(private["id"] in r.url.path for r in server.server.requests)
    with_private = SourceConfig(name="chat", platform="mattermost", token_env=ENV, url="https://chat.example.org", include_private=True)
    server.server.sync(store, with_private)
    assert any(r.url.path == f"/api/v4/channels/{private['id']}/posts" for r in server.server.requests)

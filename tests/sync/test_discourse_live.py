"""Live Discourse sync against recorded real responses (perceval's fixtures, read in place).

The fake forum serves the recorded topic responses. ``discourse_posts.json`` (topic 1448, four
posts) is served the way Discourse serves a long topic: only the first ``EMBEDDED`` posts in
``/t/1448.json``, the rest through ``/t/1448/posts.json``; "before the fourth post was
written" is the same response cut to three posts. Expected rows are counted from the files.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sync.live_support import Recorded, assert_token_nowhere, cursor, load, messages
from villagegreen.config import SourceConfig
from villagegreen.connectors.discourse.mapping import parse_time
from villagegreen.errors import ConfigError, TransientError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

pytestmark = pytest.mark.realdata

TOKEN = "dsc_planted_api_key_7f3a9c0e51b24d68"
ENV = "VG_TEST_DISCOURSE_KEY"
URL = "https://forum.example.org"
EMBEDDED = 2
SOURCE = SourceConfig(name="forum", platform="discourse", token_env=ENV, url=URL, api_username="system")


@pytest.fixture
def recorded(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENV, TOKEN)
    return shared_data / "formats" / "perceval-fixtures" / "tests" / "data" / "discourse"


class Forum:
    """Topics by id (full responses); the listing is theirs unless a recorded one is given."""

    def __init__(self, topics: dict[int, dict[str, Any]], listing: dict[str, Any] | None = None) -> None:
        self.topics = topics
        self.listing = listing
        self.categories: dict[str, Any] | None = None
        self.server = Recorded(self.route, lambda r: r.headers.get("Api-Key") == TOKEN and r.headers.get("Api-Username") == "system")

    def route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/categories.json" and self.categories:
            return httpx.Response(200, json=self.categories)
        if path == "/latest.json":
            return httpx.Response(200, json=self.listing or self.built_listing())
        if match := re.fullmatch(r"/t/(\d+)\.json", path):
            topic = copy.deepcopy(self.topics[int(match[1])])
            topic["post_stream"]["posts"] = topic["post_stream"]["posts"][:EMBEDDED] if self.listing is None else topic["post_stream"]["posts"]
            return httpx.Response(200, json=topic)
        if match := re.fullmatch(r"/t/(\d+)/posts\.json", path):
            wanted = set(request.url.params.get_list("post_ids[]"))
            posts = [p for p in self.topics[int(match[1])]["post_stream"]["posts"] if str(p["id"]) in wanted]
            return httpx.Response(200, json={"post_stream": {"posts": posts}, "id": int(match[1])})
        return httpx.Response(404, json={"errors": ["not found"]})

    def built_listing(self) -> dict[str, Any]:
        summaries = [
            {"id": t["id"], "slug": t["slug"], "last_posted_at": t["last_posted_at"], "bumped_at": t["last_posted_at"], "pinned": False}
            for t in self.topics.values()
        ]
        summaries.sort(key=lambda s: s["bumped_at"], reverse=True)
        return {"topic_list": {"per_page": 30, "topics": summaries}}


def cut(topic: dict[str, Any], keep: int) -> dict[str, Any]:
    """The topic as it was when only its first ``keep`` posts existed."""
    earlier = copy.deepcopy(topic)
    posts = earlier["post_stream"]["posts"][:keep]
    earlier["post_stream"] = {"posts": posts, "stream": [p["id"] for p in posts]}
    earlier["posts_count"] = keep
    earlier["last_posted_at"] = posts[-1]["created_at"]
    return earlier


def test_first_sync_then_nothing_new_then_exactly_one_new(recorded: Path, tmp_path: Path) -> None:
    full = load(recorded / "discourse_posts.json")
    posts = full["post_stream"]["posts"]
    forum = Forum({1448: cut(full, 3)})
    # Shaped as Discourse's /categories.json; the name is invented (perceval recorded none).
    forum.categories = {"category_list": {"categories": [{"id": full["category_id"], "name": "Providers", "slug": "providers"}]}}
    with Store.open(tmp_path / "vg.duckdb") as store:
        first = forum.server.sync(store, SOURCE)
        assert store.con.execute("SELECT name FROM spaces").fetchall() == [("Providers",)]
        assert first.new == 3 and first.updated == 0 and first.cursor_before is None
        # Three posts, two embedded: the third came through posts.json, asked for by id.
        (paging,) = [r for r in forum.server.requests if r.url.path == "/t/1448/posts.json"]
        assert paging.url.params.get_list("post_ids[]") == [str(posts[2]["id"])]
        assert first.cursor_after == parse_time(posts[2]["created_at"]).isoformat()
        again = forum.server.sync(store, SOURCE)
        assert (again.new, again.updated, again.cursor_after) == (0, 0, first.cursor_after)
        assert forum.server.paths() == ["/latest.json"]  # nothing bumped: no topic (nor categories) fetched
        forum.topics[1448] = full
        third = forum.server.sync(store, SOURCE)
        assert (third.new, third.updated, third.cursor_before) == (1, 0, first.cursor_after)
        assert third.cursor_after == parse_time(full["last_posted_at"]).isoformat()
        rows = messages(store)
    by_number = {p["post_number"]: str(p["id"]) for p in posts}
    assert set(rows) == set(by_number.values())
    root = rows[by_number[1]][0]
    assert all(row[1] == root for row in rows.values())
    # Post 4 answers post 2 (reply_to_post_number in the file); the others answer the root.
    for post in posts[1:]:
        target = by_number[post.get("reply_to_post_number") or 1]
        assert rows[str(post["id"])][2] == rows[target][0]
    assert_token_nowhere(tmp_path / "vg.duckdb", TOKEN, str(first.to_dict()), str(third.to_dict()))


def test_the_recorded_listing_pinned_topics_and_a_short_post_stream(recorded: Path, store: Store) -> None:
    listing = load(recorded / "discourse_topics_pinned.json")
    topics = {n: load(recorded / f"discourse_topic_{n}.json") for n in (1148, 1149, 1150)}
    forum = Forum(topics, listing)
    report = forum.server.sync(store, SOURCE)
    summaries = listing["topic_list"]["topics"]
    newest = max(parse_time(s[k]) for s in summaries for k in ("bumped_at", "last_posted_at") if s.get(k))
    assert report.cursor_after == newest.isoformat() and report.rooms == len(summaries)
    # Topic 1148's recorded stream lists ids its embedded posts do not have: all are asked for,
    # at most 20 per request, and what the server does not return is simply not there.
    stream, embedded = topics[1148]["post_stream"]["stream"], {p["id"] for p in topics[1148]["post_stream"]["posts"]}
    asked = [r.url.params.get_list("post_ids[]") for r in forum.server.requests if r.url.path == "/t/1148/posts.json"]
    assert [i for chunk in asked for i in chunk] == [str(i) for i in stream if i not in embedded] and max(map(len, asked)) <= 20
    post_ids = {str(p["id"]) for t in topics.values() for p in t["post_stream"]["posts"]}
    assert set(messages(store)) == post_ids
    again = forum.server.sync(store, SOURCE)
    assert (again.new, again.updated, again.rooms) == (0, 0, 0) and forum.server.paths() == ["/latest.json"]


def test_a_429_waits_as_told(recorded: Path, store: Store) -> None:
    forum = Forum({1448: load(recorded / "discourse_posts.json")})
    forum.server.queue.append(httpx.Response(429, headers={"Retry-After": "7"}, json={"errors": ["slow down"], "extras": {"wait_seconds": 7}}))
    report = forum.server.sync(store, SOURCE)
    assert forum.server.sleeps == [7.0] and report.new == 4
    assert forum.server.paths()[:2] == ["/latest.json", "/latest.json"]


def test_a_500_mid_run_changes_nothing_and_a_rerun_completes(recorded: Path, store: Store) -> None:
    full = load(recorded / "discourse_posts.json")
    forum = Forum({1448: cut(full, 3)})
    forum.server.sync(store, SOURCE)
    before_rows, before_cursor = messages(store), cursor(store)
    forum.topics[1448] = full
    forum.server.failing.add("/posts.json")  # the listing and the topic answer, the paging breaks
    with pytest.raises(TransientError, match="server error 500 on /t/1448/posts.json, still failing after 5 retries") as caught:
        forum.server.sync(store, SOURCE)
    assert TOKEN not in str(caught.value) and forum.server.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert messages(store) == before_rows and cursor(store) == before_cursor
    forum.server.failing.clear()
    rerun = forum.server.sync(store, SOURCE)
    assert rerun.new == 1 and len(messages(store)) == len(full["post_stream"]["posts"])


def test_a_synced_topic_and_the_imported_one_are_the_same_rows(recorded: Path, tmp_path: Path) -> None:
    full = load(recorded / "discourse_posts.json")
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(recorded / "discourse_posts.json", export / f"{full['slug']}.{full['id']}.json")
    with Store.open(tmp_path / "imported.duckdb") as store:
        import_path(store, export, platform="discourse", source_name="forum.example.org")
        imported = messages(store)
        # Syncing into the imported source finds every post already there, unchanged.
        report = Forum({1448: full}).server.sync(store, SOURCE)
        assert (report.new, report.updated) == (0, 0)
    with Store.open(tmp_path / "synced.duckdb") as store:
        Forum({1448: full}).server.sync(store, SOURCE)
        assert messages(store) == imported and len(imported) == len(full["post_stream"]["posts"])


def test_a_rejected_key_is_a_config_error_naming_the_variable(recorded: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "wrong_key_planted_0000")
    forum = Forum({1448: load(recorded / "discourse_posts.json")})
    forum.server.queue.append(httpx.Response(403, json={"errors": ["You are not permitted to view the requested resource."], "error_type": "invalid_access"}))
    with pytest.raises(ConfigError, match=f"rejected the credentials .*{ENV}") as caught:
        forum.server.sync(store, SOURCE)
    assert "wrong_key_planted" not in str(caught.value) and "\n" not in str(caught.value)

"""Wrap-ups reply in place on Slack (thread_ts), Zulip (the conversation's topic) and Mattermost
(root_id) only when the target is the conversation's own channel; Slack's permalink is recorded.

Conversations come from the connectors' own test exports, imported as any export is; the
expected thread references are read from those files independently of the importers."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from villagegreen.publish.items import Item, poll_item, wrapup_item
from villagegreen.publish.service import publish
from villagegreen.publish.targets import Target
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

from .conftest import TOKEN, TOKEN_ENV
from .test_recorded_platforms import MATTERMOST, SLACK, ZULIP, Server, recorded

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def wrapup_of(store: Store, native_id: str) -> Item:
    ((conversation,),) = store.con.execute("SELECT conversation_id FROM messages WHERE native_id = ?", [native_id]).fetchall()
    return wrapup_item(store, conversation, force=True)


def slack_ok() -> Server:
    return Server(httpx.Response(200, json=recorded("slack_chat_postMessage.json")), httpx.Response(200, json=recorded("slack_chat_getPermalink.json")))


def test_slack_wrapup_goes_into_the_thread_only_in_its_own_channel(store: Store) -> None:
    export = DATA / "slack" / "synthetic"
    import_path(store, export)
    day = json.loads((export / "general" / "2020-01-01.json").read_text())
    # The thread root: the message that is its own thread_ts and has the most replies.
    root = max((m for m in day if m.get("thread_ts") == m.get("ts")), key=lambda m: m.get("reply_count", 0))
    channels = json.loads((export / "channels.json").read_text())
    general = next(c["id"] for c in channels if c["name"] == "general")
    item = wrapup_of(store, f"{general}:{root['ts']}")
    here = Target("here", "slack", {"channel": general, "token_env": TOKEN_ENV})
    server = slack_ok()
    report = publish(store, item, here, http=server.http())
    sent = json.loads(server.requests[0].content)
    assert sent["channel"] == general and sent["thread_ts"] == root["ts"]
    assert "reply in the thread of" in report.delivery.where
    elsewhere = slack_ok()
    publish(store, item, SLACK, http=elsewhere.http())  # another channel id
    assert "thread_ts" not in json.loads(elsewhere.requests[0].content)
    poll = slack_ok()
    publish(store, poll_item("Next?", ["a", "b"]), here, http=poll.http())  # a poll has no conversation
    assert "thread_ts" not in json.loads(poll.requests[0].content)


def test_slack_permalink_is_recorded_and_its_failure_is_a_note(opened: Store) -> None:
    server = slack_ok()
    report = publish(opened, poll_item("Next?", ["a", "b"]), SLACK, http=server.http())
    link = server.requests[1]
    assert (link.method, link.url.path) == ("GET", "/api/chat.getPermalink") and link.headers["Authorization"] == f"Bearer {TOKEN}"
    posted = recorded("slack_chat_postMessage.json")
    assert dict(link.url.params) == {"channel": posted["channel"], "message_ts": posted["ts"]}
    assert report.publication is not None and report.publication.remote_url == recorded("slack_chat_getPermalink.json")["permalink"]
    assert report.note is None
    failing = Server(httpx.Response(200, json=recorded("slack_chat_postMessage.json")), httpx.Response(200, json=recorded("slack_message_not_found.json")))
    report = publish(opened, poll_item("Later?", ["a", "b"]), SLACK, http=failing.http())
    assert report.status == "published" and report.publication is not None and report.publication.remote_url is None
    assert report.note is not None and "message_not_found" in report.note and TOKEN not in report.note
    assert opened.con.execute("SELECT count(*), count(remote_url) FROM publications").fetchall() == [(2, 1)]


def test_zulip_wrapup_uses_the_conversation_topic_in_its_own_channel(store: Store) -> None:
    export = DATA / "zulip" / "export" / "zulip-export-riverside"
    import_path(store, export)
    messages = json.loads((export / "messages-000001.json").read_text())["zerver_message"]
    resolved = next(m for m in messages if m["subject"].startswith("✔"))
    realm = json.loads((export / "realm.json").read_text())
    stream = next(s for s in realm["zerver_stream"] if s["recipient"] == resolved["recipient"])
    item = wrapup_of(store, str(resolved["id"]))
    for channel in (stream["name"], stream["name"].upper(), str(stream["id"])):
        server = Server(httpx.Response(200, json=recorded("zulip_send_message.json")))
        target = Target("z", "zulip", {**ZULIP.options, "channel": channel, "topic": "Community stories"})
        publish(store, item, target, http=server.http())
        store.con.execute("DELETE FROM publications")
        form = {k: v[0] for k, v in parse_qs(server.requests[0].content.decode()).items()}
        assert form["to"] == channel and form["topic"] == resolved["subject"]
    server = Server(httpx.Response(200, json=recorded("zulip_send_message.json")))
    publish(store, item, Target("z", "zulip", {**ZULIP.options, "topic": "Community stories"}), http=server.http())  # channel "stories"
    assert parse_qs(server.requests[0].content.decode())["topic"] == ["Community stories"]


def test_mattermost_wrapup_replies_with_root_id_only_in_its_own_channel(store: Store) -> None:
    api = DATA / "mattermost" / "api"
    import_path(store, api)
    posts = {k: v for page in sorted(api.glob("posts_town_page*.json")) for k, v in json.loads(page.read_text())["posts"].items()}
    reply = next(p for p in posts.values() if p.get("root_id") in posts)  # a reply whose root is in the export
    item = wrapup_of(store, reply["root_id"])
    here = Target("mm-here", "mattermost", {**MATTERMOST.options, "channel_id": reply["channel_id"]})
    server = Server(httpx.Response(201, json=recorded("mattermost_create_post.json")))
    publish(store, item, here, http=server.http())
    publish(store, item, MATTERMOST, http=server.http())  # another channel
    here_sent, there_sent = (json.loads(r.content) for r in server.requests)
    assert here_sent["root_id"] == reply["root_id"] and here_sent["channel_id"] == reply["channel_id"]
    assert "root_id" not in there_sent

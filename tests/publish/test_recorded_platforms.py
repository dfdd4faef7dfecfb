"""Discourse, Slack, Zulip and Mattermost with documented responses (tests/data/publish/README.md)
injected through httpx.MockTransport: what is sent, retries on 429/5xx, no double post, no secret."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from villagegreen.errors import ConfigError, InputError, TransientError
from villagegreen.publish.delivery import Http
from villagegreen.publish.items import poll_item, story_item
from villagegreen.publish.service import publish
from villagegreen.publish.targets import Target
from villagegreen.store import Store
from villagegreen.store.audit import entries

from .conftest import TOKEN, TOKEN_ENV, Desk

DATA = Path(__file__).resolve().parents[1] / "data" / "publish"
Handler = Callable[[httpx.Request], httpx.Response]


def recorded(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((DATA / name).read_text())
    return loaded


class Server:
    """Answers from a script of responses (the last repeats); keeps every request and every wait."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.waits: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def http(self) -> Http:
        return Http(httpx.MockTransport(self.handle), sleep=self.waits.append)


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def posts(server: Server) -> list[httpx.Request]:
    """The chat.postMessage requests (Slack's publisher then asks chat.getPermalink for the link)."""
    return [r for r in server.requests if r.url.path.endswith("/chat.postMessage")]


def story_links(store: Store, story_id: int) -> set[str]:
    ((body,),) = store.con.execute("SELECT body FROM story_versions WHERE story_id = ? ORDER BY version DESC LIMIT 1", [story_id]).fetchall()
    return set(re.findall(r'"permalink": "(https://[^"]+)"', body))


DISCOURSE = Target("forum", "discourse", {"url": "https://forum.example.org", "username": "storybot", "token_env": TOKEN_ENV, "category": 5})
SLACK = Target("team", "slack", {"channel": "C123ABC456", "token_env": TOKEN_ENV})
ZULIP = Target("zulip", "zulip", {"url": "https://chat.example.org", "email": "story-bot@chat.example.org", "channel": "stories", "token_env": TOKEN_ENV})
MATTERMOST = Target("mm", "mattermost", {"url": "https://mm.example.org", "channel_id": "4xp9fdt77pncbef59f4k1qe83o", "token_env": TOKEN_ENV})


def test_discourse_new_topic_once(opened: Store, desk: Desk) -> None:
    server = Server(httpx.Response(200, json=recorded("discourse_create_post.json")))
    item = story_item(opened, desk.approved)
    report = publish(opened, item, DISCOURSE, http=server.http())
    again = publish(opened, story_item(opened, desk.approved), DISCOURSE, http=server.http())
    assert len(server.requests) == 1 and again.status == "already published"
    request = server.requests[0]
    assert (request.method, str(request.url)) == ("POST", "https://forum.example.org/posts.json")
    assert request.headers["Api-Key"] == TOKEN and request.headers["Api-Username"] == "storybot"
    sent = json.loads(request.content)
    ((title,),) = opened.con.execute("SELECT title FROM stories WHERE id = ?", [desk.approved]).fetchall()
    assert sent["title"] == title and sent["category"] == 5 and "topic_id" not in sent
    assert all(f"]({url})" in sent["raw"] for url in story_links(opened, desk.approved))
    assert report.publication is not None and report.publication.remote_id == "1042"
    assert report.publication.remote_url == "https://forum.example.org/t/are-questions-asked-in-conlangs-accepted/317/1"
    assert opened.con.execute("SELECT state FROM stories WHERE id = ?", [desk.approved]).fetchall() == [("published",)]


def test_discourse_poll_markup_and_reply(opened: Store) -> None:
    server = Server(httpx.Response(200, json=recorded("discourse_create_post.json")))
    target = Target("forum", "discourse", {**DISCOURSE.options, "reply_to_topic": 317})
    publish(opened, poll_item("What next?", ["Word order", "Phonology"]), target, http=server.http())
    sent = json.loads(server.requests[0].content)
    assert sent["topic_id"] == 317 and "title" not in sent
    block = re.search(r"\[poll [^\]]*\]\n(.*?)\[/poll\]", sent["raw"], re.DOTALL)
    assert block is not None and re.findall(r"^\* (.+)$", block.group(1), re.MULTILINE) == ["Word order", "Phonology"]


def test_slack_mrkdwn_keeps_citations_as_links(opened: Store, desk: Desk) -> None:
    server = Server(httpx.Response(200, json=recorded("slack_chat_postMessage.json")))
    report = publish(opened, story_item(opened, desk.approved), SLACK, http=server.http())
    request = server.requests[0]
    assert str(request.url) == "https://slack.com/api/chat.postMessage" and request.headers["Authorization"] == f"Bearer {TOKEN}"
    sent = json.loads(request.content)
    assert sent["channel"] == "C123ABC456" and sent["mrkdwn"] is True
    assert all(f"<{url}|" in sent["text"] for url in story_links(opened, desk.approved))
    assert "](" not in sent["text"] and "**" not in sent["text"] and "\n## " not in sent["text"]
    assert report.publication is not None and report.publication.remote_id == "C123ABC456/1503435956.000247"


def test_slack_429_waits_retry_after_then_posts_once(opened: Store, desk: Desk) -> None:
    server = Server(httpx.Response(429, headers={"Retry-After": "7"}, json=recorded("slack_ratelimited.json")),
                    httpx.Response(200, json=recorded("slack_chat_postMessage.json")))  # fmt: skip
    report = publish(opened, story_item(opened, desk.approved), SLACK, http=server.http())
    assert report.status == "published" and len(posts(server)) == 2 and server.waits == [7.0]
    assert opened.con.execute("SELECT count(*) FROM publications").fetchall() == [(1,)]


def test_slack_500_mid_run_then_success_and_500_throughout_records_nothing(opened: Store, desk: Desk) -> None:
    server = Server(httpx.Response(500), httpx.Response(502), httpx.Response(200, json=recorded("slack_chat_postMessage.json")))
    publish(opened, poll_item("Next?", ["a", "b"]), SLACK, http=server.http())
    assert len(posts(server)) == 3 and server.waits == [1.0, 2.0]
    failing = Server(httpx.Response(503))
    with pytest.raises(TransientError, match="HTTP 503 after 4 attempt"):
        publish(opened, story_item(opened, desk.approved), SLACK, http=failing.http())
    assert len(failing.requests) == 4
    assert opened.con.execute("SELECT item_kind FROM publications").fetchall() == [("poll",)]
    assert opened.con.execute("SELECT state FROM stories WHERE id = ?", [desk.approved]).fetchall() == [("approved",)]
    assert [e.details["item_kind"] for e in entries(opened, action="publish")] == ["poll"]


def test_slack_error_answer_is_one_line_without_the_token(opened: Store, desk: Desk) -> None:
    server = Server(httpx.Response(200, json=recorded("slack_not_in_channel.json")))
    with pytest.raises(ConfigError) as caught:
        publish(opened, story_item(opened, desk.approved), SLACK, http=server.http())
    assert "not_in_channel" in str(caught.value) and TOKEN not in str(caught.value) and "\n" not in str(caught.value)
    assert opened.con.execute("SELECT count(*) FROM publications").fetchall() == [(0,)]


def test_slack_poll_blocks_and_webhook_url_stays_secret(opened: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = "https://hooks.slack.com/services/T000/B000/invented-secret-path"
    monkeypatch.setenv("VG_TEST_WEBHOOK", hook)
    target = Target("hook", "slack", {"webhook_env": "VG_TEST_WEBHOOK"})
    item = poll_item("What next?", ["Word order", "Phonology", "Scripts"])
    dry = publish(opened, item, target, dry_run=True)
    assert hook not in dry.delivery.show() and "VG_TEST_WEBHOOK" in dry.delivery.show()
    server = Server(httpx.Response(200, text="ok"))
    publish(opened, item, target, http=server.http())
    assert str(server.requests[0].url) == hook
    blocks = json.loads(server.requests[0].content)["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == "What next?"
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert [s.split(" ", 1)[1] for s in sections] == ["Word order", "Phonology", "Scripts"]


def test_zulip_form_basic_auth_and_poll_widget(opened: Store, desk: Desk) -> None:
    server = Server(httpx.Response(200, json=recorded("zulip_send_message.json")))
    report = publish(opened, story_item(opened, desk.approved), ZULIP, http=server.http())
    request = server.requests[0]
    assert base64.b64decode(request.headers["Authorization"].removeprefix("Basic ")).decode() == f"story-bot@chat.example.org:{TOKEN}"
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    ((title,),) = opened.con.execute("SELECT title FROM stories WHERE id = ?", [desk.approved]).fetchall()
    assert form["type"] == "stream" and form["to"] == "stories" and form["topic"] == title[:60]
    assert form["content"].startswith(f"# {title}")
    assert report.publication is not None and report.publication.remote_url == "https://chat.example.org/#narrow/near/42"
    publish(opened, poll_item("What next?", ["Word order", "Phonology"]), ZULIP, http=server.http())
    poll = parse_qs(server.requests[1].content.decode())["content"][0]
    assert poll.splitlines() == ["/poll What next?", "Word order", "Phonology"]


def test_zulip_error_is_one_line(opened: Store) -> None:
    server = Server(httpx.Response(400, json=recorded("zulip_stream_not_exist.json")))
    with pytest.raises(InputError, match="HTTP 400 Channel 'nonexistent' does not exist"):
        publish(opened, poll_item("Next?", ["a", "b"]), ZULIP, http=server.http())


def test_mattermost_post_and_dry_run_masks_the_token(opened: Store, desk: Desk) -> None:
    item = story_item(opened, desk.approved)
    dry = publish(opened, item, MATTERMOST, dry_run=True)
    shown = dry.delivery.show()
    assert TOKEN not in shown and "Authorization: Bearer ***" in shown and shown.startswith("POST https://mm.example.org/api/v4/posts")
    server = Server(httpx.Response(201, json=recorded("mattermost_create_post.json")))
    report = publish(opened, item, MATTERMOST, http=server.http())
    sent = json.loads(server.requests[0].content)
    assert sent == json.loads(shown.split("\n\n", 1)[1])  # what the dry run showed is what was sent
    assert sent["channel_id"] == "4xp9fdt77pncbef59f4k1qe83o" and sent["message"] == item.markdown
    assert report.publication is not None and report.publication.remote_id == "8w5cdiqbw7b5jx9j5dj6cxkbno"


def test_missing_token_is_one_line_naming_the_variable(opened: Store, desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(ConfigError, match=f"environment variable {TOKEN_ENV} is not set"):
        publish(opened, story_item(opened, desk.approved), SLACK, http=Server(httpx.Response(500)).http())


def test_discourse_wrapup_replies_in_its_own_topic_only_on_its_own_forum(store: Store) -> None:
    from villagegreen.publish.items import wrapup_item
    from villagegreen.store.ingest import import_path

    forum = Path(__file__).resolve().parents[1] / "data" / "discourse" / "forum"
    import_path(store, forum)
    topic = json.loads((forum / "topics" / "welcome-and-first-steps.10.json").read_text())
    ((conversation,),) = store.con.execute("SELECT conversation_id FROM messages WHERE native_id = ?", [str(topic["post_stream"]["posts"][0]["id"])]).fetchall()
    item = wrapup_item(store, conversation, force=True)
    server = Server(httpx.Response(200, json=recorded("discourse_create_post.json")))
    publish(store, item, DISCOURSE, http=server.http())  # DISCOURSE is https://forum.example.org, where the topic came from
    elsewhere = Target("other", "discourse", {**DISCOURSE.options, "url": "https://other.example.net"})
    publish(store, item, elsewhere, http=server.http())
    here, there = (json.loads(r.content) for r in server.requests)
    assert here["topic_id"] == topic["id"] and "title" not in here
    assert "topic_id" not in there and there["title"].startswith("Wrapping up: ")


def test_posts_over_the_platform_limit_are_refused_before_sending(opened: Store) -> None:
    from villagegreen.publish.items import Item

    fits = Item("wrapup", "fits", "Long", "a" * 16_383, "<p>a</p>")
    too_long = Item("wrapup", "too-long", "Long", "a" * 16_384, "<p>a</p>")
    server = Server(httpx.Response(201, json=recorded("mattermost_create_post.json")))
    assert publish(opened, fits, MATTERMOST, http=server.http()).status == "published"
    with pytest.raises(InputError, match="at most 16,383 characters per post and this is 16,384"):
        publish(opened, too_long, MATTERMOST, dry_run=True)
    with pytest.raises(InputError, match="at most 10,000 characters"):
        publish(opened, too_long, ZULIP, http=server.http())
    assert len(server.requests) == 1


def test_an_accepted_request_with_an_unexpected_answer_is_one_line_and_not_recorded(opened: Store) -> None:
    server = Server(httpx.Response(200, text="<html>a login page of a proxy</html>"))
    with pytest.raises(InputError, match=r"HTTP 200 but not the expected answer \(wanted id\); check the target's URL, and whether it was posted"):
        publish(opened, poll_item("Next?", ["a", "b"]), MATTERMOST, http=server.http())
    assert opened.con.execute("SELECT count(*) FROM publications").fetchall() == [(0,)]

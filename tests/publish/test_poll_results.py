"""Poll results read back: Discourse's poll plugin counts and Slack's number reactions through
httpx.MockTransport with documented responses (tests/data/publish/README.md), and the Matrix
counting rules on hand-written events (the real homeserver is in test_matrix_synapse.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli_support import run_cli
from villagegreen.publish.items import poll_item
from villagegreen.publish.matrix_polls import count
from villagegreen.publish.poll_results import read_results
from villagegreen.publish.service import publish
from villagegreen.publish.targets import Target
from villagegreen.store import Store

from .conftest import TOKEN, TOKEN_ENV, Desk, write_config
from .test_recorded_platforms import DISCOURSE, SLACK, Server, recorded

DATA = Path(__file__).resolve().parents[1] / "data" / "publish"
OPTIONS = ["Word order", "Phonology & sounds", "Scripts"]
FORUM = Target("forum", "discourse", {**DISCOURSE.options, "reply_to_topic": 317})


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def posted_poll(store: Store, target: Target, *answers: httpx.Response) -> str:
    item = poll_item("What next?", OPTIONS)
    publish(store, item, target, http=Server(*answers).http())
    return item.item_id


def test_discourse_results_from_the_posts_polls_field(opened: Store) -> None:
    poll_id = posted_poll(opened, FORUM, httpx.Response(200, json=recorded("discourse_create_post.json")))
    topic = recorded("discourse_topic_with_poll.json")
    server = Server(httpx.Response(200, json=topic))
    (result,) = read_results(opened, [FORUM], http=server.http())
    request = server.requests[0]
    assert (request.method, str(request.url)) == ("GET", "https://forum.example.org/t/317.json") and request.headers["Api-Key"] == TOKEN
    post = next(p for p in topic["post_stream"]["posts"] if p["id"] == recorded("discourse_create_post.json")["id"])  # type: ignore[index]
    expected = [o["votes"] for o in post["polls"][0]["options"]]
    assert result.poll_id == poll_id and [v for _, v in result.votes] == expected
    assert [o for o, _ in result.votes] == OPTIONS  # tags stripped, entities decoded
    assert result.voters == sum(expected)  # a regular poll: one option per voter
    assert not result.closed and result.note is None


def test_discourse_post_beyond_the_first_page_is_fetched_by_id(opened: Store) -> None:
    posted_poll(opened, FORUM, httpx.Response(200, json=recorded("discourse_create_post.json")))
    topic = recorded("discourse_topic_with_poll.json")
    first_page: dict[str, Any] = copy.deepcopy(topic)
    first_page["post_stream"]["posts"] = first_page["post_stream"]["posts"][:1]
    closed: dict[str, Any] = copy.deepcopy(topic)
    closed["post_stream"]["posts"][1]["polls"][0]["status"] = "closed"
    server = Server(httpx.Response(200, json=first_page), httpx.Response(200, json=closed))
    (result,) = read_results(opened, [FORUM], http=server.http())
    assert len(server.requests) == 2
    assert server.requests[1].url.path == "/t/317/posts.json" and server.requests[1].url.params.get_list("post_ids[]") == ["1042"]
    assert result.closed and sum(v for _, v in result.votes) == 6


def test_slack_results_are_the_number_reactions(opened: Store) -> None:
    posted_poll(opened, SLACK, httpx.Response(200, json=recorded("slack_chat_postMessage.json")),
                httpx.Response(200, json=recorded("slack_chat_getPermalink.json")))  # fmt: skip
    answered = recorded("slack_reactions_get.json")
    server = Server(httpx.Response(200, json=answered))
    (result,) = read_results(opened, [SLACK], http=server.http())
    request = server.requests[0]
    posted = recorded("slack_chat_postMessage.json")
    assert request.url.path == "/api/reactions.get" and request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert dict(request.url.params) == {"channel": posted["channel"], "timestamp": posted["ts"], "full": "true"}
    reactions = {r["name"]: r for r in answered["message"]["reactions"]}  # type: ignore[index]
    numbers = ["one", "two", "three"]
    assert result.votes == tuple((o, reactions[n]["count"] if n in reactions else 0) for o, n in zip(OPTIONS, numbers, strict=True))
    assert result.voters == len({u for n in numbers if n in reactions for u in reactions[n]["users"]})  # :tada: is no vote
    assert result.question == "What next?"


def test_unreadable_polls_get_a_note_and_the_others_still_run(opened: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    site = Target("intranet", "site", {"path": str(tmp_path / "site")})
    posted_poll(opened, site)
    posted_poll(opened, FORUM, httpx.Response(200, json=recorded("discourse_create_post.json")))
    monkeypatch.setenv("VG_TEST_WEBHOOK", "https://hooks.slack.com/services/T000/B000/invented")
    posted_poll(opened, Target("hook", "slack", {"webhook_env": "VG_TEST_WEBHOOK"}), httpx.Response(200, text="ok"))
    monkeypatch.delenv(TOKEN_ENV)
    hook = Target("hook", "slack", {"webhook_env": "VG_TEST_WEBHOOK"})
    results = {r.target: r for r in read_results(opened, [site, FORUM, hook], http=Server(httpx.Response(500)).http())}
    assert set(results) == {"intranet", "forum", "hook"}
    assert "not read back" in (results["intranet"].note or "")
    assert (results["forum"].note or "").startswith("not read:") and TOKEN_ENV in (results["forum"].note or "")
    assert "incoming webhook" in (results["hook"].note or "")
    assert all(r.votes == () for r in results.values())


def test_cli_poll_results_without_polls_and_for_an_unknown_poll(desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "vg.toml", {"name": "intranet", "kind": "site", "path": str(tmp_path / "site")})
    code, out, _ = run_cli(capsys, "publish", "poll-results", "--db", desk.db, "--config", config)
    assert code == 0 and "no polls published yet" in out
    code, _, err = run_cli(capsys, "publish", "poll-results", "poll-000000000000", "--db", desk.db, "--config", config)
    assert code != 0 and "was not published" in err and "\n" not in err.strip()
    code, out, _ = run_cli(capsys, "publish", "poll", "--to", "intranet", "--option", "a", "--option", "b", "--db", desk.db, "--config", config)
    assert code == 0
    code, out, _ = run_cli(capsys, "publish", "poll-results", "--json", "--db", desk.db, "--config", config)
    (entry,) = json.loads(out)
    assert code == 0 and entry["target_kind"] == "site" and "not read back" in entry["note"]


# Matrix counting rules (the spec's polls module) on hand-written events.
START = {"type": "m.poll.start", "sender": "@bot:hs", "event_id": "$start", "content": {"m.poll": {
    "kind": "m.disclosed", "max_selections": 1, "question": {"m.text": [{"body": "Q?"}]},
    "answers": [{"m.id": "a", "m.text": [{"body": "A"}]}, {"m.id": "b", "m.text": [{"body": "B"}]}]}}}  # fmt: skip


def response(sender: str, ts: int, *chosen: str) -> dict[str, Any]:
    relation = {"rel_type": "m.reference", "event_id": "$start"}
    return {"type": "m.poll.response", "sender": sender, "origin_server_ts": ts, "content": {"m.relates_to": relation, "m.selections": list(chosen)}}


def end(sender: str, ts: int) -> dict[str, Any]:
    return {"type": "m.poll.end", "sender": sender, "origin_server_ts": ts, "content": {"m.relates_to": {"rel_type": "m.reference", "event_id": "$start"}}}


def test_matrix_latest_response_per_user_counts() -> None:
    votes, voters, ended = count(START, [response("@u1:hs", 10, "a"), response("@u2:hs", 11, "a"), response("@u1:hs", 12, "b")])
    assert (votes["a"], votes["b"], voters, ended) == (1, 1, 2, False)
    # Out of order on the wire: the timestamp decides, not the position.
    votes, _, _ = count(START, [response("@u1:hs", 12, "b"), response("@u1:hs", 10, "a")])
    assert (votes["a"], votes["b"]) == (0, 1)


def test_matrix_end_by_the_sender_closes_and_later_responses_are_ignored() -> None:
    related = [response("@u1:hs", 10, "a"), end("@u2:hs", 11), response("@u2:hs", 12, "b"), end("@bot:hs", 13), response("@u1:hs", 14, "b")]
    votes, voters, ended = count(START, related)
    assert ended and (votes["a"], votes["b"], voters) == (1, 1, 2)  # u2's end is not the sender's: u2's vote at 12 counts


def test_matrix_spoiled_and_oversized_selections() -> None:
    related = [response("@u1:hs", 10, "a"), response("@u1:hs", 11, "nope"), response("@u2:hs", 12, "b", "a"), response("@u3:hs", 13)]
    votes, voters, _ = count(START, related)
    # u1's latest names no valid answer: a spoiled vote withdraws the earlier one; u2 is cut to
    # max_selections (the first); u3 chose nothing.
    assert (votes["a"], votes["b"], voters) == (0, 1, 1)


def test_matrix_unstable_response_form_is_read() -> None:
    unstable = {"type": "org.matrix.msc3381.poll.response", "sender": "@u1:hs", "origin_server_ts": 10,
                "content": {"org.matrix.msc3381.poll.response": {"answers": ["b"]}}}  # fmt: skip
    votes, voters, _ = count(START, [unstable])
    assert (votes["b"], voters) == (1, 1)


def test_mattermost_results_are_the_number_reactions(opened: Store) -> None:
    from .test_recorded_platforms import MATTERMOST

    posted_poll(opened, MATTERMOST, httpx.Response(201, json=recorded("mattermost_create_post.json")))
    reactions: list[dict[str, str]] = json.loads((DATA / "mattermost_post_reactions.json").read_text())
    server = Server(httpx.Response(200, json=recorded("mattermost_get_post.json")), httpx.Response(200, json=reactions))
    (result,) = read_results(opened, [MATTERMOST], http=server.http())
    post_id = recorded("mattermost_create_post.json")["id"]
    assert [r.url.path for r in server.requests] == [f"/api/v4/posts/{post_id}", f"/api/v4/posts/{post_id}/reactions"]
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    numbers = ["one", "two", "three"]
    assert result.votes == tuple((o, sum(r["emoji_name"] == n for r in reactions)) for o, n in zip(OPTIONS, numbers, strict=True))
    assert result.voters == len({r["user_id"] for r in reactions if r["emoji_name"] in numbers})  # :heart: is no vote
    assert result.question == "What next?"
    nobody = Server(httpx.Response(200, json=recorded("mattermost_get_post.json")), httpx.Response(200, json=None))
    (empty,) = read_results(opened, [MATTERMOST], http=nobody.http())
    assert [v for _, v in empty.votes] == [0, 0, 0] and empty.voters == 0 and empty.note is None

"""Matrix against a real Synapse on 127.0.0.1 (tests/sync/synapse.py starts it): publish a story
and a poll, read them back from the room with /messages, and check a re-run posts nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.cli_support import run_cli
from tests.sync.synapse import Account, Poster, Synapse, synapse_python
from villagegreen.store import Store

from .conftest import TOKEN_ENV, Desk, write_config


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    server = Synapse(synapse_python(), tmp_path_factory.mktemp("synapse-publish"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def room(synapse: Synapse, monkeypatch: pytest.MonkeyPatch) -> tuple[Synapse, Account, str]:
    account = synapse.register(f"publisher{uuid.uuid4().hex[:10]}")
    room_id = Poster(synapse, account).create_room("stories")
    monkeypatch.setenv(TOKEN_ENV, account.token)
    return synapse, account, room_id


def events(server: Synapse, account: Account, room_id: str, kind: str) -> list[dict[str, Any]]:
    """Every event of ``kind`` in the room, newest first, straight from the homeserver."""
    response = httpx.get(f"{server.url}/_matrix/client/v3/rooms/{quote(room_id)}/messages", params={"dir": "b", "limit": 100},
                         headers={"Authorization": f"Bearer {account.token}"}, timeout=30)  # fmt: skip
    response.raise_for_status()
    return [e for e in response.json()["chunk"] if e["type"] == kind]


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.attributes: set[str] = set()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {k for k, _ in attrs}
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def test_story_read_back_from_synapse(desk: Desk, tmp_path: Path, room: tuple[Synapse, Account, str], capsys: pytest.CaptureFixture[str]) -> None:
    server, account, room_id = room
    config = write_config(tmp_path / "vg.toml", {"name": "chat", "kind": "matrix", "homeserver": server.url, "room": room_id, "token_env": TOKEN_ENV})
    code, out, err = run_cli(capsys, "publish", "story", desk.approved, "--to", "chat", "--db", desk.db, "--config", config)
    assert code == 0, err
    assert account.token not in out + err
    posted = events(server, account, room_id, "m.room.message")
    assert len(posted) == 1
    content = posted[0]["content"]
    with Store.open(desk.db, read_only=True) as store:
        ((title,),) = store.con.execute("SELECT title FROM stories WHERE id = ?", [desk.approved]).fetchall()
        ((body,),) = store.con.execute("SELECT body FROM story_versions WHERE story_id = ? ORDER BY version DESC LIMIT 1", [desk.approved]).fetchall()
        ((remote_id, remote_url),) = store.con.execute("SELECT remote_id, remote_url FROM publications").fetchall()
        assert store.con.execute("SELECT state FROM stories WHERE id = ?", [desk.approved]).fetchall() == [("published",)]
    assert remote_id == posted[0]["event_id"] and remote_url.startswith("https://matrix.to/#/")
    assert content["msgtype"] == "m.text" and content["format"] == "org.matrix.custom.html"
    assert content["body"].startswith(f"# {title}\n")
    links = set(re.findall(r'"permalink": "(https://[^"]+)"', body))
    anchors = Anchors()
    anchors.feed(content["formatted_body"])
    assert links and links <= set(anchors.hrefs)
    assert anchors.attributes <= {"href"} and "article" not in anchors.tags  # sanitised to Matrix's allowed subset
    # Idempotent: the second run finds the record and the room still holds one message.
    code, out, _ = run_cli(capsys, "publish", "story", desk.approved, "--to", "chat", "--db", desk.db, "--config", config)
    assert code == 0 and "already on chat" in out
    assert len(events(server, account, room_id, "m.room.message")) == 1


def test_poll_is_a_native_poll_event(desk: Desk, tmp_path: Path, room: tuple[Synapse, Account, str], capsys: pytest.CaptureFixture[str]) -> None:
    server, account, room_id = room
    config = write_config(tmp_path / "vg.toml", {"name": "chat", "kind": "matrix", "homeserver": server.url, "room": room_id, "token_env": TOKEN_ENV})
    options = ["Word order", "Phonology <basics>", "Naming & borrowing"]
    argv = ["publish", "poll", "--to", "chat", "--db", desk.db, "--config", config, "--question", "What next?"]
    argv += [x for option in options for x in ("--option", option)]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    polls = events(server, account, room_id, "m.poll.start")
    assert len(polls) == 1
    poll = polls[0]["content"]["m.poll"]
    assert poll["question"]["m.text"][0]["body"] == "What next?"
    assert [a["m.text"][0]["body"] for a in poll["answers"]] == options
    assert poll["max_selections"] == 1 and len({a["m.id"] for a in poll["answers"]}) == 3
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0 and "already on chat" in out and len(events(server, account, room_id, "m.poll.start")) == 1


def test_room_alias_is_resolved(desk: Desk, tmp_path: Path, room: tuple[Synapse, Account, str], capsys: pytest.CaptureFixture[str]) -> None:
    server, account, room_id = room
    alias = f"#stories{abs(hash(room_id)) % 10**6}:localhost"
    httpx.put(f"{server.url}/_matrix/client/v3/directory/room/{quote(alias)}", json={"room_id": room_id},
              headers={"Authorization": f"Bearer {account.token}"}, timeout=30).raise_for_status()  # fmt: skip
    config = write_config(tmp_path / "vg.toml", {"name": "chat", "kind": "matrix", "homeserver": server.url, "room": alias, "token_env": TOKEN_ENV})
    code, out, err = run_cli(capsys, "publish", "story", desk.approved, "--to", "chat", "--db", desk.db, "--config", config, "--dry-run")
    assert code == 0 and "{room}" in out and events(server, account, room_id, "m.room.message") == []
    code, out, err = run_cli(capsys, "publish", "story", desk.approved, "--to", "chat", "--db", desk.db, "--config", config)
    assert code == 0, err
    assert len(events(server, account, room_id, "m.room.message")) == 1


def test_wrapup_of_a_conversation_from_the_room_goes_into_its_thread(tmp_path: Path, room: tuple[Synapse, Account, str],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from villagegreen.store.ingest import import_path

    server, account, room_id = room
    poster = Poster(server, account)
    root = poster.say(room_id, "Which soil test kit should the allotment buy?")
    first = poster.in_thread(room_id, root, "The cheap pH strips are enough for a start.")
    poster.in_thread(room_id, root, "Agreed, and one lab test a year.", latest=first)
    # The room as an export: one /messages page and the state list, imported as any export is.
    export = tmp_path / "export"
    export.mkdir()
    headers = {"Authorization": f"Bearer {account.token}"}
    page = httpx.get(f"{server.url}/_matrix/client/v3/rooms/{quote(room_id)}/messages", params={"dir": "b", "limit": 100}, headers=headers, timeout=30)
    (export / "page.json").write_text(page.raise_for_status().text)
    state = httpx.get(f"{server.url}/_matrix/client/v3/rooms/{quote(room_id)}/state", headers=headers, timeout=30)
    (export / "state.json").write_text(state.raise_for_status().text)
    db = tmp_path / "room.duckdb"
    with Store.open(db) as store:
        # The importer rates this test room private; this test is about publishing, not privacy.
        import_path(store, export, include_private=True)
        ((conversation,),) = store.con.execute("SELECT conversation_id FROM messages WHERE native_id = ?", [root]).fetchall()
    config = write_config(tmp_path / "vg.toml", {"name": "chat", "kind": "matrix", "homeserver": server.url, "room": room_id, "token_env": TOKEN_ENV})
    # Private content goes back only where it came from, and only when asked explicitly.
    code, _out, err = run_cli(capsys, "publish", "wrapup", conversation, "--force", "--to", "chat", "--db", db, "--config", config)
    assert code != 0 and "--include-private" in err
    code, _out, err = run_cli(capsys, "publish", "wrapup", conversation, "--force", "--include-private", "--to", "chat", "--db", db, "--config", config)
    assert code == 0, err
    notes = [e for e in events(server, account, room_id, "m.room.message") if e["content"]["body"].startswith("# Wrapping up")]
    assert len(notes) == 1
    relation = notes[0]["content"]["m.relates_to"]
    assert relation["rel_type"] == "m.thread" and relation["event_id"] == root
    assert "3 messages from 1 person" in notes[0]["content"]["body"]


def test_poll_results_read_back_from_synapse(desk: Desk, tmp_path: Path, room: tuple[Synapse, Account, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Post a poll, two members answer (one changes their mind), one spoils; the poll ends; late answers are ignored."""
    import json

    server, account, room_id = room
    config = write_config(tmp_path / "vg.toml", {"name": "chat", "kind": "matrix", "homeserver": server.url, "room": room_id, "token_env": TOKEN_ENV})
    options = ["Word order", "Phonology", "Scripts"]
    argv = ["publish", "poll", "--to", "chat", "--db", desk.db, "--config", config, "--question", "What next?"]
    code, _out, err = run_cli(capsys, *argv, *[x for option in options for x in ("--option", option)])
    assert code == 0, err
    (start,) = events(server, account, room_id, "m.poll.start")
    ids = [a["m.id"] for a in start["content"]["m.poll"]["answers"]]

    def answer(poster: Poster, *chosen: str) -> None:
        poster.send(room_id, {"m.relates_to": {"rel_type": "m.reference", "event_id": start["event_id"]}, "m.selections": list(chosen)}, "m.poll.response")

    members = [Poster(server, server.register(f"member{uuid.uuid4().hex[:8]}")) for _ in range(3)]
    for member in members:
        member.join(room_id)
    ana, ben, cy = members
    answer(ana, ids[0])
    answer(ben, ids[0])
    answer(ana, ids[1])  # Ana changes her mind: only her latest answer counts
    answer(cy, "not-an-option")  # a spoiled vote counts for nothing
    results = ["publish", "poll-results", "--json", "--db", desk.db, "--config", config]
    code, out, err = run_cli(capsys, *results)
    assert code == 0, err
    (open_poll,) = json.loads(out)
    assert [(o["option"], o["votes"]) for o in open_poll["options"]] == [(options[0], 1), (options[1], 1), (options[2], 0)]
    assert open_poll["voters"] == 2 and open_poll["closed"] is False and open_poll["question"] == "What next?"
    end = {"m.relates_to": {"rel_type": "m.reference", "event_id": start["event_id"]}, "m.text": [{"body": "The poll has ended."}]}
    Poster(server, ben.account).send(room_id, end, "m.poll.end")  # not the poll's sender: does not end it
    answer(cy, ids[2])  # still open: Cy's new answer replaces the spoiled one
    Poster(server, account).send(room_id, end, "m.poll.end")
    answer(ben, ids[2])  # after the end: ignored
    code, out, err = run_cli(capsys, *results)
    assert code == 0, err
    (closed,) = json.loads(out)
    assert [o["votes"] for o in closed["options"]] == [1, 1, 1] and closed["voters"] == 3 and closed["closed"] is True
    code, out, _ = run_cli(capsys, "publish", "poll-results", "--db", desk.db, "--config", config)
    assert code == 0 and "closed, 3 voters" in out and account.token not in out

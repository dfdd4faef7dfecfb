"""The Matrix connector, checked against facts counted independently of it (see tests/data/matrix/README.md)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.disentangle import ChatLine, conversation_roots, disentangle
from villagegreen.connectors.matrix import MatrixConnector
from villagegreen.connectors.matrix.files import RoomInput, looks_like_matrix
from villagegreen.connectors.matrix.mapping import message_text, parse_time, redaction_target, strip_reply_fallback
from villagegreen.connectors.matrix.rooms import RoomState, privacy
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Conversation, Message, Skipped
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.report import ImportReport

DATA = Path(__file__).resolve().parent.parent / "data" / "matrix"
PAGES = DATA / "pages"
SYNC = DATA / "sync" / "sync.json"
ELEMENT = DATA / "element" / "matrix - Book Club - Chat Export - 2024-04-20.json"
PRIVATE_SKIP = ("space", "private room skipped (use --include-private)")


def imp(store: Store, path: Path, **options: Any) -> ImportReport:
    return import_path(store, path, connector_class=MatrixConnector, **options)


def scalar(store: Store, sql: str, *params: object) -> Any:
    return store.con.execute(sql, list(params)).fetchone()[0]  # type: ignore[index]


def without_runs(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k != "import_runs"}


def page_events() -> list[dict[str, Any]]:
    return [e for page in sorted(PAGES.glob("*.json")) for e in json.loads(page.read_text(encoding="utf-8"))["chunk"]]


def expected_messages(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Messages a reader of the spec expects: not edits, not redacted (by a redaction or already stripped)."""
    gone = {e.get("redacts") or e["content"].get("redacts") for e in events if e["type"] == "m.room.redaction"}
    gone |= {e["event_id"] for e in events if "redacted_because" in e.get("unsigned", {})}
    return {
        e["event_id"]: e
        for e in events
        if e["type"] == "m.room.message" and e["event_id"] not in gone and e["content"].get("m.relates_to", {}).get("rel_type") != "m.replace"
    }


def expected_root(event_id: str, messages: dict[str, dict[str, Any]]) -> str:
    """Walk thread and reply links up while they stay among the messages."""
    while True:
        relates = messages[event_id]["content"].get("m.relates_to", {})
        parent = relates.get("event_id") if relates.get("rel_type") == "m.thread" else relates.get("m.in_reply_to", {}).get("event_id")
        if not isinstance(parent, str):
            return event_id
        if parent not in messages:
            return parent
        event_id = parent


# -- the /messages pages --------------------------------------------------------------------------


def test_pages_import_with_independent_counts_and_structure(store: Store) -> None:
    events = page_events()
    messages = expected_messages(events)
    roots = {eid: expected_root(eid, messages) for eid in messages}
    report = imp(store, PAGES)

    assert report.connector == "matrix"
    assert report.source_name == "!commons:example.org"
    assert scalar(store, "SELECT count(*) FROM messages") == len(messages) == 10
    recorded = "SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL AND (meta->>'reply_inferred') IS NULL"
    assert scalar(store, recorded) == sum(r != e for e, r in roots.items())
    assert scalar(store, "SELECT count(*) FROM events") == sum("state_key" in e for e in events)
    rows = {r[0]: r[1:] for r in store.con.execute("SELECT native_id, id, conversation_id, reply_to_id, text, kind, meta FROM messages").fetchall()}
    # The rest is disentangled: the room's timeline (thread messages are not in it, thread
    # roots stay roots) threaded here by disentangle() with the links read from the events.
    names = dict(store.con.execute("SELECT id, display_name FROM identities").fetchall())
    authors = dict(store.con.execute("SELECT native_id, author_id FROM messages").fetchall())
    in_threads = {e for e, m in messages.items() if m["content"].get("m.relates_to", {}).get("rel_type") == "m.thread"}
    thread_roots = {messages[e]["content"]["m.relates_to"]["event_id"] for e in in_threads}
    order = sorted(messages, key=lambda e: (messages[e]["origin_server_ts"], e))
    lines = [
        ChatLine(
            e,
            names[authors[e]],
            datetime.fromtimestamp(messages[e]["origin_server_ts"] / 1000, tz=UTC),
            rows[e][3],
            reply_to=roots[e] if roots[e] != e else (e if e in thread_roots else None),
        )
        for e in order
        if e not in in_threads
    ]
    parents = disentangle(lines) | {e: roots[e] for e in in_threads}
    final = conversation_roots(parents)
    assert scalar(store, "SELECT count(*) FROM conversations") == len({r for r in final.values() if r in messages})
    for event_id, root in final.items():
        assert rows[event_id][1] == rows[root][0], event_id
        inferred = parents[event_id] not in (event_id, roots[event_id])
        assert json.loads(rows[event_id][5] or "{}").get("reply_inferred", False) is inferred, event_id
    assert rows["$m2"][2] == rows["$m1"][0]  # a reply
    assert rows["$m9"][1:3] == (rows["$m1"][0], rows["$m2"][0])  # a reply to a reply joins the first message's conversation
    assert rows["$m4"][1:3] == (rows["$m3"][0], rows["$m3"][0])  # thread fallback reply: answers the root
    assert rows["$m5"][1:3] == (rows["$m3"][0], rows["$m4"][0])  # a real reply inside the thread
    assert rows["$m2"][3] == "A toaster with a loose cable."  # the quoted fallback is gone
    assert rows["$m9"][3] == "Cable fixed, it works!"
    assert rows["$m1"][3] == "Welcome! What are you fixing this week?"  # HTML rendered, not the markdown body
    assert rows["$m6"][3] == "[image: toaster.jpg]"
    assert json.loads(rows["$m6"][5])["attachment"]["mimetype"] == "image/jpeg"
    assert (rows["$m11"][4], json.loads(rows["$m11"][5])["msgtype"]) == ("notice", "m.notice")
    edited = json.loads(rows["$m7"][5])
    assert rows["$m7"][3] == "Meeting at 11?"
    assert edited["edited_at"] == datetime.fromtimestamp(next(e for e in events if e["event_id"] == "$e1")["origin_server_ts"] / 1000, tz=UTC).isoformat()
    assert "$m8" not in rows and "$m12" not in rows and "$e1" not in rows
    first = messages["$m1"]
    assert scalar(store, "SELECT sent_at FROM messages WHERE native_id = '$m1'") == datetime.fromtimestamp(first["origin_server_ts"] / 1000, tz=UTC)

    reactions = store.con.execute(
        "SELECT r.kind, i.native_id, m.native_id FROM reactions r JOIN identities i ON i.id = r.identity_id JOIN messages m ON m.id = r.message_id ORDER BY 2"
    ).fetchall()
    assert reactions == [("👍", "@ana:example.org", "$m2"), ("👍", "@cy:example.org", "$m2")]
    assert dict(store.con.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall()) == {
        "join": 3,
        "leave": 1,
        "m.room.create": 1,
        "m.room.join_rules": 1,
        "m.room.name": 1,
        "m.room.topic": 1,
    }
    assert dict(store.con.execute("SELECT native_id, display_name FROM identities").fetchall()) == {
        "@ana:example.org": "Ana Brook",
        "@bo:example.org": "Bo Linden",
        "@cy:example.org": "Cy Moss",
        "@helper:example.org": "@helper:example.org",
    }
    assert scalar(store, "SELECT name || '|' || private::VARCHAR FROM spaces") == "Repair Commons|false"
    assert report.skipped == {
        ("message", "redacted"): 2,
        ("reaction", "reaction to a message not imported"): 1,
        ("reaction", "redacted (reaction removed)"): 1,
        ("edit", "edit by someone other than the sender (ignored, as the spec says)"): 1,
        ("message", "encrypted event (export from a client that holds the keys: Element's export decrypts)"): 1,
        ("event", "unsupported event type org.matrix.msc3381.poll.start"): 1,
    }


def test_reimport_adds_nothing(store: Store) -> None:
    first = imp(store, PAGES)
    assert first.kind("messages").new == 10
    before = store.table_counts()
    again = imp(store, PAGES)
    assert again.rows_added == 0
    assert sum(c.updated for c in again.counts.values()) == 0
    assert without_runs(store.table_counts()) == without_runs(before)


def test_pages_in_any_order_and_a_repeated_event_read_once(store: Store, tmp_path: Path) -> None:
    pages = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(PAGES.glob("*.json"))]
    pages[1]["chunk"].insert(0, pages[0]["chunk"][-1])  # page boundaries may overlap
    for index, page in enumerate(reversed(pages)):
        (tmp_path / f"p{index}.json").write_text(json.dumps(page), encoding="utf-8")
    imp(store, tmp_path)
    assert scalar(store, "SELECT count(*) FROM messages") == 10


# -- /sync and privacy --------------------------------------------------------------------------------


def test_sync_reads_public_rooms_and_skips_direct_chats(store: Store) -> None:
    sync = json.loads(SYNC.read_text(encoding="utf-8"))
    public = sync["rooms"]["join"]["!seeds:example.org"]["timeline"]["events"]
    report = imp(store, SYNC)
    assert report.source_name == "example.org"  # two rooms: the server their ids name
    assert report.skipped[PRIVATE_SKIP] == 1
    assert scalar(store, "SELECT string_agg(name, ',') FROM spaces") == "Seed Library"
    assert scalar(store, "SELECT count(*) FROM messages") == len(public)
    # $g4 answers a message from before this sync: its conversation is inferred by the store.
    assert scalar(store, "SELECT count(*) FROM conversations WHERE meta->>'inferred' = 'true'") == 1
    assert scalar(store, "SELECT conversation_id = id FROM messages WHERE native_id = '$g3'") is False
    assert scalar(store, "SELECT display_name FROM identities WHERE native_id = '@dani:example.org'") == "Dani Ash"


def test_sync_with_include_private_keeps_the_direct_chat_private(store: Store) -> None:
    imp(store, SYNC, include_private=True)
    rows = dict(store.con.execute("SELECT native_id, kind || '|' || private::VARCHAR FROM spaces").fetchall())
    assert rows == {"!seeds:example.org": "channel|false", "!dm-ana-bo:example.org": "dm|true"}
    assert scalar(store, "SELECT count(*) FROM messages") == 4 + 2


def test_element_export_without_a_join_rule_is_private_until_included(store: Store, tmp_path: Path) -> None:
    export = json.loads(ELEMENT.read_text(encoding="utf-8"))
    report = imp(store, ELEMENT)
    assert report.source_name == "!books:example.net"
    assert report.skipped[PRIVATE_SKIP] == 1
    assert without_runs(store.table_counts()).get("messages", 0) == 0
    assert scalar(store, "SELECT count(*) FROM raw_items") == 0
    with Store.open(tmp_path / "all.duckdb") as everything:
        imp(everything, ELEMENT, include_private=True)
        said = [e for e in export["messages"] if e["type"] == "m.room.message" and "redacted_because" not in e["unsigned"]]
        assert scalar(everything, "SELECT count(*) FROM messages") == len(said) == 3
        assert scalar(everything, "SELECT count(DISTINCT conversation_id) FROM messages") == 1  # one thread
        space = everything.con.execute("SELECT name, private, meta->>'exported_by' FROM spaces").fetchone()
        assert space == (export["room_name"], True, export["exported_by"])


def test_element_zip_with_attachments_detects_and_matches_the_file(tmp_path: Path) -> None:
    archive = tmp_path / "matrix - Book Club - Chat Export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(ELEMENT, "export.json")
        zipped.writestr("images/cover.png", b"\x89PNG not really")
    with SourceTree(archive) as tree:
        assert MatrixConnector.sniff(tree)
    with Store.open(tmp_path / "a.duckdb") as first, Store.open(tmp_path / "b.duckdb") as second:
        assert imp(first, archive, include_private=True).source_id == imp(second, ELEMENT, include_private=True).source_id
        assert without_runs(first.table_counts()) == without_runs(second.table_counts())


@pytest.mark.parametrize(
    ("join_rule", "direct", "members", "expected"),
    [
        ("public", False, None, (False, "join rule public")),
        ("public", False, 40, (False, "join rule public")),
        ("public", False, 2, (True, "two members or fewer")),
        ("public", True, None, (True, "direct chat")),
        ("invite", False, 40, (True, "join rule invite")),
        ("restricted", False, None, (True, "join rule restricted")),
        (None, False, 40, (True, "join rule unknown")),
    ],
)
def test_privacy_rules(join_rule: str | None, direct: bool, members: int | None, expected: tuple[bool, str]) -> None:
    room = RoomInput("!r:x", direct=direct, member_count=members)
    assert privacy(room, RoomState("!r:x", join_rule=join_rule)) == expected


# -- detection ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PAGES, PAGES / "messages-001.json", SYNC, ELEMENT.parent])
def test_sniff_accepts_each_shape(path: Path) -> None:
    with SourceTree(path) as tree:
        assert MatrixConnector.sniff(tree)


def other_fixtures() -> Iterator[Path]:
    for platform in sorted((DATA.parent).iterdir()):
        if platform.is_dir() and platform.name != "matrix":
            yield from sorted(platform.iterdir())


@pytest.mark.parametrize("path", list(other_fixtures()), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sniff_rejects_other_platforms_fixtures(path: Path) -> None:
    with SourceTree(path) as tree:
        assert MatrixConnector.sniff(tree) is False


@pytest.mark.realdata
@pytest.mark.parametrize(
    "other",
    [
        "discord/komodo",
        "formats/chat-analytics-samples/tests/samples/discord",
        "formats/chat-analytics-samples/tests/samples/telegram",
        "formats/chat-analytics-samples/tests/samples/messenger",
        "slack/olake/export",
        "slack/viewer-test/testarchive.zip",
        "discourse/urho3d/topics",
        "stackexchange/conlang",
        "mail/r-package-devel",
    ],
)
def test_sniff_rejects_real_datasets(shared_data: Path, other: str) -> None:
    path = shared_data / other
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with SourceTree(path) as tree:
        assert MatrixConnector.sniff(tree) is False


def test_looks_like_matrix_needs_events_and_a_container() -> None:
    assert looks_like_matrix(b'{"chunk": [{"event_id": "$a", "type": "m.room.message", "origin_server_ts": 1}]}')
    assert not looks_like_matrix(b'{"chunk": [{"id": "a", "type": "m.room.message"}]}')
    assert not looks_like_matrix(b'[{"event_id": "$a", "type": "m.room.message", "origin_server_ts": 1}]')
    assert not looks_like_matrix(b'{"messages": [{"event_id": "$a", "type": "m.x", "origin_server_ts": 1}]}')


# -- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ((PAGES / "messages-001.json").read_bytes()[:900], r"messages\.json: malformed JSON at line \d+, column \d+"),
        (b"", r"messages\.json: the file is empty"),
        (b"\x00\xff{[garbled", r"messages\.json: not UTF-8 text"),
        (b'{"chunk": "nope", "start": "x"}', r"messages\.json: not Matrix client-server JSON"),
    ],
)
def test_broken_files_are_one_clear_error_and_change_nothing(store: Store, tmp_path: Path, content: bytes, expected: str) -> None:
    imp(store, PAGES)
    before = store.table_counts()
    target = tmp_path / "messages.json"
    target.write_bytes(content)
    with pytest.raises(InputError, match=expected) as raised:
        imp(store, target)
    assert "\n" not in str(raised.value)
    assert store.table_counts() == before


def test_one_malformed_event_is_skipped_and_counted(store: Store, tmp_path: Path) -> None:
    page = json.loads((PAGES / "messages-002.json").read_text(encoding="utf-8"))
    broken = next(e for e in page["chunk"] if e["event_id"] == "$m3")
    broken["origin_server_ts"] = "soon"
    page["chunk"].append({"type": "m.room.message", "content": {"body": "no id"}})
    (tmp_path / "a.json").write_text(json.dumps(page), encoding="utf-8")
    (tmp_path / "b.json").write_text((PAGES / "messages-001.json").read_text(encoding="utf-8"), encoding="utf-8")
    report = imp(store, tmp_path)
    reason = ("message", "malformed event: origin_server_ts 'soon' is not a millisecond timestamp")
    assert report.skipped[reason] == 1
    assert report.skipped_examples[reason].endswith("$m3")
    assert report.skipped[("event", "malformed event: not an object with an event_id and a type")] == 1
    assert scalar(store, "SELECT count(*) FROM messages") == 10 - 1
    # The thread replies still point at their (skipped) root: the store infers that conversation.
    assert scalar(store, "SELECT count(*) FROM conversations WHERE meta->>'inferred' = 'true'") == 1


# -- mapping ------------------------------------------------------------------------------------------------


def test_small_mappings() -> None:
    assert strip_reply_fallback("> <@a:x> original\n> more\n\nmy answer\n\n> my own quote") == "my answer\n\n> my own quote"
    assert strip_reply_fallback("> * <@a:x> waves\n\nhello") == "hello"
    assert strip_reply_fallback("> a quote I wrote\n\nand text") == "> a quote I wrote\n\nand text"
    html = {
        "format": "org.matrix.custom.html",
        "body": "x",
        "formatted_body": "<mx-reply><blockquote>old</blockquote></mx-reply><p>Hi <a href='https://matrix.to/#/@b:x'>Bo</a></p><ul><li>one</li></ul>",
    }
    assert message_text(html, is_reply=True) == "Hi Bo\n\n- one"
    assert message_text({"msgtype": "m.image", "body": "Look at this", "filename": "a.png"}, is_reply=False) == "Look at this"
    assert message_text({"msgtype": "m.file", "body": "a.pdf", "filename": "a.pdf"}, is_reply=False) == "[file: a.pdf]"
    assert message_text({"msgtype": "m.video"}, is_reply=False) == "[video: unnamed]"
    assert parse_time({"origin_server_ts": 1712000000000}) == datetime(2024, 4, 1, 19, 33, 20, tzinfo=UTC)
    with pytest.raises(ItemError, match="not a millisecond timestamp"):
        parse_time({"origin_server_ts": True})
    assert redaction_target({"type": "m.room.redaction", "redacts": "$a"}) == "$a"
    assert redaction_target({"type": "m.room.redaction", "content": {"redacts": "$b"}}) == "$b"  # room version 11


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["top", "reply", "thread"]), st.integers(0, 40)), min_size=1, max_size=30))
def test_every_message_lands_in_a_conversation_rooted_at_a_root(shape: list[tuple[str, int]]) -> None:
    events: list[dict[str, Any]] = [
        {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "public"}, "event_id": "$jr", "origin_server_ts": 1, "sender": "@a:x"}
    ]
    for index, (kind, target) in enumerate(shape, start=1):
        content: dict[str, Any] = {"msgtype": "m.text", "body": f"m{index}"}
        if kind == "reply":
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": f"${target}"}}
        elif kind == "thread":
            content["m.relates_to"] = {"rel_type": "m.thread", "event_id": f"${target}", "is_falling_back": True, "m.in_reply_to": {"event_id": f"${target}"}}
        events.append(
            {"type": "m.room.message", "event_id": f"${index}", "origin_server_ts": 1000 + index, "sender": "@a:x", "room_id": "!r:x", "content": content}
        )
    events[0]["room_id"] = "!r:x"
    records = list(read_page({"chunk": events}))
    said = [r for r in records if isinstance(r, Message)]
    roots = {r.id for r in records if isinstance(r, Conversation)}
    assert len(said) == len(shape)
    assert not any(isinstance(r, Skipped) for r in records)
    ids = {m.id for m in said}
    for message in said:
        assert message.conversation_id in roots or message.conversation_id not in ids
        assert (message.reply_to_id is None) == (message.conversation_id == message.id)


def read_page(page: dict[str, Any]) -> Iterator[Any]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "page.json"
        path.write_text(json.dumps(page), encoding="utf-8")
        with SourceTree(path) as tree:
            yield from list(MatrixConnector().read(tree, ReadContext(source_id="t")))

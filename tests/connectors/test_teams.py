"""The Microsoft Teams (Graph chatMessage JSON) connector, checked against facts counted independently of it."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.teams import TeamsConnector
from villagegreen.connectors.teams.files import looks_like_teams
from villagegreen.connectors.teams.mapping import body_text, event_kind, parse_time, quoted_message, sender
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Message
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.report import ImportReport

DATA = Path(__file__).resolve().parent.parent / "data" / "teams"
EXPORT = DATA / "export"
CHATS = DATA / "chats"
TEAM = "5b1e4c2a-7d3f-4e8a-9c10-2f6b8d4a1e01"
PRIVATE_SKIP = ("space", "private chat or channel skipped (use --include-private)")


def imp(store: Store, path: Path, **options: Any) -> ImportReport:
    return import_path(store, path, connector_class=TeamsConnector, **options)


def scalar(store: Store, sql: str, *params: object) -> Any:
    return store.con.execute(sql, list(params)).fetchone()[0]  # type: ignore[index]


def without_runs(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k != "import_runs"}


def all_messages(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every chatMessage in the folder, replies inlined or not, by (channel or chat, id)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}

    def add(item: dict[str, Any]) -> None:
        place = str((item.get("channelIdentity") or {}).get("channelId") or item.get("chatId"))
        found[(place, item["id"])] = item
        for reply in item.get("replies", []):
            add(reply)

    for path in folder.rglob("*.json"):
        for item in json.loads(path.read_text(encoding="utf-8"))["value"]:
            if "messageType" in item:
                add(item)
    return found


def private_channels() -> set[str]:
    channels = json.loads((EXPORT / "channels.json").read_text(encoding="utf-8"))["value"]
    return {c["id"] for c in channels if c["membershipType"] != "standard"}


# -- channels ---------------------------------------------------------------------------------------


def test_channel_export_with_independent_counts_and_structure(store: Store) -> None:
    hidden = private_channels()
    found = {key: m for key, m in all_messages(EXPORT).items() if key[0] not in hidden}
    said = {key: m for key, m in found.items() if m["messageType"] == "message" and not m["deletedDateTime"]}
    system = [m for m in found.values() if m["messageType"] in ("systemEventMessage", "unknownFutureValue") and m.get("eventDetail")]
    roots = {key for key, m in said.items() if m["replyToId"] is None}

    report = imp(store, EXPORT)

    assert report.connector == "teams"
    assert report.source_name == TEAM
    assert scalar(store, "SELECT count(*) FROM messages") == len(said) == 9
    assert scalar(store, "SELECT count(*) FROM conversations") == len(roots) == 5
    assert scalar(store, "SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL") == len(said) - len(roots)
    assert scalar(store, "SELECT count(*) FROM events") == len(system)
    assert dict(store.con.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall()) == {"membersAdded": 1, "channelRenamed": 1}
    assert scalar(store, "SELECT count(*) FROM reactions") == sum(len(m["reactions"]) for m in said.values())
    # Every reply points at its root, and shares its conversation.
    rows = {
        r[0].rpartition("/")[2]: r[1:] for r in store.con.execute("SELECT native_id, id, conversation_id, reply_to_id, text, meta FROM messages").fetchall()
    }
    for (_place, message_id), message in said.items():
        if message["replyToId"] is not None:
            assert rows[message_id][1] == rows[message_id][2] == rows[message["replyToId"]][0]
    assert rows["1712001000000"][3] == "Welcome to the repair team, @Bo Linden!\n\nWhat are you fixing this week?"
    assert rows["1712001200000"][3] == "Count me in 😄"
    assert json.loads(rows["1712001100000"][4])["edited_at"] == "2024-04-01T19:58:00+00:00"
    assert json.loads(rows["1712002000000"][4])["attachments"][0]["name"] == "floor-plan.pdf"
    assert json.loads(rows["1712100200000"][4])["mentions"] == [scalar(store, "SELECT id FROM identities WHERE display_name = 'Dani Ash'")]
    assert scalar(store, "SELECT title FROM conversations WHERE id = ?", rows["1712002000000"][0]) == "Saturday plan"  # the subject
    assert scalar(store, "SELECT sent_at FROM messages WHERE native_id LIKE '%/1712001000000'") == datetime(2024, 4, 1, 19, 50, tzinfo=UTC)
    assert dict(store.con.execute("SELECT display_name, is_bot FROM identities").fetchall()) == {
        "Ana Brook": False,
        "Bo Linden": False,
        "Cy Moss": False,
        "Dani Ash": False,  # reacted without a name first, posted with one later
        "Reminder Bot": True,
    }
    assert dict(store.con.execute("SELECT name, private FROM spaces").fetchall()) == {"General": False, "Projects": False}
    assert report.skipped == {
        ("message", "deleted"): 2,
        ("message", "unsupported messageType chatEvent"): 1,
        PRIVATE_SKIP: 1,
    }


def test_reimport_adds_nothing(store: Store) -> None:
    assert imp(store, EXPORT).kind("messages").new == 9
    before = store.table_counts()
    again = imp(store, EXPORT)
    assert again.rows_added == 0
    assert sum(c.updated for c in again.counts.values()) == 0
    assert without_runs(store.table_counts()) == without_runs(before)


def test_private_channel_and_chats_only_with_include_private(store: Store, tmp_path: Path) -> None:
    report = imp(store, CHATS)
    assert report.skipped[PRIVATE_SKIP] == 1
    assert without_runs(store.table_counts()).get("messages", 0) == 0
    assert scalar(store, "SELECT count(*) FROM raw_items") == 0
    with Store.open(tmp_path / "all.duckdb") as everything:
        imp(everything, EXPORT, include_private=True)
        assert dict(everything.con.execute("SELECT name, private FROM spaces").fetchall()) == {"General": False, "Projects": False, "Leads": True}
        assert scalar(everything, "SELECT count(*) FROM messages") == 9 + 1
    with Store.open(tmp_path / "chats.duckdb") as chats:
        chat_report = imp(chats, CHATS, include_private=True)
        assert chat_report.source_name.endswith("@thread.v2")
        assert scalar(chats, "SELECT kind || '|' || private::VARCHAR FROM spaces") == "group_dm|true"
        rows = dict(chats.con.execute("SELECT text, conversation_id FROM messages").fetchall())
        # The quoted reply joins the conversation of the message it quotes; the last message stands alone.
        assert rows["Yes, 10 o'clock."] == rows["Are we still on for Saturday?"] != rows["See you there."]


def test_replies_page_before_its_roots_and_a_zip_agree(store: Store, tmp_path: Path) -> None:
    archive = tmp_path / "teams-export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(EXPORT.rglob("*.json"), reverse=True):
            zipped.write(path, f"a/{path.relative_to(EXPORT)}")
    with SourceTree(archive) as tree:
        assert TeamsConnector.sniff(tree)
    imp(store, EXPORT)
    with Store.open(tmp_path / "zip.duckdb") as other:
        assert imp(other, archive).source_id == imp(store, EXPORT).source_id
        assert without_runs(other.table_counts()) == without_runs(store.table_counts())


def test_a_bare_list_of_messages_and_inlined_replies_without_their_place(tmp_path: Path) -> None:
    root = {
        "id": "1",
        "replyToId": None,
        "messageType": "message",
        "createdDateTime": "2024-01-01T10:00:00Z",
        "channelIdentity": {"teamId": "t", "channelId": "c"},
    }
    reply = {"id": "2", "messageType": "message", "createdDateTime": "2024-01-01T10:05:00Z", "body": {"contentType": "text", "content": "hi"}}
    path = tmp_path / "messages.json"
    path.write_text(json.dumps([root | {"body": {"contentType": "text", "content": "hello"}, "replies": [reply]}]), encoding="utf-8")
    with SourceTree(path) as tree:
        records = list(TeamsConnector().read(tree, ReadContext(source_id="t")))
    said = {r.text: r for r in records if isinstance(r, Message)}
    assert said["hi"].reply_to_id == said["hello"].id == said["hi"].conversation_id


# -- detection -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [EXPORT, EXPORT / "general" / "messages-1.json", EXPORT / "general" / "replies-1712001000000.json", CHATS])
def test_sniff_accepts_each_shape(path: Path) -> None:
    with SourceTree(path) as tree:
        assert TeamsConnector.sniff(tree)


def other_fixtures() -> Iterator[Path]:
    for platform in sorted(DATA.parent.iterdir()):
        if platform.is_dir() and platform.name != "teams":
            yield from sorted(platform.iterdir())


@pytest.mark.parametrize("path", list(other_fixtures()), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sniff_rejects_other_platforms_fixtures(path: Path) -> None:
    with SourceTree(path) as tree:
        assert TeamsConnector.sniff(tree) is False


@pytest.mark.realdata
@pytest.mark.parametrize(
    "other",
    [
        "discord/komodo",
        "formats/chat-analytics-samples/tests/samples/discord",
        "formats/chat-analytics-samples/tests/samples/telegram",
        "formats/chat-analytics-samples/tests/samples/messenger",
        "slack/olake/export",
        "slack/haskell-jp",
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
        assert TeamsConnector.sniff(tree) is False


def test_looks_like_teams_needs_chat_message_keys() -> None:
    assert looks_like_teams(b'{"value": [{"id": "1", "replyToId": null, "messageType": "message", "createdDateTime": "x"}]}')
    assert looks_like_teams(b'[{"id": "1", "messageType": "message", "createdDateTime": "x", "chatId": "19:a"}]')
    assert not looks_like_teams(b'{"value": [{"id": "1", "displayName": "General", "createdDateTime": "x", "membershipType": "standard"}]}')
    assert not looks_like_teams(b'{"messages": [{"id": "1", "type": "message", "timestamp": "x"}]}')


# -- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ((EXPORT / "general" / "messages-1.json").read_bytes()[:900], r"page\.json: malformed JSON at line \d+, column \d+"),
        (b"", r"page\.json: the file is empty"),
        (b"\x00\xff{[garbled", r"page\.json: not UTF-8 text"),
        (b'{"value": "nope"}', r"page\.json: not Graph chatMessage JSON \(no value list\)"),
        (b'{"value": [{"id": 1, "name": "x"}]}', r"page\.json: not Graph chatMessage JSON \(no messageType"),
    ],
)
def test_broken_files_are_one_clear_error_and_change_nothing(store: Store, tmp_path: Path, content: bytes, expected: str) -> None:
    imp(store, EXPORT)
    before = store.table_counts()
    target = tmp_path / "page.json"
    target.write_bytes(content)
    with pytest.raises(InputError, match=expected) as raised:
        imp(store, target)
    assert "\n" not in str(raised.value)
    assert store.table_counts() == before


def test_one_malformed_message_is_skipped_and_counted(store: Store, tmp_path: Path) -> None:
    page = json.loads((EXPORT / "projects" / "messages-expanded.json").read_text(encoding="utf-8"))
    page["value"][0]["replies"][0]["createdDateTime"] = "soon"
    page["value"].append({"messageType": "message"})
    page["value"].append({"id": "77", "messageType": "message", "createdDateTime": "2024-01-01T00:00:00Z", "replyToId": None})
    (tmp_path / "messages.json").write_text(json.dumps(page), encoding="utf-8")
    report = imp(store, tmp_path)
    bad_time = ("message", "malformed message: createdDateTime 'soon' is not an ISO timestamp")
    assert report.skipped[bad_time] == 1
    assert report.skipped_examples[bad_time].endswith("id=1712100100000")
    assert report.skipped[("message", "malformed message: not an object with an id")] == 1
    assert report.skipped[("message", "malformed message: neither channelIdentity nor chatId")] == 1
    assert scalar(store, "SELECT count(*) FROM messages") == 4 - 1


# -- mapping ------------------------------------------------------------------------------------------------


def test_small_mappings() -> None:
    assert (
        body_text(
            {"contentType": "html", "content": '<div>Hi <at id="0">Jane Smith</at>, <emoji id="1f44d_thumbsup" alt="👍" title="Thumbs up"></emoji></div>'}
        )
        == "Hi @Jane Smith, 👍"
    )
    assert body_text({"contentType": "text", "content": "  plain <b>as is</b> "}) == "plain <b>as is</b>"
    assert body_text({"contentType": "html", "content": "<systemEventMessage/>"}) == ""
    assert body_text(None) == ""
    assert sender({"application": {"id": "bot1", "displayName": "Bot", "applicationIdentityType": "bot"}, "user": None}) == ("app:bot1", "Bot", True)
    assert sender({"user": {"id": "u1", "displayName": None}}) == ("u1", None, False)
    assert sender(None) is None
    assert event_kind({"@odata.type": "#microsoft.graph.membersAddedEventMessageDetail"}) == "membersAdded"
    assert event_kind({"@odata.type": "#microsoft.graph.callEndedEventMessageDetail"}) == "callEnded"
    assert event_kind({}) == "systemEvent"
    assert parse_time("2021-03-28T21:11:12.395Z") == datetime(2021, 3, 28, 21, 11, 12, 395000, tzinfo=UTC)
    assert parse_time("2021-03-28T23:11:12+02:00") == datetime(2021, 3, 28, 21, 11, 12, tzinfo=UTC)
    with pytest.raises(ItemError, match="createdDateTime is missing"):
        parse_time(None)
    reference = {"contentType": "messageReference", "content": '{"messageId": "42", "messagePreview": "earlier"}'}
    assert quoted_message({"attachments": [reference]}) == "42"
    assert quoted_message({"attachments": [reference | {"id": "41"}]}) == "41"
    assert quoted_message({"attachments": [{"contentType": "messageReference", "content": "[1]"}, {"contentType": "reference", "id": "9"}]}) is None

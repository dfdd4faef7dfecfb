"""The Telegram Desktop JSON connector, checked against facts counted independently of it."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.disentangle import ChatLine, conversation_roots, disentangle
from villagegreen.connectors.registry import detect
from villagegreen.connectors.telegram import TelegramConnector
from villagegreen.connectors.telegram.mapping import flatten_text, is_private, media_meta, parse_time, placeholder
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Conversation, Event, Message, Skipped, make_id
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.report import ImportReport

DATA = Path(__file__).resolve().parent.parent / "data" / "telegram"
CHAT = DATA / "chat" / "result.json"
FULL = DATA / "full" / "result.json"
SAMPLES = "formats/chat-analytics-samples/tests/samples/telegram"
PRIVATE_SKIP = ("space", "private chat skipped (use --include-private)")


def imp(store: Store, path: Path, **options: Any) -> ImportReport:
    return import_path(store, path, connector_class=TelegramConnector, **options)


def scalar(store: Store, sql: str, *params: object) -> Any:
    return store.con.execute(sql, list(params)).fetchone()[0]  # type: ignore[index]


def without_runs(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k != "import_runs"}


# -- real samples ---------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["DM_2A_7M.json", "BIG_20A_5475M.json"])
def test_real_samples_import_with_independent_counts(shared_data: Path, store: Store, name: str) -> None:
    path = shared_data / SAMPLES / name
    chat = json.loads(path.read_text(encoding="utf-8"))
    said = [e for e in chat["messages"] if e["type"] == "message"]
    service = [e for e in chat["messages"] if e["type"] == "service"]
    ids = {e["id"] for e in said}
    replies = [e for e in said if "reply_to_message_id" in e]
    authors = {str(e["from_id"]) for e in said} | {e["actor_id"] for e in service}

    report = imp(store, path, include_private=True)

    assert report.connector == "telegram"
    assert report.source_name == str(chat["id"])
    assert scalar(store, "SELECT count(*) FROM messages") == len(said)
    assert scalar(store, "SELECT count(*) FROM events") == len(service)
    assert scalar(store, "SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL AND (meta->>'reply_inferred') IS NULL") == len(replies)
    assert scalar(store, "SELECT count(*) FROM conversations WHERE meta->>'inferred' = 'true'") == len(
        {e["reply_to_message_id"] for e in replies if e["reply_to_message_id"] not in ids}
    )

    # Every recorded reply link is kept; the rest are threaded as disentangle() threads the
    # same lines here (links read from the file; times, text and names from the store).
    def store_id(message_id: object) -> str:
        return make_id(report.source_id, "message", f"{chat['id']}:{message_id}")

    rows = {
        r[0]: r[1:]
        for r in store.con.execute(
            "SELECT m.id, m.reply_to_id, m.conversation_id, m.sent_at, m.text, i.display_name FROM messages m LEFT JOIN identities i ON i.id = m.author_id"
        ).fetchall()
    }
    service_ids = {e["id"] for e in service}
    lines = []
    for e in sorted(said, key=lambda e: rows[store_id(e["id"])][2]):
        ident, target = store_id(e["id"]), e.get("reply_to_message_id")
        reply_to_id, _, sent_at, text, author = rows[ident]
        if target is not None and target not in service_ids:
            assert reply_to_id == store_id(target)
        # A reply to a service message (a welcome) stays a root: a self link says so.
        recorded = ident if target in service_ids else (store_id(target) if target is not None else None)
        lines.append(ChatLine(ident, author or "", sent_at, text, reply_to=recorded))
    roots = conversation_roots(disentangle(lines))
    assert {ident: row[1] for ident, row in rows.items()} == roots
    assert scalar(store, "SELECT count(*) FROM conversations WHERE (meta->>'inferred') IS NULL") == len({root for root in roots.values() if root in rows})
    assert scalar(store, "SELECT count(*) FROM identities") == len(authors)
    assert scalar(store, "SELECT count(*) FROM spaces WHERE private") == 1  # personal chat and private supergroup alike
    assert dict(store.con.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall()) == {
        kind: sum(e["action"] == kind for e in service) for kind in {e["action"] for e in service}
    }
    first = said[0]
    expected = (
        datetime.fromtimestamp(int(first["date_unixtime"]), tz=UTC)
        if "date_unixtime" in first
        else datetime.fromisoformat(first["date"].replace("Z", "+00:00")).astimezone(UTC)
    )
    assert scalar(store, "SELECT sent_at FROM messages WHERE native_id = ?", f"{chat['id']}:{first['id']}") == expected


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["DM_2A_7M.json", "BIG_20A_5475M.json"])
def test_real_private_chats_are_skipped_by_default(shared_data: Path, store: Store, name: str) -> None:
    chat = json.loads((shared_data / SAMPLES / name).read_text(encoding="utf-8"))
    assert chat["type"] in ("personal_chat", "private_supergroup")
    report = imp(store, shared_data / SAMPLES / name)
    assert report.skipped[PRIVATE_SKIP] == 1
    assert without_runs(store.table_counts()).get("messages", 0) == 0
    assert scalar(store, "SELECT count(*) FROM raw_items") == 0


@pytest.mark.realdata
def test_real_reimport_adds_nothing(shared_data: Path, store: Store) -> None:
    folder = shared_data / SAMPLES
    first = imp(store, folder, include_private=True)
    assert first.kind("messages").new == sum(
        sum(e["type"] == "message" for e in json.loads(p.read_text(encoding="utf-8"))["messages"]) for p in folder.glob("*.json")
    )
    before = store.table_counts()
    again = imp(store, folder, include_private=True)
    assert again.rows_added == 0
    assert sum(c.updated for c in again.counts.values()) == 0
    assert without_runs(store.table_counts()) == without_runs(before)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["", "DM_2A_7M.json", "BIG_20A_5475M.json"])
def test_detection_picks_telegram(shared_data: Path, name: str) -> None:
    with SourceTree(shared_data / SAMPLES / name if name else shared_data / SAMPLES) as tree:
        assert detect(tree).name == "telegram"


@pytest.mark.realdata
@pytest.mark.parametrize(
    "other",
    [
        "discord/komodo",
        "formats/chat-analytics-samples/tests/samples/discord",
        "formats/chat-analytics-samples/tests/samples/discord/SV_5A_5M.json",
        "slack/olake/export",
        "slack/viewer-test/testarchive.zip",
        "discourse/urho3d/topics",
        "stackexchange/conlang",
        "mail/r-package-devel",
    ],
)
def test_sniff_rejects_other_platforms(shared_data: Path, other: str) -> None:
    path = shared_data / other
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with SourceTree(path) as tree:
        assert TelegramConnector.sniff(tree) is False


# -- the synthetic exports ------------------------------------------------------------------------


def test_synthetic_chat_threads_events_media_and_reactions(store: Store) -> None:
    report = imp(store, CHAT.parent)
    assert report.source_name == "1200000001"
    rows = {r[0]: r[1:] for r in store.con.execute("SELECT native_id, id, conversation_id, reply_to_id, text, meta FROM messages").fetchall()}
    root = rows["1200000001:4"][0]
    assert rows["1200000001:4"][3] == "Welcome! Read the https://example.org/rules and say hi to @olafern."
    assert rows["1200000001:5"][1:4] == (root, root, "Hi Juno, I brought solder!")
    assert rows["1200000001:6"][1:3] == (root, rows["1200000001:5"][0])  # reply to a reply: the first message's thread
    assert rows["1200000001:7"][1:3] == (rows["1200000001:7"][0], None)  # reply to a service message: its own root
    outside = rows["1200000001:8"][1]
    assert scalar(store, "SELECT meta->>'inferred' FROM conversations WHERE id = ?", outside) == "true"
    assert rows["1200000001:10"][3] == "[photo]"
    assert rows["1200000001:11"][3] == "[sticker 🔧]"
    assert json.loads(rows["1200000001:12"][4]) == {"forwarded_from": "Maker News", "local_time": True}
    assert json.loads(rows["1200000001:5"][4])["edited_at"] == "2024-04-01T10:07:00+00:00"
    events = dict(store.con.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())
    assert events == {"create_group": 1, "invite_members": 1, "join_group_by_link": 1, "pin_message": 1}
    assert scalar(store, "SELECT meta->>'message_id' FROM events WHERE kind = 'pin_message'") == root
    reactions = store.con.execute("SELECT kind, identity_id IS NULL, count, reacted_at FROM reactions ORDER BY kind, identity_id NULLS LAST").fetchall()
    assert [(k, anonymous, n) for k, anonymous, n, _ in reactions] == [("5431", True, 1), ("👍", False, 1), ("👍", False, 1), ("👍", True, 1)]
    assert reactions[1][3] is not None
    # No reply links on 10, 11, 12: 10 and 11 come minutes after their own authors' last
    # messages (6 and 7), so they continue those; 12 comes over an hour after anything, beyond
    # the threader's window, so it starts a conversation. Roots 4, 7, 12 and one inferred.
    assert rows["1200000001:10"][1:3] == (root, rows["1200000001:6"][0])
    assert rows["1200000001:11"][1:3] == (rows["1200000001:7"][0], rows["1200000001:7"][0])
    assert rows["1200000001:12"][1:3] == (rows["1200000001:12"][0], None)
    assert all(json.loads(rows[f"1200000001:{n}"][4])["reply_inferred"] is True for n in (10, 11))
    assert scalar(store, "SELECT count(*) FROM conversations") == 3 + 1
    assert dict(store.con.execute("SELECT native_id, display_name FROM identities").fetchall()) == {
        "user5001": "Juno Reed",
        "user5002": "Ola Fern",
        "user5003": "Pim Vale",
    }


def test_full_export_keys_on_the_account_and_skips_private_chats(store: Store) -> None:
    report = imp(store, FULL)
    assert report.source_name == "5001"
    assert report.skipped[PRIVATE_SKIP] == 2  # the personal chat and the left private group
    assert scalar(store, "SELECT string_agg(name, ',') FROM spaces") == "Riverside Announcements"
    assert scalar(store, "SELECT count(*) FROM messages") == 2
    with Store.open(store.path.parent / "all.duckdb") as everything:
        imp(everything, FULL, include_private=True)
        assert dict(everything.con.execute("SELECT kind, count(*) FROM spaces GROUP BY kind").fetchall()) == {"dm": 1, "channel": 1, "group": 1}
        assert scalar(everything, "SELECT count(*) FROM messages") == 5


def test_zip_and_folder_agree_and_detect(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(CHAT, "ChatExport_2024-04-02/result.json")
    with Store.open(tmp_path / "a.duckdb") as first, Store.open(tmp_path / "b.duckdb") as second:
        assert imp(first, archive).source_id == imp(second, CHAT).source_id
        assert first.table_counts() == second.table_counts()
    with SourceTree(archive) as tree:
        assert detect(tree).name == "telegram"
    with SourceTree(FULL) as tree:
        assert detect(tree).name == "telegram"


def test_a_folder_of_two_exports_reads_both_and_reports_each_file() -> None:
    seen: list[str] = []
    with SourceTree(DATA) as tree:
        records = list(TelegramConnector().read(tree, ReadContext(source_id="t", on_file=seen.append)))
    assert seen == ["chat/result.json", "full/result.json"]
    assert sum(isinstance(r, Message) for r in records) == 8 + 2  # the public chats of each


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (CHAT.read_bytes()[:700], r"result\.json: malformed JSON at line \d+, column \d+"),
        (b"", "result.json: the file is empty"),
        (b'{"name": "x", "type": "public_channel", "id": 1}', "not a Telegram Desktop JSON export"),
    ],
)
def test_broken_files_are_one_clear_error_and_change_nothing(store: Store, tmp_path: Path, content: bytes, expected: str) -> None:
    imp(store, CHAT)
    before = store.table_counts()
    target = tmp_path / "result.json"
    target.write_bytes(content)
    with pytest.raises(InputError, match=expected) as raised:
        imp(store, target)
    assert "\n" not in str(raised.value)
    assert store.table_counts() == before


def test_one_malformed_message_is_skipped_and_counted(store: Store, tmp_path: Path) -> None:
    chat = json.loads(CHAT.read_text(encoding="utf-8"))
    chat["messages"][4]["date_unixtime"] = "soon"
    chat["messages"].append({"type": "message"})
    target = tmp_path / "result.json"
    target.write_text(json.dumps(chat), encoding="utf-8")
    report = imp(store, target)
    assert report.skipped[("message", "malformed message: date_unixtime 'soon' is not a Unix time")] == 1
    assert report.skipped_examples[("message", "malformed message: date_unixtime 'soon' is not a Unix time")].endswith("id=5")
    assert report.skipped[("message", "malformed message: not an object with an id")] == 1
    assert scalar(store, "SELECT count(*) FROM messages") == 8 - 1


# -- mapping --------------------------------------------------------------------------------------


def test_small_mappings() -> None:
    assert flatten_text(["a ", {"type": "bold", "text": "b"}, {"type": "link", "text": "https://x"}, 7]) == "a bhttps://x"
    assert flatten_text(None) == ""
    assert parse_time({"date": "2024-01-01T10:00:00", "date_unixtime": "1704103200"}) == (datetime(2024, 1, 1, 10, tzinfo=UTC), True)
    assert parse_time({"date": "2024-01-01T10:00:00"}) == (datetime(2024, 1, 1, 10, tzinfo=UTC), False)
    assert parse_time({"date": "2017-01-01T06:20:09.248Z"})[1] is True
    with pytest.raises(ItemError, match="date is missing"):
        parse_time({})
    assert [is_private({"type": t}) for t in ("public_supergroup", "public_channel", "private_group", "personal_chat", "something_new")] == [
        False,
        False,
        True,
        True,
        True,
    ]
    assert placeholder(media_meta({"media_type": "voice_message", "file": "x", "duration_seconds": 3})) == "[voice_message]"
    assert placeholder(media_meta({"file": "x", "file_name": "plan.pdf", "mime_type": "application/pdf"})) == "[file: plan.pdf]"
    assert placeholder(media_meta({"poll": {"question": "Pizza?"}})) == "[poll: Pizza?]"
    assert placeholder(media_meta({})) == ""


_PART = st.text(max_size=8) | st.builds(lambda t, k: {"type": k, "text": t}, st.text(max_size=8), st.sampled_from(["bold", "link", "mention", "code"]))


@settings(max_examples=100)
@given(st.lists(_PART, max_size=10))
def test_flattened_text_is_the_parts_in_order(parts: list[Any]) -> None:
    assert flatten_text(parts) == "".join(p if isinstance(p, str) else p["text"] for p in parts)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(1, 40)), min_size=1, max_size=30), st.sets(st.integers(1, 30), max_size=5))
def test_every_message_lands_in_a_conversation_rooted_at_a_root(replies: list[int | None], services: set[int]) -> None:
    messages = [
        {"id": i, "type": "service", "action": "pin_message", "date_unixtime": str(1700000000 + i)}
        if i in services
        else {"id": i, "type": "message", "date_unixtime": str(1700000000 + i), "from": "A", "from_id": "user1", "text": f"m{i}"}
        | ({"reply_to_message_id": r} if r is not None else {})
        for i, r in enumerate(replies, start=1)
    ]
    with TemporaryChat({"name": "c", "type": "public_supergroup", "id": 9, "messages": messages}) as path, SourceTree(path) as tree:
        records = list(TelegramConnector().read(tree, ReadContext(source_id="t")))
    said = [r for r in records if isinstance(r, Message)]
    roots = {r.id for r in records if isinstance(r, Conversation)}
    assert len(said) == len(replies) - len(services & set(range(1, len(replies) + 1)))
    assert sum(isinstance(r, Event) for r in records) == len(replies) - len(said)
    assert not any(isinstance(r, Skipped) for r in records)
    ids = {m.id for m in said}
    for message in said:
        # Each conversation is a root emitted here, or a message outside the export (inferred later).
        assert message.conversation_id in roots or message.conversation_id not in ids
        assert (message.reply_to_id is None) == (message.conversation_id == message.id)


class TemporaryChat:
    """A chat written to a temporary result.json (hypothesis forbids function-scoped fixtures)."""

    def __init__(self, chat: dict[str, Any]) -> None:
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        self.path = Path(self._dir.name) / "result.json"
        self.path.write_text(json.dumps(chat), encoding="utf-8")

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *_exc: object) -> None:
        self._dir.cleanup()

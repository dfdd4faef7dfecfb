"""The Zulip connector (organisation export and saved API pages), checked against facts counted
independently of it: the tests re-read the fixture JSON with their own logic (recipient types,
invite_only, topic names folded to lower case) rather than trusting the connector's."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.registry import registered_connectors
from villagegreen.connectors.tree import SourceTree
from villagegreen.connectors.zulip import ZulipConnector
from villagegreen.connectors.zulip import mapping as m
from villagegreen.connectors.zulip.export import ExportSource
from villagegreen.connectors.zulip.pages import PagesSource
from villagegreen.connectors.zulip.reader import PRIVATE_SKIP, UNKNOWN_PRIVACY_SKIP
from villagegreen.errors import InputError, ItemError
from villagegreen.model import Message, Skipped, make_id
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.report import ImportReport

DATA = Path(__file__).resolve().parent.parent / "data" / "zulip"
EXPORT = DATA / "export" / "zulip-export-riverside"
PAGES = DATA / "pages"
REALM = json.loads((EXPORT / "realm.json").read_text(encoding="utf-8"))
ROWS = [row for name in ("messages-000001.json", "messages-000002.json") for row in json.loads((EXPORT / name).read_text(encoding="utf-8"))["zerver_message"]]


def imp(store: Store, path: Path, **options: Any) -> ImportReport:
    return import_path(store, path, connector_class=ZulipConnector, **options)


def scalar(store: Store, sql: str, *params: object) -> Any:
    return store.con.execute(sql, list(params)).fetchone()[0]  # type: ignore[index]


def without_runs(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k != "import_runs"}


# -- independent facts about the export fixture ------------------------------------------------

RECIPIENTS = {r["id"]: r for r in REALM["zerver_recipient"]}
STREAMS = {s["id"]: s for s in REALM["zerver_stream"]}
BOTS = {u["id"] for u in REALM["zerver_userprofile"] if u["is_bot"]} | {u["id"] for u in REALM["zerver_userprofile_crossrealm"]}


def is_public(row: dict[str, Any]) -> bool:
    recipient = RECIPIENTS[row["recipient"]]
    return recipient["type"] == 2 and not STREAMS[recipient["type_id"]]["invite_only"]


def place(row: dict[str, Any]) -> tuple[object, ...]:
    """Where a message sits, as a person would say it: a channel, or the set of people in a DM."""
    recipient = RECIPIENTS[row["recipient"]]
    if recipient["type"] == 2:
        return ("channel", recipient["type_id"])
    if recipient["type"] == 1:
        return ("dm", frozenset({row["sender"], recipient["type_id"]}))
    return ("dm", frozenset(s["user_profile"] for s in REALM["zerver_subscription"] if s["recipient"] == row["recipient"]))


def thread(row: dict[str, Any]) -> tuple[object, ...]:
    topic = row["subject"].lower() if RECIPIENTS[row["recipient"]]["type"] == 2 else ""
    return (*place(row), topic)


def expected(rows: list[dict[str, Any]]) -> dict[str, int]:
    ids = {r["id"] for r in rows}
    reactions = {(r["message"], r["user_profile"], r["emoji_code"]) for r in REALM["zerver_reaction"] if r["message"] in ids}
    people = {r["sender"] for r in rows} | {user for _message, user, _code in reactions}
    return {
        "messages": len(rows),
        "conversations": len({thread(r) for r in rows}),
        "spaces": len({place(r) for r in rows}),
        "reactions": len(reactions),
        "identities": len(people),
        "raw_items": len(rows) + len({place(r) for r in rows}),
    }


# -- the organisation export -------------------------------------------------------------------


def test_export_imports_public_channels_with_independent_counts(store: Store) -> None:
    public = [r for r in ROWS if is_public(r)]
    report = imp(store, EXPORT.parent)
    assert report.connector == "zulip"
    assert report.source_name == REALM["zerver_realm"][0]["string_id"]
    counts = without_runs(store.table_counts())
    for table, count in expected(public).items():
        assert counts[table] == count, table
    private_places = {place(r) for r in ROWS if not is_public(r)}
    assert report.skipped[("space", PRIVATE_SKIP)] == len(private_places) == 3  # staff, one DM pair, one group
    assert scalar(store, "SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL") == len(public) - len({thread(r) for r in public})
    first = public[0]
    assert scalar(store, "SELECT sent_at FROM messages WHERE native_id = ?", str(first["id"])) == datetime.fromtimestamp(int(first["date_sent"]), tz=UTC)
    assert scalar(store, "SELECT count(*) FROM spaces WHERE private") == 0


def test_private_channels_and_direct_messages_import_when_included(store: Store) -> None:
    report = imp(store, EXPORT, include_private=True)
    assert not report.skipped
    counts = without_runs(store.table_counts())
    for table, count in expected(ROWS).items():
        assert counts[table] == count, table
    kinds = dict(store.con.execute("SELECT kind, count(*) FROM spaces WHERE private GROUP BY kind").fetchall())
    assert kinds == {"channel": 1, "dm": 1, "group_dm": 1}
    # The two directions of one 1:1 conversation (recipients 111 and 110) are one space.
    dm_rows = [r for r in ROWS if RECIPIENTS[r["recipient"]]["type"] == 1]
    assert len({r["recipient"] for r in dm_rows}) == 2
    assert scalar(store, "SELECT count(DISTINCT space_id) FROM messages WHERE native_id IN (?, ?)", *(str(r["id"]) for r in dm_rows)) == 1
    assert scalar(store, "SELECT name FROM spaces WHERE kind = 'group_dm'") == "Juno Reed, Ola Fern, Pim Vale"


def test_a_topic_is_one_conversation_rooted_at_its_first_message(store: Store) -> None:
    imp(store, EXPORT)
    topic = [r for r in ROWS if r["subject"] == "✔ logo colours"]
    root = make_id(scalar(store, "SELECT id FROM sources"), "message", str(min(r["id"] for r in topic)))
    rows = store.con.execute("SELECT native_id, id, conversation_id, reply_to_id, kind FROM messages WHERE meta->>'topic' = '✔ logo colours'").fetchall()
    assert len(rows) == len(topic) == 3
    for native_id, message_id, conversation_id, reply_to_id, _kind in rows:
        assert conversation_id == root
        assert reply_to_id == (None if message_id == root else root), native_id
    assert {kind for *_, kind in rows} == {"message", "resolve_notice"}
    title, meta = store.con.execute("SELECT title, meta FROM conversations WHERE id = ?", [root]).fetchone()  # type: ignore[misc]
    assert title == "logo colours" and json.loads(meta) == {"topic": "✔ logo colours", "resolved": True}
    # "welcome" and "Welcome" are one topic (Zulip matches topic names case-insensitively).
    assert scalar(store, "SELECT count(DISTINCT conversation_id) FROM messages WHERE lower(meta->>'topic') = 'welcome'") == 1
    assert scalar(store, "SELECT title FROM conversations WHERE meta->>'topic' = ''") == m.EMPTY_TOPIC_NAME


def test_text_reactions_bots_and_edits(store: Store) -> None:
    imp(store, EXPORT)
    text = dict(store.con.execute("SELECT native_id, text FROM messages").fetchall())
    assert text["1001"] == "Welcome to Riverside! Say hi here."
    assert text["1006"] == "Pim Vale said:\n\nMoss green, like the river bank."  # the quote is kept apart
    assert text["1009"] == 'Build passed:\n\n```\nprint("ok")\n```'
    assert text["1011"] == "Meetup at the *boathouse* on Saturday"  # no rendered_content: the Markdown
    assert text["1012"] == "https://example.org/palette"  # the link embed is dropped
    meta = json.loads(scalar(store, "SELECT meta FROM messages WHERE native_id = '1006'"))
    assert meta["quoted_text"] == "> Which green should the logo use?" and meta["moved"] is True
    assert meta["edited_at"] == "2024-06-01T11:30:00+00:00"
    reactions = sorted(store.con.execute("SELECT r.kind, m.native_id FROM reactions r JOIN messages m ON m.id = r.message_id").fetchall())
    assert reactions == [("riverside", "1002"), ("❤", "1006"), ("👍", "1002"), ("👍", "1002")]
    bots = {int(n) for (n,) in store.con.execute("SELECT native_id FROM identities WHERE is_bot").fetchall()}
    authors = {r["sender"] for r in ROWS if is_public(r)}
    assert bots == BOTS & authors == {1, 13}
    assert scalar(store, "SELECT display_name FROM identities WHERE native_id = '1'") == "Notification Bot"


def test_reimport_adds_nothing(store: Store) -> None:
    first = imp(store, EXPORT, include_private=True)
    assert first.kind("messages").new == len(ROWS)
    before = store.table_counts()
    again = imp(store, EXPORT, include_private=True)
    assert again.rows_added == 0
    assert sum(c.updated for c in again.counts.values()) == 0
    assert without_runs(store.table_counts()) == without_runs(before)


def test_zip_and_folder_agree_and_files_are_reported_once(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in EXPORT.iterdir():
            zipped.write(path, f"zulip-export-riverside/{path.name}")
    with Store.open(tmp_path / "a.duckdb") as first, Store.open(tmp_path / "b.duckdb") as second:
        seen: list[str] = []
        assert imp(first, archive, on_file=seen.append).source_id == imp(second, EXPORT).source_id
        assert first.table_counts() == second.table_counts()
    assert seen == ["zulip-export-riverside/messages-000001.json", "zulip-export-riverside/messages-000002.json"]


# -- saved API pages ---------------------------------------------------------------------------

PAGE_MESSAGES = {
    msg["id"]: msg for name in ("messages-oldest.json", "messages-newest.json") for msg in json.loads((PAGES / name).read_text(encoding="utf-8"))["messages"]
}


def test_pages_import_deduplicates_the_overlapping_anchor(store: Store) -> None:
    streams = {s["stream_id"]: s for s in json.loads((PAGES / "streams.json").read_text(encoding="utf-8"))["streams"]}
    public = [msg for msg in PAGE_MESSAGES.values() if msg["type"] == "stream" and not streams[msg["stream_id"]]["invite_only"]]
    report = imp(store, PAGES)
    assert report.source_name == "riverside"
    assert scalar(store, "SELECT count(*) FROM messages") == len(public) == 8
    topics = {(msg["stream_id"], msg["subject"].lower()) for msg in public}
    assert scalar(store, "SELECT count(*) FROM conversations") == len(topics)
    assert scalar(store, "SELECT count(*) FROM reactions") == sum(len(msg["reactions"]) for msg in public)
    assert report.skipped[("space", PRIVATE_SKIP)] == 3
    users = {u["user_id"]: u for u in json.loads((PAGES / "users.json").read_text(encoding="utf-8"))["members"]}
    bots = {int(n) for (n,) in store.con.execute("SELECT native_id FROM identities WHERE is_bot").fetchall()}
    assert bots == {u for u, row in users.items() if row["is_bot"]} | {msg["sender_id"] for msg in public if msg["sender_realm_str"] == "zulipinternal"}


def test_pages_without_streams_json_treat_channels_as_private(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in ("messages-oldest.json", "messages-newest.json"):
        shutil.copy(PAGES / name, folder / name)
    report = imp(store, folder)
    assert report.skipped[("space", UNKNOWN_PRIVACY_SKIP)] == len({msg["stream_id"] for msg in PAGE_MESSAGES.values() if msg["type"] == "stream"})
    assert scalar(store, "SELECT count(*) FROM messages") == 0
    with Store.open(tmp_path / "all.duckdb") as everything:
        imp(everything, folder, include_private=True)
        assert scalar(everything, "SELECT count(*) FROM messages") == len(PAGE_MESSAGES)
        assert scalar(everything, "SELECT count(*) FROM spaces WHERE meta->>'privacy_unknown' = 'true' AND private") == 3


def test_export_and_pages_of_one_realm_give_the_same_rows(tmp_path: Path) -> None:
    columns = "id, conversation_id, reply_to_id, space_id, author_id, sent_at, text, meta"
    with Store.open(tmp_path / "export.duckdb") as exported, Store.open(tmp_path / "pages.duckdb") as paged:
        imp(exported, EXPORT, include_private=True)
        imp(paged, PAGES, include_private=True)
        # 1011 has no rendered_content in the export (its Markdown is used); the API renders it.
        query = f"SELECT {columns} FROM messages WHERE native_id <> '1011' ORDER BY id"
        assert exported.con.execute(query).fetchall() == paged.con.execute(query).fetchall()
        for sql in (
            "SELECT id, name, kind, private, meta FROM spaces ORDER BY id",
            "SELECT * FROM conversations ORDER BY id",
            "SELECT * FROM reactions ORDER BY id",
            "SELECT id, display_name, email, is_bot, meta FROM identities ORDER BY id",
        ):
            assert exported.con.execute(sql).fetchall() == paged.con.execute(sql).fetchall(), sql


# -- bad input ---------------------------------------------------------------------------------


def test_one_malformed_message_is_skipped_and_counted(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    document = json.loads((folder / "messages-000001.json").read_text(encoding="utf-8"))
    document["zerver_message"][0]["date_sent"] = "soon"
    document["zerver_message"].append({"id": 1999, "recipient": 101})
    (folder / "messages-000001.json").write_text(json.dumps(document), encoding="utf-8")
    report = imp(store, folder)
    assert report.skipped[("message", "malformed message: date_sent 'soon' is not a Unix time")] == 1
    assert report.skipped_examples[("message", "malformed message: date_sent 'soon' is not a Unix time")].endswith("#0 id=1001")
    assert report.skipped[("message", "malformed message: id 'None' is not a positive integer")] == 1
    assert scalar(store, "SELECT count(*) FROM messages") == sum(is_public(r) for r in ROWS) - 1


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("realm.json", (EXPORT / "realm.json").read_bytes()[:900], r"realm\.json: malformed JSON at line \d+, column \d+"),
        ("realm.json", b'{"zerver_realm": [], "zerver_stream": []}', "not a Zulip export"),
        ("messages-000002.json", b"", "messages-000002.json: the file is empty"),
        ("messages-000002.json", b'{"zerver_usermessage": []}', "no zerver_message table"),
    ],
)
def test_a_broken_export_is_one_clear_error_and_changes_nothing(store: Store, tmp_path: Path, name: str, content: bytes, error: str) -> None:
    imp(store, EXPORT)
    before = store.table_counts()
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    (folder / name).write_bytes(content)
    with pytest.raises(InputError, match=error) as raised:
        imp(store, folder)
    assert "\n" not in str(raised.value)
    assert store.table_counts() == before


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ((PAGES / "messages-oldest.json").read_bytes()[:700], r"malformed JSON at line \d+"),
        (b"\x00\xff{[not json" * 50, "malformed JSON"),
        ('{"messages": [é]}'.encode("latin-1"), "not UTF-8"),
        (b'{"result": "error", "msg": "Invalid API key", "code": "BAD_REQUEST"}', "a saved error response"),
        (b"[1, 2, 3]", "not a JSON object"),
    ],
)
def test_garbled_pages_are_one_clear_error(store: Store, tmp_path: Path, content: bytes, error: str) -> None:
    target = tmp_path / "page.json"
    target.write_bytes(content)
    with pytest.raises(InputError, match=error) as raised:
        imp(store, target)
    assert "\n" not in str(raised.value)
    assert without_runs(store.table_counts()).get("messages", 0) == 0


# -- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [EXPORT, EXPORT.parent, PAGES, PAGES / "messages-oldest.json"])
def test_sniff_claims_both_formats(path: Path) -> None:
    with SourceTree(path) as tree:
        assert ZulipConnector.sniff(tree) is True
        others = {name for name, cls in registered_connectors().items() if name != "zulip" and cls.sniff(tree)}
        assert others == set()


@pytest.mark.parametrize("path", [PAGES / "streams.json", PAGES / "users.json", DATA.parent / "telegram" / "chat" / "result.json", DATA.parent / "telegram"])
def test_sniff_rejects_companions_and_other_fixtures(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with SourceTree(path) as tree:
        assert ZulipConnector.sniff(tree) is False


@pytest.mark.realdata
@pytest.mark.parametrize(
    "other",
    [
        "slack/olake/export",
        "slack/viewer-test/testarchive.zip",
        "slack/haskell-jp",
        "discourse/urho3d/topics",
        "stackexchange/conlang",
        "mail/r-package-devel",
        "discord/komodo",
        "formats/chat-analytics-samples/tests/samples/discord",
        "formats/chat-analytics-samples/tests/samples/telegram",
        "formats/chat-analytics-samples/tests/samples/messenger",
        "formats/chat-analytics-samples/tests/samples/whatsapp/4A_11M.zip",
    ],
)
def test_sniff_rejects_other_platforms(shared_data: Path, other: str) -> None:
    path = shared_data / other
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with SourceTree(path) as tree:
        assert ZulipConnector.sniff(tree) is False


# -- mapping -----------------------------------------------------------------------------------


def test_small_mappings() -> None:
    def reaction(kind: str, code: str, name: str = "x") -> m.ReactionInfo:
        return m.ReactionInfo(1, name, code, kind)

    assert m.emoji_kind(reaction("unicode_emoji", "1f44d")) == "👍"
    assert m.emoji_kind(reaction("unicode_emoji", "1f1fa-1f1f8")) == "🇺🇸"
    assert m.emoji_kind(reaction("unicode_emoji", "zz", "odd")) == "odd"
    assert m.emoji_kind(reaction("realm_emoji", "3", "riverside")) == "riverside"
    assert m.conversation_title("✔ lunch") == ("lunch", True)
    assert m.conversation_title("") == ("general chat", False)
    assert m.dm_key([12, 3, 12]) == "dm:3,12"
    assert m.was_moved([{"prev_stream": 2, "stream": 3}]) and not m.was_moved([{"prev_content": "a"}]) and not m.was_moved(None)
    assert m.mentioned_user_ids('<span class="user-mention silent" data-user-id="7">x</span><span class="user-mention" data-user-id="*">@all</span>') == [7]
    assert m.epoch(1717236000.9, "t") == datetime(2024, 6, 1, 10, 0, 0, 900000, tzinfo=UTC)
    for bad in ("soon", None, True, float("nan"), 1e20):
        with pytest.raises(ItemError):
            m.epoch(bad, "t")
    for bad_id in (0, -1, "12", None, True):
        with pytest.raises(ItemError):
            m.message_id(bad_id)


def test_old_exports_with_pub_date_and_reactions_in_message_files(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    realm = dict(REALM)
    reactions = realm.pop("zerver_reaction")
    (folder / "realm.json").write_text(json.dumps(realm), encoding="utf-8")
    for name in ("messages-000001.json", "messages-000002.json"):
        document = json.loads((folder / name).read_text(encoding="utf-8"))
        for row in document["zerver_message"]:
            row["pub_date"] = row.pop("date_sent")
        ids = {row["id"] for row in document["zerver_message"]}
        document["zerver_reaction"] = [r for r in reactions if r["message"] in ids]
        (folder / name).write_text(json.dumps(document), encoding="utf-8")
    with Store.open(tmp_path / "old.duckdb") as old, Store.open(tmp_path / "new.duckdb") as new:
        imp(old, folder, include_private=True)
        imp(new, EXPORT, include_private=True)
        for table in ("messages", "reactions"):
            query = f"SELECT * FROM {table} ORDER BY id"
            assert old.con.execute(query).fetchall() == new.con.execute(query).fetchall()


_TEXT = st.text(max_size=30)
_HTML = st.lists(st.sampled_from(["<p>", "</p>", "<blockquote>", "</blockquote>", "<code>", "<br>", "&amp;", "<a href='x'>", "</a>"]) | _TEXT, max_size=8).map(
    "".join
)
_REACTION = st.fixed_dictionaries(
    {"user_id": st.integers(1, 50), "emoji_code": st.text(max_size=12), "emoji_name": _TEXT},
    optional={"reaction_type": st.sampled_from(["unicode_emoji", "realm_emoji", "zulip_extra_emoji", "new_kind"])},
)


def _addressed(msg: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The message sent privately, or to a channel derived from its id."""
    return st.sampled_from([{**msg, "type": "private"}, {**msg, "type": "stream", "stream_id": 1 + int(msg["id"]) % 9}])


_MESSAGE = st.fixed_dictionaries(
    {
        "id": st.integers(1, 2**31 - 1),
        "sender_id": st.integers(1, 2**31 - 1),
        "timestamp": st.integers(0, 4_000_000_000),
        "content": _HTML,
    },
    optional={
        "subject": _TEXT,
        "reactions": st.lists(_REACTION, max_size=4),
        "content_type": st.sampled_from(["text/html", "text/x-markdown"]),
        "last_edit_timestamp": st.integers(0, 4_000_000_000) | st.none() | _TEXT,
        "edit_history": st.lists(st.dictionaries(st.sampled_from(["prev_topic", "prev_stream", "topic"]), _TEXT), max_size=2) | _TEXT,
        "display_recipient": st.lists(st.fixed_dictionaries({"id": st.integers(1, 50), "full_name": _TEXT}), max_size=3),
        "extra": st.dictionaries(_TEXT, _TEXT, max_size=2),
    },
).flatmap(_addressed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_MESSAGE)
def test_any_message_with_the_required_keys_maps_with_stable_ids(message: dict[str, Any]) -> None:
    with SourceTree(PAGES) as tree:
        source = PagesSource(tree)
        context = ReadContext(source_id="src")
        post = source.post(message)
        root = post.id if message["id"] % 2 else post.id + 1
        first = m.message_record(context, post, root_id=root)
        again = m.message_record(context, source.post(message), root_id=root)
    assert first == again
    assert first.id == make_id("src", "message", str(message["id"]))
    assert first.author_id == make_id("src", "identity", str(message["sender_id"]))
    assert (first.reply_to_id is None) == (root == post.id)
    assert isinstance(first.text, str) and first.sent_at.tzinfo is UTC
    reactions = m.reaction_records(context, post)
    assert len({r.id for r in reactions}) == len(reactions) <= len(message.get("reactions", []))
    assert all(r.message_id == first.id for r in reactions)
    assert isinstance(m.conversation_record(first, post).title, str | None)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.sampled_from(["a", "A", "b", "✔ c"])), min_size=1, max_size=25))
def test_every_export_message_lands_in_its_topic_rooted_at_the_earliest(layout: list[tuple[int, str]]) -> None:
    rows: list[dict[str, Any]] = [
        {"id": 5000 - i, "sender": 10, "recipient": 100 + stream, "subject": topic, "rendered_content": f"<p>m{i}</p>", "date_sent": 1.7e9 + i}
        for i, (stream, topic) in enumerate(layout)
    ]
    realm = {
        "zerver_realm": [{"id": 1, "string_id": "r"}],
        "zerver_userprofile": [{"id": 10, "full_name": "A", "is_bot": False}],
        "zerver_stream": [{"id": s, "name": f"s{s}", "invite_only": False} for s in (1, 2, 3)],
        "zerver_recipient": [{"id": 100 + s, "type": 2, "type_id": s} for s in (1, 2, 3)],
    }
    with TemporaryExport(realm, rows) as path, SourceTree(path) as tree:
        records = list(ZulipConnector().read(tree, ReadContext(source_id="t")))
    said = [r for r in records if isinstance(r, Message)]
    assert not any(isinstance(r, Skipped) for r in records)
    assert len(said) == len(rows)
    earliest: dict[tuple[int, str], int] = {}
    for row in rows:
        key = (row["recipient"], row["subject"].lower())
        earliest[key] = min(earliest.get(key, row["id"]), row["id"])
    for row, message in zip(sorted(rows, key=lambda r: r["id"]), sorted(said, key=lambda r: int(r.native_id)), strict=True):
        assert message.conversation_id == make_id("t", "message", str(earliest[(row["recipient"], row["subject"].lower())]))


class TemporaryExport:
    """An export folder in a temporary directory (hypothesis forbids function-scoped fixtures)."""

    def __init__(self, realm: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        self.path = Path(self._dir.name)
        (self.path / "realm.json").write_text(json.dumps(realm), encoding="utf-8")
        (self.path / "messages-000001.json").write_text(json.dumps({"zerver_message": rows}), encoding="utf-8")

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *_exc: object) -> None:
        self._dir.cleanup()


def test_export_source_exposes_the_realm_key() -> None:
    with SourceTree(EXPORT) as tree:
        assert ExportSource(tree, "").key == "riverside"

"""The Mattermost connector (bulk export and saved API v4 responses), checked against facts counted independently of it."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.mattermost import MattermostConnector
from villagegreen.connectors.mattermost import mapping as m
from villagegreen.connectors.mattermost.api import PRIVATE_REASON as API_PRIVATE
from villagegreen.connectors.mattermost.api import UNDESCRIBED_REASON, looks_like_page
from villagegreen.connectors.mattermost.bulk import PRIVATE_POST_REASON, PRIVATE_REASON, looks_like_bulk
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError, ItemError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.store.report import ImportReport

DATA = Path(__file__).resolve().parent.parent / "data" / "mattermost"
BULK = DATA / "bulk" / "import.jsonl"
API = DATA / "api"
PERCEVAL = "formats/perceval-fixtures/tests/data/mattermost"


def imp(store: Store, path: Path, **options: Any) -> ImportReport:
    return import_path(store, path, connector_class=MattermostConnector, **options)


def scalar(store: Store, sql: str, *params: object) -> Any:
    return store.con.execute(sql, list(params)).fetchone()[0]  # type: ignore[index]


def without_runs(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k != "import_runs"}


def bulk_lines(path: Path = BULK) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bulk_facts(include_private: bool) -> dict[str, int]:
    """Counted from the fixture with plain json, not the connector."""
    lines = bulk_lines()
    public = {f"{c['channel']['team']}/{c['channel']['name']}" for c in lines if c["type"] == "channel" and c["channel"]["type"] == "O"}
    posts = [line["post"] for line in lines if line["type"] == "post" and (include_private or f"{line['post']['team']}/{line['post']['channel']}" in public)]
    if include_private:
        posts += [line["direct_post"] for line in lines if line["type"] == "direct_post"]
    system = [p for p in posts if str(p.get("type") or "").startswith("system_")]
    replies = [r for p in posts for r in p.get("replies", [])]
    return {
        "events": len(system),
        "messages": len(posts) - len(system) + len(replies),
        # Roots: posts that are not system posts, plus replies hanging under a system post.
        "conversations": len(posts) - len(system) + sum(len(p.get("replies", [])) for p in system),
        "reactions": sum(len(x.get("reactions", [])) for p in posts for x in [p, *p.get("replies", [])]),
    }


# -- mapping ------------------------------------------------------------------------------------


def test_times_are_milliseconds_in_utc() -> None:
    assert m.parse_ms(1709290800000) == datetime(2024, 3, 1, 11, 0, tzinfo=UTC)
    assert m.optional_ms(0) is None and m.optional_ms(None) is None
    for bad in (0, -5, "1709290800000", None, True):
        with pytest.raises(ItemError):
            m.parse_ms(bad)


def test_channel_types_and_system_posts() -> None:
    assert [m.is_private_type(t) for t in ("O", "P", "D", "G", None, "X")] == [False, True, True, True, True, True]
    assert (m.space_kind("D"), m.space_kind("G"), m.space_kind("P")) == ("dm", "group_dm", "channel")
    assert m.event_kind("system_join_channel") == "join"
    assert m.event_kind("system_ephemeral_thing") == "ephemeral_thing"
    assert m.event_kind("") is None and m.event_kind(None) is None and m.event_kind("custom_poll") is None


def test_deleted_post_is_a_tombstone_without_its_words() -> None:
    context = ReadContext(source_id="s")
    post = {"create_at": 1709290800000, "delete_at": 1709290900000, "message": "oops", "props": {}}
    message = m.message_for(context, post, native_id="p", root_native="p", space_id="x", author="u")
    assert (message.kind, message.text, message.reply_to_id) == ("tombstone", "", None)
    assert message.meta["deleted_at"] == "2024-03-01T11:01:40+00:00"


def test_empty_integration_post_takes_its_attachment_fallback() -> None:
    post = {"message": "", "props": {"attachments": [{"fallback": "Build 7 failed"}, {"text": "details"}]}}
    assert m.post_text(post) == ("Build 7 failed\ndetails", True)
    assert m.post_text({"message": "plain"}) == ("plain", False)


def test_sniff_heads() -> None:
    assert looks_like_bulk(b'{"type":"version","version":1}\n{"type":"team"')
    assert not looks_like_bulk(b'{"type":"version","version":"1"}\n')
    assert not looks_like_bulk(b'[{"type":"message","version":1}]')
    assert looks_like_page(b'{\n  "order": [\n    "59io5i1f5bbetxtj6mbm67fouw"')
    assert looks_like_page(b'{"order": [], "posts": {}}')
    assert not looks_like_page(b'{"order": ["first", "second"]}')
    assert not looks_like_page(b'{"orders": []}')


# -- bulk export ------------------------------------------------------------------------------


def test_bulk_export_threads_reactions_and_events(store: Store) -> None:
    report = imp(store, BULK.parent)
    facts = bulk_facts(include_private=False)
    assert report.connector == "mattermost" and report.source_name == "makers"
    for table in ("messages", "events", "conversations", "reactions"):
        assert report.kind(table).new == facts[table], table
    welcome = scalar(store, "SELECT id FROM messages WHERE text LIKE 'Welcome to the guild%'")
    replies = store.con.execute("SELECT text, reply_to_id, conversation_id FROM messages WHERE reply_to_id IS NOT NULL ORDER BY sent_at").fetchall()
    assert [r[0] for r in replies[:2]] == ["Hi, I fix radios.", "Hello! Bringing my soldering iron."]
    assert {r[1] for r in replies[:2]} == {r[2] for r in replies[:2]} == {welcome}
    # A reply under a system post (pat's join) is a root of its own, pointing at the event.
    glad = store.con.execute("SELECT id, conversation_id, reply_to_id, meta->>'reply_to_event' FROM messages WHERE text = 'Glad to be here.'").fetchone()
    assert glad is not None and glad[1] == glad[0] and glad[2] is None and glad[3] == scalar(store, "SELECT id FROM events")
    assert scalar(store, "SELECT kind FROM events") == "join"
    # Two posts by one person in one millisecond stay two messages.
    assert scalar(store, "SELECT count(DISTINCT native_id) FROM messages WHERE text LIKE '% of two at once'") == 2
    assert scalar(store, "SELECT meta->'files'->0->>'name' FROM messages WHERE text LIKE 'Which flux%'") == "tin.jpg"
    assert scalar(store, "SELECT display_name FROM identities WHERE native_id = 'juno'") == "Juno Quill"
    assert scalar(store, "SELECT display_name FROM identities WHERE native_id = 'olaf'") == "Olly"
    assert scalar(store, "SELECT sent_at FROM messages WHERE id = ?", welcome) == datetime(2024, 3, 1, 11, 0, tzinfo=UTC)


def test_bulk_private_channels_and_direct_messages_stay_out_by_default(store: Store) -> None:
    report = imp(store, BULK)
    lines = bulk_lines()
    private_channels = sum(1 for c in lines if c["type"] == "channel" and c["channel"]["type"] != "O")
    direct_channels = sum(1 for c in lines if c["type"] == "direct_channel")
    assert report.skipped[("space", PRIVATE_REASON)] == private_channels + direct_channels
    assert report.skipped[("message", PRIVATE_POST_REASON)] == sum(1 for c in lines if c["type"] == "direct_post") + 1
    assert scalar(store, "SELECT count(*) FROM spaces WHERE private") == 0
    assert scalar(store, "SELECT count(*) FROM messages WHERE text ILIKE '%secret%'") == 0
    assert scalar(store, "SELECT count(*) FROM raw_items WHERE payload ILIKE '%secret%'") == 0


def test_bulk_include_private_adds_them(store: Store) -> None:
    report = imp(store, BULK, include_private=True)
    facts = bulk_facts(include_private=True)
    assert report.kind("messages").new == facts["messages"]
    kinds = dict(store.con.execute("SELECT kind, count(*) FROM spaces WHERE private GROUP BY kind").fetchall())
    assert kinds == {"channel": 1, "dm": 1, "group_dm": 1}
    assert scalar(store, "SELECT name FROM spaces WHERE kind = 'dm'") == "DM: juno, olaf"


def test_bulk_reimport_adds_nothing(store: Store) -> None:
    imp(store, BULK, include_private=True)
    before = store.table_counts()
    again = imp(store, BULK, include_private=True)
    assert again.rows_added == 0
    assert sum(c.updated for c in again.counts.values()) == 0
    assert without_runs(store.table_counts()) == without_runs(before)


def test_mmctl_zip_is_read_like_the_file(store: Store, tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(BULK, "import.jsonl")
        zipped.writestr("data/olaf/tin.jpg", b"\xff\xd8not really a jpeg")
    with SourceTree(archive) as tree:
        assert MattermostConnector.sniff(tree)
    report = imp(store, archive)
    assert report.source_name == "makers"
    assert report.kind("messages").new == bulk_facts(include_private=False)["messages"]


def test_truncated_line_is_skipped_and_counted(store: Store, tmp_path: Path) -> None:
    text = BULK.read_text(encoding="utf-8")
    broken = tmp_path / "import.jsonl"
    # Cut the last line in half: a download that stopped early.
    broken.write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1], encoding="utf-8")
    report = imp(store, broken)
    assert report.skipped[("line", "malformed JSON line (truncated or corrupt)")] == 1
    assert report.kind("messages").new == bulk_facts(include_private=False)["messages"]


@pytest.mark.parametrize("content", [b"", b"\n\n", b'{"type":"team","team":{"name":"x"}}\n', b"\x00\xff garbage"])
def test_empty_or_garbled_bulk_file_is_an_input_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "import.jsonl"
    path.write_bytes(content)
    with SourceTree(path) as tree, pytest.raises(InputError) as caught:
        list(MattermostConnector().read(tree, ReadContext(source_id="s")))
    assert "\n" not in str(caught.value)


# -- saved API responses ------------------------------------------------------------------------


def api_posts() -> dict[str, dict[str, Any]]:
    """Every post of the fixture's pages, deduplicated by id with plain json."""
    posts: dict[str, dict[str, Any]] = {}
    for page in API.glob("posts_*.json"):
        for post_id, post in json.loads(page.read_text())["posts"].items():
            if post_id not in posts or post["update_at"] >= posts[post_id]["update_at"]:
                posts[post_id] = post
    return posts


def test_api_folder_threads_deleted_and_system_posts(store: Store) -> None:
    report = imp(store, API)
    channels = {c["id"]: c for c in (json.loads(p.read_text()) for p in API.glob("channel_*.json"))}
    public = [p for p in api_posts().values() if channels[p["channel_id"]]["type"] == "O"]
    system = [p for p in public if p["type"].startswith("system_")]
    assert report.source_name == next(iter(channels.values()))["team_id"]
    assert report.kind("messages").new == len(public) - len(system)
    assert report.kind("events").new == len(system)
    assert report.skipped[("space", API_PRIVATE)] == sum(1 for c in channels.values() if c["type"] != "O")
    assert report.skipped[("file", "a saved API error (403), not data")] == 1
    by_native = {r[0]: r[1:] for r in store.con.execute("SELECT native_id, id, conversation_id, reply_to_id, text, kind FROM messages").fetchall()}
    reply = next(p for p in public if p["root_id"] and p["root_id"] in by_native)
    assert by_native[reply["id"]][1:3] == (by_native[reply["root_id"]][0],) * 2
    assert by_native[reply["id"]][3] == api_posts()[reply["id"]]["message"]  # the later copy of an overlapping page wins
    deleted = [p["id"] for p in public if p["delete_at"]]
    assert [by_native[d][3:] for d in deleted] == [("", "tombstone")] * len(deleted)
    orphan = next(p for p in public if p["root_id"] and p["root_id"] not in api_posts())
    assert scalar(store, "SELECT meta->>'inferred' FROM conversations WHERE id = ?", by_native[orphan["id"]][1]) == "true"
    assert scalar(store, "SELECT text FROM messages WHERE meta->>'text_from' = 'attachments'") == "Build 42 passed"
    assert scalar(store, "SELECT count(*) FROM messages WHERE text LIKE '%secret%'") == 0


def test_api_reimport_adds_nothing(store: Store) -> None:
    imp(store, API, include_private=True)
    before = store.table_counts()
    again = imp(store, API, include_private=True)
    assert again.rows_added == 0 and sum(c.updated for c in again.counts.values()) == 0
    assert without_runs(store.table_counts()) == without_runs(before)


def test_api_garbage_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "posts.json"
    path.write_text('{"order": ["59io5i1f5bbetxtj6mbm67fouw"], "posts": {"59io')
    with SourceTree(path) as tree:
        assert MattermostConnector.sniff(tree)  # the head looks right; the body is cut
        with pytest.raises(InputError, match="no Mattermost API posts page"):
            list(MattermostConnector().read(tree, ReadContext(source_id="s")))


# -- real recorded API responses (perceval's test data, read in place) ------------------------


@pytest.mark.realdata
def test_perceval_recorded_responses(shared_data: Path, store: Store) -> None:
    folder = shared_data / PERCEVAL
    pages = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    posts = {pid: post for page in pages if "order" in page for pid, post in page["posts"].items()}
    assert len(posts) == sum(len(page["order"]) for page in pages if "order" in page)  # pages do not overlap
    system = {pid for pid, p in posts.items() if p["type"].startswith("system_")}
    replies = {pid for pid, p in posts.items() if p["root_id"] and pid not in system}
    authors = {p["user_id"] for p in posts.values()}
    users = {u["id"] for u in pages if "username" in u}

    with SourceTree(folder) as tree:
        assert MattermostConnector.sniff(tree)
    # No saved channel response describes the posts' channel, so by default nothing is imported.
    default = imp(store, folder)
    assert default.skipped[("space", UNDESCRIBED_REASON)] == len({p["channel_id"] for p in posts.values()})
    assert without_runs(store.table_counts()).get("messages", 0) == 0

    report = imp(store, folder, include_private=True)
    assert report.kind("messages").new == len(posts) - len(system)
    assert report.kind("events").new == len(system)
    assert scalar(store, "SELECT count(*) FROM messages WHERE reply_to_id IS NOT NULL") == len(replies)
    assert scalar(store, "SELECT count(*) FROM conversations") == len(posts) - len(system) - len(replies)
    assert scalar(store, "SELECT count(*) FROM identities") == len(authors | users)
    assert scalar(store, "SELECT count(*) FROM identities WHERE handle IS NOT NULL") == len(users)
    assert dict(store.con.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall()) == {"join_team": len(system)}
    assert report.skipped[("file", "a saved API error (403), not data")] == 1
    first = min(posts.values(), key=lambda p: p["create_at"])
    expected = datetime.fromtimestamp(first["create_at"] / 1000, tz=UTC)
    assert scalar(store, "SELECT occurred_at FROM events WHERE id IN (SELECT id FROM events) ORDER BY occurred_at LIMIT 1") == expected
    again = imp(store, folder, include_private=True)
    assert again.rows_added == 0


@pytest.mark.realdata
@pytest.mark.parametrize(
    "other",
    [
        "slack/olake/export",
        "slack/viewer-test/testarchive.zip",
        "slack/haskell-jp",
        "discord/komodo",
        "discourse/urho3d/topics",
        "stackexchange/conlang",
        "mail/r-package-devel",
        "formats/chat-analytics-samples/tests/samples/discord",
        "formats/chat-analytics-samples/tests/samples/telegram",
        "formats/chat-analytics-samples/tests/samples/messenger",
    ],
)
def test_sniff_rejects_other_platforms(shared_data: Path, other: str) -> None:
    path = shared_data / other
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with SourceTree(path) as tree:
        assert MattermostConnector.sniff(tree) is False


def test_garbage_is_neither_sniffed_nor_read(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\xff{[not json" * 50)
    with SourceTree(garbage) as tree:
        assert not MattermostConnector.sniff(tree)
        with pytest.raises(InputError, match="not a Mattermost bulk export"):
            list(MattermostConnector().read(tree, ReadContext(source_id="s")))

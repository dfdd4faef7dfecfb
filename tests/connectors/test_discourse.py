"""Discourse topic JSON: mapping, HTML to text, detection, bad input, and the whole real archive."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_DATA
from villagegreen.connectors.base import ReadContext
from villagegreen.connectors.discourse.connector import DiscourseConnector
from villagegreen.connectors.discourse.mapping import identity_native_id, parse_time, post_problem, post_reactions
from villagegreen.connectors.registry import detect
from villagegreen.connectors.tree import SourceTree
from villagegreen.errors import InputError
from villagegreen.model import Conversation, Identity, Message, RawItem, Reaction, Space
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

FORUM = TEST_DATA / "discourse" / "forum" / "topics"
REAL = ("discourse", "urho3d", "topics")


def read_all(path: Path) -> list[Any]:
    with SourceTree(path) as tree:
        return list(DiscourseConnector().read(tree, ReadContext(source_id="test")))


def by_type(records: list[Any], cls: type) -> list[Any]:
    return [r for r in records if isinstance(r, cls)]


def copy_forum(tmp_path: Path) -> Path:
    target = tmp_path / "forum" / "topics"
    shutil.copytree(FORUM, target)
    return target


# --- mapping ------------------------------------------------------------------------------


def test_timestamps_are_utc() -> None:
    assert parse_time("2014-08-12T03:20:44.000Z").utcoffset() is not None
    assert parse_time("2014-08-12T05:20:44+02:00") == parse_time("2014-08-12T03:20:44Z")
    assert parse_time("2014-08-12T03:20:44").tzinfo is not None


def test_post_problems_and_reactions() -> None:
    assert post_problem({"id": 1, "post_number": 1, "username": "u", "created_at": "2020-01-01T00:00:00Z", "cooked": ""}) is None
    assert post_problem({"post_number": 1, "username": "u", "created_at": "2020-01-01T00:00:00Z"}) is not None
    assert post_problem({"id": 1, "post_number": 1, "username": "u", "created_at": "yesterday"}) is not None
    assert post_problem("not a post") is not None
    # An author-less post (a deleted account) is kept, with no author.
    assert post_problem({"id": 2, "post_number": 2, "username": None, "created_at": "2020-01-01T00:00:00Z"}) is None
    assert identity_native_id({"username": None}) is None and identity_native_id({"user_id": 5, "username": "u"}) == "5"
    post = {"id": 7, "actions_summary": [{"id": 2, "count": 4}, {"id": 3, "count": 1}], "reactions": [{"id": "tada", "count": 2}]}
    found = post_reactions(ReadContext(source_id="s"), post, "m7")
    assert [(r.kind, r.count, r.identity_id) for r in found] == [("like", 4, None), ("tada", 2, None)]


def test_synthetic_forum_maps_threads_answers_likes_and_reads() -> None:
    records = read_all(FORUM)
    messages = {m.native_id: m for m in by_type(records, Message)}
    assert len(messages) == 7
    root, answer, after_deleted, action = messages["100"], messages["101"], messages["103"], messages["104"]
    assert root.reply_to_id is None and root.conversation_id == root.id
    assert answer.reply_to_id == root.id and answer.kind == "answer" and answer.meta["accepted_answer"] is True
    assert answer.text == "Install the toolchain first, see the docs :smile:"
    assert answer.meta["quoted_text"] == "> How do I build the sample on Linux?"
    # Post 3 was deleted: its reply hangs off the root and says so.
    assert after_deleted.reply_to_id == root.id and after_deleted.meta["reply_to_missing"] is True
    assert action.kind == "small_action" and action.meta["action_code"] == "closed.enabled"
    assert root.meta["reads"] == 40 and root.meta["readers_count"] == 39
    assert messages["112"].reply_to_id == messages["111"].id
    assert {m.sent_at.utcoffset() for m in messages.values()} == {parse_time("2020-01-01T00:00:00Z").utcoffset()}

    conversations = {c.title: c for c in by_type(records, Conversation)}
    welcome = conversations["Welcome & first steps"]
    assert welcome.id == root.id
    assert welcome.meta["views"] == 321 and welcome.meta["accepted_answer_post_number"] == 2
    assert welcome.meta["tags"] == ["build", "linux"] and welcome.meta["posts_in_export"] == 4

    likes = {r.message_id: r.count for r in by_type(records, Reaction)}
    assert likes == {root.id: 2, answer.id: 5, messages["110"].id: 9, messages["112"].id: 1}
    spaces = {s.native_id: s for s in by_type(records, Space)}
    assert {k: (s.name, s.kind) for k, s in spaces.items()} == {"3": ("Support", "category"), "5": ("Showcase", "category")}
    identities = {i.handle: i for i in by_type(records, Identity)}
    assert identities["bo"].native_id == "12" and identities["bo"].meta["moderator"] is True
    assert identities["system"].is_bot
    raw_kinds = Counter(r.kind for r in by_type(records, RawItem))
    assert raw_kinds == {"post": 7, "topic": 2}
    assert all('"post_stream"' not in r.payload for r in by_type(records, RawItem) if r.kind == "topic")


def test_source_key_from_avatar_host_or_folder(tmp_path: Path) -> None:
    with SourceTree(FORUM) as tree:
        assert DiscourseConnector().source_key(tree) == "forum.example.org"
    topics = tmp_path / "mycommunity" / "topics"
    topics.mkdir(parents=True)
    payload = json.loads((FORUM / "a-showcase-thread.11.json").read_text())
    for post in payload["post_stream"]["posts"]:
        post["avatar_template"] = "https://avatars.discourse-cdn.com/v4/letter/x/aaaaaa/{size}.png"
    (topics / "a-showcase-thread.11.json").write_text(json.dumps(payload))
    with SourceTree(topics) as tree:
        assert DiscourseConnector().source_key(tree) == "mycommunity"


# --- detection and bad input --------------------------------------------------------------


def test_sniff_accepts_folders_zips_and_single_files(tmp_path: Path) -> None:
    archive = tmp_path / "forum.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in FORUM.iterdir():
            zf.write(path, f"topics/{path.name}")
    for path in (FORUM, archive, FORUM / "a-showcase-thread.11.json"):
        with SourceTree(path) as tree:
            assert DiscourseConnector.sniff(tree), path
    assert len(by_type(read_all(archive), Message)) == 7
    (tmp_path / "notes.json").write_text('{"hello": 1}')
    with SourceTree(tmp_path / "notes.json") as tree:
        assert not DiscourseConnector.sniff(tree)


def test_truncated_topic_is_fatal_names_the_file_and_leaves_the_store_unchanged(store: Store, tmp_path: Path) -> None:
    folder = copy_forum(tmp_path)
    import_path(store, folder)
    before = store.table_counts()
    broken = folder / "welcome-and-first-steps.10.json"
    broken.write_bytes(broken.read_bytes()[:700])
    (folder / "zz-new-topic.12.json").write_text((FORUM / "a-showcase-thread.11.json").read_text().replace('"id": 11', '"id": 12'))
    with pytest.raises(InputError) as caught:
        import_path(store, folder)
    message = str(caught.value)
    assert "welcome-and-first-steps.10.json" in message and "truncated" in message and "\n" not in message
    assert store.table_counts() == before


def test_one_malformed_post_is_skipped_and_counted(store: Store, tmp_path: Path) -> None:
    folder = copy_forum(tmp_path)
    path = folder / "a-showcase-thread.11.json"
    payload = json.loads(path.read_text())
    del payload["post_stream"]["posts"][1]["id"]
    path.write_text(json.dumps(payload))
    report = import_path(store, folder)
    assert sum(report.skipped.values()) == 1
    ((kind, reason),) = report.skipped
    assert kind == "message" and "id" in reason
    assert store.table_counts()["messages"] == 6
    # The reply to the skipped post falls back to the root instead of pointing nowhere.
    ((dangling,),) = store.con.execute(
        "SELECT count(*) FROM messages m LEFT JOIN messages p ON m.reply_to_id = p.id WHERE m.reply_to_id IS NOT NULL AND p.id IS NULL"
    ).fetchall()
    assert dangling == 0


# --- the real archive ---------------------------------------------------------------------


def independent_facts(folder: Path) -> dict[str, Any]:
    """Counted straight from the files, without the connector's code."""
    posts = declared = accepted = likes = missing_parent = 0
    usernames: set[str] = set()
    short_streams = 0
    for path in folder.glob("*.json"):
        topic = json.loads(path.read_bytes())
        stream = topic["post_stream"]["posts"]
        posts += len(stream)
        declared += topic["posts_count"]
        short_streams += len(stream) < topic["posts_count"]
        numbers = {p["post_number"] for p in stream}
        for post in stream:
            usernames.add(post["username"])
            accepted += bool(post.get("accepted_answer"))
            likes += sum(a.get("count", 0) for a in post.get("actions_summary", []) if a.get("id") == 2)
            missing_parent += post.get("reply_to_post_number") is not None and post["reply_to_post_number"] not in numbers
    return {
        "topics": len(list(folder.glob("*.json"))),
        "posts": posts,
        "declared": declared,
        "short_streams": short_streams,
        "accepted": accepted,
        "likes": likes,
        "users": len(usernames),
        "missing_parent": missing_parent,
    }


@pytest.mark.realdata
@pytest.mark.slow
def test_real_archive_imports_with_correct_counts_and_threads(store: Store, shared_data: Path) -> None:
    folder = shared_data.joinpath(*REAL)
    facts = independent_facts(folder)
    # This dump pages through every topic: the stream holds every post the topic declares.
    # Dumps that do not hold fewer; the connector imports the stream and records the difference.
    assert facts["short_streams"] == 0 and facts["posts"] == facts["declared"]
    assert facts["accepted"] == 377

    report = import_path(store, folder)
    counts = store.table_counts()
    assert report.source_name == "discourse.urho3d.io"
    assert counts["messages"] == facts["posts"]
    assert counts["conversations"] == facts["topics"]
    assert counts["identities"] == facts["users"]
    assert counts["raw_items"] == facts["posts"] + facts["topics"]
    assert not report.skipped
    q = store.con.execute
    ((accepted,),) = q("SELECT count(*) FROM messages WHERE json_extract(meta, '$.accepted_answer')::BOOLEAN").fetchall()
    assert accepted == facts["accepted"] == 377
    ((likes,),) = q("SELECT coalesce(sum(count), 0) FROM reactions WHERE kind = 'like'").fetchall()
    assert likes == facts["likes"]
    ((roots, self_rooted),) = q("SELECT count(*), count(*) FILTER (WHERE id = conversation_id) FROM messages WHERE reply_to_id IS NULL").fetchall()
    assert roots == self_rooted == facts["topics"]
    # Every reply link resolves to a message in the same topic, and to the post it names.
    ((unresolved, cross_topic, wrong_parent),) = q(
        """
        SELECT count(*) FILTER (WHERE p.id IS NULL), count(*) FILTER (WHERE p.conversation_id <> m.conversation_id),
               count(*) FILTER (WHERE json_extract(m.meta, '$.reply_to_post_number') IS NOT NULL
                                AND json_extract(m.meta, '$.reply_to_missing') IS NULL
                                AND json_extract(m.meta, '$.reply_to_post_number')::INT <> json_extract(p.meta, '$.post_number')::INT)
        FROM messages m LEFT JOIN messages p ON p.id = m.reply_to_id WHERE m.reply_to_id IS NOT NULL
        """
    ).fetchall()
    assert (unresolved, cross_topic, wrong_parent) == (0, 0, 0)
    ((missing,),) = q("SELECT count(*) FROM messages WHERE json_extract(meta, '$.reply_to_missing')::BOOLEAN").fetchall()
    assert missing == facts["missing_parent"]

    again = import_path(store, folder)
    assert again.rows_added == 0
    assert again.counts["messages"].unchanged == facts["posts"]
    after = store.table_counts()
    assert {k: v for k, v in after.items() if k != "import_runs"} == {k: v for k, v in counts.items() if k != "import_runs"}


@pytest.mark.realdata
def test_detection_on_real_data(shared_data: Path) -> None:
    with SourceTree(shared_data.joinpath(*REAL)) as tree:
        assert DiscourseConnector.sniff(tree)
        assert detect(tree) is DiscourseConnector
    for other in ("slack/olake", "stackexchange/conlang", "mail/r-package-devel", "discord/komodo"):
        with SourceTree(shared_data / other) as tree:
            assert not DiscourseConnector.sniff(tree), other


def test_no_real_names_in_fixtures() -> None:
    # Fixtures are hand-written; keep them obviously synthetic.
    text = "".join(p.read_text() for p in FORUM.iterdir())
    assert re.findall(r'"username": "(\w+)"', text) and set(re.findall(r'"username": "(\w+)"', text)) <= {"ada", "bo", "cy", "system"}

"""Ripeness and stories on the real Urho3D Discourse, checked against the topic JSON files:
who posted (user ids, post types) and which post Discourse marks as the accepted answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from villagegreen.analyses.lifecycle_report import ripeness
from villagegreen.analyses.lifecycle_threads import iter_threads
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.stories.draft import build_story

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def urho3d(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, dict[str, Any]]]]:
    topics_dir = shared_data / "discourse" / "urho3d" / "topics"
    topics = {}
    for path in sorted(topics_dir.glob("*.json")):
        topic = json.loads(path.read_text())
        if "post_stream" in topic:
            topics[topic["title"]] = topic
    with Store.open(tmp_path_factory.mktemp("urho3d") / "store.duckdb") as store:
        import_path(store, topics_dir)
        yield store, topics


def member_users(topic: dict[str, Any]) -> set[int]:
    # Regular posts (type 1) by real accounts: Discourse's system and bot users have ids <= 0.
    return {p["user_id"] for p in topic["post_stream"]["posts"] if p.get("post_type", 1) == 1 and p.get("user_id", 0) > 0}


def test_nudge_and_accepted_answers_agree_with_the_topic_files(urho3d: tuple[Store, dict[str, dict[str, Any]]]) -> None:
    store, topics = urho3d
    report = ripeness(store)
    checked = nudged = accepted = 0
    for r in report.threads:
        topic = topics.get(r.title)
        if topic is None or sum(1 for t in topics.values() if t["title"] == r.title) > 1:
            continue
        has_accepted = any(p.get("accepted_answer") for p in topic["post_stream"]["posts"])
        if r.state == "nudge":
            nudged += 1
            assert len(member_users(topic)) == 1, r.title  # nobody but the asker wrote
        if has_accepted:
            accepted += 1
            assert r.signal("accepted_answer") is True, r.title
            assert r.state != "nudge"
        checked += 1
    assert checked > 3000 and nudged > 100 and accepted > 100


def test_every_story_citation_is_in_its_conversation_and_speakers_match(urho3d: tuple[Store, dict[str, dict[str, Any]]]) -> None:
    store, _ = urho3d
    stories = 0
    for thread in iter_threads(store):
        if len(thread.messages) < 3:
            continue
        story = build_story(thread, set())
        authors = {m.id: m.author for m in thread.messages}
        for statement in story.statements():
            assert statement.citations and all(c.message_id in authors for c in statement.citations)
            if statement.speaker is not None:
                assert authors[statement.citations[0].message_id] == statement.speaker
            assert all(c.permalink and c.permalink.startswith("https://discourse.urho3d.io/t/") for c in statement.citations)
        stories += 1
    assert stories > 1000

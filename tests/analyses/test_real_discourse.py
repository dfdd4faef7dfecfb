"""Health and activity on the real Urho3D Discourse, checked against the platform's own figures.

Every expectation is recomputed here straight from the topic JSON files (post types, user ids,
``views``, ``participant_count``, like counts), not from Village Green's mapping.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from villagegreen.analyses.results import latest_run, metric_values
from villagegreen.analyses.runner import run_analyses
from villagegreen.config import Config
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def urho3d(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[dict[str, Any]]]]:
    topics_dir = shared_data / "discourse" / "urho3d" / "topics"
    topics = [json.loads(path.read_text()) for path in sorted(topics_dir.glob("*.json"))]
    with Store.open(tmp_path_factory.mktemp("urho3d") / "store.duckdb") as store:
        import_path(store, topics_dir)
        run_analyses(store, Config(), names=["activity", "health"])
        yield store, topics


def member_posts(topic: dict[str, Any]) -> list[dict[str, Any]]:
    # Regular posts (type 1) by real accounts: Discourse's system and bot users have ids <= 0.
    return [p for p in topic["post_stream"]["posts"] if p.get("post_type", 1) == 1 and p.get("user_id", 0) > 0]


def opened_by_member(topic: dict[str, Any]) -> bool:
    first = topic["post_stream"]["posts"][0]
    return bool(first.get("post_type", 1) == 1 and first.get("user_id", 0) > 0)


def community(store: Store, analysis: str) -> dict[str, float | None]:
    run = latest_run(store, analysis, "all")
    assert run is not None
    return {metric: by_period[None] for metric, by_period in metric_values(store, run, "community", "community")["community"].items()}


def test_message_and_conversation_counts_match_the_topic_files(urho3d: tuple[Store, list[dict[str, Any]]]) -> None:
    store, topics = urho3d
    activity, health = community(store, "activity"), community(store, "health")
    assert activity["messages"] == sum(len(member_posts(t)) for t in topics)
    assert health["messages"] == activity["messages"]
    assert health["conversations"] == sum(1 for t in topics if opened_by_member(t))


def test_solo_threads_match_discourse_participant_count(urho3d: tuple[Store, list[dict[str, Any]]]) -> None:
    store, topics = urho3d
    opened = [t for t in topics if opened_by_member(t)]
    discourse_solo = sum(1 for t in opened if t["participant_count"] == 1) / len(opened)
    assert community(store, "health")["solo_thread_rate"] == pytest.approx(discourse_solo, abs=0.005)


def test_views_per_conversation_match_topic_views(urho3d: tuple[Store, list[dict[str, Any]]]) -> None:
    store, topics = urho3d
    expected = statistics.mean(t["views"] for t in topics if opened_by_member(t))
    assert community(store, "health")["views_per_conversation"] == pytest.approx(expected, rel=1e-9)


def test_likes_received_match_the_like_counts(urho3d: tuple[Store, list[dict[str, Any]]]) -> None:
    store, topics = urho3d
    likes = sum(a.get("count", 0) for t in topics for p in member_posts(t) for a in p.get("actions_summary", []) if a.get("id") == 2)
    ((other_reactions,),) = store.con.execute("SELECT coalesce(sum(count), 0) FROM reactions WHERE kind <> 'like'").fetchall()
    assert community(store, "activity")["reactions_received"] == likes + other_reactions


def test_replies_received_match_discourse_reply_links(urho3d: tuple[Store, list[dict[str, Any]]]) -> None:
    store, topics = urho3d
    # A reply to someone else: reply_to_post_number points at another member's post in the topic
    # (Discourse's default target is the opening post when reply_to_post_number is empty).
    expected = 0
    for topic in topics:
        posts = member_posts(topic)
        by_number = {p["post_number"]: p["user_id"] for p in posts}
        opener = by_number.get(1)
        for post in posts[1:] if posts and posts[0]["post_number"] == 1 else posts:
            target = by_number.get(post.get("reply_to_post_number") or 1, opener)
            if target is not None and target != post["user_id"]:
                expected += 1
    assert community(store, "activity")["replies_received"] == pytest.approx(expected, rel=0.01)

"""Emergent topics: recovered themes, keyphrases, trends, storage; and Stack Exchange tags as truth."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.analyses.test_topics_community import THEMES, community  # noqa: F401 - fixture
from villagegreen.analyses.embeddings import StaticEmbedder
from villagegreen.analyses.framework import Window
from villagegreen.analyses.topics import TopicsReport, find_topics
from villagegreen.analyses.topics_clustering import candidate_ks, keyphrases, trend_slope
from villagegreen.store import Store
from villagegreen.store.ingest import import_path


@pytest.fixture(scope="module")
def topics(community: tuple[Store, dict[str, str]]) -> TopicsReport:  # noqa: F811
    store, _ = community
    return find_topics(store, StaticEmbedder(), Window("month"), k=3)


def test_three_planted_themes_come_back_as_three_pure_topics(topics: TopicsReport, community: tuple[Store, dict[str, str]]) -> None:  # noqa: F811
    _, theme_of = community
    by_topic: dict[int, Counter[str]] = {}
    for conversation_id, topic_id in topics.assignment.items():
        by_topic.setdefault(topic_id, Counter())[theme_of[conversation_id]] += 1
    purity = sum(c.most_common(1)[0][1] for c in by_topic.values()) / len(theme_of)
    assert len(topics.assignment) == 36
    assert purity >= 0.9
    assert {c.most_common(1)[0][0] for c in by_topic.values()} == set(THEMES)


def test_keyphrases_name_each_theme_with_its_own_words(topics: TopicsReport, community: tuple[Store, dict[str, str]]) -> None:  # noqa: F811
    vocabulary = {theme: " ".join(phrases).lower() for theme, phrases in THEMES.items()}
    for topic in topics.topics:
        own = [theme for theme, words in vocabulary.items() if any(w in words for w in " ".join(topic.keyphrases).split())]
        assert len(own) >= 1, topic.keyphrases


def test_trends_follow_the_planted_monthly_counts(topics: TopicsReport, community: tuple[Store, dict[str, str]]) -> None:  # noqa: F811
    _, theme_of = community
    trend_of_theme = {}
    for topic in topics.topics:
        members = [cid for cid, t in topics.assignment.items() if t == topic.id]
        trend_of_theme[Counter(theme_of[c] for c in members).most_common(1)[0][0]] = topic.trend
    assert trend_of_theme["gardening"] == "rising"
    assert trend_of_theme["football"] == "fading"
    assert trend_of_theme["baking"] == "steady"


def test_a_run_is_stored_and_a_rerun_replaces_it(topics: TopicsReport, community: tuple[Store, dict[str, str]]) -> None:  # noqa: F811
    store, _ = community
    ((assigned,),) = store.con.execute("SELECT count(*) FROM conversation_topics WHERE run_id = ?", [topics.run_id]).fetchall()
    assert assigned == 36
    again = find_topics(store, StaticEmbedder(), Window("month"), k=3)
    assert again.run_id == topics.run_id
    ((runs,),) = store.con.execute("SELECT count(*) FROM analysis_runs WHERE analysis = 'topics'").fetchall()
    assert runs == 1
    shares = store.con.execute(
        "SELECT period_start, sum(value) FROM analysis_results WHERE run_id = ? AND metric = 'conversation_share' GROUP BY 1", [topics.run_id]
    ).fetchall()
    assert len(shares) == 6 and all(abs(total - 1.0) < 1e-9 for _, total in shares)


def test_the_since_window_keeps_only_later_conversations(community: tuple[Store, dict[str, str]]) -> None:  # noqa: F811
    store, _ = community
    from datetime import UTC, datetime

    report = find_topics(store, StaticEmbedder(), Window("month", datetime(2024, 4, 1, tzinfo=UTC), None), save=False)
    # Months 4-6 hold 6 + 3 + 9 conversations by construction (MONTHLY in the community module).
    assert report.conversations == 18


def test_slope_and_k_range() -> None:
    assert trend_slope([0.1, 0.2, 0.3]) == pytest.approx(0.1)
    assert trend_slope([0.5, 0.5]) is None
    assert candidate_ks(612) == list(range(8, 18))
    assert all(2 <= k < 10 for k in candidate_ks(10))


def test_keyphrases_ignore_formulas_and_markup() -> None:
    texts = ["the $\\langle \\psi | \\phi \\rangle$ overlap of qubits"] * 3 + ["compost and soil for tomatoes"] * 3
    phrases = keyphrases(texts, np.array([0, 0, 0, 1, 1, 1]))
    assert not any("langle" in p or "rangle" in p for p in phrases[0])
    assert "compost" in " ".join(phrases[1])


# --- real data: Stack Exchange tags as independent ground truth --------------------------------


@pytest.fixture(scope="module")
def quantum(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, list[str]]]]:
    folder = shared_data / "stackexchange" / "quantumcomputing"
    # Tags straight from Posts.xml, keyed by question title: independent of the connector's mapping.
    tags_by_title: dict[str, list[str]] = {}
    for row in ET.parse(folder / "Posts.xml").getroot():
        if row.get("PostTypeId") == "1" and row.get("Tags"):
            tags = [t for t in row.get("Tags", "").replace("<", "|").replace(">", "|").split("|") if t]
            tags_by_title.setdefault(row.get("Title", ""), tags)
    with Store.open(tmp_path_factory.mktemp("qc") / "store.duckdb") as store:
        import_path(store, folder)
        yield store, tags_by_title


@pytest.mark.realdata
def test_topics_agree_with_stack_exchange_tags_far_better_than_chance(quantum: tuple[Store, dict[str, list[str]]]) -> None:
    from sklearn.metrics import normalized_mutual_info_score

    store, tags_by_title = quantum
    report = find_topics(store, StaticEmbedder(), Window("month"), save=False)
    titles = dict(store.con.execute("SELECT id, title FROM conversations").fetchall())
    pairs = [(tags_by_title[titles[cid]][0], topic) for cid, topic in report.assignment.items() if titles.get(cid) in tags_by_title]
    assert len(pairs) >= 550  # 612 questions in the dump
    first_tags, labels = zip(*pairs, strict=True)
    observed = normalized_mutual_info_score(first_tags, labels)
    rng = np.random.default_rng(0)
    chance = [normalized_mutual_info_score(first_tags, rng.permutation(labels)) for _ in range(20)]
    print(f"NMI with first tag: {observed:.3f}; random assignment of the same sizes: {np.mean(chance):.3f} ± {np.std(chance):.3f}")
    assert observed > max(chance) + 0.04
    assert observed > 1.4 * float(np.mean(chance))
    assert len(report.topics) >= 3 and all(topic.keyphrases for topic in report.topics)
    assert json.dumps(report.to_dict())

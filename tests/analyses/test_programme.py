"""The programme file, goals against the invented community, key-message uptake, and SE tags as goals."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.analyses.test_topics_community import CHALLENGE, STORY, community  # noqa: F401 - fixture
from villagegreen.analyses.embeddings import StaticEmbedder
from villagegreen.analyses.framework import Window
from villagegreen.analyses.programme import Goal, load_programme, parse_programme
from villagegreen.analyses.programme_mapping import score_matrix
from villagegreen.analyses.programme_report import ProgrammeReport, build_programme_report
from villagegreen.analyses.programme_uptake import uptake_kind
from villagegreen.analyses.topics_corpus import load_corpus
from villagegreen.errors import InputError
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

REPO = Path(__file__).resolve().parents[2]
PROGRAMME = """
name: Home skills
goals:
  - name: Bread baking
    description: Baking bread at home, sourdough, yeast and ovens.
    keywords: [sourdough, yeast, oven]
  - name: Gardening
    description: Growing vegetables, soil and compost.
    keywords: [compost, soil, seedlings]
  - name: Tax returns
    description: Filing income tax returns and deductions for the self-employed.
    keywords: [tax return, deduction, invoice]
key_messages:
  - id: feed-starter
    text: Feed the sourdough starter the night before baking.
    source: Bread 101
  - text: File quarterly income tax estimates before the deadline.
"""


def test_the_example_programme_parses() -> None:
    programme = load_programme(REPO / "examples" / "programme.yaml")
    assert len(programme.goals) == 4 and len(programme.key_messages) == 3
    assert all(goal.keywords for goal in programme.goals)


def test_markdown_front_matter_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "programme.md"
    path.write_text("---\nskills: [Listening]\nkey_messages: ['Ask before telling.']\n---\n# Notes for people\n")
    programme = load_programme(path)
    assert programme.goals == (Goal("Listening"),)
    assert programme.key_messages[0].id == "km-1" and programme.key_messages[0].text == "Ask before telling."


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("goals: [", "not valid YAML"),
        ("- a list", "mapping"),
        ("goals: []\nkey_messages: []", "no goals and no key messages"),
        ("goals:\n  - description: no name", "'name' is missing"),
        ("goals: [A, A]", "appears twice"),
        ("goals:\n  - name: A\n    keywords: {a: 1}", "keywords"),
    ],
)
def test_bad_programmes_are_one_clear_line(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=re.escape(fragment)) as raised:
        parse_programme(text, "p.yaml")
    assert "\n" not in str(raised.value)


def test_markdown_without_front_matter_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.md"
    path.write_text("# just notes\n")
    with pytest.raises(InputError, match="front matter"):
        load_programme(path)
    with pytest.raises(InputError, match="no programme file"):
        load_programme(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "kind"),
    [(STORY, "story"), (CHALLENGE, "challenge"), ("How often should I feed it?", "question"), ("Starters need feeding.", "mention")],
)
def test_uptake_kinds(text: str, kind: str) -> None:
    assert uptake_kind(text) == kind


@pytest.fixture(scope="module")
def report(community: tuple[Store, dict[str, str]]) -> ProgrammeReport:  # noqa: F811
    store, _ = community
    return build_programme_report(store, StaticEmbedder(), parse_programme(PROGRAMME), Window("month"))


def test_conversations_map_to_the_goal_of_their_theme(report: ProgrammeReport, community: tuple[Store, dict[str, str]]) -> None:  # noqa: F811
    _, theme_of = community
    goal_theme = {"Bread baking": "baking", "Gardening": "gardening"}
    for goal in report.goals:
        for match in goal.matches:
            assert theme_of[match.conversation_id] == goal_theme[goal.name]
            assert match.evidence and match.evidence_message_id
    coverage = {goal.name: goal.conversations for goal in report.goals}
    assert coverage["Bread baking"] >= 9 and coverage["Gardening"] >= 9


def test_gaps_and_busy_topics_outside_every_goal(report: ProgrammeReport) -> None:
    assert report.gaps == ["Tax returns"]
    labels = " ".join(topic["label"] for topic in report.outside_goals)
    football = ("striker", "referee", "league", "penalty", "goalkeeper", "midfield", "offside", "cup")
    assert report.outside_goals and any(word in labels for word in football)
    assert any("Tax returns" in option["option"] for option in report.poll)


def test_key_message_uptake_finds_the_story_and_the_challenge(report: ProgrammeReport) -> None:
    feed, tax = report.key_messages
    quotes = [c["quote"] for c in feed.conversations]
    assert any(q.startswith("I tried feeding") for q in quotes) and any(q.startswith("But feeding") for q in quotes)
    assert feed.kinds.get("story", 0) >= 1 and feed.kinds.get("challenge", 0) >= 1
    assert tax.verdict == "silence" and tax.key_message.id == "km-2"
    assert json.dumps(report.to_dict())


# --- real data: Stack Exchange tags playing the declared goals ---------------------------------


@pytest.fixture(scope="module")
def quantum(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    folder = shared_data / "stackexchange" / "quantumcomputing"
    with Store.open(tmp_path_factory.mktemp("qc-goals") / "store.duckdb") as store:
        import_path(store, folder)
        yield store, folder


@pytest.mark.realdata
def test_tags_as_goals_precision_beats_chance(quantum: tuple[Store, Path]) -> None:
    store, folder = quantum
    posts = {row.get("Id"): row.attrib for row in ET.parse(folder / "Posts.xml").getroot()}
    goals = []
    for tag in ET.parse(folder / "Tags.xml").getroot():
        if int(tag.get("Count", "0")) >= 10:  # tags on at least ten questions play the goals
            excerpt = re.sub(r"<[^>]+>", " ", html.unescape(posts.get(tag.get("ExcerptPostId"), {}).get("Body", "")))
            goals.append(Goal(tag.get("TagName", ""), excerpt[:300]))
    tags_by_title = {p.get("Title"): set(re.findall(r"[^<>|]+", p.get("Tags", ""))) for p in posts.values() if p.get("PostTypeId") == "1"}
    embedder = StaticEmbedder()
    corpus = load_corpus(store, embedder, Window("month"))
    scores, _ = score_matrix(corpus, tuple(goals), corpus.centred(embedder.encode([g.text for g in goals])))
    names = [g.name for g in goals]
    hits1 = hits3 = chance = 0.0
    counted = 0
    for row, title in enumerate(corpus.titles):
        truth = tags_by_title.get(title, set()) & set(names)
        if not truth:
            continue
        counted += 1
        ranked = [names[i] for i in np.argsort(-scores[row])]
        hits1 += ranked[0] in truth
        hits3 += len(set(ranked[:3]) & truth) / 3
        chance += len(truth) / len(names)
    p1, p3, random_p = hits1 / counted, hits3 / counted, chance / counted
    print(f"{len(goals)} tag goals, {counted} questions: precision@1 {p1:.3f}, precision@3 {p3:.3f}, random {random_p:.3f}")
    assert counted >= 500
    assert p1 > 4 * random_p and p3 > 2.5 * random_p

"""The expert finder's array scoring (analyses/experts_arrays.py) ranks exactly as the dict
version it replaced, on real data: the shipped demo community (a Stack Exchange dump).

The reference below is the dict version as it was (one dict of document scores per question,
a list per person, Python sums), kept here as the independent computation. Equality is exact,
scores included: a ranking compares sums of floats, and the array version makes each sum in
the same order.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from villagegreen.analyses.experts import ExpertFinder, FinderSettings, Suggestion, past_answers
from villagegreen.analyses.experts_questions import open_questions
from villagegreen.interfaces.demo import run_demo
from villagegreen.store import Store

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def reference_content(finder: ExpertFinder, question: str, exclude: set[str], space: str | None, keep: int) -> dict[str, list[tuple[float, int, float]]]:
    per_person: dict[str, list[tuple[float, int, float]]] = defaultdict(list)
    for doc_id, similarity in finder.index.search(question).items():
        answer = finder.answers[doc_id]
        if answer.person_id in exclude or (space is not None and answer.space_id != space):
            continue
        per_person[answer.person_id].append((similarity * finder.prior[doc_id], doc_id, similarity))
    return {person: heapq.nlargest(keep, scored) for person, scored in per_person.items()}


def reference_rank(finder: ExpertFinder, question: str, k: int, exclude: set[str], space: str | None) -> list[tuple[str, float, list[Any], float]]:
    best = reference_content(finder, question, exclude, space, finder.settings.top_documents)
    content = {person: sum(s for s, _, _ in scored) for person, scored in best.items()}
    content_total = sum(content.values())
    if content_total <= 0:
        return []
    activity = {p: a for p, a in finder.activity(space).items() if p not in exclude}
    activity_total = sum(activity.values()) or 1.0
    weight = finder.settings.activity_weight
    scores = {p: (1 - weight) * content.get(p, 0.0) / content_total + weight * a / activity_total for p, a in activity.items()}
    order = sorted(scores, key=lambda person: (-scores[person], person))[:k]
    return [(p, scores[p], [(doc_id, s, sim) for s, doc_id, sim in best.get(p, [])], activity[p]) for p in order]


def as_tuples(suggestions: list[Suggestion]) -> list[tuple[str, float, list[Any], float]]:
    return [(s.person_id, s.score, [(r["message_id"], r["score"], r["similarity"]) for r in s.reasons], s.recent_activity) for s in suggestions]


def reference_as_tuples(finder: ExpertFinder, ranked: list[tuple[str, float, list[Any], float]]) -> list[tuple[str, float, list[Any], float]]:
    return [(p, score, [(finder.answers[d].message_id, round(s, 4), round(sim, 4)) for d, s, sim in reasons], a) for p, score, reasons, a in ranked]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[ExpertFinder, list[tuple[str, str]]]:
    db: Path = tmp_path_factory.mktemp("experts-arrays") / "demo.duckdb"
    run_demo(db)
    with Store.open(db, read_only=True) as store:
        answers = past_answers(store, FAR_FUTURE)
        questions = [(f"{q.title or ''}\n{q.text}", q.asker) for q in open_questions(store)]
    # The demo has one open question: every answered question is asked again, leaving out its answerer.
    questions += list(dict.fromkeys((f"{a.title}\n{a.question}", a.person_id) for a in answers))
    assert len(answers) > 100 and len(questions) > 50, "the demo has past answers and questions"
    return ExpertFinder(answers, now=max(a.sent_at for a in answers)), questions


def test_rankings_equal_the_dict_version_for_every_question(demo: tuple[ExpertFinder, list[tuple[str, str]]]) -> None:
    finder, questions = demo
    compared = 0
    for text, asker in questions:
        for k in (1, 5, 50):
            expected = reference_rank(finder, text, k, {asker}, None)
            assert as_tuples(finder.rank(text, k=k, exclude=[asker])) == reference_as_tuples(finder, expected), text[:60]
            compared += bool(expected)
    assert compared > 30, "most questions share words with past answers"


def test_rankings_by_space_and_with_exclusions_equal_the_dict_version(demo: tuple[ExpertFinder, list[tuple[str, str]]]) -> None:
    finder, _ = demo
    spaces = sorted({a.space_id for a in finder.answers})
    top_people = [s.person_id for s in finder.rank(finder.answers[0].question, k=3)]
    for answer in finder.answers[:: max(1, len(finder.answers) // 40)]:
        text = f"{answer.title}\n{answer.question}"
        for space in [None, *spaces, "no-such-space"]:
            expected = reference_rank(finder, text, 5, set(top_people), space)
            assert as_tuples(finder.rank(text, k=5, exclude=top_people, space=space)) == reference_as_tuples(finder, expected)
    assert finder.rank("zzzz qqqq", k=5) == [], "no shared word, nobody"


def test_content_lists_people_and_documents_as_the_dict_version(demo: tuple[ExpertFinder, list[tuple[str, str]]]) -> None:
    finder, questions = demo
    for text, asker in questions[:25]:
        for top in (1, 3, 10):
            expected = reference_content(finder, text, {asker}, None, top)
            found = finder.content(text, exclude=[asker], top=top)
            assert list(found) == list(expected)  # the order people are met matters to the sums
            assert found == expected


def test_other_settings_rank_as_the_dict_version(demo: tuple[ExpertFinder, list[tuple[str, str]]]) -> None:
    base, questions = demo
    finder = ExpertFinder(base.answers, now=base.now, settings=FinderSettings(top_documents=2, activity_weight=0.2, activity_half_life_days=90.0))
    for text, asker in questions[:30]:
        expected = reference_rank(finder, text, 10, {asker}, None)
        assert as_tuples(finder.rank(text, k=10, exclude=[asker])) == reference_as_tuples(finder, expected)

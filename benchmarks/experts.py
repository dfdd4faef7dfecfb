"""Expert finding on real Q&A archives: does the person who gave the accepted answer rank high?

Usage: python benchmarks/experts.py [--stackexchange DIR ...] [--discourse DIR ...] [--json]
(with neither, the dev sets under ../shared/data: stackexchange/quantumcomputing, discourse/urho3d)

Protocol (temporal split, rolling): the archive is imported and its dialogue acts labelled.
Questions that have an accepted answer by someone other than the asker are sorted by time;
the first VALID_START share only teaches, the next slice (VALID_START to TEST_START) is the
*validation* slice, the rest the *test* slice. Every question is ranked by methods that learn
only from answers written before the first day of its calendar month (one refit a month, as a
deployed router would refresh its index), so later answers never leak in. Candidates are the
people who answered before that refit; the asker is excluded. A question whose accepted
answerer never answered before counts as a miss for every method (``answerer_seen_before``).

Methods, all in this run:
- ``villagegreen``: analyses/experts.py with its shipped settings (FinderSettings defaults);
- ``villagegreen_content_only``: the same without the activity part (activity weight 0);
- ``villagegreen_tuned``: the same with the settings from SETTINGS_GRID that scored the best
  MRR on this archive's validation slice (``selected``); the test slice never chooses;
- ``most_active``: people by number of answers so far;
- ``bm25``: Okapi BM25 over the text of past answers, a person scored by their best answer.
People a method cannot score are ranked after the scored ones by ``most_active`` order.

Metrics: MRR, P@1, NDCG@3 (one relevant person: 1/log2(1 + rank) within the top 3) and R@10.
``ceiling`` says how concentrated the test answers are: the share answered by the top 1 and
top 3 people of the most-active order, and the best MRR any method could reach (the share of
test answerers seen before).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from villagegreen.analyses.acts_store import label_store
from villagegreen.analyses.experts import ExpertFinder, FinderSettings, PastAnswer, past_answers
from villagegreen.analyses.experts_index import Bm25Index
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

VALID_START, TEST_START = 0.6, 0.8
# The ranking before the activity mixture (similarity evidence only), reported for comparison.
CONTENT_ONLY = FinderSettings(top_documents=5, activity_weight=0.0, activity_half_life_days=30.0)
# Top answers summed per person x activity weight x activity half-life (days).
SETTINGS_GRID = tuple(
    FinderSettings(top, weight, half_life) for top in (3, 5, 10) for weight in (0.0, 0.1, 0.2, 0.3, 0.5, 0.7) for half_life in (30.0, 90.0, 365.0)
)
DEV_SETS = (("stackexchange", "stackexchange/quantumcomputing"), ("discourse", "discourse/urho3d/topics"))

# conversation id, question text, asker person, accepted answerer person, asked at
_ACCEPTED_SQL = """
WITH accepted AS (
    SELECT message_id FROM reactions WHERE kind = 'accept'
    UNION SELECT m.id FROM messages m JOIN sources s ON s.id = m.source_id WHERE s.connector = 'discourse' AND m.kind = 'answer'
)
SELECT root.conversation_id, coalesce(c.title, '') || '\n' || root.text, ri.person_id, min_by(ai.person_id, ans.sent_at), root.sent_at
FROM accepted JOIN messages ans ON ans.id = accepted.message_id
JOIN identities ai ON ai.id = ans.author_id
JOIN messages root ON root.id = ans.conversation_id
JOIN identities ri ON ri.id = root.author_id
LEFT JOIN conversations c ON c.id = root.conversation_id
WHERE ai.person_id <> ri.person_id AND NOT ai.is_bot
GROUP BY ALL ORDER BY root.sent_at
"""


def rank_metrics(ranks: list[int | None]) -> dict[str, float]:
    """ranks: 1-based rank of the true answerer per question, None when not ranked at all."""
    n = len(ranks) or 1
    found = [r for r in ranks if r is not None]
    return {
        "mrr": round(sum(1.0 / r for r in found) / n, 4),
        "p_at_1": round(sum(r == 1 for r in found) / n, 4),
        "ndcg_at_3": round(sum(1.0 / math.log2(1 + r) for r in found if r <= 3) / n, 4),
        "r_at_10": round(sum(r <= 10 for r in found) / n, 4),
    }


def complete(scored: list[str], fallback: list[str], asker: str) -> list[str]:
    seen = set(scored)
    return [p for p in scored if p != asker] + [p for p in fallback if p not in seen and p != asker]


Question = tuple[str, str, str, str, datetime]  # conversation, text, asker, accepted answerer, asked at
Ranks = dict[str, list[int | None]]


def decayed_activity(answers: list[PastAnswer], now: datetime, half_life_days: float) -> dict[str, float]:
    activity: dict[str, float] = defaultdict(float)
    for answer in answers:
        activity[answer.person_id] += 0.5 ** (max((now - answer.sent_at).total_seconds(), 0.0) / 86400.0 / half_life_days)
    return activity


def mixture_order(best: dict[str, list[tuple[float, int, float]]], activity_all: dict[str, float], settings: FinderSettings, asker: str) -> list[str]:
    """ExpertFinder.rank's ordering for other settings, from content computed once per question
    (the same formula; tests/analyses/test_experts.py checks both agree)."""
    content = {p: sum(s for s, _, _ in scored[: settings.top_documents]) for p, scored in best.items()}
    content_total = sum(content.values())
    if content_total <= 0:
        return []
    activity = {p: a for p, a in activity_all.items() if p != asker}
    activity_total = sum(activity.values()) or 1.0
    w = settings.activity_weight
    scores = {p: (1 - w) * content.get(p, 0.0) / content_total + w * a / activity_total for p, a in activity.items()}
    return sorted(scores, key=lambda p: (-scores[p], p))


def evaluate_slice(store: Store, questions: list[Question], grid: tuple[FinderSettings, ...]) -> tuple[Ranks, int]:
    """Ranks of the true answerer per method (and per grid setting, keyed by repr), refitting monthly."""
    months: dict[tuple[int, int], list[Question]] = defaultdict(list)
    for question in questions:
        months[(question[4].year, question[4].month)].append(question)
    ranks: Ranks = defaultdict(list)
    seen = 0
    for (year, month), batch in sorted(months.items()):
        refit = datetime(year, month, 1, tzinfo=UTC)
        train = past_answers(store, refit)
        activity = Counter(a.person_id for a in train)
        most_active = [person for person, _ in activity.most_common()]
        finder = ExpertFinder(train, now=refit)
        bm25 = Bm25Index([a.answer for a in train])
        tops = max([s.top_documents for s in grid], default=1)
        activities = {half_life: decayed_activity(train, refit, half_life) for half_life in {s.activity_half_life_days for s in grid}}
        for _conversation, text, asker, answerer, _asked in batch:
            seen += answerer in activity
            rankings = {
                "villagegreen": [s.person_id for s in finder.rank(text, k=len(activity), exclude=[asker])],
                "most_active": [],
                "bm25": best_per_person(bm25.search(text), train),
            }
            if grid:
                best = finder.content(text, exclude=[asker], top=tops)
                for settings in grid:
                    rankings[repr(settings)] = mixture_order(best, activities[settings.activity_half_life_days], settings, asker)
            for name, scored in rankings.items():
                ranking = complete(scored, most_active, asker)
                ranks[name].append(ranking.index(answerer) + 1 if answerer in ranking else None)
    return ranks, seen


def evaluate(store: Store, *, grid: tuple[FinderSettings, ...] = SETTINGS_GRID) -> dict[str, Any]:
    label_store(store)
    questions: list[Question] = store.con.execute(_ACCEPTED_SQL).fetchall()
    if len(questions) < 20:
        return {"error": f"only {len(questions)} questions with an accepted answer; too few to split"}
    valid_from, test_from = questions[int(len(questions) * VALID_START)][4], questions[int(len(questions) * TEST_START)][4]
    valid = [q for q in questions if valid_from <= q[4] < test_from]
    test = [q for q in questions if q[4] >= test_from]
    valid_ranks, _ = evaluate_slice(store, valid, grid)
    selected = max(grid, key=lambda s: (rank_metrics(valid_ranks[repr(s)])["mrr"], -grid.index(s))) if grid else FinderSettings()
    test_ranks, seen = evaluate_slice(store, test, tuple(dict.fromkeys((selected, CONTENT_ONLY))))
    methods = {name: rank_metrics(test_ranks[name]) for name in ("villagegreen", "most_active", "bm25")}
    methods["villagegreen_tuned"] = rank_metrics(test_ranks[repr(selected)])
    methods["villagegreen_content_only"] = rank_metrics(test_ranks[repr(CONTENT_ONLY)])
    train = past_answers(store, test_from)
    order = [p for p, _ in Counter(a.person_id for a in train).most_common()]
    return {
        "validation_from": valid_from.isoformat(),
        "test_from": test_from.isoformat(),
        "validation_questions": len(valid),
        "test_questions": len(test),
        "answerer_seen_before": seen,
        "selected": {"top_documents": selected.top_documents, "activity_weight": selected.activity_weight,
                     "activity_half_life_days": selected.activity_half_life_days,
                     "validation_mrr": rank_metrics(valid_ranks[repr(selected)])["mrr"]},
        "validation": {name: rank_metrics(valid_ranks[name]) for name in ("villagegreen", "most_active", "bm25")}
        | ({"villagegreen_content_only": rank_metrics(valid_ranks[repr(CONTENT_ONLY)])} if CONTENT_ONLY in grid else {}),
        "ceiling": {"top1_share": round(sum(q[3] in order[:1] for q in test) / len(test), 4),
                    "top3_share": round(sum(q[3] in order[:3] for q in test) / len(test), 4),
                    "best_possible_mrr": round(seen / len(test), 4)},
        "methods": methods,
    }  # fmt: skip


def best_per_person(scores: dict[int, float], answers: list[PastAnswer]) -> list[str]:
    best: dict[str, float] = {}
    for doc_id, score in scores.items():
        person = answers[doc_id].person_id
        best[person] = max(best.get(person, 0.0), score)
    return sorted(best, key=lambda p: (-best[p], p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stackexchange", type=Path, action="append", default=[], help="a Stack Exchange dump folder")
    parser.add_argument("--discourse", type=Path, action="append", default=[], help="a folder of Discourse topic JSON files")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--json", action="store_true", help="print one JSON object: dataset -> method -> metrics")
    args = parser.parse_args()
    datasets = [*args.stackexchange, *args.discourse] or [args.data / relative for _, relative in DEV_SETS]
    missing = [str(path) for path in datasets if not path.exists()]
    if missing:
        sys.exit(f"error: not found: {', '.join(missing)}; pass --stackexchange DIR or --discourse DIR")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for number, path in enumerate(datasets):
            with Store.open(Path(tmp) / f"{number}.duckdb") as store:
                import_path(store, path)
                results[str(path)] = evaluate(store)
            if not args.json:
                print(path, json.dumps(results[str(path)]), flush=True)
    if args.json:
        # One dataset: the object the issue asks for (method -> metrics); several: keyed by dataset.
        only = next(iter(results.values())) if len(results) == 1 else None
        print(json.dumps(only["methods"] if only and "methods" in only else results, indent=2))


if __name__ == "__main__":
    main()

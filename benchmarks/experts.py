"""Expert finding on real Q&A archives: does the person who gave the accepted answer rank high?

Usage: python benchmarks/experts.py [--stackexchange DIR ...] [--discourse DIR ...] [--json]
(with neither, the dev sets under ../shared/data: stackexchange/quantumcomputing, discourse/urho3d)

Protocol (temporal split): the archive is imported and its dialogue acts labelled. The cut-off
is the time by which TRAIN_SHARE of the questions that have an accepted answer were asked.
Methods learn only from answers written before the cut-off; they are tested on the later
questions that have an accepted answer by someone other than the asker (the truth: that
answerer). Candidates are the people who answered before the cut-off; the asker is excluded.
A question whose accepted answerer never answered before counts as a miss for every method
(``answerer_seen_before`` says how many could be found at all).

Methods, all in this run:
- ``villagegreen``: analyses/experts.py (TF-IDF over question + answer, validation, recency);
- ``most_active``: people by number of answers before the cut-off;
- ``bm25``: Okapi BM25 over the text of past answers, a person scored by their best answer.
People a method cannot score are ranked after the scored ones by ``most_active`` order.

Metrics: MRR, P@1, NDCG@3 (one relevant person: 1/log2(1 + rank) within the top 3) and R@10.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from villagegreen.analyses.acts_store import label_store
from villagegreen.analyses.experts import ExpertFinder, PastAnswer, past_answers
from villagegreen.analyses.experts_index import Bm25Index
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

TRAIN_SHARE = 0.8
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


def evaluate(store: Store) -> dict[str, Any]:
    label_store(store)
    questions = store.con.execute(_ACCEPTED_SQL).fetchall()
    if len(questions) < 10:
        return {"error": f"only {len(questions)} questions with an accepted answer; too few to split"}
    cutoff: datetime = questions[int(len(questions) * TRAIN_SHARE)][4]
    train = past_answers(store, cutoff)
    tests = [q for q in questions if q[4] >= cutoff]
    activity = Counter(a.person_id for a in train)
    most_active = [person for person, _ in activity.most_common()]
    finder = ExpertFinder(train, now=cutoff)
    bm25 = Bm25Index([a.answer for a in train])
    methods: dict[str, Callable[[str, str], list[str]]] = {
        "villagegreen": lambda text, asker: complete([s.person_id for s in finder.rank(text, k=len(activity), exclude=[asker])], most_active, asker),
        "most_active": lambda text, asker: complete([], most_active, asker),
        "bm25": lambda text, asker: complete(best_per_person(bm25.search(text), train), most_active, asker),
    }
    ranks: dict[str, list[int | None]] = {name: [] for name in methods}
    for _conversation, text, asker, answerer, _asked in tests:
        for name, method in methods.items():
            ranking = method(text, asker)
            ranks[name].append(ranking.index(answerer) + 1 if answerer in ranking else None)
    return {
        "cutoff": cutoff.isoformat(),
        "train_answers": len(train),
        "candidates": len(activity),
        "test_questions": len(tests),
        "answerer_seen_before": sum(1 for t in tests if t[3] in activity),
        "methods": {name: rank_metrics(r) for name, r in ranks.items()},
    }


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

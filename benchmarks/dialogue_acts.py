"""Dialogue acts measured against the platforms' own labels, which the labeller is not shown.

Usage: python benchmarks/dialogue_acts.py [--data ../shared/data] [--json]

The labeller runs with ``use_platform_kind=False``: it never reads ``messages.kind`` (the
Stack Exchange post type, the Discourse accepted-answer mark), which is the ground truth here.
It still sees the reply structure (root or reply, who wrote the root), which every platform has.

Checks (precision and recall, with the counts behind them):

- Stack Exchange ``question``: over posts (questions and answers; comments have no post-type
  truth for a question act), label ``question`` against post type question.
- Stack Exchange ``answer``: over every message (questions, answers, comments), label
  ``answer`` against post type answer. A comment that answers is counted as a false positive,
  so precision is a lower bound.
- Discourse ``appreciation``: hand-checked samples (see HAND_CHECKED_LABELLED), precision on
  the sample, and misses among short replies the rules did not label.
- Discourse ``challenge``, ``facilitation``, ``social`` (and ``appreciation``): one annotator's
  labels of 120 posts in tests/data/acts/urho3d_hand_labels.csv (see its README: sample A was
  used to change the rules, sample B measures them). Per sample and act: precision among the
  sampled posts the rules give that act, recall among the sampled posts the annotator gave it,
  and for sample B a recall estimate for the whole archive, weighting each stratum by its size.
- Stack Exchange and Discourse ``accepted_answer``: recall only, the share of accepted answers
  (SE accept votes; Discourse's solved mark) labelled ``answer``. Precision cannot be measured:
  most good answers are never accepted.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from villagegreen.analyses.acts import ACTS_VERSION
from villagegreen.analyses.acts_store import LabelledMessage, labelled_messages
from villagegreen.store import Store
from villagegreen.store.ingest import import_path

DATASETS = ("stackexchange/conlang", "stackexchange/quantumcomputing", "discourse/urho3d/topics")

# Hand check of appreciation on discourse/urho3d (one annotator, the author of the rules, on
# 2026-11-27; Discourse post ids -> "is this message mainly thanks or praise?"). Sample A: 30
# random messages the rules labelled appreciation. Sample B: 30 random replies of at most 40
# words the rules did not label appreciation. No independent platform signal for thanks exists
# in the archive (likes are given to answers as much as to thanks), hence the hand check.
HAND_CHECKED_LABELLED = {
    "13971": False,
    "6164": True,
    "28073": True,
    "2354": True,
    "1005": False,
    "20581": False,
    "11718": False,
    "20877": True,
    "13904": False,
    "8894": True,
    "8993": True,
    "1270": True,
    "11591": True,
    "6980": True,
    "1524": True,
    "1759": True,
    "12212": True,
    "16551": True,
    "5167": True,
    "1855": True,
    "23319": True,
    "14926": False,
    "24549": True,
    "22976": True,
    "2914": True,
    "3215": True,
    "9550": True,
    "4621": True,
    "8223": True,
    "10153": False,
}
HAND_CHECKED_UNLABELLED = {
    "20408": False,
    "6781": False,
    "13667": False,
    "18910": False,
    "18170": False,
    "16959": False,
    "17246": True,
    "8332": False,
    "18430": False,
    "2848": False,
    "24132": False,
    "4287": False,
    "27130": False,
    "104": False,
    "15815": False,
    "14896": False,
    "4269": False,
    "11124": False,
    "2423": False,
    "13752": False,
    "25722": False,
    "18110": False,
    "16943": False,
    "11602": False,
    "8651": False,
    "27971": False,
    "10808": False,
    "8877": False,
    "13313": False,
    "3437": False,
}


def precision_recall(pairs: Iterable[tuple[bool, bool]]) -> dict[str, Any]:
    """pairs of (predicted, true) -> precision, recall and the counts behind them."""
    tp = fp = fn = 0
    for predicted, true in pairs:
        tp += predicted and true
        fp += predicted and not true
        fn += true and not predicted
    return {
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / (tp + fn), 3) if tp + fn else None,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
    }


def accepted_ids(store: Store) -> set[str]:
    """Accepted answers as each platform records them: SE accept votes, Discourse's solved mark."""
    rows = store.con.execute(
        "SELECT message_id FROM reactions WHERE kind = 'accept' UNION SELECT id FROM messages WHERE kind = 'answer' AND source_id IN "
        "(SELECT id FROM sources WHERE connector = 'discourse')"
    ).fetchall()
    return {row[0] for row in rows}


def hand_check(store: Store, items: list[LabelledMessage]) -> dict[str, Any]:
    """Appreciation against the hand-checked samples (only the posts present in this store)."""
    native = dict(store.con.execute("SELECT id, native_id FROM messages").fetchall())
    acts = {native[i.message_id]: i.label.act for i in items if i.message_id in native}
    labelled = [truth for post, truth in HAND_CHECKED_LABELLED.items() if acts.get(post) == "appreciation"]
    missed = [post for post, truth in HAND_CHECKED_UNLABELLED.items() if truth and acts.get(post) not in (None, "appreciation")]
    checked = [post for post in HAND_CHECKED_UNLABELLED if post in acts]
    return {
        "precision_on_sample": round(sum(labelled) / len(labelled), 3) if labelled else None,
        "sample_labelled": len(labelled),
        "misses_in_unlabelled_sample": len(missed),
        "unlabelled_sample": len(checked),
    }


HAND_LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "acts" / "urho3d_hand_labels.csv"
HAND_ACTS = ("challenge", "facilitation", "social", "appreciation")
STRATA = ("challenge", "facilitation", "social")
# Sample B was drawn from the labels of this rules version; its strata weights hold only for it.
SAMPLE_B_VERSION = "2"


def wilson_upper(successes: int, n: int, z: float = 1.96) -> float:
    """Upper end of the Wilson score interval for a proportion (95% by default)."""
    p = successes / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(min(1.0, (centre + margin) / (1 + z * z / n)))


def hand_labels(store: Store, items: list[LabelledMessage], path: Path = HAND_LABELS) -> dict[str, Any]:
    """Acts against one annotator's labels (tests/data/acts), per sample and act."""
    native = dict(store.con.execute("SELECT id, native_id FROM messages").fetchall())
    roots = {row[0] for row in store.con.execute("SELECT id FROM messages WHERE id = conversation_id").fetchall()}
    predicted = {native[i.message_id]: i.label.act for i in items if i.message_id in native}
    with path.open(newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["post_id"] in predicted]
    result: dict[str, Any] = {}
    for sample in sorted({row["sample"] for row in rows}):
        mine = [row for row in rows if row["sample"] == sample]
        acts = {act: precision_recall((predicted[r["post_id"]] == act, r["label"] == act) for r in mine) for act in HAND_ACTS}
        result[sample] = {"posts": len(mine), "acts": acts}
        if sample == "B" and ACTS_VERSION == SAMPLE_B_VERSION:
            # Archive-wide recall: true positives estimated from each stratum's precision times its
            # size, misses from the "other" stratum's miss rate times the replies it stands for.
            population = {act: sum(1 for i in items if i.label.act == act) for act in STRATA}
            others = sum(1 for i in items if i.label.act not in STRATA and i.message_id not in roots)
            other_rows = [r for r in mine if r["drawn_as"] == "other"]
            for act in STRATA:
                # Posts drawn for this act that the current rules still give it (a rule that was
                # narrowed after the draw only removes posts from the stratum).
                drawn = [r for r in mine if r["drawn_as"] == act and predicted[r["post_id"]] == act]
                precision = sum(r["label"] == act for r in drawn) / len(drawn) if drawn else 0.0
                misses = sum(r["label"] == act for r in other_rows)
                found, n = precision * population[act], max(len(other_rows), 1)
                missed, missed_high = misses / n * others, wilson_upper(misses, n) * others
                acts[act]["archive_recall_estimate"] = round(found / (found + missed), 3) if found + missed else None
                # With 0-1 misses in 20 the interval is wide: recall could be far lower.
                acts[act]["archive_recall_low_95"] = round(found / (found + missed_high), 3) if found + missed_high else None
                acts[act]["misses_in_other_sample"] = f"{misses}/{len(other_rows)}"
    return result


def evaluate(store: Store, platform: str) -> dict[str, Any]:
    started = time.perf_counter()
    items: list[LabelledMessage] = list(labelled_messages(store, use_platform_kind=False))
    seconds = time.perf_counter() - started
    accepted = accepted_ids(store)
    checks: dict[str, Any] = {}
    if platform == "stackexchange":
        posts = [i for i in items if i.kind in ("question", "answer")]
        checks["question"] = precision_recall((i.label.act == "question", i.kind == "question") for i in posts)
        checks["answer"] = precision_recall((i.label.act == "answer", i.kind == "answer") for i in items)
    checks["accepted_answer"] = precision_recall((i.label.act == "answer", True) for i in items if i.message_id in accepted)
    checks["accepted_answer"].pop("precision")
    if platform == "discourse":
        checks["appreciation_hand_checked"] = hand_check(store, items)
        checks["hand_labels"] = hand_labels(store, items)
    acts: dict[str, int] = {}
    for item in items:
        acts[item.label.act] = acts.get(item.label.act, 0) + 1
    return {"messages": len(items), "label_seconds": round(seconds, 2), "acts": acts, "checks": checks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"error: {args.data} not found; pass --data PATH to the shared data folder")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for relative in DATASETS:
            if not (args.data / relative).exists():
                continue
            with Store.open(Path(tmp) / f"{relative.replace('/', '_')}.duckdb") as store:
                import_path(store, args.data / relative)
                results[relative] = evaluate(store, relative.split("/")[0])
            if not args.json:
                print(relative, json.dumps(results[relative]["checks"]), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

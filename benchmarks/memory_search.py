"""Community-memory search on a real Stack Exchange archive: BM25 only, embeddings only, hybrid.

Usage: python benchmarks/memory_search.py [--data DIR] [--db STORE] [--sample N] [--json]
(default data: ../shared/data/stackexchange/quantumcomputing; ``--db`` reuses an imported store)

The archive is imported into a fresh store (unless ``--db``) and embedded with the shipped
static model, as ``villagegreen embed`` does. Queries and targets come from the dump's XML,
parsed here independently of the connector:

- ``title_to_thread``: a question's title is the query, its own conversation the target.
  Titles are *not* searchable in this task (``Scope(titles=False)``): the question body, the
  answers and comments must carry it. ``--sample`` questions, drawn with a fixed seed.
- ``duplicates``: PostLinks.xml rows with LinkTypeId=3 (closed as a duplicate of): the
  duplicate's title is the query, the original's conversation the target; the duplicate's
  own conversation is removed from the ranking. Titles are searchable.
- ``linked``: LinkTypeId=1 (a post links to another question) the same way: a weaker notion of
  relevance (the link may be tangential), up to ``--sample`` pairs.

Each query runs the product's own ranking functions (stories/memory.py: BM25, cosine
similarity, their reciprocal-rank fusion) over all conversations. Metrics with one relevant
conversation per query: MRR@10 (1/rank when the target is in the top 10, else 0) and
recall@10 (share of queries whose target is in the top 10).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from defusedxml import ElementTree as ET

from villagegreen.analyses.embedding_store import embed_messages
from villagegreen.analyses.embeddings import Embedder, get_embedder
from villagegreen.store import Store
from villagegreen.store.ingest import import_path
from villagegreen.stories.memory import conversation_ranking, fuse
from villagegreen.stories.memory_bm25 import bm25_rank
from villagegreen.stories.memory_documents import Scope, documents
from villagegreen.stories.memory_vectors import vector_rank

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stackexchange" / "quantumcomputing"
MODES = ("bm25", "embeddings", "hybrid")
CUTOFF = 10
SEED = 7


def _rows(path: Path) -> list[dict[str, str]]:
    root = ET.parse(path).getroot()
    if root is None:
        raise SystemExit(f"{path}: empty XML")
    return [dict(row.attrib) for row in root.iter("row")]


def _rankings(store: Store, query: str, embedder: Embedder) -> dict[str, list[str]]:
    bm25 = conversation_ranking(bm25_rank(store, query))
    vectors = conversation_ranking(vector_rank(store, query, embedder).scored)
    return {"bm25": bm25, "embeddings": vectors, "hybrid": fuse([bm25, vectors])}


def _evaluate(store: Store, pairs: list[tuple[str, str, str | None]], embedder: Embedder) -> dict[str, Any]:
    """pairs: (query, target conversation, conversation to leave out or None)."""
    reciprocal = {mode: 0.0 for mode in MODES}
    hits = {mode: 0 for mode in MODES}
    for query, target, leave_out in pairs:
        for mode, ranking in _rankings(store, query, embedder).items():
            top = [c for c in ranking if c != leave_out][:CUTOFF]
            if target in top:
                hits[mode] += 1
                reciprocal[mode] += 1.0 / (top.index(target) + 1)
    n = len(pairs)
    return {"queries": n, **{mode: {"mrr@10": round(reciprocal[mode] / n, 4) if n else None,
                                    "recall@10": round(hits[mode] / n, 4) if n else None} for mode in MODES}}  # fmt: skip


def run(data: Path, db: Path | None, sample: int) -> dict[str, Any]:
    started = time.perf_counter()
    embedder = get_embedder("static")
    folder = tempfile.TemporaryDirectory(prefix="vg-memory-bench-")
    path = db or Path(folder.name) / "bench.duckdb"
    with Store.open(path) as store:
        if db is None:
            import_path(store, data)
        embed_messages(store, embedder)
        question_conversation = dict(
            store.con.execute("SELECT native_id, conversation_id FROM messages WHERE kind = 'question' AND id = conversation_id").fetchall()
        )
        posts = {p["Id"]: p for p in _rows(data / "Posts.xml")}
        titled = sorted(pid for pid, p in posts.items() if p.get("PostTypeId") == "1" and p.get("Title") and pid in question_conversation)
        chosen = random.Random(SEED).sample(titled, min(sample, len(titled)))
        links = _rows(data / "PostLinks.xml") if (data / "PostLinks.xml").exists() else []

        def pairs(link_type: str) -> list[tuple[str, str, str | None]]:
            found = [
                (posts[r["PostId"]]["Title"], question_conversation[r["RelatedPostId"]], question_conversation[r["PostId"]])
                for r in links
                if r.get("LinkTypeId") == link_type and r["PostId"] in titled and r.get("RelatedPostId") in question_conversation
                and r["PostId"] != r["RelatedPostId"]
            ]  # fmt: skip
            return random.Random(SEED).sample(found, min(sample, len(found)))

        results: dict[str, Any] = {"data": str(data), "messages": store.con.execute("SELECT count(*) FROM messages").fetchone()[0]}  # type: ignore[index]
        with documents(store, Scope(titles=False), materialize=True):
            results["title_to_thread"] = _evaluate(store, [(posts[p]["Title"], question_conversation[p], None) for p in chosen], embedder)
        with documents(store, Scope(titles=True), materialize=True):
            results["duplicates"] = _evaluate(store, pairs("3"), embedder)
            results["linked"] = _evaluate(store, pairs("1"), embedder)
    folder.cleanup()
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a Stack Exchange dump folder (Posts.xml, PostLinks.xml)")
    parser.add_argument("--db", type=Path, help="an existing store of that dump (skips the import)")
    parser.add_argument("--sample", type=int, default=150, help="questions (and linked pairs) sampled with a fixed seed")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not (args.data / "Posts.xml").exists():
        print(f"no Posts.xml in {args.data}; pass --data a Stack Exchange dump folder", file=sys.stderr)
        return 2
    results = run(args.data, args.db, args.sample)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{results['data']}: {results['messages']} messages, {results['seconds']} s")
    for task in ("title_to_thread", "duplicates", "linked"):
        row = results[task]
        scores = "  ".join(f"{mode}: MRR@10 {row[mode]['mrr@10']} R@10 {row[mode]['recall@10']}" for mode in MODES)
        print(f"{task} ({row['queries']} queries)  {scores}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

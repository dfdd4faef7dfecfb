"""Story drafts against human summaries of mailing-list threads (ConvoSumm, email).

Usage: python benchmarks/stories.py [--data DIR] [--split val] [--json] [--limit N] [--half first|second]
(default DIR: ../shared/data/eval/convosumm-email)

Data: ``<split>.source.txt`` holds one thread per line, its messages separated by ``</s>``,
each starting with ``Name: "…"   Email: "…"   To: …   Subject: "…"`` and then the body, whose
line breaks were flattened to runs of three spaces; ``<split>.target.txt`` holds the human
summary of the same line (Fabbri et al., 2021, "ConvoSumm").

Methods, all in one run, each writing plain text for every thread:
- ``villagegreen``: the thread mapped into our model in memory (mail body splitting from the
  mail connector, dialogue acts from the same labeller as a store) and drafted by
  ``stories.draft.build_story``; the summary is ``stories.draft.story_summary``.
- ``lead4``: the first four sentences of the thread's own words (quotes and signatures removed).
- ``lexrank``: LexRank (Erkan and Radev, 2004), continuous: sentences as TF-IDF vectors, a
  graph weighted by cosine similarity, PageRank by power iteration (damping 0.85); the four
  best-ranked sentences, skipping near-duplicates (cosine > 0.5), in thread order.

Score: ROUGE-1, ROUGE-2 and ROUGE-L F-measure (the ``rouge-score`` package, Porter stemming;
it needs no downloaded data: only ROUGE-Lsum's sentence splitting would need nltk's punkt, and it is
not used), averaged over threads, times 100. ``--half first`` scores the
first half of the split (used to tune the drafter), ``--half second`` the other half.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from villagegreen.analyses.acts_store import label_rows
from villagegreen.analyses.lifecycle_threads import Thread, ThreadMessage
from villagegreen.connectors.mail.body import split_body
from villagegreen.stories.draft import build_story, story_summary
from villagegreen.stories.sentences import sentences

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval" / "convosumm-email"
METHODS = ("villagegreen", "lead4", "lexrank")
LEAD_SENTENCES = 4
_HEADER = re.compile(r'^\s*Name:\s*"?(?P<name>.*?)"?\s{3}Email:\s*"?(?P<email>[^"\s]*)"?\s{3}To:\s*(?P<to>.*?)\s{3}Subject:\s*"?(?P<subject>.*?)"?(?:\s{3}|$)')
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw)\s*:\s*)+", re.IGNORECASE)
_PARENTHESES = re.compile(r"\([^)]*\)")
_START = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Email:
    name: str
    address: str
    to: str
    subject: str
    body: str


def display_name(raw: str, address: str) -> str:
    """ "Last, First" turned around, "(department)" dropped, SHOUTED names title-cased; an empty
    name falls back to the address' local part."""
    name = " ".join(_PARENTHESES.sub(" ", raw.replace("&quot;", "")).strip(" '\"").split())
    if name.count(",") == 1:
        last, first = (part.strip() for part in name.split(","))
        name = f"{first} {last}".strip()
    if name.isupper():
        name = name.title()
    return name or address.split("@")[0] or "unknown"


def parse_thread(line: str) -> list[Email]:
    """The messages of one source line; a message without the header is kept with an unknown sender."""
    out = []
    for chunk in line.split("</s>"):
        if not chunk.strip():
            continue
        header = _HEADER.match(chunk)
        body = chunk[header.end() :] if header else chunk
        # Line breaks were flattened to three spaces: restore them so quotes (">") and
        # signatures ("-- ") are lines again for the mail connector's splitter.
        text = split_body(re.sub(r" {3}", "\n", body.strip())).text
        if header is None:
            out.append(Email("unknown", "", "", "", text))
            continue
        address = header["email"].lower()
        out.append(
            Email(
                display_name(header["name"], address),
                address,
                header["to"],
                header["subject"].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"),
                text,
            )
        )
    return out


def _parent(emails: list[Email], index: int) -> int:
    """The message this one answers: the latest earlier one by the person in its To header, else the first."""
    to = emails[index].to.lower()
    for earlier in range(index - 1, -1, -1):
        e = emails[earlier]
        if e.address and (e.address in to or (e.name and all(part.lower() in to for part in e.name.split()))):
            return earlier
    return 0


def to_thread(emails: list[Email], thread_id: str = "t") -> Thread:
    """The thread in our model, in memory: ids ``m1``…, one minute apart, acts from the store's labeller."""
    ids = [f"m{i + 1}" for i in range(len(emails))]
    persons = [e.address or f"unknown-{i}" for i, e in enumerate(emails)]
    parents = [None, *(ids[_parent(emails, i)] for i in range(1, len(emails)))]
    title = _REPLY_PREFIX.sub("", emails[0].subject).strip()
    rows = []
    for i, e in enumerate(emails):
        parent = parents[i]
        parent_author = persons[int(parent[1:]) - 1] if parent else None
        rows.append((ids[i], ids[0], parent, e.body, "message", persons[i], persons[0], title, parent_author))
    labels = list(label_rows(rows))
    messages = tuple(
        ThreadMessage(id=ids[i], native_id=ids[i], reply_to_id=parents[i], person_id=persons[i], author=e.name,
                      sent_at=_START + timedelta(minutes=i), text=e.body, kind="message", label=labels[i].label,
                      accepted=False, approvals=0)
        for i, e in enumerate(emails)
    )  # fmt: skip
    return Thread(thread_id, title, "list", "mailing list", "mail", "convosumm", {}, {}, messages)


def villagegreen_summary(emails: list[Email]) -> str:
    return story_summary(build_story(to_thread(emails), set()))


def thread_sentences(emails: list[Email]) -> list[str]:
    return [s for e in emails for s in sentences(e.body)]


def lead_summary(emails: list[Email]) -> str:
    return " ".join(thread_sentences(emails)[:LEAD_SENTENCES])


def lexrank_scores(items: list[str], *, damping: float = 0.85, iterations: int = 100) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Continuous LexRank centrality of each sentence (sums to 1)."""
    tokens = [re.findall(r"[a-z0-9]+", s.lower()) for s in items]
    vocab = {w: i for i, w in enumerate(sorted({w for t in tokens for w in t}))}
    tf = np.zeros((len(items), max(len(vocab), 1)))
    for row, words in enumerate(tokens):
        for w in words:
            tf[row, vocab[w]] += 1
    idf = np.log(len(items) / (1 + (tf > 0).sum(axis=0))) + 1.0
    vectors = tf * idf
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1, norms)
    similarity = vectors @ vectors.T
    rows = similarity.sum(axis=1, keepdims=True)
    transition = similarity / np.where(rows == 0, 1, rows)
    n = len(items)
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        updated = (1 - damping) / n + damping * (transition.T @ rank)
        converged = float(np.abs(updated - rank).sum()) < 1e-9
        rank = updated
        if converged:
            break
    return rank


def lexrank_summary(emails: list[Email], count: int = LEAD_SENTENCES) -> str:
    items = thread_sentences(emails)
    if not items:
        return ""
    ranks = lexrank_scores(items)
    chosen: list[int] = []
    for index in np.argsort(-ranks):
        if len(chosen) == count:
            break
        if all(_cosine(items[index], items[other]) <= 0.5 for other in chosen):
            chosen.append(int(index))
    return " ".join(items[i] for i in sorted(chosen))


def _cosine(a: str, b: str) -> float:
    wa, wb = set(re.findall(r"[a-z0-9]+", a.lower())), set(re.findall(r"[a-z0-9]+", b.lower()))
    return len(wa & wb) / ((len(wa) * len(wb)) ** 0.5 or 1.0)


SUMMARISERS: dict[str, Callable[[list[Email]], str]] = {"villagegreen": villagegreen_summary, "lead4": lead_summary, "lexrank": lexrank_summary}


def read_split(data: Path, split: str = "val") -> list[tuple[list[Email], str]]:
    sources, targets = data / f"{split}.source.txt", data / f"{split}.target.txt"
    if not sources.is_file() or not targets.is_file():
        raise SystemExit(f"{data} has no {split}.source.txt and {split}.target.txt (the ConvoSumm email layout)")
    threads = sources.read_text(encoding="utf-8").splitlines()
    summaries = targets.read_text(encoding="utf-8").splitlines()
    if len(threads) != len(summaries):
        raise SystemExit(f"{sources.name} has {len(threads)} lines but {targets.name} has {len(summaries)}: they must pair up")
    return [(parse_thread(t), s) for t, s in zip(threads, summaries, strict=True) if t.strip() and s.strip()]


def evaluate(samples: list[tuple[list[Email], str]], methods: tuple[str, ...] = METHODS) -> dict[str, dict[str, float]]:
    from rouge_score import rouge_scorer  # type: ignore[import-untyped]  # a benchmark/test dependency only

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    out = {}
    for method in methods:
        totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
        for emails, target in samples:
            scores = scorer.score(target, SUMMARISERS[method](emails))
            for key in totals:
                totals[key] += scores[key].fmeasure
        out[method] = {key: round(100 * value / max(len(samples), 1), 2) for key, value in totals.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=None, help="Score only the first N threads.")
    parser.add_argument("--half", choices=("first", "second"), default=None, help="Score one half of the split (tune on first, report second).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    samples = read_split(args.data, args.split)
    if args.half is not None:
        middle = len(samples) // 2
        samples = samples[:middle] if args.half == "first" else samples[middle:]
    if args.limit is not None:
        samples = samples[: args.limit]
    results = evaluate(samples)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{len(samples)} threads from {args.data} ({args.split}{', ' + args.half + ' half' if args.half else ''})")
    print(f"{'method':<14}{'ROUGE-1':>9}{'ROUGE-2':>9}{'ROUGE-L':>9}")
    for method, scores in results.items():
        print(f"{method:<14}{scores['rouge1']:>9.2f}{scores['rouge2']:>9.2f}{scores['rougeL']:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

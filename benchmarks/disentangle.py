"""Benchmark flat-channel disentanglement on the Ubuntu IRC corpus of Kummerfeld et al. (2019).

Usage::

    python benchmarks/disentangle.py --data ../shared/data/eval/irc-disentanglement/dev
    python benchmarks/disentangle.py --data ../shared/data/eval/irc-disentanglement/dev --json

``--data`` is any split folder of that layout: for each ``NAME.annotation.txt`` (lines of
message numbers and a ``-``: ``1002 1003 -`` links 1003 to 1002; ``n n -`` starts a
conversation) the log is ``NAME.ascii.txt`` (else ``NAME.raw.txt``), one message a line,
``[HH:MM] <nick> text``, ``[HH:MM] * nick action`` or ``=== system note``. Every line is given
to the threader as context; only the annotated ones (from the first link source on, usually
line 1000) are scored. Both methods are scored the same way in the same run: ``villagegreen``
(the product's threader) and ``time_gap`` (link to the previous message when it came within a
minute, else start a conversation). System lines start their own conversation in both.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from villagegreen.connectors.disentangle import ChatLine, disentangle, time_gap_baseline
from villagegreen.connectors.disentangle.scoring import Link, conversations, links_from_line, score

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
Method = Callable[[Sequence[ChatLine]], dict[str, str]]
METHODS: dict[str, Method] = {"villagegreen": disentangle, "time_gap": time_gap_baseline}


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    lines: list[ChatLine]
    gold: set[Link]


def read_gold(path: Path) -> set[Link]:
    links: set[Link] = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        numbers = [int(part) for part in raw.split() if part != "-"]
        if numbers:
            links |= links_from_line(numbers)
    return links


def parse_log(text: str) -> list[ChatLine]:
    """Chat lines numbered from 0; clock times become minutes since the log's first line."""
    lines: list[ChatLine] = []
    minutes = 0
    previous_clock: int | None = None
    for number, raw in enumerate(text.splitlines()):
        tokens = raw.split()
        if not tokens or tokens[0] == "===":
            moment = _EPOCH + timedelta(minutes=minutes)
            lines.append(ChatLine(str(number), tokens[1] if len(tokens) > 1 else "", moment, raw, system=True))
            continue
        clock = int(tokens[0][1:3]) * 60 + int(tokens[0][4:6])
        if previous_clock is not None:
            # Logs cross midnight; a clock that goes back has moved to the next day.
            minutes += (clock - previous_clock) % (24 * 60)
        previous_clock = clock
        action = tokens[1] == "*"
        author = tokens[2] if action else tokens[1][1:-1]
        body = " ".join(tokens[2:] if not action else tokens[3:])
        lines.append(ChatLine(str(number), author, _EPOCH + timedelta(minutes=minutes), body))
    return lines


def read_split(folder: Path) -> list[Sample]:
    samples = []
    for annotation in sorted(folder.glob("*.annotation.txt")):
        name = annotation.name.removesuffix(".annotation.txt")
        log = next((p for p in (folder / f"{name}.ascii.txt", folder / f"{name}.raw.txt") if p.exists()), None)
        if log is None:
            raise SystemExit(f"{annotation}: no {name}.ascii.txt or {name}.raw.txt beside it")
        samples.append(Sample(name, parse_log(log.read_text(encoding="utf-8", errors="replace")), read_gold(annotation)))
    if not samples:
        raise SystemExit(f"{folder}: no *.annotation.txt files; point --data at a split folder such as .../irc-disentanglement/dev")
    return samples


def system_links(sample: Sample, parents: dict[str, str]) -> set[Link]:
    """One link per scored message, from the message to its chosen parent (itself when new)."""
    scored = set().union(*conversations(sample.gold))
    return {(number, int(parents[str(number)])) for number in scored}


def evaluate(samples: Sequence[Sample], method: Method) -> dict[str, float]:
    started = time.perf_counter()
    predicted = {sample.name: system_links(sample, method(sample.lines)) for sample in samples}
    seconds = time.perf_counter() - started
    metrics = score({sample.name: sample.gold for sample in samples}, predicted).to_dict()
    messages = sum(len(sample.lines) for sample in samples)
    return {**metrics, "messages": messages, "seconds": round(seconds, 3)}


def table(results: dict[str, dict[str, float]]) -> str:
    keys = list(next(iter(results.values())))
    width = max(map(len, keys))
    out = [f"{'metric':<{width}}  " + "  ".join(f"{name:>12}" for name in results)]
    for key in keys:
        out.append(f"{key:<{width}}  " + "  ".join(f"{results[name][key]:>12}" for name in results))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="example: python benchmarks/disentangle.py --data ../shared/data/eval/irc-disentanglement/dev --json"
    )
    parser.add_argument("--data", type=Path, required=True, help="a split folder of *.annotation.txt with *.ascii.txt or *.raw.txt")
    parser.add_argument("--json", action="store_true", help="print one JSON object: method -> metrics")
    args = parser.parse_args(argv)
    samples = read_split(args.data)
    results = {name: evaluate(samples, method) for name, method in METHODS.items()}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{args.data}: {len(samples)} files, scores in percent (higher is better)")
        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

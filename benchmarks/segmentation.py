"""Benchmark topic-shift segmentation on DialSeg711 (or any dialogue set in the same JSON layout).

Usage::

    python benchmarks/segmentation.py --data ../shared/data/eval/dialogue-segmentation/dialseg_711.json
    python benchmarks/segmentation.py --data FILE --json   # {"villagegreen": {"pk": .., "windowdiff": ..}, "even": {...}}

``--data`` is a JSON list of dialogues, each ``{"utterances": [str, ...], "segments": [int, ...]}``
(segment lengths summing to the number of utterances; other keys are ignored). Both methods run
in the same process on the same dialogues: ``villagegreen`` (analyses/topics_segmentation.py
on the shipped static embeddings) and ``even`` (the same number of segments as villagegreen
found for that dialogue, evenly spaced: it isolates where the boundaries go from how many).
Scores are means over dialogues; lower is better. Published on DialSeg711: TextTiling-style
methods Pk 0.40-0.47, coherence-scoring methods about 0.27.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from villagegreen.analyses.embeddings import StaticEmbedder
from villagegreen.analyses.topics_segmentation import even_segments, pk, segment, windowdiff


def load(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        sys.exit(f"{path}: cannot read a dialogue JSON list ({error})")
    dialogues = [d for d in data if isinstance(d, dict) and d.get("utterances") and sum(d.get("segments", [])) == len(d["utterances"])]
    if not dialogues:
        sys.exit(f"{path}: no dialogue with 'utterances' and matching 'segments'")
    return dialogues


def evaluate(dialogues: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    embedder = StaticEmbedder()
    totals = {"villagegreen": [0.0, 0.0], "even": [0.0, 0.0]}
    for dialogue in dialogues:
        reference = dialogue["segments"]
        found = segment(embedder.encode(dialogue["utterances"]))
        for method, hypothesis in (("villagegreen", found), ("even", even_segments(len(dialogue["utterances"]), len(found)))):
            totals[method][0] += pk(reference, hypothesis)
            totals[method][1] += windowdiff(reference, hypothesis)
    return {method: {"pk": round(p / len(dialogues), 4), "windowdiff": round(w / len(dialogues), 4)} for method, (p, w) in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="dialogue JSON list (DialSeg711 layout)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    dialogues = load(args.data)
    started = time.perf_counter()
    scores = evaluate(dialogues)
    if args.json:
        print(json.dumps(scores))
        return
    print(f"{len(dialogues)} dialogues from {args.data} in {time.perf_counter() - started:.1f} s (lower is better)")
    print(f"{'method':<14}{'Pk':>8}{'WindowDiff':>12}")
    for method, score in scores.items():
        print(f"{method:<14}{score['pk']:>8.3f}{score['windowdiff']:>12.3f}")


if __name__ == "__main__":
    main()

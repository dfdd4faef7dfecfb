"""Topic shifts inside one long conversation: where does the subject change?

A TextTiling-style method on embeddings (Hearst 1997; with sentence vectors as in Song et al.
2016): at every gap between two messages, the cosine between the mean vector of the
:data:`WINDOW` messages before and the :data:`WINDOW` after. A gap whose similarity sits in a
valley (its *depth*: how far it lies below the highest similarity on each side, summed) deeper
than ``mean - std / 2`` of all depths, and not within :data:`MIN_GAP` messages of a stronger
boundary, starts a new segment.

Also here: Pk (Beeferman et al. 1999) and WindowDiff (Pevzner and Hearst 2002), both with
``k`` = half the mean reference segment length, rounded, at least 2; lower is better.
Segmentations are lists of segment lengths, as in DialSeg711's ``segments``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from villagegreen.analyses.embeddings import Vectors

# Chosen on the even-numbered dialogues of DialSeg711 among windows 1-4 and gaps 2-5; the
# odd-numbered ones, not used for the choice, score Pk 0.334 (0.327 on the tuning half).
WINDOW = 4
MIN_GAP = 4


def _unit(vector: Vectors) -> Vectors:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def gap_similarities(vectors: Vectors, window: int = WINDOW) -> list[float]:
    """Similarity across each of the ``len(vectors) - 1`` gaps."""
    out = []
    for gap in range(1, len(vectors)):
        before = _unit(vectors[max(0, gap - window) : gap].mean(axis=0))
        after = _unit(vectors[gap : gap + window].mean(axis=0))
        out.append(float(before @ after))
    return out


def depth_scores(similarities: Sequence[float]) -> list[float]:
    depths = []
    for i, value in enumerate(similarities):
        left = max(similarities[: i + 1])
        right = max(similarities[i:])
        depths.append((left - value) + (right - value))
    return depths


def segment(vectors: Vectors, *, window: int = WINDOW) -> list[int]:
    """Segment lengths (summing to ``len(vectors)``) for one conversation's message vectors."""
    n = len(vectors)
    if n < 2 * MIN_GAP:
        return [n] if n else []
    depths = np.asarray(depth_scores(gap_similarities(vectors, window)))
    cutoff = depths.mean() - depths.std() / 2
    chosen: list[int] = []
    for gap in np.argsort(-depths):
        if depths[gap] <= cutoff or depths[gap] <= 0:
            break
        boundary = int(gap) + 1  # a boundary before message `boundary`
        if boundary < MIN_GAP or n - boundary < MIN_GAP or any(abs(boundary - other) < MIN_GAP for other in chosen):
            continue
        chosen.append(boundary)
    edges = [0, *sorted(chosen), n]
    return [b - a for a, b in pairwise(edges)]


def even_segments(n: int, count: int) -> list[int]:
    """``count`` segments of (nearly) equal length: the baseline."""
    count = max(1, min(count, n))
    edges = [round(i * n / count) for i in range(count + 1)]
    return [b - a for a, b in pairwise(edges)]


def _labels(lengths: Sequence[int]) -> list[int]:
    return [index for index, length in enumerate(lengths) for _ in range(length)]


def _k(reference: Sequence[int]) -> int:
    return max(2, round(sum(reference) / len(reference) / 2))


def pk(reference: Sequence[int], hypothesis: Sequence[int]) -> float:
    """Probability that two positions k apart are wrongly said to be in the same or different segments."""
    ref, hyp = _labels(reference), _labels(hypothesis)
    k = _k(reference)
    probes = len(ref) - k
    if probes <= 0:
        return 0.0
    return sum((ref[i] == ref[i + k]) != (hyp[i] == hyp[i + k]) for i in range(probes)) / probes


def windowdiff(reference: Sequence[int], hypothesis: Sequence[int]) -> float:
    """Share of windows of size k where the number of boundaries differs."""
    ref, hyp = _labels(reference), _labels(hypothesis)
    k = _k(reference)
    probes = len(ref) - k
    if probes <= 0:
        return 0.0
    return sum((ref[i + k] - ref[i]) != (hyp[i + k] - hyp[i]) for i in range(probes)) / probes

"""Disentanglement metrics as defined by the evaluation tools of Kummerfeld et al. (2019).

Inputs are per file (keyed by file name): links as ``(source, target)`` message numbers, where a
self link ``(n, n)`` starts a conversation, and conversations as sets of message numbers.
Every score is a percentage (0-100), as the paper reports them.

- link precision/recall/F: over the sets of links, all files pooled;
- conversations: connected components of the links, keeping only messages at or after the
  file's first link source (the annotated part; earlier lines are context);
- variation of information: ``100 * (1 - VI / log2 N)`` over all files' conversations together
  (N messages), so higher is better;
- one-to-one: the share of messages covered by the best one-to-one pairing of system and gold
  conversations (a maximum-weight bipartite matching, done per file since conversations of
  different files never overlap);
- conversation precision/recall/F: exact matches (same message set), single-message
  conversations left out on both sides.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

Link = tuple[int, int]
Clusters = list[frozenset[int]]


@dataclass(frozen=True, slots=True)
class Scores:
    link_precision: float
    link_recall: float
    link_f1: float
    conversation_precision: float
    conversation_recall: float
    conversation_f1: float
    vi: float
    one_to_one: float

    def to_dict(self) -> dict[str, float]:
        return {key: round(value, 2) for key, value in asdict(self).items()}


def links_from_line(numbers: Sequence[int]) -> set[Link]:
    """The links one annotation line states: the largest number links to each of the others."""
    rest = list(numbers)
    source = max(rest)
    rest.remove(source)
    if not rest or rest == [source]:
        return {(source, source)}
    return {(source, target) for target in rest}


def prf(matched: int, system: int, gold: int) -> tuple[float, float, float]:
    precision = 100 * matched / system if system else 0.0
    recall = 100 * matched / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
    return precision, recall, f1


def link_scores(gold: Mapping[str, set[Link]], system: Mapping[str, set[Link]]) -> tuple[float, float, float]:
    matched = sum(len(links & system[key]) for key, links in gold.items() if key in system)
    return prf(matched, sum(map(len, system.values())), sum(map(len, gold.values())))


def conversations(links: Iterable[Link]) -> Clusters:
    """Connected components of ``links``, cut to messages at or after the first link source."""
    parent: dict[int, int] = {}

    def find(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    cutoff = math.inf
    for source, target in links:
        cutoff = min(cutoff, source)
        parent[find(source)] = find(target)
    groups: dict[int, set[int]] = {}
    for node in list(parent):
        if node >= cutoff:
            groups.setdefault(find(node), set()).add(node)
    return sorted((frozenset(group) for group in groups.values()), key=min)


def _contingency(gold: Clusters, system: Clusters) -> dict[tuple[int, int], int]:
    where = {message: index for index, cluster in enumerate(gold) for message in cluster}
    table: dict[tuple[int, int], int] = {}
    for row, cluster in enumerate(system):
        for message in cluster:
            key = (row, where[message])
            table[key] = table.get(key, 0) + 1
    return table


def variation_of_information(gold: Mapping[str, Clusters], system: Mapping[str, Clusters]) -> float:
    cells = [n for key in gold for n in _contingency(gold[key], system[key]).values()]
    rows = [len(c) for key in gold for c in system[key]]
    columns = [len(c) for key in gold for c in gold[key]]
    total = sum(rows)
    if total <= 1:
        return 100.0

    def entropy(counts: Iterable[int]) -> float:
        return -sum(n / total * math.log2(n / total) for n in counts if n)

    joint = entropy(cells)
    mutual = entropy(rows) + entropy(columns) - joint
    return 100 - 100 * (joint - mutual) / math.log2(total)


def one_to_one(gold: Mapping[str, Clusters], system: Mapping[str, Clusters]) -> float:
    overlap = total = 0
    for key in gold:
        table = _contingency(gold[key], system[key])
        rows, columns = len(system[key]), len(gold[key])
        weights = [[table.get((row, column), 0) for column in range(columns)] for row in range(rows)]
        if rows > columns:
            weights = [list(column) for column in zip(*weights, strict=True)]
        overlap += max_assignment(weights)
        total += sum(len(c) for c in gold[key])
    return 100 * overlap / total if total else 0.0


def max_assignment(weights: list[list[int]]) -> int:
    """The largest total weight pairing each row with a distinct column (rows <= columns).

    The Hungarian algorithm with potentials, O(rows^2 * columns), on negated weights.
    """
    rows = len(weights)
    if rows == 0:
        return 0
    columns = len(weights[0])
    u, v = [0] * (rows + 1), [0] * (columns + 1)
    owner, way = [0] * (columns + 1), [0] * (columns + 1)
    for row in range(1, rows + 1):
        owner[0], free = row, 0
        slack, used = [math.inf] * (columns + 1), [False] * (columns + 1)
        while owner[free]:
            used[free] = True
            current, delta, nearest = owner[free], math.inf, 0
            for column in range(1, columns + 1):
                if not used[column]:
                    reduced = -weights[current - 1][column - 1] - u[current] - v[column]
                    if reduced < slack[column]:
                        slack[column], way[column] = reduced, free
                    if slack[column] < delta:
                        delta, nearest = slack[column], column
            for column in range(columns + 1):
                if used[column]:
                    u[owner[column]] += int(delta)
                    v[column] -= int(delta)
                else:
                    slack[column] -= delta
            free = nearest
        while free:
            previous = way[free]
            owner[free] = owner[previous]
            free = previous
    return sum(weights[owner[column] - 1][column - 1] for column in range(1, columns + 1) if owner[column])


def exact_match(gold: Mapping[str, Clusters], system: Mapping[str, Clusters]) -> tuple[float, float, float]:
    """Conversation precision/recall/F over identical message sets, singletons left out."""
    matched = gold_count = system_count = 0
    for key in gold:
        found = {cluster for cluster in system[key] if len(cluster) > 1}
        wanted = [cluster for cluster in gold[key] if len(cluster) > 1]
        gold_count += len(wanted)
        system_count += len(found)
        matched += sum(cluster in found for cluster in wanted)
    return prf(matched, system_count, gold_count)


def score(gold_links: Mapping[str, set[Link]], system_links: Mapping[str, set[Link]]) -> Scores:
    """Every metric at once; both sides must cover the same messages of the same files."""
    gold = {key: conversations(links) for key, links in gold_links.items()}
    system = {key: conversations(system_links.get(key, set())) for key in gold_links}
    for key in gold:
        if set().union(*gold[key]) != set().union(*system[key]):
            raise ValueError(f"{key}: the system's conversations do not cover the same messages as the gold ones")
    return Scores(
        *link_scores(gold_links, system_links),
        *exact_match(gold, system),
        vi=variation_of_information(gold, system),
        one_to_one=one_to_one(gold, system),
    )

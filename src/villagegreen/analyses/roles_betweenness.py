"""Betweenness centrality of unweighted undirected graphs, all sources at once, in numpy.

The same numbers as ``networkx.betweenness_centrality(G, k, normalized=True, endpoints=False)``
(Brandes' algorithm: breadth-first path counts from each source, then dependencies summed
back level by level), but computed for every source together as dense ``people × sources``
arrays, one level at a time (a sparse adjacency matrix times the arrays), instead of one Python
loop per source and edge. On a monthly reply graph of a 1M-message synthetic Slack store (2,782
people, 11,374 pairs, 100 sampled sources) that is about 0.1 CPU-s against networkx's 2.8.

Sampling: above ``exact_max`` nodes, ``exact_max // 3`` sources are drawn with
``random.Random(seed).sample`` from the nodes in sorted order, and scaled as networkx scales a
``k`` sample, so a sampled run equals networkx's on a graph whose nodes were added in sorted
order (tests/analyses/test_roles_scale.py checks both, exact and sampled).

Memory: about six float arrays of ``nodes × sources``, each kept under 64 MB by batching the
sources (4,000 people and 100 sources: 3 MB each), one boolean array of the same shape per
level of the search (an eighth of a float array each), and the sparse adjacency matrix.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pyarrow as pa

_GATHER_BYTES = 64 * 2**20

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class UndirectedGraph:
    """A graph given as pairs of node indices ``0..n-1``; duplicates, either direction, and
    self-loops are allowed in the input and ignored."""

    def __init__(self, size: int, left: Ints, right: Ints) -> None:
        # scipy comes with scikit-learn; imported here, not at start-up of every CLI command.
        from scipy.sparse import csr_array

        keep = left != right
        ends = (np.concatenate([left[keep], right[keep]]), np.concatenate([right[keep], left[keep]]))
        # Built from the pairs as they come, duplicates summed, then every entry set to 1: the
        # same matrix as from the distinct pairs (np.unique of pair codes, which at 1M messages
        # cost as much as the rest of building all the graphs), sorted by column within each row.
        adjacency = csr_array((np.ones(len(ends[0])), ends), shape=(size, size))
        adjacency.sum_duplicates()
        adjacency.data[:] = 1.0
        self.size = size
        self.entries = adjacency.nnz
        self.adjacency = adjacency

    def spread(self, values: Floats) -> Floats:
        """``A @ values`` for the adjacency matrix A: each node's sum over its neighbours."""
        spread: Floats = self.adjacency @ values
        return spread


def periods_graphs(pairs: pa.Table) -> Iterator[tuple[datetime | None, list[str], Ints, Ints]]:
    """Per period of ``pairs`` (columns period, person_id, parent_person; NULL period for the
    whole window), in order of first appearance: the people of that period sorted by code
    point (the order sampled sources are drawn from) and each pair's two ends as their indexes.

    The people are numbered once for all periods, in sorted order, so that each period's
    people sorted are its codes sorted: no string is compared or converted per period.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pairs.num_rows == 0:
        return
    left_names = pairs.column("person_id").combine_chunks()
    right_names = pairs.column("parent_person").combine_chunks()
    names = pc.unique(pa.concat_arrays([left_names, right_names])).to_pylist()
    everyone = pa.array(sorted(names), pa.string())
    left_codes = pc.index_in(left_names, value_set=everyone).to_numpy().astype(np.int64)
    right_codes = pc.index_in(right_names, value_set=everyone).to_numpy().astype(np.int64)
    periods = pairs.column("period").combine_chunks()
    distinct_periods = pc.unique(periods)
    period_codes = pc.index_in(periods, value_set=distinct_periods, skip_nulls=False).to_numpy(zero_copy_only=False)
    order = np.argsort(period_codes, kind="stable")
    bounds = np.searchsorted(period_codes[order], np.arange(len(distinct_periods) + 1))
    names_sorted = everyone.to_pylist()
    for index, period in enumerate(distinct_periods.to_pylist()):
        chosen = order[bounds[index] : bounds[index + 1]]
        left, right = left_codes[chosen], right_codes[chosen]
        people, ends = np.unique(np.concatenate([left, right]), return_inverse=True)
        yield period, [names_sorted[code] for code in people.tolist()], ends[: len(left)], ends[len(left) :]


def betweenness(graph: UndirectedGraph, *, exact_max: int, seed: int = 0) -> Floats:
    """Normalised betweenness of every node (networkx's definition, see the module docstring)."""
    n = graph.size
    chosen: Sequence[int] = range(n)
    if n > exact_max and exact_max // 3 < n:
        chosen = random.Random(seed).sample(range(n), exact_max // 3)
    sources = np.asarray(chosen, dtype=np.int64)
    # Sources in batches, so that each nodes × sources array stays under about 64 MB.
    batch = max(1, min(len(sources), _GATHER_BYTES // (8 * max(1, graph.size))))
    totals = np.zeros(n)
    for first in range(0, len(sources), batch):
        totals += _dependencies(graph, sources[first : first + batch]).sum(axis=1)
    return totals * _scale(n, sources)


def _dependencies(graph: UndirectedGraph, sources: Ints) -> Floats:
    """Brandes' dependency of each node (rows) on each source (columns), sources' own cells 0.

    The forward pass keeps each level's cells as a boolean mask, so the backward pass reads
    them instead of comparing a level array again; arithmetic is in place (a multiplication
    by a mask instead of ``np.where``): fewer passes over the arrays (about 20% less time on
    the monthly graphs of a 1M-message store) and the same numbers, bit for bit (path counts
    are finite and never negative).
    """
    n, k = graph.size, len(sources)
    columns = np.arange(k)
    paths = np.zeros((n, k))  # number of shortest paths from each source
    paths[sources, columns] = 1.0
    unseen = np.ones((n, k), dtype=bool)
    unseen[sources, columns] = False
    levels = [~unseen]  # levels[d]: the cells (node, source) at distance d
    frontier = paths
    while True:
        reached = graph.spread(frontier)
        new = reached > 0
        new &= unseen
        if not new.any():
            break
        unseen ^= new
        reached *= new
        paths += reached  # zero before on every newly reached cell
        levels.append(new)
        frontier = reached
    dependency = np.zeros((n, k))
    # Unreached cells have no paths; dividing by 1 there keeps them 0 without a warning.
    divisor = np.where(paths > 0, paths, 1.0)
    passing = np.empty((n, k))
    for d in range(len(levels) - 1, 0, -1):
        # Each node w on level d passes (1 + dependency) / paths to its predecessors on d - 1.
        np.add(dependency, 1.0, out=passing)
        passing /= divisor
        passing *= levels[d]
        passed = graph.spread(passing)
        passed *= paths
        passed *= levels[d - 1]
        dependency += passed
    dependency[sources, columns] = 0.0
    return dependency


def _scale(n: int, sources: Ints) -> Floats | float:
    """networkx's rescaling for normalized=True, endpoints=False, undirected, exact or k-sampled."""
    pairs = n - 1  # valid (s, t) pairs through v exclude v itself as the target
    if pairs < 2:
        return 1.0
    k = len(sources)
    if k == n:
        return 1.0 / (pairs * (pairs - 1))
    scale = np.full(n, 1.0 / (k * (pairs - 1)))
    scale[sources] = 1.0 / ((k - 1) * (pairs - 1)) if k > 1 else np.nan
    return scale

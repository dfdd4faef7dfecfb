"""The reply graph's adjacency matrix is built from the pairs as given (duplicates summed, then
set to 1); these tests pin it against the distinct-pairs construction it replaced
(``np.unique`` of the pair codes in both directions, self-loops dropped)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_array

from villagegreen.analyses.roles_betweenness import UndirectedGraph, betweenness


def distinct_pairs_adjacency(size: int, left: np.ndarray, right: np.ndarray) -> csr_array:
    keep = left != right
    codes = np.unique(np.concatenate([left[keep] * size + right[keep], right[keep] * size + left[keep]]))
    return csr_array((np.ones(len(codes)), (codes // size, codes % size)), shape=(size, size))


@pytest.mark.parametrize("seed", range(40))
def test_adjacency_is_the_distinct_pairs_matrix_entry_for_entry(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 80))
    # Many more pairs than people: duplicates, both directions and self-loops are all there.
    count = int(rng.integers(0, 400))
    left = rng.integers(0, size, count).astype(np.int64)
    right = rng.integers(0, size, count).astype(np.int64)
    expected = distinct_pairs_adjacency(size, left, right)
    graph = UndirectedGraph(size, left, right)
    assert graph.entries == expected.nnz
    assert graph.adjacency.has_canonical_format
    assert np.array_equal(graph.adjacency.indptr, expected.indptr)
    assert np.array_equal(graph.adjacency.indices, expected.indices)
    assert np.array_equal(graph.adjacency.data, expected.data)


def test_duplicates_and_self_loops_leave_betweenness_unchanged() -> None:
    # A path 0-1-2 plus a pendant 3 on 1: node 1 is on every shortest path between the others.
    left = np.array([0, 1, 1, 1, 2, 2, 3], dtype=np.int64)
    right = np.array([1, 0, 2, 1, 1, 1, 1], dtype=np.int64)
    scores = betweenness(UndirectedGraph(4, left, right), exact_max=300)
    # networkx, normalised, undirected: pairs (0,2), (0,3), (2,3) all pass through 1, of 3 pairs.
    assert scores.tolist() == [0.0, 1.0, 0.0, 0.0]

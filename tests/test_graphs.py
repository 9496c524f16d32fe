"""Graph summaries of edge importance on small graphs with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.explain.graphs import (
    betweenness,
    edge_matrix,
    importance_graph,
    jaccard_matrix,
    maximum_spanning_tree,
    modularity,
    network_pair_importance,
    participation_coefficient,
    top_edge_indices,
    weighted_degree,
)


def _edge_vector(n: int, weights: dict[tuple[int, int], float]) -> np.ndarray:
    rows, cols = np.triu_indices(n, k=1)
    values = np.zeros(len(rows))
    for (i, j), w in weights.items():
        values[np.flatnonzero((rows == min(i, j)) & (cols == max(i, j)))[0]] = w
    return values


def test_maximum_spanning_tree_keeps_the_heaviest_acyclic_edges():
    # Square 0-1-2-3-0 with weights 4, 3, 2, 1 and diagonal 0-2 of 5.
    # Kruskal by weight: 0-2 (5), 0-1 (4), 1-2 (3) would close a cycle, 2-3 (2) joins node 3.
    values = _edge_vector(4, {(0, 1): 4, (1, 2): 3, (2, 3): 2, (0, 3): 1, (0, 2): 5})
    tree = maximum_spanning_tree(values, 4)
    assert sorted(tuple(sorted(e)) for e in tree.edges) == [(0, 1), (0, 2), (2, 3)]
    assert tree.size(weight="weight") == pytest.approx(11.0)


def test_negative_importance_counts_by_magnitude():
    values = _edge_vector(3, {(0, 1): -5, (1, 2): 1, (0, 2): 2})
    tree = maximum_spanning_tree(values, 3)
    assert sorted(tuple(sorted(e)) for e in tree.edges) == [(0, 1), (0, 2)]


def test_betweenness_uses_inverse_weight_distances():
    # Path 0-1-2 with strong edges and a weak direct edge 0-2: shortest 0->2 goes through 1.
    values = _edge_vector(3, {(0, 1): 10, (1, 2): 10, (0, 2): 0.1})
    result = betweenness(importance_graph(values, 3))
    # One pair (0, 2) out of C(2, 2) = 1 pair not involving node 1 -> normalised betweenness 1.
    assert result[1] == pytest.approx(1.0)
    assert result[0] == pytest.approx(0.0)
    strong_direct = _edge_vector(3, {(0, 1): 10, (1, 2): 10, (0, 2): 10})
    assert betweenness(importance_graph(strong_direct, 3))[1] == pytest.approx(0.0)


def test_participation_coefficient_hand_computed():
    # Node 0 (module A) links with weight 1 to node 1 (A) and weight 1 to node 2 (B): P = 1 - (.5^2 + .5^2) = .5
    # Node 1 links only to node 0 (same module): P = 0. Node 3 (B) links 2 (B) w=3 and 1 (A) w=1:
    # P = 1 - (3/4)^2 - (1/4)^2 = 0.375
    values = _edge_vector(4, {(0, 1): 1, (0, 2): 1, (2, 3): 3, (1, 3): 1})
    graph = importance_graph(values, 4)
    partition = {0: "A", 1: "A", 2: "B", 3: "B"}
    p = participation_coefficient(graph, partition)
    assert p[0] == pytest.approx(0.5)
    assert p[3] == pytest.approx(0.375)
    # node 1: neighbours 0 (A, w 1) and 3 (B, w 1) -> 0.5
    assert p[1] == pytest.approx(0.5)
    assert weighted_degree(graph)[2] == pytest.approx(4.0)


def test_modularity_of_two_cliques():
    # Two triangles joined by one weak edge: the two-triangle split has high Q, a random split low Q.
    weights = {(0, 1): 1, (1, 2): 1, (0, 2): 1, (3, 4): 1, (4, 5): 1, (3, 5): 1, (2, 3): 0.1}
    graph = importance_graph(_edge_vector(6, weights), 6)
    good = modularity(graph, [{0, 1, 2}, {3, 4, 5}])
    bad = modularity(graph, [{0, 3, 4}, {1, 2, 5}])
    # Hand value: m = 6.1; each module has internal weight 3 and degree sum 6.1 -> Q = 2 * (3/6.1 - (6.1/12.2)^2)
    assert good == pytest.approx(2 * (3 / 6.1 - 0.25), abs=1e-9)
    assert bad < good
    with pytest.raises(ValueError, match="misses"):
        modularity(graph, [{0, 1, 2}])


def test_top_edges_network_pairs_and_jaccard():
    values = np.array([0.1, -0.9, 0.5, 0.2, 0.0, 0.3])  # 4 ROIs
    assert top_edge_indices(values, 2 / 6).tolist() == [1, 2]
    edges = np.stack(np.triu_indices(4, k=1), axis=1)
    table = network_pair_importance(values, edges, ["a", "a", "b", "b"])
    # a-a: edge (0,1) = .1; b-b: edge (2,3) = .3; a-b: edges (0,2) .9, (0,3) .5, (1,2) .2, (1,3) 0 -> .4
    assert table.loc["a", "a"] == pytest.approx(0.1)
    assert table.loc["b", "b"] == pytest.approx(0.3)
    assert table.loc["a", "b"] == pytest.approx(0.4) and table.loc["b", "a"] == pytest.approx(0.4)
    both = np.stack([values, values[::-1]], axis=1)
    jac = jaccard_matrix(both, 2 / 6, ["x", "y"])
    # x top {1, 2}; y = [.3, 0, .2, .5, -.9, .1] top {3, 4}: no overlap
    assert jac.loc["x", "y"] == 0.0 and jac.loc["x", "x"] == 1.0
    assert edge_matrix(values, 4)[2, 0] == pytest.approx(-0.9)
    with pytest.raises(ValueError, match="6 entries"):
        edge_matrix(values[:5], 4)

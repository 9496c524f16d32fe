"""Graphs from edge importance: which ROI interactions an emotion decoder relies on, and how they hang together.

Every DFC feature is an edge between two ROIs, so a vector of edge importances (one per emotion) is a
weighted brain graph. The summaries here are the graph-theory vocabulary of network neuroscience:

* the **maximum spanning tree** (the backbone the paper draws: the P - 1 edges that connect every ROI
  with the largest total importance);
* **thresholded graphs** keeping the top fraction of edges;
* **weighted degree** (strength), **betweenness** on distances ``1 / weight`` (a strong edge is a
  short path), **modularity** of detected communities and the **participation coefficient**
  (Guimera & Amaral 2005): ``P_i = 1 - sum_s (k_is / k_i)^2``, 0 for a ROI whose important edges
  stay in its own module, near 1 for a connector hub spreading them over modules;
* **network-by-network** mean importance, and the **Jaccard overlap** of top edges between emotions.

Importance signs are dropped (``|importance|``): a graph edge says "this interaction matters".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd


def _edge_values(values: np.ndarray, n_rois: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    expected = n_rois * (n_rois - 1) // 2
    if values.ndim != 1 or len(values) != expected:
        raise ValueError(
            f"edge values must be a vector of {expected} entries (np.triu_indices({n_rois}, 1) order); "
            f"got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("edge values contain NaN or infinite entries")
    return values


def edge_matrix(values: np.ndarray, n_rois: int) -> np.ndarray:
    """Symmetric (P, P) matrix from an edge vector in ``np.triu_indices(P, 1)`` order (zero diagonal).

    Parameters
    ----------
    values : numpy.ndarray
        (P*(P-1)/2,) one value per edge.
    n_rois : int
        The number of ROIs, P.

    Returns
    -------
    numpy.ndarray
        (P, P) float64 symmetric matrix.
    """
    values = _edge_values(values, n_rois)
    matrix = np.zeros((n_rois, n_rois))
    rows, cols = np.triu_indices(n_rois, k=1)
    matrix[rows, cols] = values
    matrix[cols, rows] = values
    return matrix


def top_edge_indices(values: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the ``ceil(fraction * n)`` edges with the largest ``|value|`` (ties broken by index)."""
    values = np.abs(np.asarray(values, dtype=float))
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"the top-edge fraction must be in (0, 1], got {fraction}")
    k = max(1, int(np.ceil(fraction * len(values))))
    order = np.lexsort((np.arange(len(values)), -values))
    return np.sort(order[:k])


def importance_graph(
    values: np.ndarray,
    n_rois: int,
    *,
    top_fraction: float | None = None,
    networks: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
) -> nx.Graph:
    """Weighted graph of ``|values|`` (all non-zero edges, or the top ``top_fraction``).

    Nodes are ROI indices (every ROI is present, even if isolated) with optional ``network`` and
    ``label`` attributes; edges carry ``weight = |value|`` and ``distance = 1 / weight``.
    """
    values = np.abs(_edge_values(values, n_rois))
    keep = (
        top_edge_indices(values, top_fraction)
        if top_fraction is not None
        else np.flatnonzero(values > 0)
    )
    keep = keep[values[keep] > 0]
    rows, cols = np.triu_indices(n_rois, k=1)
    graph = nx.Graph()
    for node in range(n_rois):
        attributes = {}
        if networks is not None:
            attributes["network"] = str(networks[node])
        if labels is not None:
            attributes["label"] = str(labels[node])
        graph.add_node(node, **attributes)
    graph.add_edges_from(
        (
            int(rows[e]),
            int(cols[e]),
            {"weight": float(values[e]), "distance": 1.0 / float(values[e])},
        )
        for e in keep
    )
    return graph


def maximum_spanning_tree(
    values: np.ndarray, n_rois: int, networks: Sequence[str] | None = None
) -> nx.Graph:
    """The spanning tree (forest if some ROIs have only zero edges) of largest total ``|importance|``.

    Parameters
    ----------
    values : numpy.ndarray
        (P*(P-1)/2,) edge importance.
    n_rois : int
        The number of ROIs, P.
    networks : sequence of str, optional
        The network of each ROI, stored as a node attribute.

    Returns
    -------
    networkx.Graph
        The tree (or forest) on the P ROIs, edges weighted by ``|importance|``.
    """
    graph = importance_graph(values, n_rois, networks=networks)
    return nx.maximum_spanning_tree(graph, weight="weight", algorithm="kruskal")


def weighted_degree(graph: nx.Graph) -> pd.Series:
    """Strength of every node: the sum of its edge weights."""
    return pd.Series(dict(graph.degree(weight="weight")), name="strength").sort_index()


def betweenness(graph: nx.Graph, normalized: bool = True) -> pd.Series:
    """Betweenness centrality with edge length ``1 / weight`` (important edges are short)."""
    for _, _, data in graph.edges(data=True):
        if "distance" not in data:
            data["distance"] = 1.0 / data["weight"]
    values = nx.betweenness_centrality(graph, weight="distance", normalized=normalized)
    return pd.Series(values, name="betweenness").sort_index()


def detect_communities(graph: nx.Graph, seed: int = 0, resolution: float = 1.0) -> list[set[int]]:
    """Louvain communities on edge weights (deterministic for a seed); isolated nodes are singletons."""
    if graph.number_of_edges() == 0:
        return [{node} for node in graph.nodes]
    communities = nx.community.louvain_communities(
        graph, weight="weight", resolution=resolution, seed=seed
    )
    return sorted((set(c) for c in communities), key=lambda c: (-len(c), min(c)))


def modularity(graph: nx.Graph, communities: Sequence[set[int]] | Mapping[int, str]) -> float:
    """Newman's weighted modularity Q of a partition (communities, or node -> module labels)."""
    if graph.number_of_edges() == 0:
        return float("nan")
    return float(nx.community.modularity(graph, _as_sets(communities, graph), weight="weight"))


def _as_sets(partition: Sequence[set[int]] | Mapping[int, str], graph: nx.Graph) -> list[set[int]]:
    if isinstance(partition, Mapping):
        groups: dict[str, set[int]] = {}
        for node in graph.nodes:
            if node not in partition:
                raise ValueError(f"node {node} has no module in the partition")
            groups.setdefault(partition[node], set()).add(node)
        return list(groups.values())
    sets = [set(c) for c in partition]
    covered = set().union(*sets) if sets else set()
    missing = set(graph.nodes) - covered
    if missing:
        raise ValueError(f"the partition misses {len(missing)} nodes, e.g. {sorted(missing)[:3]}")
    return sets


def participation_coefficient(
    graph: nx.Graph, partition: Sequence[set[int]] | Mapping[int, str]
) -> pd.Series:
    """Guimera-Amaral participation ``P_i = 1 - sum_s (k_is / k_i)^2`` with weighted degrees.

    ``partition`` is a list of communities or a node -> module map (e.g. the atlas networks).
    Isolated nodes get 0.
    """
    module_of: dict[int, int] = {}
    for m, nodes in enumerate(_as_sets(partition, graph)):
        for node in nodes:
            module_of[node] = m
    out = {}
    for node in graph.nodes:
        per_module: dict[int, float] = {}
        for neighbour, data in graph[node].items():
            per_module[module_of[neighbour]] = (
                per_module.get(module_of[neighbour], 0.0) + data["weight"]
            )
        strength = sum(per_module.values())
        out[node] = (
            0.0 if strength <= 0 else 1.0 - sum((w / strength) ** 2 for w in per_module.values())
        )
    return pd.Series(out, name="participation").sort_index()


def network_partition(networks: Sequence[str]) -> dict[int, str]:
    """Node -> atlas network, for participation with respect to the atlas's networks."""
    return {i: str(n) for i, n in enumerate(networks)}


def network_pair_importance(
    values: np.ndarray,
    edges: np.ndarray,
    networks: Sequence[str],
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Mean ``|importance|`` of the edges between each pair of networks: a symmetric network table.

    ``order`` fixes the rows/columns (default: networks in order of first appearance in the atlas).
    Pairs without edges (a one-ROI network with itself) are NaN.

    Parameters
    ----------
    values : numpy.ndarray
        (n_edges,) importance per edge.
    edges : numpy.ndarray
        (n_edges, 2) ROI indices of each edge.
    networks : sequence of str
        The network of each ROI.
    order : sequence of str, optional
        The networks, in the order of the table's rows and columns.

    Returns
    -------
    pandas.DataFrame
        (n_networks, n_networks) symmetric table of mean ``|importance|``.
    """
    values = np.abs(np.asarray(values, dtype=float))
    edges = np.asarray(edges)
    if len(values) != len(edges):
        raise ValueError(f"{len(values)} importance values for {len(edges)} edges")
    networks = np.asarray(networks, dtype=str)
    names = list(order) if order is not None else list(dict.fromkeys(networks.tolist()))
    rank = {n: i for i, n in enumerate(names)}
    unknown = set(networks.tolist()) - set(rank)
    if unknown:
        raise ValueError(f"networks {sorted(unknown)} are missing from the order")
    codes = np.array([rank[n] for n in networks])
    a, b = codes[edges[:, 0]], codes[edges[:, 1]]
    n = len(names)
    sums = np.zeros((n, n))
    counts = np.zeros((n, n))
    np.add.at(sums, (a, b), values)
    np.add.at(counts, (a, b), 1.0)
    sums = sums + sums.T - np.diag(np.diag(sums))
    counts = counts + counts.T - np.diag(np.diag(counts))
    with np.errstate(invalid="ignore", divide="ignore"):
        table = np.where(counts > 0, sums / counts, np.nan)
    return pd.DataFrame(table, index=names, columns=names)


def jaccard_matrix(
    importance: np.ndarray, fraction: float, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Jaccard overlap ``|A & B| / |A | B|`` of the top ``fraction`` edges between every two columns.

    Parameters
    ----------
    importance : numpy.ndarray
        (n_edges, n_emotions) edge importance.
    fraction : float
        Share of edges kept per column, in (0, 1].
    names : sequence of str, optional
        Column names; ``target_0``... if omitted.

    Returns
    -------
    pandas.DataFrame
        (n_emotions, n_emotions) symmetric overlaps in [0, 1], ones on the diagonal.
    """
    importance = np.asarray(importance, dtype=float)
    if importance.ndim != 2:
        raise ValueError(f"importance must be (n_edges, n_emotions); got shape {importance.shape}")
    sets = [
        set(top_edge_indices(importance[:, k], fraction).tolist())
        for k in range(importance.shape[1])
    ]
    n = len(sets)
    table = np.ones((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            table[i, j] = table[j, i] = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
    labels = list(names) if names is not None else [f"target_{k}" for k in range(n)]
    return pd.DataFrame(table, index=labels, columns=labels)


def graph_summary(
    importance: np.ndarray,
    n_rois: int,
    networks: Sequence[str],
    fraction: float,
    names: Sequence[str],
    seed: int = 0,
) -> pd.DataFrame:
    """Per emotion: thresholded-graph modularity (detected communities and atlas networks),
    number of communities, mean participation (w.r.t. atlas networks) and the top hub by strength
    and by betweenness.

    Parameters
    ----------
    importance : numpy.ndarray
        (n_edges, n_emotions) edge importance, edges in ``np.triu_indices(P, 1)`` order.
    n_rois : int
        The number of ROIs, P.
    networks : sequence of str
        The network of each ROI.
    fraction : float
        Share of edges (largest ``|importance|``) kept in each graph, in (0, 1].
    names : sequence of str
        The emotion of each column of ``importance``.
    seed : int, optional
        Seed of the community detection.

    Returns
    -------
    pandas.DataFrame
        One row per emotion: ``emotion``, ``n_edges``, ``modularity_communities``,
        ``n_communities``, ``modularity_networks``, ``mean_participation``, ``hub_strength`` and
        ``hub_betweenness`` (ROI indices).
    """
    rows = []
    partition = network_partition(networks)
    for k, name in enumerate(names):
        graph = importance_graph(importance[:, k], n_rois, top_fraction=fraction, networks=networks)
        communities = detect_communities(graph, seed=seed)
        strength = weighted_degree(graph)
        between = betweenness(graph)
        connected = [n for n in graph.nodes if graph.degree(n) > 0]
        participation = participation_coefficient(graph, partition)
        rows.append(
            {
                "emotion": name,
                "n_edges": graph.number_of_edges(),
                "modularity_communities": modularity(graph, communities),
                "n_communities": sum(1 for c in communities if len(c) > 1),
                "modularity_networks": modularity(graph, partition),
                "mean_participation": float(participation[connected].mean())
                if connected
                else float("nan"),
                "hub_strength": int(strength.idxmax()),
                "hub_betweenness": int(between.idxmax()),
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "edge_matrix",
    "top_edge_indices",
    "importance_graph",
    "maximum_spanning_tree",
    "weighted_degree",
    "betweenness",
    "detect_communities",
    "modularity",
    "participation_coefficient",
    "network_partition",
    "network_pair_importance",
    "jaccard_matrix",
    "graph_summary",
]

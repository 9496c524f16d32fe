"""Summaries a reader looks at before decoding: how each feature follows each emotion, and averages
of edge values within and between networks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def edge_target_correlations(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None, chunk_features: int = 8192
) -> np.ndarray:
    """Pearson r of every feature with every target: (n_features, n_targets) float64.

    With ``groups`` (e.g. the subject of each sample) r is computed within each group and averaged,
    so that differences between subjects' mean connectivity do not masquerade as emotion effects.
    Constant features get r = 0. Features are processed in chunks to bound memory.

    Parameters
    ----------
    X : numpy.ndarray
        (n_samples, n_features) features.
    y : numpy.ndarray
        (n_samples, n_targets) or (n_samples,) targets.
    groups : numpy.ndarray, optional
        (n_samples,) group of each sample; one group if omitted.
    chunk_features : int, optional
        Features correlated at a time.

    Returns
    -------
    numpy.ndarray
        (n_features, n_targets) float64 r, averaged over groups.
    """
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    groups = np.zeros(len(X), dtype=int) if groups is None else np.asarray(groups)
    unique = list(dict.fromkeys(groups.tolist()))
    total = np.zeros((X.shape[1], y.shape[1]))
    for group in unique:
        rows = np.flatnonzero(groups == group)
        yc = y[rows] - y[rows].mean(axis=0)
        y_norm = np.sqrt((yc**2).sum(axis=0))
        y_norm[y_norm == 0] = np.inf
        for first in range(0, X.shape[1], chunk_features):
            block = np.asarray(X[rows, first : first + chunk_features], dtype=np.float64)
            block -= block.mean(axis=0)
            x_norm = np.sqrt((block**2).sum(axis=0))
            x_norm[x_norm == 0] = np.inf
            total[first : first + block.shape[1]] += (
                (block.T @ yc) / x_norm[:, None] / y_norm[None, :]
            )
    return total / len(unique)


def network_pair_summary(
    edge_values: np.ndarray,
    edges: np.ndarray,
    networks: Sequence[str],
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Average edge values (n_edges, K) within each pair of networks.

    Returns a DataFrame indexed by (``network_a``, ``network_b``) with ``network_a <= network_b``
    alphabetically (within-network pairs have a == b), one column per value column plus ``n_edges``.

    Parameters
    ----------
    edge_values : numpy.ndarray
        (n_edges, K) or (n_edges,) values per edge.
    edges : numpy.ndarray
        (n_edges, 2) ROI indices of each edge.
    networks : sequence of str
        The network of each ROI.
    columns : sequence of str, optional
        Names of the K value columns; ``value_0``... if omitted.

    Returns
    -------
    pandas.DataFrame
        One row per network pair that has edges: the K mean values and ``n_edges``.
    """
    values = np.asarray(edge_values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    edges = np.asarray(edges)
    if len(values) != len(edges):
        raise ValueError(f"{len(values)} edge values for {len(edges)} edges")
    names, codes = np.unique(np.asarray(networks, dtype=str), return_inverse=True)
    a, b = codes[edges[:, 0]], codes[edges[:, 1]]
    low, high = np.minimum(a, b), np.maximum(a, b)
    pair = low * len(names) + high
    counts = np.bincount(pair, minlength=len(names) ** 2)
    present = np.flatnonzero(counts)
    sums = np.stack(
        [
            np.bincount(pair, weights=values[:, k], minlength=len(names) ** 2)
            for k in range(values.shape[1])
        ],
        axis=1,
    )
    columns = (
        list(columns) if columns is not None else [f"value_{k}" for k in range(values.shape[1])]
    )
    if len(columns) != values.shape[1]:
        raise ValueError(f"{len(columns)} column names for {values.shape[1]} value columns")
    frame = pd.DataFrame(sums[present] / counts[present, None], columns=columns)
    frame.index = pd.MultiIndex.from_arrays(
        [names[present // len(names)], names[present % len(names)]],
        names=["network_a", "network_b"],
    )
    frame["n_edges"] = counts[present]
    return frame


def network_pair_matrix(summary: pd.DataFrame, column: str) -> pd.DataFrame:
    """One column of :func:`network_pair_summary` as a symmetric network x network table.

    Parameters
    ----------
    summary : pandas.DataFrame
        A table of :func:`network_pair_summary`.
    column : str
        The value column to lay out.

    Returns
    -------
    pandas.DataFrame
        (n_networks, n_networks), symmetric, networks in alphabetical order; NaN for pairs with
        no edge.
    """
    table = summary[column].unstack("network_b")
    names = sorted(set(table.index) | set(table.columns))
    table = table.reindex(index=names, columns=names)
    return table.combine_first(table.T)

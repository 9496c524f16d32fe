"""Network-level connectivity: mean Fisher z within and between the atlas networks, per window.

A middle ground between 300 ROI amplitudes and 44,850 edges: with 14 networks, 105 features (14
within-network and 91 between-network means), each an average of many edges, so noise averages out
while interactions between networks stay visible - and every feature has a name a reader knows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse


def network_averaging(
    edges: np.ndarray, networks: Sequence[str]
) -> tuple[sparse.csr_matrix, list[str]]:
    """A sparse (n_edges, n_pairs) matrix averaging edges into network pairs, and the pair names.

    ``dfc @ averaging`` turns (windows x edges) connectivity into (windows x network pairs) means.
    Pairs without any edge (a single-ROI network with itself) are left out.
    """
    networks = np.asarray([str(n) for n in networks])
    names = list(dict.fromkeys(networks.tolist()))
    code = {name: i for i, name in enumerate(names)}
    a = np.array([code[n] for n in networks[edges[:, 0]]])
    b = np.array([code[n] for n in networks[edges[:, 1]]])
    low, high = np.minimum(a, b), np.maximum(a, b)
    pair_of_edge = low * len(names) + high
    present, column = np.unique(pair_of_edge, return_inverse=True)
    counts = np.bincount(column)
    matrix = sparse.csr_matrix(
        (1.0 / counts[column], (np.arange(len(edges)), column)),
        shape=(len(edges), len(present)),
        dtype=np.float32,
    )
    labels = [f"{names[p // len(names)]}|{names[p % len(names)]}" for p in present]
    return matrix, labels


def network_connectivity(dfc: np.ndarray, edges: np.ndarray, networks: Sequence[str]) -> np.ndarray:
    """Mean Fisher z of each network pair per window: (n_windows, n_pairs) float32."""
    matrix, _ = network_averaging(np.asarray(edges), networks)
    return np.asarray(np.asarray(dfc, dtype=np.float32) @ matrix, dtype=np.float32)

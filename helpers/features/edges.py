"""How DFC features are indexed: one feature per ROI pair, in ``np.triu_indices(P, k=1)`` order.

Edge ``k`` joins ROIs ``(i, j)`` with ``i < j``; pairs run ``(0, 1), (0, 2), ..., (0, P-1), (1, 2), ...``.
Every module that names an edge (features, simulation, explanations) uses these three functions.
"""

from __future__ import annotations

import numpy as np


def n_edges(n_rois: int) -> int:
    """Number of distinct ROI pairs, ``P * (P - 1) / 2``.

    Parameters
    ----------
    n_rois : int
        The number of ROIs, P.

    Returns
    -------
    int
        ``P * (P - 1) // 2``.
    """
    return n_rois * (n_rois - 1) // 2


def edge_pairs(n_rois: int) -> np.ndarray:
    """ROI pairs of the DFC features, shape (P*(P-1)/2, 2), in ``np.triu_indices(P, k=1)`` order.

    Parameters
    ----------
    n_rois : int
        The number of ROIs, P.

    Returns
    -------
    numpy.ndarray
        (P*(P-1)/2, 2) int32 ROI indices, the first below the second.
    """
    rows, cols = np.triu_indices(n_rois, k=1)
    return np.stack([rows, cols], axis=1).astype(np.int32)


def edge_position(i: int, j: int, n_rois: int) -> int:
    """Position of the ROI pair ``(i, j)`` (either order) among :func:`edge_pairs` of ``n_rois`` ROIs."""
    if i == j or not (0 <= i < n_rois and 0 <= j < n_rois):
        raise ValueError(f"ROIs {i} and {j} do not form an edge among {n_rois} ROIs")
    i, j = (i, j) if i < j else (j, i)
    return i * n_rois - i * (i + 1) // 2 + (j - i - 1)

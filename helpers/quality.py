"""Quality summaries of ROI signals that a reader checks before trusting them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def connectivity_structure(matrix: np.ndarray, networks: Sequence[str]) -> dict[str, float]:
    """Mean off-diagonal correlation within networks and between networks."""
    matrix = np.asarray(matrix, dtype=float)
    labels = np.asarray(networks)
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    return {
        "within": float(matrix[same & off_diagonal].mean()),
        "between": float(matrix[~same].mean()),
    }

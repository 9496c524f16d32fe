"""Correlations of every feature with many target columns over training rows, and the strongest.

The selection models (:mod:`helpers.decoding.selection`) rank features by their correlation with
each target column over a fold's training rows. Targets are stored per distinct window (all
subjects share the story), so the correlations of all features with all columns are one product of
per-window feature sums with the target table, and the strongest features of each column are found
without sorting all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = [
    "FeatureMajor",
    "TargetColumns",
    "TrainingCorrelations",
    "top_features",
]

_ROW_COPY_BYTES = 512 * 2**20
"""Largest per-fit copy of the feature-major features restricted to the fit's rows."""

_ROW_BLOCK = 1024
"""Rows read at a time when summing features per window (bounds scratch memory)."""


@dataclass
class TargetColumns:
    """Target columns stored once per distinct window: ``table[window_of_sample[i]]`` is sample i's row."""

    table: np.ndarray  # (n_windows, n_columns)
    window_of_sample: np.ndarray  # (n_samples,)
    shared: bool = True  # False: one row per sample (targets not shared by the samples of a window)

    @classmethod
    def from_samples(
        cls, Y: np.ndarray, window_of_sample: np.ndarray | None = None
    ) -> TargetColumns:
        """Per-sample targets; shared per window when every window's samples agree, else one row each."""
        Y = np.asarray(Y, dtype=np.float64)
        if window_of_sample is not None:
            first = np.full(window_of_sample.max() + 1, -1)
            first[window_of_sample[::-1]] = np.arange(len(window_of_sample))[::-1]
            if (first >= 0).all() and np.allclose(Y[first][window_of_sample], Y):
                return cls(Y[first], np.asarray(window_of_sample), True)
        return cls(Y, np.arange(len(Y)), False)

    @property
    def n_columns(self) -> int:
        return self.table.shape[1]

    def values(self, rows: np.ndarray) -> np.ndarray:
        return self.table[self.window_of_sample[rows]]


class TrainingCorrelations:
    """Correlations of every feature with any target columns over one set of training rows.

    Features are centred on the rows, so the numerator needs no centring of the targets: it is the
    product of the target table with each window's summed centred features. The per-window sums
    and the feature norms are accumulated over blocks of rows (no copy of the training matrix, which
    is gigabytes at paper scale); the correlations of a chunk of columns then cost one product.
    """

    def __init__(self, X: np.ndarray, rows: np.ndarray, columns: TargetColumns) -> None:
        windows, local = np.unique(columns.window_of_sample[rows], return_inverse=True)
        local = local.ravel()
        n_features = X.shape[1]
        sums = np.zeros((len(windows), n_features), dtype=np.float64)
        squares = np.zeros(n_features, dtype=np.float64)
        for first in range(0, len(rows), _ROW_BLOCK):
            block = slice(first, first + _ROW_BLOCK)
            values = np.asarray(X[rows[block]], dtype=np.float32)
            onehot = sparse.csr_matrix(
                (np.ones(len(values), np.float32), (local[block], np.arange(len(values)))),
                shape=(len(windows), len(values)),
            )
            sums += onehot @ values
            squares += np.einsum("ij,ij->j", values, values, dtype=np.float64)
        self.counts = np.bincount(local, minlength=len(windows)).astype(np.float64)
        mean = sums.sum(axis=0) / len(rows)
        norm = np.sqrt(np.maximum(squares - len(rows) * mean**2, 0.0))
        inverse_norm = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 1e-12 * len(rows))
        # per-window sums of the centred features, each feature scaled to unit norm over the rows
        sums -= self.counts[:, None] * mean
        sums *= inverse_norm
        self.window_sums = sums.astype(np.float32)  # (n_windows_in_rows, n_features)
        self.windows = windows
        self.columns = columns

    def __call__(self, cols: slice | np.ndarray) -> np.ndarray:
        """Pearson r (n_chunk, n_features) float32 of the columns ``cols`` (a slice or indices)."""
        table = self.columns.table[self.windows][:, cols]
        mean = self.counts @ table / self.counts.sum()
        norm = np.sqrt(self.counts @ (table - mean) ** 2)
        scaled = table * np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
        return scaled.T.astype(np.float32) @ self.window_sums


def top_features(r: np.ndarray, k_max: int) -> np.ndarray:
    """Indices (n_columns, k_max) of each column's strongest features by |r|, strongest first.

    A full partition of tens of thousands of values per column is the slow part, so each column
    first gets a threshold: the features are dealt into ``8 * k_max`` interleaved blocks and the
    ``k_max``-th largest block maximum of |r| is a value that at least ``k_max`` features reach.
    Every feature among the ``k_max`` strongest reaches it too, so only the few features at or
    above it are sorted. Ties are broken by the lower feature index.
    """
    n_columns, n_features = r.shape
    k_max = min(k_max, n_features)
    n_blocks = 8 * k_max
    size = n_features // n_blocks
    if size < 2:  # few features: one partition of them all, then a sort of the strongest
        strength = -np.abs(r)
        part = np.sort(np.argpartition(strength, k_max - 1, axis=1)[:, :k_max], axis=1)
        order = np.argsort(np.take_along_axis(strength, part, axis=1), axis=1, kind="stable")
        return np.take_along_axis(part, order, axis=1)
    # block j holds features j, j + n_blocks, ...: maxima over the middle axis are elementwise
    main = r[:, : n_blocks * size].reshape(n_columns, size, n_blocks)
    peaks = np.maximum(main.max(axis=1), -main.min(axis=1))
    threshold = np.partition(peaks, n_blocks - k_max, axis=1)[:, n_blocks - k_max]
    out = np.empty((n_columns, k_max), dtype=np.intp)
    for c in range(n_columns):
        row = r[c]
        candidates = np.flatnonzero((row >= threshold[c]) | (row <= -threshold[c]))
        strength = np.abs(row[candidates])
        out[c] = candidates[np.argsort(-strength, kind="stable")[:k_max]]
    return out


class FeatureMajor:
    """A feature-major copy of the features, made once and shared by every fold and inner fold.

    Each column's selected features are then gathered as contiguous rows: ``values(index)`` is
    ``X[:, index]`` moved to ``(c, k, n_samples)``. At paper scale the copy is gigabytes, so it is
    made once per cross-validation run rather than once per fit.
    """

    def __init__(self, X: np.ndarray) -> None:
        self.transposed = np.ascontiguousarray(np.asarray(X, dtype=np.float32).T)

    def values(self, index: np.ndarray) -> np.ndarray:
        return self.transposed[index]

    def on_rows(self, rows: np.ndarray) -> FeatureMajor | None:
        """The same copy restricted to ``rows`` (in that order), or None when it would be too large.

        A fit needs strengths on its training and evaluation rows only, often half the samples:
        summing over those alone halves the sparse product, for one copy per fit.
        """
        if self.transposed.shape[0] * len(rows) * 4 > _ROW_COPY_BYTES:
            return None
        restricted = FeatureMajor.__new__(FeatureMajor)
        restricted.transposed = np.take(self.transposed, rows, axis=1)
        return restricted

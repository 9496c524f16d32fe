"""Models for sparse, distributed codes: connectome-based predictive modelling and univariate screening.

A few informative edges among 44,850, with a few hundred training windows, are diluted by a dense
model. The field's answer is to select features inside each training fold: CPM (Shen et al. 2017)
sums the edges most correlated with the emotion into a positive and a negative strength and fits a
line on those two numbers; screening (:mod:`helpers.decoding.screening`) keeps the ``k`` most
correlated features and fits ridge on them. The number of edges (CPM) and ``k`` and the penalty
(screening) are chosen on the inner folds, whose selection uses only their own training rows.

CPM's threshold is a number of edges rather than a parametric p-value: overlapping windows are far
from independent samples, so p-values of edge-target correlations are much too small and a p < 0.01
threshold keeps thousands of noise edges.

Everything is written for many target columns at once - the eight emotions, or the eight emotions
of every null draw - so a null draw costs one more column, not one more fit; the correlations and
rankings behind the selection are in :mod:`helpers.decoding.correlations`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from helpers.decoding.correlations import (
    FeatureMajor,
    TargetColumns,
    TrainingCorrelations,
    top_features,
)
from helpers.decoding.splits import FoldInput

if TYPE_CHECKING:
    pass

_CORRELATION_CHUNK = 512
"""Target columns whose correlations with every feature are held at a time."""

COLUMN_CHUNK = 128
"""Target columns whose selected features are gathered at a time (bounds scratch memory)."""

__all__ = [
    "CorrelationCache",
    "CpmLesion",
    "cpm_fold",
    "inner_loss",
]


class CorrelationCache:
    """Each fit's ranking of features by training correlation, kept for lesions to reuse.

    A lesion removes features; the remaining features' correlations with the targets over the same
    training rows do not change, so CPM refitted without them only needs the strongest remaining
    features. Each fit keeps every column's ``depth`` strongest features in order: a lesion drops
    its own features from that list and, in the rare column where fewer than the needed number
    remain, ranks that column again from the correlations. Keyed by the rows and the target
    table, so one cache serves every fold, and holds the feature-major copy of ``X`` they share.
    """

    def __init__(self, depth: int = 8) -> None:
        self.depth = depth  # features kept per column, in multiples of the largest edge count
        self._store: dict[tuple[bytes, bytes], _Ranking] = {}
        self._by_feature: FeatureMajor | None = None

    def feature_major(self, X: np.ndarray) -> FeatureMajor:
        """The feature-major copy of ``X`` shared by every fit that uses this cache."""
        if self._by_feature is None or self._by_feature.transposed.shape != X.shape[::-1]:
            self._by_feature = FeatureMajor(X)
        return self._by_feature

    def ranking(
        self, X: np.ndarray, rows: np.ndarray, columns: TargetColumns, k_max: int
    ) -> _Ranking:
        """The ranking of every column's strongest features over ``rows`` (made on first use)."""
        key = (
            hashlib.sha1(np.ascontiguousarray(rows).tobytes()).digest(),
            hashlib.sha1(np.ascontiguousarray(columns.values(rows)).tobytes()).digest(),
        )
        found = self._store.get(key)
        if found is None or found.index.shape[1] < min(k_max, X.shape[1]):
            found = _Ranking(TrainingCorrelations(X, rows, columns), self.depth * k_max)
            self._store[key] = found
        return found


class _Ranking:
    """Every column's ``depth`` strongest features (strongest first) and their correlations."""

    def __init__(self, correlations: TrainingCorrelations, depth: int) -> None:
        self.correlations = correlations
        n_columns = correlations.columns.n_columns
        n_features = correlations.window_sums.shape[1]
        depth = min(depth, n_features)
        self.index = np.empty((n_columns, depth), dtype=np.intp)
        self.r = np.empty((n_columns, depth), dtype=np.float32)
        for first in range(0, n_columns, _CORRELATION_CHUNK):
            block = slice(first, min(first + _CORRELATION_CHUNK, n_columns))
            r = correlations(block)
            self.index[block] = top_features(r, depth)
            self.r[block] = np.take_along_axis(r, self.index[block], axis=1)

    def top(
        self, cols: slice, k_max: int, excluded: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices and signs (n_cols, k_max) of the strongest features outside ``excluded``."""
        index, r = self.index[cols], self.r[cols]
        if excluded is None:
            return index[:, :k_max], np.sign(r[:, :k_max])
        n_features = self.correlations.window_sums.shape[1]
        k_max = min(k_max, n_features - np.unique(excluded).size)
        lesioned = np.zeros(n_features, dtype=bool)
        lesioned[excluded] = True
        kept = ~lesioned[index]
        # positions of each row's first k_max kept features, in ranking order
        order = np.argsort(~kept, axis=1, kind="stable")[:, :k_max]
        chosen = np.take_along_axis(index, order, axis=1)
        signs = np.sign(np.take_along_axis(r, order, axis=1))
        short = np.flatnonzero(kept.sum(axis=1) < k_max)
        if short.size:  # the lesion took too many of these columns' ranked features: rank again
            again = self.correlations(np.arange(cols.start, cols.stop)[short])
            again[:, lesioned] = 0.0
            chosen[short] = top_features(again, k_max)
            signs[short] = np.sign(np.take_along_axis(again, chosen[short], axis=1))
        return chosen, signs


@dataclass
class CpmLesion:
    """Features CPM may not select (``excluded``) and the rankings shared by every lesion (``cache``).

    Passed to a cross-validation so that a lesion, with all its null columns, reuses the intact
    fits' training correlations instead of refitting on a copy of the remaining features.
    """

    excluded: np.ndarray | None = None
    cache: CorrelationCache | None = None


def inner_loss(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Squared error of every setting on one inner fold: (..., n_eval, c) predictions -> (..., c)."""
    return ((predicted - truth) ** 2).sum(axis=-2)


# ------------------------------------------------------------------------------------------- CPM
def _cpm_strengths(
    by_feature: FeatureMajor, index: np.ndarray, signs: np.ndarray, n_edges: tuple[int, ...]
) -> np.ndarray:
    """Positive and negative network strengths for each edge count: (c, K, 2, n_samples) float32.

    ``index`` (c, k_max) are each column's strongest edges, strongest first, and ``signs`` the signs
    of their correlations; the strength of ``k`` edges sums the first ``k`` of them by sign. Each
    edge is added once, into the block of edge counts it first belongs to, by one sparse product
    with the feature-major features (no copy of the gathered edges); a cumulative sum over the
    blocks then gives every edge count.
    """
    n_columns, k_max = index.shape
    n_counts = len(n_edges)
    block = np.searchsorted(np.asarray(n_edges), np.arange(k_max), side="right")
    keep = (signs != 0) & (block < n_counts)[None, :]
    row = np.arange(n_columns)[:, None] * (2 * n_counts) + block[None, :] * 2 + (signs < 0)
    n_features, n_samples = by_feature.transposed.shape
    weights = sparse.csr_matrix(
        (np.ones(int(keep.sum()), np.float32), (row[keep], index[keep])),
        shape=(n_columns * 2 * n_counts, n_features),
    )
    strengths = np.asarray(weights @ by_feature.transposed).reshape(
        n_columns, n_counts, 2, n_samples
    )
    for k in range(1, n_counts):  # cumulative over edge counts (faster than cumsum on this axis)
        strengths[:, k] += strengths[:, k - 1]
    return strengths


def _fit_lines(S_train: np.ndarray, y_train: np.ndarray, S_eval: np.ndarray) -> np.ndarray:
    """Least squares of each column on its two strengths plus an intercept, for every edge count.

    ``S_train`` (c, K, 2, n_train), ``y_train`` (n_train, c), ``S_eval`` (c, K, 2, n_eval) ->
    predictions (K, n_eval, c). A strength that is constant (no edge of that sign) gets no weight.
    """
    S_train = np.asarray(S_train, dtype=np.float64)
    s_mean = S_train.mean(axis=-1, keepdims=True)
    pos, neg = S_train[:, :, 0] - s_mean[:, :, 0], S_train[:, :, 1] - s_mean[:, :, 1]  # (c, K, n)
    y_mean = y_train.mean(axis=0)
    yc = np.ascontiguousarray((y_train - y_mean).T)[:, None, :]  # (c, 1, n)
    a, b, d = (pos * pos).sum(axis=-1), (pos * neg).sum(axis=-1), (neg * neg).sum(axis=-1)
    u, v = (pos * yc).sum(axis=-1), (neg * yc).sum(axis=-1)  # (c, K)
    a, d = (
        a + 1e-12 * (a + d) + 1e-300,
        d + 1e-12 * (a + d) + 1e-300,
    )  # a vanishing ridge: no edge, no weight
    det = a * d - b * b
    w_pos, w_neg = (d * u - b * v) / det, (a * v - b * u) / det  # (c, K)
    evaluate = np.asarray(S_eval, dtype=np.float64) - s_mean
    predicted = (
        evaluate[:, :, 0] * w_pos[..., None]
        + evaluate[:, :, 1] * w_neg[..., None]
        + y_mean[:, None, None]
    )  # (c, K, n_eval)
    return predicted.transpose(1, 2, 0)


def _cpm_predict(
    X: np.ndarray,
    train: np.ndarray,
    evaluate: np.ndarray,
    columns: TargetColumns,
    n_edges: tuple[int, ...],
    by_feature: FeatureMajor | None = None,
    excluded: np.ndarray | None = None,
    cache: CorrelationCache | None = None,
) -> np.ndarray:
    """CPM fitted on ``train`` for every edge count, predicting ``evaluate``: (K, n_eval, n_columns).

    ``by_feature`` is the feature-major copy of ``X`` the strengths are summed from (made here when
    the caller does not share one). ``excluded`` features (a lesion) are never selected; ``cache``
    keeps this fit's ranking of the features for the next lesion.
    """
    k_max = max(n_edges)
    if cache is not None:
        ranking = cache.ranking(X, train, columns, k_max)

        def strongest(block: slice) -> tuple[np.ndarray, np.ndarray]:
            return ranking.top(block, k_max, excluded)

    else:
        correlations = TrainingCorrelations(X, train, columns)

        def strongest(block: slice) -> tuple[np.ndarray, np.ndarray]:
            r = correlations(block)
            if excluded is not None:
                r[:, excluded] = 0.0
            index = top_features(r, k_max)
            return index, np.sign(np.take_along_axis(r, index, axis=1))

    by_feature = by_feature if by_feature is not None else FeatureMajor(X)
    rows = np.concatenate([train, evaluate])
    # the copy on the fit's rows pays when the product it shortens is larger than the copy
    n_features, n_samples = by_feature.transposed.shape
    worth_copying = columns.n_columns * max(n_edges) * n_samples > n_features * len(rows)
    on_rows = by_feature.on_rows(rows) if worth_copying else None
    source, keep_rows = (by_feature, rows) if on_rows is None else (on_rows, slice(None))
    out = np.empty((len(n_edges), len(evaluate), columns.n_columns))
    y_train = columns.values(train)
    n_train = len(train)
    for first in range(0, columns.n_columns, _CORRELATION_CHUNK):
        block = slice(first, min(first + _CORRELATION_CHUNK, columns.n_columns))
        index, signs = strongest(block)
        for sub in range(0, len(index), COLUMN_CHUNK):
            part = slice(sub, sub + COLUMN_CHUNK)
            strengths = _cpm_strengths(source, index[part], signs[part], n_edges)[..., keep_rows]
            cols = slice(first + sub, first + sub + strengths.shape[0])
            out[:, :, cols] = _fit_lines(
                strengths[..., :n_train], y_train[:, cols], strengths[..., n_train:]
            )
    return out


def cpm_fold(
    X: np.ndarray,
    columns: TargetColumns,
    fold: FoldInput,
    n_edges: tuple[int, ...],
    by_feature: FeatureMajor | None = None,
    lesion: CpmLesion | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nested CPM in one outer fold: the edge count per column from the inner folds, then the fit.

    Parameters
    ----------
    X : (n_samples, n_features) features of every sample.
    columns : the target columns (real targets and null draws) to fit at once.
    fold : the outer fold's training and test rows and its inner folds.
    n_edges : edge counts to choose from on the inner folds.
    by_feature : feature-major copy of ``X`` shared by all fits (made here if absent).
    lesion : features CPM may not select, and the rankings many lesions share (see
        :class:`CorrelationCache`).

    Returns
    -------
    Test predictions (n_test, n_columns) and the chosen edge count per column (n_columns,).
    """
    excluded, cache = (lesion.excluded, lesion.cache) if lesion is not None else (None, None)
    if by_feature is None:
        by_feature = cache.feature_major(X) if cache is not None else FeatureMajor(X)
    n_edges = tuple(sorted(set(int(k) for k in n_edges)))
    train = fold.train
    loss = np.zeros((len(n_edges), columns.n_columns))
    for it, iv in fold.inner:
        predicted = _cpm_predict(
            X, train[it], train[iv], columns, n_edges, by_feature, excluded, cache
        )
        loss += inner_loss(predicted, columns.values(train[iv]))
    best = np.argmin(loss, axis=0)
    predicted = _cpm_predict(X, train, fold.test, columns, n_edges, by_feature, excluded, cache)
    chosen = np.asarray(n_edges)[best]
    return np.take_along_axis(predicted, best[None, None, :], axis=0)[0], chosen

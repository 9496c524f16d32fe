"""Univariate screening: ridge on each target column's ``k`` most correlated features.

The dense alternative to CPM among the selection models (:mod:`helpers.decoding.selection`): the
``k`` and the penalty are chosen per column on the inner folds, whose screening uses only their own
training rows; ``k = None`` is ridge on every feature through the fold's linear kernel. Every
column (the emotions and their null draws) is screened and fitted at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from helpers.decoding.correlations import (
    FeatureMajor,
    TargetColumns,
    TrainingCorrelations,
    top_features,
)
from helpers.decoding.kernels import KernelSpectrum, centre_kernel
from helpers.decoding.selection import COLUMN_CHUNK, inner_loss
from helpers.decoding.splits import FoldInput

if TYPE_CHECKING:
    from helpers.decoding.models import ModelGrid

__all__ = ["screened_ridge_fold"]


def _screened_ridge_predict(
    X: np.ndarray,
    train: np.ndarray,
    evaluate: np.ndarray,
    columns: TargetColumns,
    ks: tuple[int, ...],
    relative_alphas: tuple[float, ...],
    K_all: np.ndarray | None,
    by_feature: FeatureMajor | None = None,
) -> np.ndarray:
    """Ridge on each column's ``k`` most correlated features (and on all features when ``K_all``).

    ``K_all`` is the linear kernel over ``[train, evaluate]`` rows of features centred on ``train``.
    Returns predictions (n_k, n_alphas, n_eval, n_columns), the ``k`` in ``ks`` order then "all".
    Penalties are relative to the mean diagonal of each fit's own linear kernel, as for dense ridge.
    """
    alphas = np.asarray(relative_alphas, dtype=np.float64)
    n_k = len(ks) + (K_all is not None)
    out = np.empty((n_k, len(alphas), len(evaluate), columns.n_columns))
    y_train = columns.values(train)
    y_mean = y_train.mean(axis=0)
    correlations = TrainingCorrelations(X, train, columns) if ks else None
    rows = np.concatenate([train, evaluate])
    if ks and by_feature is None:
        by_feature = FeatureMajor(X)
    n_train = len(train)
    for first in range(0, columns.n_columns if ks else 0, COLUMN_CHUNK):
        cols = slice(first, min(first + COLUMN_CHUNK, columns.n_columns))
        index = top_features(correlations(cols), max(ks))
        values = by_feature.values(index)[:, :, rows].astype(np.float64)  # (c, k_max, n_rows)
        values -= values[:, :, :n_train].mean(axis=2, keepdims=True)
        yc = y_train[:, cols] - y_mean[cols]
        for j, k in enumerate(ks):
            A = values[:, :k, :n_train].transpose(0, 2, 1)  # (c, n_train, k)
            U, s, Vt = np.linalg.svd(A, full_matrices=False)
            scale = (s**2).sum(axis=1) / A.shape[1]  # mean diagonal of the kernel A A^T
            projected = np.einsum("cnk,nc->ck", U, yc)
            evaluate_values = values[:, :k, n_train:]  # (c, k, n_eval)
            for a, alpha in enumerate(alphas):
                shrink = s / (s**2 + alpha * scale[:, None])
                coef = np.einsum("cjk,cj->ck", Vt, shrink * projected)
                out[j, a, :, cols] = np.einsum("ckn,ck->nc", evaluate_values, coef) + y_mean[cols]
    if K_all is not None:
        spectrum = KernelSpectrum(K_all[:n_train, :n_train])
        scale = float(np.mean(np.diag(K_all[:n_train, :n_train]))) or 1.0
        out[-1] = (
            spectrum.predict(K_all[n_train:, :n_train], y_train - y_mean, alphas * scale) + y_mean
        )
    return out


def screened_ridge_fold(
    X: np.ndarray,
    columns: TargetColumns,
    fold: FoldInput,
    grid: ModelGrid,
    K_fold: np.ndarray | None,
    by_feature: FeatureMajor | None = None,
) -> tuple[np.ndarray, dict]:
    """Nested screened ridge in one outer fold: ``k`` (``None`` = all features) and the penalty per column.

    Parameters
    ----------
    X : (n_samples, n_features) features of every sample.
    columns : the target columns (real targets and null draws) to fit at once.
    fold : the outer fold's training and test rows and its inner folds.
    grid : ``grid.screening_k`` and ``grid.relative_alphas`` are searched on the inner folds.
    K_fold : the outer fold's centred linear kernel over ``[train, test]`` (needed for ``k = None``).
    by_feature : feature-major copy of ``X`` shared by all fits (made here if absent).

    Returns
    -------
    Test predictions (n_test, n_columns) and the chosen ``k`` and relative penalty per column.
    """
    ks, relative_alphas = grid.screening_k, tuple(grid.relative_alphas)
    train, test = fold.train, fold.test
    finite = tuple(sorted({int(k) for k in ks if k is not None and int(k) < X.shape[1]}))
    use_all = any(k is None or int(k) >= X.shape[1] for k in ks)
    if use_all and K_fold is None:
        raise ValueError("screening with k = all needs the fold's linear kernel")
    labels = list(finite) + (["all"] if use_all else [])
    if finite and by_feature is None:
        by_feature = FeatureMajor(X)
    loss = np.zeros((len(labels), len(relative_alphas), columns.n_columns))
    for it, iv in fold.inner:
        K_inner = None
        if use_all:
            rows = np.concatenate([it, iv])
            K_inner = centre_kernel(K_fold[np.ix_(rows, rows)], len(it))
        predicted = _screened_ridge_predict(
            X, train[it], train[iv], columns, finite, relative_alphas, K_inner, by_feature
        )
        loss += inner_loss(predicted, columns.values(train[iv]))
    flat = loss.reshape(-1, columns.n_columns).argmin(axis=0)
    best_k, best_alpha = np.divmod(flat, len(relative_alphas))
    predicted = _screened_ridge_predict(
        X, train, test, columns, finite, relative_alphas, K_fold if use_all else None, by_feature
    )
    test_pred = predicted[best_k, best_alpha, :, np.arange(columns.n_columns)].T
    chosen = {
        "k": [labels[b] for b in best_k],
        "alpha": [float(relative_alphas[a]) for a in best_alpha],
    }
    return test_pred, chosen

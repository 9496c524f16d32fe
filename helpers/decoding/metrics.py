"""Scores of held-out predictions: Pearson r and R2 per emotion, and the within-fold r that is tested.

Under a blocked split each fold's intercept is the training mean, which leaves out the test block,
so fold offsets anti-correlate with block means and pull r over all pooled held-out samples below
zero even for a perfect tracker. The tested r is therefore the mean over test folds of the Pearson
r inside each fold; pooled r and pooled R2 are reported beside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np


def pearson_columns(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Pearson r of each column pair (NaN for a constant column)."""
    a = y_true - y_true.mean(axis=0)
    b = y_pred - y_pred.mean(axis=0)
    denom = np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=0) / denom, np.nan)


def r2_columns(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column, relative to the held-out mean."""
    sse = ((y_true - y_pred) ** 2).sum(axis=0)
    sst = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sst > 0, 1.0 - sse / sst, np.nan)


def fold_mean_r(
    y_true: np.ndarray, predictions: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Mean over folds of the Pearson r of each column inside the fold's tested samples.

    A prediction that is constant over a fold (a lasso shrunk to its intercept, a CPM that kept
    no edge) scores r = 0 there: it carries no information about the fold's targets. Dropping
    such folds instead would leave a null draw whose model always predicts a constant without a
    score, and a permutation p-value would count it as below every observation.
    """
    per_fold = []
    for _, test in folds:
        test = np.asarray(test)
        test = test[~np.isnan(predictions[test, 0])]
        if len(test) > 2:
            y, p = y_true[test].astype(np.float64), predictions[test].astype(np.float64)
            r = pearson_columns(y, p)
            constant = np.ptp(p, axis=0) == 0
            per_fold.append(np.where(constant & (np.ptp(y, axis=0) > 0), 0.0, r))
    if not per_fold:
        return np.full(y_true.shape[1], np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.vstack(per_fold), axis=0)

"""Why cross-validated r sits below zero when there is nothing to learn, on small made-up data.

A held-out fold is predicted from the rest of the sample. When the sample as a whole holds no
relation between feature and target, whatever relation the held-out fold holds by chance is
missing, with the opposite sign, from the rest: the training mean is low where the fold's mean is
high, and the training slope leans away from the fold's own slope. Both push a cross-validated r
below zero, which is why the book tests r against null targets sent through the same folds and
never reads its sign. The regression chapter narrates these functions; a reader can rerun them
with other sizes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from helpers.decoding.metrics import fold_mean_r, pearson_columns
from helpers.decoding.stats import permutation_p_value


def no_relation_sample(
    n_samples: int = 40, seed: int = 0, residualise: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """One feature and one target drawn independently; ``residualise`` makes their sample r exactly 0.

    Independent draws still correlate a little by chance; removing the target's least-squares fit
    on the feature leaves a sample in which there is, on the whole, nothing at all to learn.

    Parameters
    ----------
    n_samples : int, optional
        Number of samples (at least 4).
    seed : int, optional
        Seed of the draws.
    residualise : bool, optional
        Remove the target's least-squares fit on the feature.

    Returns
    -------
    x, y : numpy.ndarray
        Feature and target, (n_samples,) each.
    """
    if n_samples < 4:
        raise ValueError(f"n_samples={n_samples}: need at least 4 samples for two folds of two")
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(n_samples), rng.standard_normal(n_samples)
    if residualise:
        design = np.column_stack([np.ones(n_samples), x])
        y = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return x, y


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    xc = x - x.mean()
    return float(xc @ (y - y.mean()) / (xc @ xc))


def _held_out(x: np.ndarray, y: np.ndarray, n_folds: int) -> tuple[list, np.ndarray, np.ndarray]:
    """Contiguous folds, and each fold predicted by its training mean and by a line fitted there."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    folds = list(KFold(n_folds).split(x.reshape(-1, 1)))
    mean_only, fitted = np.empty_like(y), np.empty_like(y)
    for train, test in folds:
        slope, intercept = np.polyfit(x[train], y[train], deg=1)  # least squares, as in OLS
        mean_only[test] = y[train].mean()
        fitted[test] = intercept + slope * x[test]
    return folds, mean_only, fitted


def fold_lean(x: np.ndarray, y: np.ndarray, n_folds: int = 5) -> pd.DataFrame:
    """Per contiguous fold: the held-out mean and slope beside the training ones that predict it.

    ``r`` is the Pearson r inside the fold between the target and the prediction of a line fitted
    on the other folds (the book's tested, within-fold r); ``r`` has the sign of
    ``train_slope * test_slope``.

    Parameters
    ----------
    x, y : numpy.ndarray
        Feature and target, (n_samples,) each.
    n_folds : int, optional
        Contiguous folds.

    Returns
    -------
    pandas.DataFrame
        One row per fold (index ``fold`` from 1): ``test_mean``, ``train_mean``, ``test_slope``,
        ``train_slope`` and ``r``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    folds, _, fitted = _held_out(x, y, n_folds)
    rows = [
        {
            "fold": fold + 1,
            "test_mean": y[test].mean(),
            "train_mean": y[train].mean(),
            "test_slope": _slope(x[test], y[test]),
            "train_slope": _slope(x[train], y[train]),
            "r": float(pearson_columns(y[test, None], fitted[test, None])[0]),
        }
        for fold, (train, test) in enumerate(folds)
    ]
    return pd.DataFrame(rows).set_index("fold")


def cv_scores(x: np.ndarray, y: np.ndarray, n_folds: int = 5) -> dict[str, float]:
    """Cross-validated r of two models that learn nothing real from ``x``.

    ``mean_pooled_r``: the training mean as the prediction (a model that found nothing falls back
    to it), correlated over all held-out samples. ``fit_r``: the mean within-fold r of a fitted
    line (scored by the chapters' own :func:`~helpers.decoding.metrics.fold_mean_r`);
    ``fit_pooled_r``: the same predictions correlated over all held-out samples.
    """
    y = np.asarray(y, dtype=float)
    folds, mean_only, fitted = _held_out(x, y, n_folds)
    pooled = pearson_columns(np.column_stack([y, y]), np.column_stack([mean_only, fitted]))
    return {
        "mean_pooled_r": float(pooled[0]),
        "fit_r": float(fold_mean_r(y[:, None], fitted[:, None], folds)[0]),
        "fit_pooled_r": float(pooled[1]),
    }


def cv_r_on_noise(
    n_datasets: int = 500,
    n_samples: int = 40,
    n_folds: int = 5,
    residualise: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`cv_scores` on ``n_datasets`` samples with nothing to learn (one row each).

    Parameters
    ----------
    n_datasets : int, optional
        How many samples to draw (seeds ``seed`` to ``seed + n_datasets - 1``).
    n_samples : int, optional
        Samples in each.
    n_folds : int, optional
        Contiguous folds of the cross-validation.
    residualise : bool, optional
        Make each sample's feature-target r exactly 0 (see :func:`no_relation_sample`).
    seed : int, optional
        Seed of the first sample.

    Returns
    -------
    pandas.DataFrame
        (n_datasets, 3): ``mean_pooled_r``, ``fit_r`` and ``fit_pooled_r`` of each sample.
    """
    rows = [
        cv_scores(*no_relation_sample(n_samples, seed + i, residualise), n_folds)
        for i in range(n_datasets)
    ]
    return pd.DataFrame(rows)


def null_test_of_r(
    x: np.ndarray, y: np.ndarray, n_folds: int = 5, n_permutations: int = 999, seed: int = 0
) -> pd.DataFrame:
    """Each score of :func:`cv_scores` against the same folds on shuffled targets.

    Shuffling is a valid null here because the made-up samples are independent (the book's
    chapters use phase-randomised targets, which keep autocorrelation). The one-sided p-value asks
    whether a score is larger than chance: a negative r gives a large p, not an error. One row per
    score: the observed value, the null's mean and 5th-95th percentiles, and the p-value.

    Parameters
    ----------
    x, y : numpy.ndarray
        Feature and target, (n_samples,) each.
    n_folds : int, optional
        Contiguous folds.
    n_permutations : int, optional
        Shuffles of ``y`` in the null.
    seed : int, optional
        Seed of the shuffles.

    Returns
    -------
    pandas.DataFrame
        One row per score of :func:`cv_scores`; columns ``observed``, ``null_mean``, ``null_5%``,
        ``null_95%`` and ``p_value``.
    """
    rng = np.random.default_rng(seed)
    observed = cv_scores(x, y, n_folds)
    null = pd.DataFrame([cv_scores(x, rng.permutation(y), n_folds) for _ in range(n_permutations)])
    rows = {
        name: {
            "observed": value,
            "null_mean": null[name].mean(),
            "null_5%": null[name].quantile(0.05),
            "null_95%": null[name].quantile(0.95),
            "p_value": float(permutation_p_value(np.array(value), null[name].to_numpy())),
        }
        for name, value in observed.items()
    }
    return pd.DataFrame(rows).T

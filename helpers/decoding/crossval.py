"""Cross-validation of one model on one feature set: held-out predictions, scores and nulls.

The outer folds come from a splitter; tuning happens inside each training fold on the splitter's
own inner folds (same grouping as the outer split). Null targets (see :mod:`helpers.decoding.nulls`)
go through the same folds and the same tuning: for kernel ridge by reusing each fold's
decomposition, for the other models by refitting.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from helpers.config import MODELS
from helpers.decoding.folds import FoldInput, fit_predict_fold
from helpers.decoding.kernels import fold_linear_kernel, linear_gram
from helpers.decoding.metrics import fold_mean_r, r2_columns
from helpers.decoding.models import KERNEL_MODELS, ModelGrid, is_linear_smoother
from helpers.decoding.nulls import null_window_targets, window_means
from helpers.decoding.results import CVResult
from helpers.decoding.splits import WindowMeta, purge_gap_trs
from helpers.progress import tqdm
from helpers.study import EMOTIONS, TR_SECONDS
from collections.abc import Callable


def _null_metrics(y_true_windows: np.ndarray, null_pred: np.ndarray, window_of_sample: np.ndarray,
                  folds: Sequence[tuple[np.ndarray, np.ndarray]], n_targets: int) -> tuple[np.ndarray, np.ndarray]:
    """Within-fold r and pooled R2 per null column, reshaped (n_perm, n_targets)."""
    truth = y_true_windows[window_of_sample].astype(np.float64)
    pred = null_pred.astype(np.float64)
    tested = ~np.isnan(pred[:, 0])
    r = fold_mean_r(truth, pred, folds)
    r2 = r2_columns(truth[tested], pred[tested])
    return r.reshape(-1, n_targets), r2.reshape(-1, n_targets)


def cross_validate_model(
    model: str,
    X: np.ndarray,
    y: np.ndarray,
    meta: WindowMeta | Any,
    splitter: Any,
    *,
    features: str = "",
    cv: str = "",
    inner_splits: int = 3,
    tr_targets: np.ndarray | None = None,
    make_window_targets: Callable[[np.ndarray], np.ndarray] | None = None,
    n_permutations: int = 0,
    null_method: str = "circular_shift",
    max_refit_permutations: int | None = None,
    hrf_span_s: float = 16.0,
    tr: float = TR_SECONDS,
    feature_scaling: str = "standard",
    gram: np.ndarray | None = None,
    kernel_cache: dict[int, np.ndarray] | None = None,
    grid: ModelGrid | None = None,
    emotions: Sequence[str] = EMOTIONS,
    seed: int = 0,
    blas_threads: int | None = 1,
    progress: bool = False,
) -> CVResult:
    """Nested cross-validation of ``model`` with optional autocorrelation-preserving nulls.

    Parameters
    ----------
    X, y : features (n_samples, n_features) and targets (n_samples, n_targets).
    meta : per-sample subject/start/stop (a :class:`WindowMeta` or a FeatureSet).
    splitter : one of :mod:`helpers.decoding.splits`; inner folds come from ``splitter.inner(train, inner_splits)``.
    tr_targets : TR-level targets (n_trs, n_targets) from which ``y`` was made; needed for nulls.
    make_window_targets : how TR-level series become per-sample targets (default: window mean).
    n_permutations : null draws; kernel ridge uses all of them at the cost of a few matrix products,
        other models refit the whole nested pipeline per draw, at most ``max_refit_permutations``.
    feature_scaling, gram : see :mod:`helpers.decoding.models` (``gram`` = ``X @ X.T`` for ``"center"``).
    blas_threads : BLAS threads for the per-fold algebra (small matrices run faster on one thread,
        especially on a shared machine); the feature Gram itself uses every thread. ``None``: no limit.
    kernel_cache : a dict shared between calls on the same features and splitter, holding each fold's
        linear kernel so several kernel models pay for it once.
    """


    began = time.perf_counter()
    if not isinstance(meta, WindowMeta):
        meta = WindowMeta.from_features(meta)
    X = np.asarray(X)
    Y = np.asarray(y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; allowed: {', '.join(MODELS)}")
    if len(X) != len(meta) or len(Y) != len(meta):
        raise ValueError(f"X ({len(X)}), y ({len(Y)}) and the metadata ({len(meta)}) must have one row per sample")
    emotions = list(emotions)[: Y.shape[1]] if len(emotions) >= Y.shape[1] else [f"target_{i}" for i in range(Y.shape[1])]
    grid = grid or ModelGrid(seed=seed)
    windows, window_of_sample = meta.window_index()

    null_windows = None
    n_targets = Y.shape[1]
    if n_permutations > 0:
        if tr_targets is None:
            raise ValueError("n_permutations > 0 needs tr_targets (the TR-level series y was made from)")
        tr_targets = np.asarray(tr_targets, dtype=float)
        if make_window_targets is None:
            expected = window_means(tr_targets, windows)[window_of_sample]
            if not np.allclose(expected, Y, atol=1e-6):
                raise ValueError(
                    "y is not the window mean of tr_targets over [start, stop); pass make_window_targets "
                    "so the null targets are aggregated the same way as y"
                )
        min_shift = min(purge_gap_trs(meta.window_length, hrf_span_s, tr), tr_targets.shape[0] // 2)
        null_windows = null_window_targets(
            tr_targets, windows, window_of_sample, n_permutations, null_method, seed, min_shift, make_window_targets
        )
        y_windows_null = null_windows
    use_hat = null_windows is not None and is_linear_smoother(model)
    n_refit = 0
    if null_windows is not None and not use_hat:
        n_refit = n_permutations if max_refit_permutations is None else min(n_permutations, max_refit_permutations)
    folds = list(splitter.split(X))
    all_cached = kernel_cache is not None and all(k in kernel_cache for k in range(len(folds)))
    if feature_scaling == "center" and model in KERNEL_MODELS and gram is None and not all_cached:
        gram = linear_gram(X)

    predictions = np.full(Y.shape, np.nan)
    null_pred = None
    if use_hat:
        null_pred = np.full((len(Y), null_windows.shape[1]), np.nan, dtype=np.float32)
    elif n_refit:
        null_pred = np.full((len(Y), n_refit * n_targets), np.nan, dtype=np.float32)
    chosen = []
    iterator = tqdm(list(enumerate(folds)), desc=f"{model} {features} {cv}".strip(), disable=not progress, leave=False)
    for k, (train, test) in iterator:
        inner = [(it, iv) for it, iv in splitter.inner(train, inner_splits).split()]
        fold = FoldInput(train, test, inner, window_of_sample)
        K_lin = None
        if model in KERNEL_MODELS:
            if kernel_cache is not None and k in kernel_cache:
                K_lin = kernel_cache[k]
            else:
                K_lin = fold_linear_kernel(X, train, test, feature_scaling, gram)
                if kernel_cache is not None:
                    kernel_cache[k] = K_lin
        with threadpool_limits(limits=blas_threads):
            out = fit_predict_fold(model, X, Y, fold, grid, feature_scaling, gram, K_lin,
                                   null_windows if use_hat else None)
        predictions[test] = out.predictions
        chosen.append(out.chosen)
        if use_hat:
            null_pred[test] = out.null_predictions
        elif n_refit:
            Y_null = y_windows_null[:, : n_refit * n_targets][window_of_sample]
            with threadpool_limits(limits=blas_threads):
                if model in KERNEL_MODELS:
                    refit = fit_predict_fold(model, X, Y_null, fold, grid, feature_scaling, gram, K_lin)
                    null_pred[test] = refit.predictions
                else:
                    columns = []
                    for j in range(n_refit):
                        block = Y_null[:, j * n_targets : (j + 1) * n_targets]
                        columns.append(fit_predict_fold(model, X, block, fold, grid).predictions)
                    null_pred[test] = np.concatenate(columns, axis=1)
    result = CVResult(model, features, cv, emotions, Y, predictions, meta.subject, meta.start, folds, chosen)
    if null_pred is not None:
        null_truth = null_windows if use_hat else y_windows_null[:, : n_refit * n_targets]
        result.null_r, result.null_r2 = _null_metrics(null_truth, null_pred, window_of_sample, folds, n_targets)
    result.seconds = time.perf_counter() - began
    return result

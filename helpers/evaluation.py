"""Cross-validation of one model on one feature set: held-out predictions, scores, nulls.

``cross_validate_model`` runs the outer folds of a splitter, tunes inside each training fold on the
splitter's own inner folds (same grouping as the outer split), and scores the held-out predictions
per emotion (R2, Pearson r, MSE) and per held-out subject.

Which r is tested. Under a blocked split each fold's intercept is the training mean, which leaves out
the test block, so the fold offsets anti-correlate with the block means and pull r computed over all
pooled held-out samples below zero even for a perfect tracker of the trajectory. The tested ``r`` is
therefore the mean over test folds of the Pearson r inside each fold (how well the trajectory is
followed where the model was tested); its null goes through the same folds. Pooled r is reported as
``r_pooled`` and R2 stays pooled, so a model that misplaces the level of a block is still penalised
there. With ``n_permutations`` it
pushes null targets (see :mod:`helpers.stats`) through the same folds and the same tuning: for kernel
ridge by reusing each fold's decomposition (all permutations at the cost of a few matrix products),
for the other models by refitting.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from helpers.study import EMOTIONS, TR_SECONDS
from helpers.config import MODELS
from helpers.models import (
    KERNEL_MODELS,
    FoldInput,
    ModelGrid,
    fit_predict_fold,
    fold_linear_kernel,
    is_linear_smoother,
    linear_gram,
)
from helpers.splits import WindowMeta, purge_gap_trs
from helpers.stats import fdr_bh, null_window_targets, permutation_p_value, window_means


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


@dataclass
class CVResult:
    """Held-out predictions of one (model, features, cv) and everything scored from them."""

    model: str
    features: str
    cv: str
    emotions: list[str]
    y_true: np.ndarray
    predictions: np.ndarray  # NaN for samples never tested
    subject: np.ndarray
    start: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    chosen: list[dict[str, Any]]
    null_r: np.ndarray | None = None  # (n_null, n_emotions): within-fold r of the null draws
    null_r2: np.ndarray | None = None  # (n_null, n_emotions): pooled R2 of the null draws
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tested(self) -> np.ndarray:
        return ~np.isnan(self.predictions[:, 0])

    def scores(self) -> pd.DataFrame:
        """Per emotion and their mean: r (within folds, tested), r_pooled, r2, mse, p and FDR p."""
        t = self.tested
        y, p = self.y_true[t], self.predictions[t]
        r2, r_pooled = r2_columns(y, p), pearson_columns(y, p)
        mse = ((y - p) ** 2).mean(axis=0)
        r = self.within_fold_r()
        frame = pd.DataFrame({"emotion": self.emotions, "r2": r2, "r": r, "mse": mse, "r_pooled": r_pooled})
        mean_row = {"emotion": "mean", "r2": np.nanmean(r2), "r": np.nanmean(r), "mse": mse.mean(),
                    "r_pooled": np.nanmean(r_pooled)}
        if self.null_r is not None and len(self.null_r):
            frame["p_value"] = permutation_p_value(r, self.null_r)
            frame["p_fdr"] = fdr_bh(frame["p_value"].to_numpy())
            p_mean = float(permutation_p_value(np.nanmean(r), np.nanmean(self.null_r, axis=1)))
            mean_row.update(p_value=p_mean, p_fdr=p_mean)
        else:
            frame["p_value"] = np.nan
            frame["p_fdr"] = np.nan
            mean_row.update(p_value=np.nan, p_fdr=np.nan)
        frame = pd.concat([frame, pd.DataFrame([mean_row])], ignore_index=True)
        frame.insert(0, "cv", self.cv)
        frame.insert(0, "features", self.features)
        frame.insert(0, "model", self.model)
        return frame

    def within_fold_r(self) -> np.ndarray:
        """Mean over test folds of Pearson r inside each fold, per emotion (the tested r)."""
        return fold_mean_r(self.y_true, self.predictions, self.folds)

    def subject_scores(self) -> pd.DataFrame:
        """Per held-out subject and emotion: r (mean over the folds that tested the subject of r
        inside the fold), r2 and mse over that subject's held-out samples."""
        rows = []
        t = self.tested
        for subject in pd.unique(self.subject[t]):
            mask = t & (self.subject == subject)
            y, p = self.y_true[mask], self.predictions[mask]
            subject_folds = [(train, test[self.subject[test] == subject]) for train, test in self.folds]
            r = fold_mean_r(self.y_true, self.predictions, subject_folds)
            for e, name in enumerate(self.emotions):
                rows.append({
                    "subject": subject, "emotion": name,
                    "r": r[e],
                    "r2": r2_columns(y[:, [e]], p[:, [e]])[0],
                    "mse": float(((y[:, e] - p[:, e]) ** 2).mean()),
                })
        return pd.DataFrame(rows)

    def subject_mean_r(self) -> pd.Series:
        """Mean over emotions of each held-out subject's r (the unit of the paired DFC-vs-ROI test)."""
        return self.subject_scores().groupby("subject", sort=False)["r"].mean()

    def records(self) -> list[dict[str, Any]]:
        """Score rows as plain dicts ``{model, features, cv, emotion, r2, r, mse, p_value, p_fdr}``."""
        keys = ("model", "features", "cv", "emotion", "r2", "r", "mse", "p_value", "p_fdr")
        out = []
        for row in self.scores().to_dict("records"):
            out.append({k: (None if isinstance(row[k], float) and np.isnan(row[k]) else row[k]) for k in keys})
        return out


def fold_mean_r(y_true: np.ndarray, predictions: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Mean over folds of the Pearson r of each column inside the fold's tested samples."""
    per_fold = []
    for _, test in folds:
        test = np.asarray(test)
        test = test[~np.isnan(predictions[test, 0])]
        if len(test) > 2:
            per_fold.append(pearson_columns(y_true[test].astype(np.float64), predictions[test].astype(np.float64)))
    if not per_fold:
        return np.full(y_true.shape[1], np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.vstack(per_fold), axis=0)


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
    splitter : one of :mod:`helpers.splits`; inner folds come from ``splitter.inner(train, inner_splits)``.
    tr_targets : TR-level targets (n_trs, n_targets) from which ``y`` was made; needed for nulls.
    make_window_targets : how TR-level series become per-sample targets (default: window mean).
    n_permutations : null draws; kernel ridge uses all of them at the cost of a few matrix products,
        other models refit the whole nested pipeline per draw, at most ``max_refit_permutations``.
    feature_scaling, gram : see :mod:`helpers.models` (``gram`` = ``X @ X.T`` for ``"center"``).
    blas_threads : BLAS threads for the per-fold algebra (small matrices run faster on one thread,
        especially on a shared machine); the feature Gram itself uses every thread. ``None``: no limit.
    kernel_cache : a dict shared between calls on the same features and splitter, holding each fold's
        linear kernel so several kernel models pay for it once.
    """
    import time

    from helpers.progress import tqdm

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


def cross_validate_models(
    models: Sequence[str], X: np.ndarray, y: np.ndarray, meta: Any, splitter: Any, **kwargs: Any
) -> dict[str, CVResult]:
    """Several models on the same features and folds, sharing the per-fold kernels."""
    cache: dict[int, np.ndarray] = kwargs.pop("kernel_cache", None) or {}
    return {m: cross_validate_model(m, X, y, meta, splitter, kernel_cache=cache, **kwargs) for m in models}

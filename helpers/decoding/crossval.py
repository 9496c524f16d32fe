"""Cross-validation of one model on one feature set: held-out predictions, scores and nulls.

The outer folds come from a splitter; tuning happens inside each training fold on the splitter's
own inner folds (same grouping as the outer split). Null targets (see :mod:`helpers.decoding.nulls`)
go through the same folds and the same tuning: for kernel ridge by reusing each fold's
decomposition, for the other models by refitting.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from helpers.decoding.correlations import FeatureMajor
from helpers.decoding.folds import FoldInput
from helpers.decoding.kernels import FoldKernels
from helpers.decoding.metrics import fold_mean_r, r2_columns
from helpers.decoding.models import ModelGrid
from helpers.decoding.nulls import null_window_table
from helpers.decoding.outer_folds import FoldArrays, FoldPlan, folds_here, folds_on_cluster
from helpers.decoding.results import CVResult
from helpers.decoding.schemes import make_splitter
from helpers.decoding.selection import CpmLesion
from helpers.decoding.splits import WindowMeta, purge_gap_trs
from helpers.progress import fold_progress, in_book_run
from helpers.registry import model_spec
from helpers.study import TR_SECONDS

_METRIC_COLUMNS = 1024
"""Null columns scored at a time (a full float64 copy of every draw is gigabytes at paper scale)."""


def _null_metrics(
    y_true_windows: np.ndarray,
    null_pred: np.ndarray,
    window_of_sample: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    n_targets: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Within-fold r and pooled R2 per null column, reshaped (n_perm, n_targets)."""
    tested = ~np.isnan(null_pred[:, 0])
    n_columns = null_pred.shape[1]
    r, r2 = np.empty(n_columns), np.empty(n_columns)
    for first in range(0, n_columns, _METRIC_COLUMNS):
        cols = slice(first, first + _METRIC_COLUMNS)
        truth = y_true_windows[:, cols][window_of_sample].astype(np.float64)
        pred = null_pred[:, cols].astype(np.float64)
        r[cols] = fold_mean_r(truth, pred, folds)
        r2[cols] = r2_columns(truth[tested], pred[tested])
    return r.reshape(-1, n_targets), r2.reshape(-1, n_targets)


@dataclass(frozen=True)
class CVOptions:
    """How a model is cross-validated: the split, the tuning, the nulls and the arithmetic.

    ``cv`` names the scheme (``loso_blocked``, ``loso``, ``random``) built with the fold options
    below, unless ``splitter`` gives one directly; ``window_length`` (default: the samples' own)
    sets the purge gap, so ROI and DFC samples of one run get the same folds. ``inner_splits`` inner
    folds of the same kind tune the hyperparameters inside each training fold. ``n_permutations``
    null target draws (``null_method``) go through the same folds and tuning; models without the
    hat-matrix shortcut refit at most ``max_refit_permutations`` of them. ``feature_scaling`` is
    ``center`` or ``standard`` (see :mod:`helpers.decoding.kernels`). ``blas_threads`` limits BLAS
    threads in the per-fold algebra; ``fold_workers`` outer folds of the column models (CPM,
    screening, the oracle) run side by side, one BLAS thread each. ``scheduler`` (``"local"`` or
    a Dask scheduler's address) sends every model's outer folds to a Dask cluster instead
    (:mod:`helpers.decoding.distributed`), ``fold_workers`` processes for ``"local"``.
    """

    cv: str = "loso_blocked"
    splitter: Any = None
    n_blocks: int = 5
    subjects_per_fold: int = 4
    pairing: str = "all"
    hrf_span_s: float = 16.0
    window_length: int | None = None
    test_fraction: float = 0.1
    random_splits: int = 1
    inner_splits: int = 3
    n_permutations: int = 0
    null_method: str = "phase_randomization"
    max_refit_permutations: int | None = None
    feature_scaling: str = "center"
    grid: ModelGrid = field(default_factory=ModelGrid)
    seed: int = 0
    blas_threads: int | None = 1
    fold_workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))
    scheduler: str | None = None
    progress: bool = False

    @classmethod
    def from_params(cls, params: Any, cv: str | None = None, **changes: Any) -> "CVOptions":
        """The options of a parameter set (``params.cv``, ``params.cv_options``, nulls, seed).

        Parameters
        ----------
        params : Params
            The parameter set (``cv``, ``cv_options``, ``window.length``, ``n_permutations``,
            ``null_method``, ``seed``).
        cv : str, optional
            Scheme overriding ``params.cv``.
        **changes : Any
            Fields set after reading ``params``.

        Returns
        -------
        CVOptions
            The options.
        """
        fold = params.cv_options
        options = cls(
            cv=cv or params.cv,
            n_blocks=fold.n_blocks,
            subjects_per_fold=fold.subjects_per_fold,
            pairing=fold.pairing,
            hrf_span_s=fold.hrf_span_s,
            window_length=params.window.length,
            test_fraction=fold.test_fraction,
            random_splits=fold.random_splits,
            inner_splits=fold.inner_splits,
            n_permutations=params.n_permutations,
            null_method=params.null_method,
            feature_scaling=fold.feature_scaling,
            scheduler=fold.scheduler,
            grid=ModelGrid(seed=params.seed),
            seed=params.seed,
        )
        return replace(options, **changes)

    def __post_init__(self) -> None:
        if self.fold_workers < 1:
            raise ValueError(f"fold_workers must be at least 1, got {self.fold_workers}")

    def replace(self, **changes: Any) -> "CVOptions":
        """A copy with some fields changed.

        Parameters
        ----------
        **changes : Any
            New values of fields, by name.

        Returns
        -------
        CVOptions
            The changed copy (this one is left as it is).
        """
        return replace(self, **changes)

    def splitter_for(self, features: Any) -> Any:
        """The outer splitter over ``features``' samples."""
        meta = WindowMeta.from_features(features)
        if self.splitter is not None:
            return self.splitter if self.splitter.meta is not None else self.splitter.bound(meta)
        return make_splitter(self, meta, cv=self.cv)


def n_null_draws(model: str, options: CVOptions) -> int:
    """Null draws a model gets: all of them when it has a shortcut, else at most the refit cap.

    Kernel ridge (hat matrix), CPM and the oracle (one pass over all columns) take every draw; other
    models refit per draw, so they take at most ``max_refit_permutations`` and their smallest
    possible p-value is ``1 / (n + 1)``.
    """
    if model_spec(model).every_null_draw:
        return options.n_permutations
    cap = options.max_refit_permutations
    return options.n_permutations if cap is None else min(options.n_permutations, cap)


def cross_validate_model(
    features: Any,
    model: str,
    options: CVOptions | None = None,
    *,
    kernels: FoldKernels | None = None,
    lesion: CpmLesion | None = None,
) -> CVResult:
    """Nested cross-validation of ``model`` on a feature set, with optional autocorrelation-preserving nulls.

    Parameters
    ----------
    features : helpers.features.FeatureSet
        The samples (``FeatureSet.from_arrays`` wraps plain arrays); its ``tr_targets`` are needed
        for null draws.
    model : str
        A model name of the registry (:mod:`helpers.registry`).
    options : CVOptions, optional
        The split, tuning, nulls and arithmetic; the defaults when None.
    kernels : helpers.decoding.kernels.FoldKernels, optional
        Each fold's linear kernel, shared between calls on the same features and folds, so several
        kernel models pay for it once.
    lesion : helpers.decoding.selection.CpmLesion, optional
        CPM only: features never selected and a cache of rankings shared by several calls on the
        same features, folds and null draws.

    Returns
    -------
    helpers.decoding.results.CVResult
        The held-out predictions (n_samples, n_targets), folds and chosen hyperparameters, with
        ``null_r`` and ``null_r2`` (n_null, n_targets) when null draws were asked for and
        ``seconds`` the wall time.
    """
    options = options or CVOptions()
    began = time.perf_counter()
    meta = WindowMeta.from_features(features)
    X = features.X
    Y = np.asarray(features.y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    spec = model_spec(model)  # a ValueError naming the known models
    if len(X) != len(meta) or len(Y) != len(meta):
        raise ValueError(
            f"X ({len(X)}), y ({len(Y)}) and the metadata ({len(meta)}) must have one row per sample"
        )
    names = list(features.target_names)
    emotions = (
        names[: Y.shape[1]]
        if len(names) >= Y.shape[1]
        else [f"target_{i}" for i in range(Y.shape[1])]
    )
    grid = options.grid
    splitter = options.splitter_for(features)
    folds = list(splitter.split(X))
    if kernels is not None and len(kernels.folds) != len(folds):
        raise ValueError(
            "the kernels were computed for other folds; build FoldKernels from this splitter"
        )
    needs_kernel = spec.uses_fold_kernel
    if kernels is None and needs_kernel:
        kernels = FoldKernels(X, folds, options.feature_scaling)

    n_targets = Y.shape[1]
    null_windows = None
    window_of_sample = np.unique(meta.start, return_inverse=True)[1].ravel()
    if options.n_permutations > 0:
        length = meta.window_length
        n_volumes = np.shape(features.tr_targets)[0] if features.tr_targets is not None else 2
        min_shift = min(purge_gap_trs(length, options.hrf_span_s, TR_SECONDS), n_volumes // 2)
        null_windows, window_of_sample = null_window_table(
            features, options.n_permutations, options.null_method, options.seed, min_shift
        )
    n_null = n_null_draws(model, options) if null_windows is not None else 0
    joint = null_windows is not None and spec.joint_nulls
    if null_windows is not None:
        null_windows = null_windows[:, : n_null * n_targets]

    predictions = np.full(Y.shape, np.nan)
    null_pred = np.full((len(Y), n_null * n_targets), np.nan, dtype=np.float32) if n_null else None
    chosen = []
    # selection models gather each column's features from one feature-major copy for every fold
    if lesion is not None and model != "cpm":
        raise ValueError(f"lesion= is CPM's route through shared rankings; {model} was asked")
    by_feature = None
    if lesion is not None and lesion.cache is not None:
        by_feature = lesion.cache.feature_major(X)
    elif spec.selection:
        by_feature = FeatureMajor(X)
    label = f"{model} {features.name} {options.cv}"
    fold_inputs = [
        FoldInput(train, test, list(splitter.inner(train, options.inner_splits).split()),
                  window_of_sample)
        for train, test in folds
    ]  # fmt: skip

    plan = FoldPlan(
        model, grid, options.feature_scaling, joint, n_null, n_targets, options.blas_threads
    )
    arrays = FoldArrays(X, Y, null_windows, kernels if needs_kernel else None, by_feature, lesion)
    # a bar when asked for; in a book run, a terminal line every few seconds of a long call
    progress = fold_progress(len(folds), label, options.progress or in_book_run())
    if options.scheduler and lesion is None:
        outputs = folds_on_cluster(plan, options, fold_inputs, arrays, progress)
    else:
        outputs = folds_here(plan, options, fold_inputs, arrays, progress)
    progress.close()
    for out, fold in zip(outputs, fold_inputs, strict=True):
        predictions[fold.test] = out.predictions
        chosen.append(out.chosen)
        if n_null:
            null_pred[fold.test] = out.null_predictions
    result = CVResult(
        model,
        features.name,
        options.cv,
        emotions,
        Y,
        predictions,
        meta.subject,
        meta.start,
        folds,
        chosen,
    )
    if null_pred is not None:
        result.null_r, result.null_r2 = _null_metrics(
            null_windows, null_pred, window_of_sample, folds, n_targets
        )
    result.seconds = time.perf_counter() - began
    return result

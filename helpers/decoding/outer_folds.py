"""The outer folds of one cross-validation, run in this process or on the workers of a Dask cluster.

A fold runs the same function in both places (:func:`run_fold`): the fit on the real targets, then
the refitted nulls of models without a shortcut. Here, column models run their folds side by side
in threads and the others in turn. On a cluster every worker receives the arrays once; kernel
models with centred features receive the Gram matrix every fold's kernel is cut from instead of
the features (a fold's kernel is cut and centred in ``n^2``, where building it from 79,800 edges
would cost ``n^2 p`` on every worker and fold).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from helpers.decoding.correlations import FeatureMajor
from helpers.decoding.distributed import map_on_cluster
from helpers.decoding.folds import FoldContext, FoldOutput, fit_predict_fold
from helpers.decoding.kernels import FoldKernels, fold_linear_kernel
from helpers.decoding.models import ModelGrid
from helpers.decoding.selection import CpmLesion
from helpers.decoding.splits import FoldInput
from helpers.registry import model_spec

__all__ = ["FoldArrays", "FoldPlan", "folds_here", "folds_on_cluster", "run_fold"]


@dataclass(frozen=True)
class FoldPlan:
    """What the outer folds of one call share, so that a fold runs the same here or on a worker."""

    model: str
    grid: ModelGrid
    feature_scaling: str
    joint: bool  # null targets predicted alongside the real ones (hat matrix, column models)
    n_null: int
    n_targets: int
    blas_threads: int | None


@dataclass
class FoldArrays:
    """The arrays every fold reads: features, targets, null targets per window, shared state."""

    X: np.ndarray
    Y: np.ndarray
    null_windows: np.ndarray | None = None
    kernels: FoldKernels | None = None
    by_feature: FeatureMajor | None = None
    lesion: CpmLesion | None = None


def run_fold(
    plan: FoldPlan, fold: FoldInput, arrays: FoldArrays, K_lin: np.ndarray | None = None
) -> FoldOutput:
    """One outer fold: tune and fit on the real targets, then predict the null draws.

    Models without a shortcut refit once per null draw (at most the refit cap), inside the fold.
    """
    X, Y, null_windows = arrays.X, arrays.Y, arrays.null_windows
    context = FoldContext(
        K_lin,
        plan.feature_scaling,
        null_windows if plan.joint else None,
        arrays.by_feature,
        arrays.lesion,
    )
    out = fit_predict_fold(plan.model, X, Y, fold, plan.grid, context)
    if plan.n_null and not plan.joint:
        Y_null = null_windows[fold.window_of_sample]
        with threadpool_limits(limits=plan.blas_threads):
            if model_spec(plan.model).kernel_model:
                refit = fit_predict_fold(
                    plan.model, X, Y_null, fold, plan.grid, FoldContext(K_lin, plan.feature_scaling)
                )
                out.null_predictions = refit.predictions
            else:
                width = plan.n_targets
                columns = [
                    fit_predict_fold(
                        plan.model, X, Y_null[:, j * width : (j + 1) * width], fold, plan.grid
                    ).predictions
                    for j in range(plan.n_null)
                ]
                out.null_predictions = np.concatenate(columns, axis=1)
    return out


def folds_here(
    plan: FoldPlan, options: Any, fold_inputs: list[FoldInput], arrays: FoldArrays, progress: Any
) -> list[FoldOutput]:
    """The folds in this process: column models side by side in threads, others in turn.

    Column models spend their time in numpy and BLAS calls that release the GIL, so their folds
    run side by side with one BLAS thread each; other models run folds in turn with their BLAS
    threads (``options`` is the call's :class:`~helpers.decoding.crossval.CVOptions`).
    """
    kernels = arrays.kernels

    def fit_fold(k: int) -> FoldOutput:
        K_lin = kernels.full(k) if kernels is not None else None
        return run_fold(plan, fold_inputs[k], arrays, K_lin)

    column_model = model_spec(plan.model).column_model
    workers = min(options.fold_workers, len(fold_inputs)) if column_model else 1
    outputs = []
    if workers > 1:
        with threadpool_limits(limits=1), ThreadPoolExecutor(workers) as pool:
            for out in pool.map(fit_fold, range(len(fold_inputs))):
                outputs.append(out)
                progress.update()
        return outputs
    threads = None if column_model else options.blas_threads
    for k in range(len(fold_inputs)):
        with threadpool_limits(limits=threads):
            outputs.append(fit_fold(k))
        progress.update()
    return outputs


def _fold_on_worker(
    task: tuple[FoldPlan, FoldInput],
    X: np.ndarray,
    Y: np.ndarray,
    null_windows: np.ndarray | None,
    gram: np.ndarray | None,
) -> FoldOutput:
    """A fold on a Dask worker, with one BLAS thread; its kernel cut from ``gram`` when sent."""
    plan, fold = task
    with threadpool_limits(limits=1):
        K_lin = None
        if gram is not None:
            K_lin = fold_linear_kernel(X, fold.train, fold.test, "center", gram)
        return run_fold(plan, fold, FoldArrays(X, Y, null_windows), K_lin)


def folds_on_cluster(
    plan: FoldPlan, options: Any, fold_inputs: list[FoldInput], arrays: FoldArrays, progress: Any
) -> list[FoldOutput]:
    """The folds on the workers of ``options.scheduler``, results in the order of the folds.

    A kernel model with centred features sends the shared Gram matrix and no feature columns;
    every other model sends the features, from which each worker builds what its fold needs.
    """
    spec = model_spec(plan.model)
    X, gram = arrays.X, None
    if arrays.kernels is not None and plan.feature_scaling == "center" and not spec.column_model:
        gram, X = arrays.kernels.gram(), arrays.X[:, :0]
    return map_on_cluster(
        _fold_on_worker,
        [(plan, fold) for fold in fold_inputs],
        [X, arrays.Y, arrays.null_windows, gram],
        options.scheduler,
        workers=options.fold_workers,
        on_done=progress.update,
    )

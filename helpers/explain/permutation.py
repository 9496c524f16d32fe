"""Grouped permutation importance on held-out folds: the drop in held-out r when a block of features
(all edges touching a network, or between two networks) is shuffled across test samples.

For kernel models the linear kernel is a sum over features, so each block's contribution to the
test-train kernel is computed once and a shuffle only permutes its rows: every repeat is free once
the block's kernel is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg
from sklearn.svm import SVR

from helpers.decoding.folds import FoldContext, FoldInput, fit_predict_fold
from helpers.decoding.kernels import FoldKernels, _fold_scaling, squared_distances
from helpers.decoding.metrics import pearson_columns
from helpers.decoding.models import (
    ModelGrid,
    check_model_name,
    make_estimator,
)
from helpers.explain.heldout import ExplainOptions
from helpers.explain.patterns import _small_blas
from helpers.features import FeatureSet
from helpers.progress import tqdm
from helpers.registry import model_spec


class _KernelPredictor:
    """A fitted kernel model rebuilt from the hyperparameters its nested tuning chose.

    Predicts from the centred/scaled linear kernel between test and training samples plus the
    test samples' squared norms, so the fast permuted-kernel updates can be fed in directly.
    """

    def __init__(
        self,
        model: str,
        K_train: np.ndarray,
        Y_train: np.ndarray,
        chosen: dict[str, Any],
        grid: ModelGrid,
    ):
        self.model = model
        self.diag_train = np.diag(K_train).copy()
        n_targets = Y_train.shape[1]
        d2 = squared_distances(K_train)
        self.parts: list[tuple[float | None, np.ndarray, Any]] = []
        if model_spec(model).engine == "svr":
            gamma = chosen.get("gamma")
            K = K_train if gamma is None else np.exp(-gamma * d2)
            mean, sd = Y_train.mean(axis=0), Y_train.std(axis=0)
            sd[sd < 1e-12] = 1.0
            machines = []
            for t in range(n_targets):
                svr = SVR(kernel="precomputed", C=chosen["C"][t], epsilon=grid.svr_epsilon)
                svr.fit(K, (Y_train[:, t] - mean[t]) / sd[t])
                machines.append(svr)
            self.parts.append((gamma, np.arange(n_targets), (machines, mean, sd)))
            return
        gammas, alphas = chosen["gamma"], chosen["alpha"]
        mean = Y_train.mean(axis=0)
        settings: dict[tuple[Any, float], list[int]] = {}
        for t in range(n_targets):
            settings.setdefault((gammas[t], float(alphas[t])), []).append(t)
        for (gamma, alpha), targets in settings.items():
            K = K_train if gamma is None else np.exp(-gamma * d2)
            dual = linalg.solve(
                K + alpha * np.eye(len(K)),
                Y_train[:, targets] - mean[targets],
                assume_a="pos",
                check_finite=False,
            )
            self.parts.append((gamma, np.asarray(targets), (dual, mean[targets])))
        self.n_targets = n_targets

    def predict(self, K_test: np.ndarray, diag_test: np.ndarray) -> np.ndarray:
        n_targets = sum(len(t) for _, t, _ in self.parts)
        out = np.empty((K_test.shape[0], n_targets))
        for gamma, targets, state in self.parts:
            if gamma is None:
                K = K_test
            else:
                d2 = np.maximum(diag_test[:, None] + self.diag_train[None, :] - 2.0 * K_test, 0.0)
                K = np.exp(-gamma * d2)
            if model_spec(self.model).engine == "svr":
                machines, mean, sd = state
                for t in targets:
                    out[:, t] = machines[t].predict(K) * sd[t] + mean[t]
            else:
                dual, mean = state
                out[:, targets] = K @ dual + mean
        return out


def block_permutation_importance(
    model: str,
    data: FeatureSet,
    splitter: Any,
    blocks: Mapping[str, np.ndarray],
    *,
    n_repeats: int = 5,
    options: ExplainOptions | None = None,
) -> pd.DataFrame:
    """Drop in held-out Pearson r when a block of features is shuffled across test samples.

    For each outer fold the model is tuned and fitted once on the training samples; then, for each
    block and repeat, the block's columns are permuted among the fold's test samples (the same
    permutation for all columns of the block, so their joint structure is kept) and the test set is
    predicted again. Held-out predictions are pooled over folds and scored per emotion, as in the
    regression chapter. Returns one row per (block, emotion): ``r_full``, ``r_permuted`` (mean over
    repeats), ``importance`` (their difference) and ``importance_sd`` (over repeats).

    Kernel models never re-form a kernel: the block's share ``G_B`` of the test-train kernel and the
    test rows' block norms are computed once per fold, and a permutation ``pi`` turns the kernel into
    ``K - G_B + G_B[pi]``. Estimator models (forest, lasso...) are refitted once per fold with the
    chosen hyperparameters and predict on permuted copies of the test features. The fitting
    settings (tuning, scaling, shared kernels, progress) come as ``options``, and the shuffles
    are drawn from ``options.seed``.

    Parameters
    ----------
    model : str
        A registered model (see :func:`helpers.registry.model_names`).
    data : FeatureSet
        The samples: ``X`` (n_samples, n_features) and ``y`` (n_samples, n_emotions).
    splitter : splitter
        The outer folds.
    blocks : mapping of str to numpy.ndarray
        Block name to the indices of its features (in ``[0, n_features)``).
    n_repeats : int, optional
        Shuffles per block and fold.
    options : ExplainOptions, optional
        Tuning, scaling, shared kernels, progress and the shuffles' seed; the defaults if omitted.

    Returns
    -------
    pandas.DataFrame
        (n_blocks * n_emotions) rows: ``block``, ``emotion``, ``r_full``, ``r_permuted``,
        ``importance``, ``importance_sd`` and ``n_features``.
    """

    check_model_name(model)
    settings = options or ExplainOptions()
    inner_splits, feature_scaling = settings.inner_splits, settings.feature_scaling
    kernels, grid, progress = settings.kernels, settings.grid, settings.progress
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be at least 1, got {n_repeats}")
    if not blocks:
        raise ValueError("no feature blocks given; use network_blocks() or network_pair_blocks()")
    grid = grid or ModelGrid()
    X, Y = data.X, np.asarray(data.y, dtype=float)
    for name, columns in blocks.items():
        columns = np.asarray(columns)
        if columns.size == 0 or columns.min() < 0 or columns.max() >= X.shape[1]:
            raise ValueError(
                f"block {name!r} must hold feature indices in [0, {X.shape[1]}); got {columns.size} indices"
            )
    names = list(blocks)
    folds = list(splitter.split(X))
    if kernels is None and model_spec(model).kernel_model:
        kernels = FoldKernels(X, folds, feature_scaling)
    if kernels is not None:
        kernels.cache()
    rng = np.random.default_rng(settings.seed)
    base = np.full(Y.shape, np.nan)
    permuted = np.full((len(names), n_repeats) + Y.shape, np.nan, dtype=np.float32)
    for k, (train, test) in enumerate(
        tqdm(folds, desc=f"permutation {model}", disable=not progress, leave=False)
    ):
        inner = list(splitter.inner(train, inner_splits).split())
        K_full = kernels.full(k) if model_spec(model).kernel_model else None
        with _small_blas():
            context = FoldContext(K_full, feature_scaling)
            out = fit_predict_fold(model, X, Y, FoldInput(train, test, inner), grid, context)
        base[test] = out.predictions
        orders = [rng.permutation(len(test)) for _ in range(n_repeats)]
        if model_spec(model).kernel_model:
            n_tr = len(train)
            with _small_blas():
                predictor = _KernelPredictor(
                    model, K_full[:n_tr, :n_tr], Y[train], out.chosen, grid
                )
            K_test = K_full[n_tr:, :n_tr]
            diag_test = np.diag(K_full)[n_tr:]
            mean, scale = _fold_scaling(X, train, feature_scaling)
            for b, name in enumerate(names):
                columns = np.asarray(blocks[name])
                Z_tr = (
                    (np.asarray(X[np.ix_(train, columns)], dtype=np.float64) - mean[columns])
                    / scale[columns]
                ).astype(np.float32)
                Z_te = (
                    (np.asarray(X[np.ix_(test, columns)], dtype=np.float64) - mean[columns])
                    / scale[columns]
                ).astype(np.float32)
                G = (Z_te @ Z_tr.T).astype(np.float64)
                norms = np.einsum("ij,ij->i", Z_te, Z_te, dtype=np.float64)
                for r, order in enumerate(orders):
                    permuted[b, r, test] = predictor.predict(
                        K_test - G + G[order], diag_test - norms + norms[order]
                    )
        else:
            fitted = make_estimator(model, grid).set_params(**out.chosen).fit(X[train], Y[train])
            X_test = np.array(X[test], dtype=np.float32)
            for b, name in enumerate(names):
                columns = np.asarray(blocks[name])
                original = X_test[:, columns].copy()
                for r, order in enumerate(orders):
                    X_test[:, columns] = original[order]
                    permuted[b, r, test] = np.asarray(fitted.predict(X_test)).reshape(len(test), -1)
                X_test[:, columns] = original
    tested = ~np.isnan(base[:, 0])
    r_full = pearson_columns(Y[tested], base[tested])
    emotions = list(data.target_names)[: Y.shape[1]]
    rows = []
    for b, name in enumerate(names):
        r_perm = np.stack(
            [
                pearson_columns(Y[tested], permuted[b, r][tested].astype(float))
                for r in range(n_repeats)
            ]
        )
        for e, emotion in enumerate(emotions):
            rows.append(
                {
                    "block": name,
                    "emotion": emotion,
                    "r_full": float(r_full[e]),
                    "r_permuted": float(r_perm[:, e].mean()),
                    "importance": float(r_full[e] - r_perm[:, e].mean()),
                    "importance_sd": float(r_perm[:, e].std()),
                    "n_features": int(len(blocks[name])),
                }
            )
    return pd.DataFrame(rows)

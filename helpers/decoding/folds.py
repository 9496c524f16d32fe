"""One outer fold of nested cross-validation: tune on the inner folds, fit, predict the test samples.

Kernel ridge picks (RBF width, penalty) per target from one Cholesky factorisation per width and
penalty (an eigendecomposition for long grids: :func:`helpers.decoding.kernels.penalised_solver`); with
window-level null targets it also predicts every null draw at the cost of a few matrix products,
since its predictions are a linear map of the training targets. SVR picks ``C`` per target on a
precomputed kernel. Other models go through ``GridSearchCV`` on the inner folds. Penalties are in
units of the mean diagonal of the training kernel, so one grid serves 300 ROIs and 44,850 edges;
RBF widths are multiples of the median heuristic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVR

from helpers.decoding.correlations import FeatureMajor, TargetColumns
from helpers.decoding.kernels import (
    centre_kernel,
    fold_linear_kernel,
    median_heuristic_gamma,
    penalised_solver,
    squared_distances,
)
from helpers.decoding.models import ModelGrid, estimator_param_grid, make_estimator
from helpers.decoding.screening import screened_ridge_fold
from helpers.decoding.selection import CpmLesion, cpm_fold
from helpers.decoding.splits import FoldInput
from helpers.registry import model_spec


@dataclass
class FoldContext:
    """What a fold takes from its caller instead of building it, so models and null draws share it.

    ``kernel`` is the fold's linear kernel over ``[train, test]`` (centred on the training rows),
    built from the features with ``feature_scaling`` when absent. ``null_windows`` (n_windows,
    n_columns) are null target columns per window, predicted alongside the real targets by the
    models with a shortcut (kernel ridge's hat matrix, the column models). ``by_feature`` is a
    feature-major copy of ``X`` shared by every fold of a run; ``lesion`` (CPM only) removes
    features from selection and shares the rankings of the training correlations between lesions.
    """

    kernel: np.ndarray | None = None
    feature_scaling: str = "standard"
    null_windows: np.ndarray | None = None
    by_feature: FeatureMajor | None = None
    lesion: CpmLesion | None = None


@dataclass
class FoldOutput:
    predictions: np.ndarray  # (n_test, n_targets)
    chosen: dict[str, Any] = field(default_factory=dict)
    null_predictions: np.ndarray | None = None  # (n_test, n_null_columns)


def _kernel_variants(
    name: str, K_lin: np.ndarray, n_train: int, grid: ModelGrid
) -> list[tuple[float | None, np.ndarray]]:
    """(gamma, kernel) pairs over the fold's rows; ``gamma=None`` is the (centred) linear kernel."""
    spec = model_spec(name)
    if spec.kernel == "linear":
        return [(None, K_lin)]
    d2 = squared_distances(K_lin)
    gamma0 = median_heuristic_gamma(d2[:n_train, :n_train])
    factors = grid.gamma_factors if spec.engine == "kernel_ridge" else (1.0,)
    return [(gamma0 * f, np.exp(-gamma0 * f * d2)) for f in factors]


def _inner_blocks(
    K: np.ndarray, it: np.ndarray, iv: np.ndarray, linear: bool
) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate([it, iv])
    sub = K[np.ix_(rows, rows)]
    if linear:
        sub = centre_kernel(sub, len(it))
    return sub[: len(it), : len(it)], sub[len(it) :, : len(it)]


def _window_design(window_rows: np.ndarray, n_windows: int) -> np.ndarray:
    """One-hot ``(n_rows, n_windows)`` map from samples to their window."""
    E = np.zeros((len(window_rows), n_windows))
    E[np.arange(len(window_rows)), window_rows] = 1.0
    return E


def kernel_ridge_fold(
    name: str,
    K_lin: np.ndarray,
    Y: np.ndarray,
    fold: FoldInput,
    grid: ModelGrid,
    null_windows: np.ndarray | None = None,
) -> FoldOutput:
    """Nested kernel ridge in one outer fold, with optional window-level null targets.

    ``K_lin`` is the fold's linear kernel over ``[train, test]`` (training rows first, centred on the
    training rows). ``Y`` holds the targets of all samples. ``null_windows`` (n_windows, n_columns)
    are null target columns per unique window (``fold.window_of_sample`` maps samples to windows):
    since every prediction is a linear map of the training targets, the inner scores of every column
    are quadratic forms ``t' Q t`` with one ``Q`` per setting, and test predictions are ``M t``; no
    refit per permutation.
    """
    n_tr = len(fold.train)
    Y_tr = np.asarray(Y[fold.train], dtype=float)
    alphas_rel = np.asarray(grid.relative_alphas)
    variants = _kernel_variants(name, K_lin, n_tr, grid)
    linear = variants[0][0] is None
    tuning = _KernelRidgeTuning(variants, alphas_rel, linear, n_tr)
    sse, Q = tuning.inner_losses(Y_tr, fold, null_windows)
    best = np.argmin(sse, axis=0)
    null_best, T = None, None
    if null_windows is not None:
        T = np.asarray(null_windows, dtype=np.float32)
        scores = np.stack(
            [np.einsum("ij,ij->j", Q[s].astype(np.float32) @ T, T) for s in range(len(Q))]
        )
        null_best = np.argmin(scores, axis=0)
    test_pred, null_pred = tuning.refit_predict(Y_tr, fold, (best, null_best), T)
    settings = tuning.settings
    factors = (None,) if linear else tuple(grid.gamma_factors)
    chosen = {
        "gamma": [settings[s][0] for s in best],
        "alpha": [float(settings[s][1]) for s in best],
        "relative_alpha": [float(alphas_rel[s % len(alphas_rel)]) for s in best],
        "gamma_factor": [factors[s // len(alphas_rel)] for s in best],
    }
    return FoldOutput(test_pred, chosen, null_pred)


@dataclass
class _KernelRidgeTuning:
    """The (kernel, penalty) settings of one fold: their inner losses, then the chosen fits.

    Setting ``v * n_alphas + j`` is kernel variant ``v`` with penalty ``j``, penalties in units
    of the mean diagonal of that variant's training kernel.
    """

    variants: list[tuple[float | None, np.ndarray]]
    alphas_rel: np.ndarray
    linear: bool
    n_train: int
    settings: list[tuple[float | None, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for gamma, K in self.variants:
            scale = float(np.mean(np.diag(K[: self.n_train, : self.n_train]))) or 1.0
            self.settings.extend((gamma, a) for a in self.alphas_rel * scale)

    def _alphas(self, v: int) -> np.ndarray:
        n = len(self.alphas_rel)
        return np.array([a for _, a in self.settings[v * n : (v + 1) * n]])

    def inner_losses(
        self, Y_tr: np.ndarray, fold: FoldInput, null_windows: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Squared inner-fold error per (setting, target), and per setting the null quadratic form."""
        n_alpha = len(self.alphas_rel)
        sse = np.zeros((len(self.settings), Y_tr.shape[1]))
        Q = None
        if null_windows is not None:
            windows, n_win = fold.window_of_sample, null_windows.shape[0]
            Q = np.zeros((len(self.settings), n_win, n_win))
        n_targets = Y_tr.shape[1]
        for v, (_, K) in enumerate(self.variants):
            alphas, rows = self._alphas(v), slice(v * n_alpha, (v + 1) * n_alpha)
            for it, iv in fold.inner:
                K_in, K_ev = _inner_blocks(K, it, iv, self.linear)
                solver = penalised_solver(K_in, len(alphas))
                y_mean = Y_tr[it].mean(axis=0)
                right = Y_tr[it] - y_mean
                if Q is not None:  # the window design goes through the same solves as the targets
                    E_in = _window_design(windows[fold.train[it]], n_win)
                    weights = E_in.mean(axis=0)
                    right = np.hstack([right, E_in - weights])
                fitted = solver.predict(K_ev, right, alphas)
                preds = fitted[:, :, :n_targets] + y_mean
                sse[rows] += ((preds - Y_tr[iv]) ** 2).sum(axis=1)
                if Q is None:
                    continue
                E_val = _window_design(windows[fold.train[iv]], n_win)
                for j in range(len(alphas)):
                    R = E_val - (fitted[j, :, n_targets:] + weights)
                    Q[v * n_alpha + j] += R.T @ R
        return sse, Q

    def refit_predict(
        self,
        Y_tr: np.ndarray,
        fold: FoldInput,
        chosen: tuple[np.ndarray, np.ndarray | None],
        T: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Test predictions of the real targets and of the null columns ``T`` (window-level)."""
        best, null_best = chosen
        n_tr, n_alpha = self.n_train, len(self.alphas_rel)
        test_pred = np.empty((len(fold.test), Y_tr.shape[1]))
        null_pred = None if T is None else np.empty((len(fold.test), T.shape[1]), dtype=np.float32)
        if T is not None:
            E_tr = _window_design(fold.window_of_sample[fold.train], T.shape[0])
            weights_tr = E_tr.mean(axis=0)
        y_mean = Y_tr.mean(axis=0)
        for v, (_, K) in enumerate(self.variants):
            used = [
                s
                for s in range(v * n_alpha, (v + 1) * n_alpha)
                if np.any(best == s) or (null_best is not None and np.any(null_best == s))
            ]
            if not used:
                continue
            solver = penalised_solver(K[:n_tr, :n_tr], len(used))
            K_te = K[n_tr:, :n_tr]
            for s in used:
                a = self.settings[s][1]
                cols = np.flatnonzero(best == s)
                ncols = np.array([], dtype=int) if T is None else np.flatnonzero(null_best == s)
                right = [Y_tr[:, cols] - y_mean[cols]] + ([E_tr - weights_tr] if len(ncols) else [])
                fitted = solver.predict(K_te, np.hstack(right), np.array([a]))[0]
                test_pred[:, cols] = fitted[:, : len(cols)] + y_mean[cols]
                if len(ncols):
                    M = fitted[:, len(cols) :] + weights_tr
                    null_pred[:, ncols] = M.astype(np.float32) @ T[:, ncols]
        return test_pred, null_pred


def svr_fold(
    name: str, K_lin: np.ndarray, Y: np.ndarray, fold: FoldInput, grid: ModelGrid
) -> FoldOutput:
    """Nested SVR on a precomputed kernel: ``C`` chosen per target on the inner folds.

    Targets are standardised on the training samples (so ``epsilon`` is in standard-deviation units).
    """
    n_tr = len(fold.train)
    Y_tr = np.asarray(Y[fold.train], dtype=float)
    gamma, K = _kernel_variants(name, K_lin, n_tr, grid)[0]
    linear = gamma is None
    n_targets = Y.shape[1]
    sse = np.zeros((len(grid.svr_C), n_targets))
    for it, iv in fold.inner:
        K_in, K_ev = _inner_blocks(K, it, iv, linear)
        mean, sd = Y_tr[it].mean(axis=0), Y_tr[it].std(axis=0)
        sd[sd < 1e-12] = 1.0
        for c_index, C in enumerate(grid.svr_C):
            for t in range(n_targets):
                model = SVR(kernel="precomputed", C=C, epsilon=grid.svr_epsilon)
                model.fit(K_in, (Y_tr[it, t] - mean[t]) / sd[t])
                pred = model.predict(K_ev) * sd[t] + mean[t]
                sse[c_index, t] += np.sum((pred - Y_tr[iv, t]) ** 2)
    best = np.argmin(sse, axis=0)
    mean, sd = Y_tr.mean(axis=0), Y_tr.std(axis=0)
    sd[sd < 1e-12] = 1.0
    test_pred = np.empty((len(fold.test), n_targets))
    K_train, K_test = K[:n_tr, :n_tr], K[n_tr:, :n_tr]
    for t in range(n_targets):
        model = SVR(kernel="precomputed", C=grid.svr_C[best[t]], epsilon=grid.svr_epsilon)
        model.fit(K_train, (Y_tr[:, t] - mean[t]) / sd[t])
        test_pred[:, t] = model.predict(K_test) * sd[t] + mean[t]
    return FoldOutput(test_pred, {"gamma": gamma, "C": [grid.svr_C[b] for b in best]})


def estimator_fold(
    name: str, X: np.ndarray, Y: np.ndarray, fold: FoldInput, grid: ModelGrid
) -> FoldOutput:
    """Estimator route: scaler + model in a pipeline, grid-searched on the inner folds."""
    pipeline = make_estimator(name, grid)
    param_grid = estimator_param_grid(name, grid)
    X_tr, Y_tr = X[fold.train], Y[fold.train]
    if param_grid:
        search = GridSearchCV(
            pipeline, param_grid, cv=list(fold.inner), scoring="neg_mean_squared_error", n_jobs=1
        )
        search.fit(X_tr, Y_tr)
        fitted, chosen = search.best_estimator_, dict(search.best_params_)
    else:
        fitted, chosen = clone(pipeline).fit(X_tr, Y_tr), {}
    pred = np.asarray(fitted.predict(X[fold.test]), dtype=float).reshape(len(fold.test), -1)
    return FoldOutput(pred, chosen)


def column_fold(
    name: str,
    X: np.ndarray,
    Y: np.ndarray,
    fold: FoldInput,
    grid: ModelGrid,
    context: FoldContext,
) -> FoldOutput:
    """Selection models and the oracle: real and null target columns fitted in one pass.

    Their cost grows little with the number of columns, so every null draw goes through exactly the
    code, the selection and the tuning of the real targets (see :class:`FoldContext` for what the
    caller shares).
    """
    n_targets = Y.shape[1]
    null_windows = context.null_windows
    real = TargetColumns.from_samples(Y, fold.window_of_sample)
    columns = real
    if null_windows is not None:
        nulls = null_windows if real.shared else null_windows[fold.window_of_sample]
        columns = TargetColumns(
            np.concatenate([real.table, nulls], axis=1), real.window_of_sample, real.shared
        )
    engine = model_spec(name).engine
    if engine in ("cpm", "screened_ridge"):
        # circular-shift nulls repeat lags: fit each distinct column once
        unique, inverse = np.unique(columns.table, axis=1, return_inverse=True)
        inverse = inverse.ravel()
        distinct = TargetColumns(unique, columns.window_of_sample, columns.shared)
        if engine == "cpm":
            predictions, n_edges = cpm_fold(
                X, distinct, fold, grid.cpm_edges, context.by_feature, context.lesion
            )
            chosen = {"n_edges": [int(k) for k in n_edges[inverse[:n_targets]]]}
        else:
            predictions, settings = screened_ridge_fold(
                X, distinct, fold, grid, context.kernel, context.by_feature
            )
            chosen = {
                key: [values[i] for i in inverse[:n_targets]] for key, values in settings.items()
            }
        predictions = predictions[:, inverse]
    else:
        predictions = oracle_fold(X, columns, fold.train, fold.test, n_targets)
        chosen = {}
    null = predictions[:, n_targets:].astype(np.float32) if null_windows is not None else None
    return FoldOutput(predictions[:, :n_targets], chosen, null)


def oracle_fold(
    X: np.ndarray, columns: TargetColumns, train: np.ndarray, test: np.ndarray, n_targets: int
) -> np.ndarray:
    """Least squares of each target on its own planted summary (columns ``t*m .. (t+1)*m`` of ``X``).

    Column ``c`` of ``columns`` belongs to target ``c % n_targets`` (null draws repeat the targets).
    """
    per_target = X.shape[1] // n_targets
    y_train = columns.values(train)
    out = np.empty((len(test), columns.n_columns))
    for t in range(n_targets):
        F = np.asarray(X[:, t * per_target : (t + 1) * per_target], dtype=np.float64)
        mean = F[train].mean(axis=0)
        A = F[train] - mean
        cols = np.arange(t, columns.n_columns, n_targets)
        y = y_train[:, cols]
        coef, *_ = np.linalg.lstsq(A, y - y.mean(axis=0), rcond=None)
        out[:, cols] = (F[test] - mean) @ coef + y.mean(axis=0)
    return out


def fit_predict_fold(
    name: str,
    X: np.ndarray,
    Y: np.ndarray,
    fold: FoldInput,
    grid: ModelGrid | None = None,
    context: FoldContext | None = None,
) -> FoldOutput:
    """Tune on the inner folds, fit on ``fold.train``, predict ``fold.test`` (all targets).

    Parameters
    ----------
    name : a registered model (:mod:`helpers.registry`).
    X : (n_samples, n_features) features of every sample.
    Y : (n_samples,) or (n_samples, n_targets) targets of every sample.
    fold : the outer fold's training and test rows and its inner folds.
    grid : the hyperparameter grids (default :class:`ModelGrid`).
    context : what the caller shares (kernel, null draws, CPM state); see :class:`FoldContext`.

    Returns
    -------
    FoldOutput with test predictions (n_test, n_targets), the chosen hyperparameters and, when
    ``context.null_windows`` is given to a model with a shortcut, the null draws' predictions.
    """
    grid = grid or ModelGrid()
    context = context or FoldContext()
    engine = model_spec(name).engine
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if engine == "estimator":
        return estimator_fold(name, X, Y, fold, grid)
    if context.lesion is not None and engine != "cpm":
        raise ValueError(f"a lesion through shared rankings is a CPM route; {name} was asked")
    if engine in ("oracle", "cpm"):
        return column_fold(name, X, Y, fold, grid, replace(context, kernel=None))
    K_lin = context.kernel
    if K_lin is None:
        K_lin = fold_linear_kernel(X, fold.train, fold.test, context.feature_scaling)
    if engine == "screened_ridge":
        return column_fold(name, X, Y, fold, grid, replace(context, kernel=K_lin))
    if engine == "svr":
        return svr_fold(name, K_lin, Y, fold, grid)
    return kernel_ridge_fold(name, K_lin, Y, fold, grid, context.null_windows)

"""Multi-target regressors, tuned inside training folds, made fast by reusing decompositions.

Two routes lead to the same kind of answer (held-out predictions for the eight emotions):

* **Kernel route** (``ridge``, ``kernel_ridge_linear``, ``kernel_ridge_rbf``, ``svr_rbf``,
  ``svr_linear``). Everything these models need from the features is a kernel between samples, so the
  cost grows with the number of samples, not with the 44,850 DFC edges. Per outer fold the linear Gram
  of the fold-scaled features is formed once (rows: training then test samples) and shared by every
  target, hyperparameter, inner fold and null permutation; RBF kernels for a grid of widths come from
  the same Gram through squared distances. Kernel ridge is solved for all penalties and all targets
  from one eigendecomposition of the training kernel (one per RBF width); SVR runs on the precomputed
  kernel.
* **Estimator route** (``linear``, ``lasso``, ``elastic_net``, ``random_forest``): a scikit-learn
  ``Pipeline(StandardScaler, estimator)`` tuned with ``GridSearchCV`` on the inner folds.

Feature scaling (``feature_scaling``)
    ``"standard"``: a StandardScaler fitted on the outer training samples; the Gram is recomputed once
    per outer fold (``n_fold_samples**2 * n_features`` flops). The inner folds reuse that scaling
    (it uses no targets, and only outer-training samples) but re-centre on their own training samples.
    ``"center"``: features are centred on the outer (and inner) training samples but not rescaled;
    the fold kernels then come exactly from one Gram over all samples computed once per feature set.
    Suited to features that already share units (Fisher-z correlations; z-scored ROI signals).
    In both modes no statistic of a test sample enters training.

Intercept
    Targets are centred on the training mean (kernel ridge) or standardised on the training mean and
    standard deviation (SVR), and the mean is added back, so RBF models do not shrink towards zero.

``ridge`` and ``kernel_ridge_linear``
    are the same estimator (ridge with an intercept on the scaled features, solved in the dual); both
    names are kept because the paper lists both. Their predictions equal scikit-learn's
    ``Ridge`` after ``StandardScaler`` (tested).

Hyperparameters
    Kernel ridge picks (RBF width, penalty) per target; SVR picks ``C`` per target; the estimator
    route picks one setting for all targets (what ``GridSearchCV`` optimises). Penalties are given in
    units of the mean diagonal of the training kernel, so one grid serves 300 ROIs and 44,850 edges;
    RBF widths are multiples of the median heuristic ``1 / median squared distance``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import linalg
from sklearn.base import clone
from sklearn.ensemble import RandomForestRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from helpers.config import MODELS

KERNEL_RIDGE_MODELS = ("ridge", "kernel_ridge_linear", "kernel_ridge_rbf")
SVR_MODELS = ("svr_rbf", "svr_linear")
KERNEL_MODELS = KERNEL_RIDGE_MODELS + SVR_MODELS
ESTIMATOR_MODELS = ("linear", "lasso", "elastic_net", "random_forest")

InnerFolds = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ModelGrid:
    """Hyperparameter grids (kernel penalties are relative to the mean kernel diagonal)."""

    relative_alphas: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
    gamma_factors: tuple[float, ...] = (0.25, 1.0, 4.0)
    svr_C: tuple[float, ...] = (0.1, 1.0, 10.0)
    svr_epsilon: float = 0.1
    lasso_alphas: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    l1_ratios: tuple[float, ...] = (0.2, 0.8)
    forest_max_features: tuple[Any, ...] = ("sqrt", 0.1)
    forest_trees: int = 100
    seed: int = 0


def check_model_name(name: str) -> str:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}")
    return name


def is_linear_smoother(name: str) -> bool:
    """Predictions are a fixed linear map of the training targets (hat-matrix permutations apply)."""
    return check_model_name(name) in KERNEL_RIDGE_MODELS


def make_estimator(name: str, grid: ModelGrid | None = None) -> Any:
    """A plain scikit-learn estimator for ``name`` with scaling in the pipeline and default settings.

    Used by the estimator route (wrapped in a grid search) and as an independent reference.
    """
    grid = grid or ModelGrid()
    check_model_name(name)
    regressors = {
        "linear": LinearRegression(),
        "ridge": Ridge(alpha=1.0),
        "lasso": Lasso(alpha=grid.lasso_alphas[1], max_iter=5000),
        "elastic_net": ElasticNet(alpha=grid.lasso_alphas[1], l1_ratio=0.5, max_iter=5000),
        "kernel_ridge_linear": KernelRidge(kernel="linear", alpha=1.0),
        "kernel_ridge_rbf": KernelRidge(kernel="rbf", alpha=1.0),
        "svr_rbf": MultiOutputRegressor(SVR(kernel="rbf")),
        "svr_linear": MultiOutputRegressor(SVR(kernel="linear")),
        "random_forest": RandomForestRegressor(
            n_estimators=grid.forest_trees, random_state=grid.seed, n_jobs=1
        ),
    }
    return Pipeline([("scale", StandardScaler()), ("model", regressors[name])])


def _estimator_param_grid(name: str, grid: ModelGrid) -> dict[str, list[Any]]:
    if name == "lasso":
        return {"model__alpha": list(grid.lasso_alphas)}
    if name == "elastic_net":
        return {"model__alpha": list(grid.lasso_alphas), "model__l1_ratio": list(grid.l1_ratios)}
    if name == "random_forest":
        return {"model__max_features": list(grid.forest_max_features)}
    return {}


# --------------------------------------------------------------------------------------- kernels
def linear_gram(X: np.ndarray) -> np.ndarray:
    """``X @ X.T`` in float32 arithmetic, returned as float64 (computed once per feature set)."""
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    return (X32 @ X32.T).astype(np.float64)


def centre_kernel(K: np.ndarray, n_train: int) -> np.ndarray:
    """Linear kernel of features centred on the first ``n_train`` rows' mean (exact for linear kernels)."""
    row_means = K[:, :n_train].mean(axis=1)
    grand = row_means[:n_train].mean()
    return K - row_means[:, None] - row_means[None, :] + grand


def fold_linear_kernel(
    X: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    feature_scaling: str = "standard",
    gram: np.ndarray | None = None,
) -> np.ndarray:
    """Linear kernel over ``[train, test]`` rows of features scaled on ``train`` only.

    Returns a float64 ``(n_train + n_test)`` square matrix, training rows first.
    """
    rows = np.concatenate([train, test])
    if feature_scaling == "center":
        if gram is None:
            gram = linear_gram(X[rows])
            return centre_kernel(gram, len(train))
        return centre_kernel(gram[np.ix_(rows, rows)], len(train))
    if feature_scaling != "standard":
        raise ValueError(f"feature_scaling must be 'standard' or 'center', got {feature_scaling!r}")
    train_block = np.asarray(X[train], dtype=np.float64)
    mean = train_block.mean(axis=0)
    scale = train_block.std(axis=0)
    del train_block
    scale[scale < 1e-12] = 1.0
    Z = ((np.asarray(X[rows], dtype=np.float32) - mean.astype(np.float32)) / scale.astype(np.float32))
    return (Z @ Z.T).astype(np.float64)


def squared_distances(K: np.ndarray) -> np.ndarray:
    diag = np.diag(K)
    return np.maximum(diag[:, None] + diag[None, :] - 2.0 * K, 0.0)


def median_heuristic_gamma(sq_dist_train: np.ndarray, max_rows: int = 600) -> float:
    """``1 / median`` of the off-diagonal squared distances among (at most ``max_rows``) training rows."""
    n = sq_dist_train.shape[0]
    take = np.linspace(0, n - 1, min(n, max_rows)).astype(int)
    block = sq_dist_train[np.ix_(take, take)]
    values = block[np.triu_indices(len(take), k=1)]
    median = float(np.median(values)) if values.size else 1.0
    return 1.0 / median if median > 0 else 1.0


class KernelSpectrum:
    """Eigendecomposition of a training kernel: kernel ridge for every penalty and target at once."""

    def __init__(self, K_train: np.ndarray) -> None:
        eigvals, eigvecs = linalg.eigh(K_train, driver="evd", check_finite=False)
        self.eigvals = np.maximum(eigvals, 0.0)
        self.eigvecs = eigvecs

    def predict(self, K_eval: np.ndarray, Y_centered: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """Predictions ``(n_alphas, n_eval, n_targets)`` of ``K_eval (K + a I)^-1 Y`` for each ``a``."""
        projected = self.eigvecs.T @ Y_centered
        left = K_eval @ self.eigvecs
        return np.stack([left @ (projected / (self.eigvals + a)[:, None]) for a in alphas])

    def hat_factors(self, K_eval: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(K_eval U, U^T right)``; the map for penalty ``a`` is ``left / (lam + a) @ projected``."""
        return K_eval @ self.eigvecs, self.eigvecs.T @ right


def kernel_ridge_predict(K_train: np.ndarray, K_eval: np.ndarray, Y: np.ndarray, alpha: float) -> np.ndarray:
    """Kernel ridge through the eigendecomposition (no intercept), for checks against scikit-learn."""
    Y = np.asarray(Y, dtype=float)
    squeeze = Y.ndim == 1
    Y2 = Y[:, None] if squeeze else Y
    out = KernelSpectrum(K_train).predict(K_eval, Y2, np.array([alpha]))[0]
    return out[:, 0] if squeeze else out


# ------------------------------------------------------------------------------------ fold engine
@dataclass
class FoldInput:
    """What one outer fold gives a model: sample indices, inner folds (positions within ``train``)."""

    train: np.ndarray
    test: np.ndarray
    inner: InnerFolds
    window_of_sample: np.ndarray | None = None  # for window-level null targets


@dataclass
class FoldOutput:
    predictions: np.ndarray  # (n_test, n_targets)
    chosen: dict[str, Any] = field(default_factory=dict)
    null_predictions: np.ndarray | None = None  # (n_test, n_null_columns)


def _kernel_variants(name: str, K_lin: np.ndarray, n_train: int, grid: ModelGrid) -> list[tuple[float | None, np.ndarray]]:
    """(gamma, kernel) pairs over the fold's rows; ``gamma=None`` is the (centred) linear kernel."""
    if name in ("ridge", "kernel_ridge_linear", "svr_linear"):
        return [(None, K_lin)]
    d2 = squared_distances(K_lin)
    gamma0 = median_heuristic_gamma(d2[:n_train, :n_train])
    factors = grid.gamma_factors if name == "kernel_ridge_rbf" else (1.0,)
    return [(gamma0 * f, np.exp(-gamma0 * f * d2)) for f in factors]


def _inner_blocks(K: np.ndarray, it: np.ndarray, iv: np.ndarray, linear: bool) -> tuple[np.ndarray, np.ndarray]:
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
    n_settings = len(variants) * len(alphas_rel)
    sse = np.zeros((n_settings, Y.shape[1]))
    with_null = null_windows is not None
    if with_null:
        windows = fold.window_of_sample
        n_win = null_windows.shape[0]
        Q = np.zeros((n_settings, n_win, n_win))
    settings: list[tuple[float | None, float]] = []
    for v, (gamma, K) in enumerate(variants):
        scale = float(np.mean(np.diag(K[:n_tr, :n_tr]))) or 1.0
        alphas = alphas_rel * scale
        settings.extend((gamma, a) for a in alphas)
        for it, iv in fold.inner:
            K_in, K_ev = _inner_blocks(K, it, iv, linear)
            spectrum = KernelSpectrum(K_in)
            y_mean = Y_tr[it].mean(axis=0)
            preds = spectrum.predict(K_ev, Y_tr[it] - y_mean, alphas) + y_mean
            sse[v * len(alphas) : (v + 1) * len(alphas)] += ((preds - Y_tr[iv]) ** 2).sum(axis=1)
            if with_null:
                E_in = _window_design(windows[fold.train[it]], n_win)
                weights = E_in.mean(axis=0)
                E_val = _window_design(windows[fold.train[iv]], n_win)
                left, projected = spectrum.hat_factors(K_ev, E_in - weights)
                for j, a in enumerate(alphas):
                    M = left @ (projected / (spectrum.eigvals + a)[:, None]) + weights
                    R = E_val - M
                    Q[v * len(alphas) + j] += R.T @ R
    best = np.argmin(sse, axis=0)
    K_variants = {v: K for v, (_, K) in enumerate(variants)}
    test_pred = np.empty((len(fold.test), Y.shape[1]))
    null_pred = None
    if with_null:
        T = np.asarray(null_windows, dtype=np.float32)
        scores = np.stack([np.einsum("ij,ij->j", Q[s].astype(np.float32) @ T, T) for s in range(n_settings)])
        null_best = np.argmin(scores, axis=0)
        null_pred = np.empty((len(fold.test), T.shape[1]), dtype=np.float32)
        E_tr = _window_design(windows[fold.train], n_win)
        weights_tr = E_tr.mean(axis=0)
    y_mean = Y_tr.mean(axis=0)
    for v in range(len(variants)):
        used = [s for s in range(v * len(alphas_rel), (v + 1) * len(alphas_rel))
                if np.any(best == s) or (with_null and np.any(null_best == s))]
        if not used:
            continue
        K = K_variants[v]
        spectrum = KernelSpectrum(K[:n_tr, :n_tr])
        K_te = K[n_tr:, :n_tr]
        if with_null:
            left, projected = spectrum.hat_factors(K_te, E_tr - weights_tr)
        for s in used:
            a = settings[s][1]
            cols = np.flatnonzero(best == s)
            if len(cols):
                test_pred[:, cols] = spectrum.predict(K_te, Y_tr[:, cols] - y_mean[cols], np.array([a]))[0] + y_mean[cols]
            if with_null:
                ncols = np.flatnonzero(null_best == s)
                if len(ncols):
                    M = (left @ (projected / (spectrum.eigvals + a)[:, None]) + weights_tr).astype(np.float32)
                    null_pred[:, ncols] = M @ T[:, ncols]
    chosen = {
        "gamma": [settings[s][0] for s in best],
        "alpha": [settings[s][1] for s in best],
    }
    return FoldOutput(test_pred, chosen, null_pred)


def svr_fold(name: str, K_lin: np.ndarray, Y: np.ndarray, fold: FoldInput, grid: ModelGrid) -> FoldOutput:
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


def estimator_fold(name: str, X: np.ndarray, Y: np.ndarray, fold: FoldInput, grid: ModelGrid) -> FoldOutput:
    """Estimator route: scaler + model in a pipeline, grid-searched on the inner folds."""
    pipeline = make_estimator(name, grid)
    param_grid = _estimator_param_grid(name, grid)
    X_tr, Y_tr = X[fold.train], Y[fold.train]
    if param_grid:
        search = GridSearchCV(pipeline, param_grid, cv=list(fold.inner), scoring="neg_mean_squared_error", n_jobs=1)
        search.fit(X_tr, Y_tr)
        fitted, chosen = search.best_estimator_, dict(search.best_params_)
    else:
        fitted, chosen = clone(pipeline).fit(X_tr, Y_tr), {}
    pred = np.asarray(fitted.predict(X[fold.test]), dtype=float).reshape(len(fold.test), -1)
    return FoldOutput(pred, chosen)


def fit_predict_fold(
    name: str,
    X: np.ndarray,
    Y: np.ndarray,
    fold: FoldInput,
    grid: ModelGrid | None = None,
    feature_scaling: str = "standard",
    gram: np.ndarray | None = None,
    K_lin: np.ndarray | None = None,
    null_windows: np.ndarray | None = None,
) -> FoldOutput:
    """Tune on the inner folds, fit on ``fold.train``, predict ``fold.test`` (all targets).

    ``K_lin`` (the fold kernel) may be passed to share it across models; otherwise it is built here.
    ``null_windows`` is only used by the kernel ridge models (see :func:`kernel_ridge_fold`).
    """
    grid = grid or ModelGrid()
    check_model_name(name)
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if name in ESTIMATOR_MODELS:
        return estimator_fold(name, X, Y, fold, grid)
    if K_lin is None:
        K_lin = fold_linear_kernel(X, fold.train, fold.test, feature_scaling, gram)
    if name in SVR_MODELS:
        return svr_fold(name, K_lin, Y, fold, grid)
    return kernel_ridge_fold(name, K_lin, Y, fold, grid, null_windows)

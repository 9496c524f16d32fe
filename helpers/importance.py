"""Which features a decoder relies on, per emotion: activation patterns, permutation, lesions.

Three complementary answers, all computed with the folds of the regression chapter so that nothing
is learned from held-out data:

* **Activation patterns** (Haufe et al. 2014). The weights of a linear decoder mix signal with
  noise suppression: a feature that carries no emotion but cancels noise in another gets a large
  weight. The pattern ``A = cov(X) W cov(y_hat)^-1`` says instead how each feature co-varies with
  the decoded emotion. Since ``cov(X) W = cov(X, y_hat)`` for a linear model, it is computed from
  the model's fitted values as ``X_c^T y_hat_c / (n - 1)`` without ever forming the
  ``n_features x n_features`` covariance. Patterns are computed on the training samples of each
  outer fold (the model only ever sees those) and averaged over folds. For non-linear models the
  same quantity is the covariance of each feature with the model's output (its best linear summary);
  it is reported as ``"output_covariance"`` rather than as a Haufe pattern.
* **Grouped permutation importance** on held-out folds. Shuffling the test samples of a block of
  features (all edges touching a network, or all edges between two networks) and measuring the drop
  in held-out Pearson r. For kernel models the linear kernel is a sum over features, so each block's
  contribution to the test-train kernel is computed once and a shuffle only permutes its rows: every
  repeat is free once the block's kernel is known.
* **Leave-one-network-out retraining** (and virtual lesions of any ROI set): the whole nested
  cross-validation is rerun without the block. Because kernels are additive over features, each
  fold's lesioned kernel is the full kernel minus the block's, so the lesioned run pays only for the
  block.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg
from sklearn.svm import SVR
from threadpoolctl import threadpool_limits

from helpers.study import EMOTIONS
from helpers.evaluation import CVResult, cross_validate_model, pearson_columns
from helpers.models import (
    KERNEL_MODELS,
    SVR_MODELS,
    FoldInput,
    ModelGrid,
    check_model_name,
    fit_predict_fold,
    fold_linear_kernel,
    linear_gram,
    make_estimator,
    squared_distances,
)
from helpers.splits import WindowMeta, make_splitter

LINEAR_MODELS = ("linear", "ridge", "lasso", "elastic_net", "kernel_ridge_linear", "svr_linear")
"""Models whose prediction is a linear function of the features: their pattern is Haufe's."""

_CHUNK_FEATURES = 8192


def _small_blas() -> threadpool_limits:
    """One BLAS thread for the many small decompositions of nested tuning.

    Eigendecompositions of a few hundred samples gain nothing from threads, and on a shared machine
    OpenBLAS threads that wait for each other make them several times slower.
    """
    return threadpool_limits(limits=1, user_api="blas")


# ------------------------------------------------------------------------------ activation pattern
def activation_pattern(
    X: np.ndarray, y_hat: np.ndarray, joint: bool = False, chunk_features: int = _CHUNK_FEATURES
) -> np.ndarray:
    """Haufe activation pattern ``cov(X, y_hat) cov(y_hat)^-1``: (n_features, n_targets) float64.

    Parameters
    ----------
    X
        Features the model saw (n_samples, n_features); may be float32 or a memory map.
    y_hat
        The model's outputs for the same samples (n_samples,) or (n_samples, n_targets).
    joint
        ``False`` (default): each target is its own decoder, ``a_k = cov(X, y_hat_k) / var(y_hat_k)``.
        ``True``: the targets form one multi-output decoder and ``cov(y_hat)`` is the full
        ``n_targets x n_targets`` matrix (pseudo-inverted).

    Notes
    -----
    ``X^T y_c = X_c^T y_c`` because the centred outputs sum to zero, so ``X`` is never centred or
    copied whole; it is read in chunks of ``chunk_features`` columns. A constant output gives a zero
    pattern (the model says nothing).
    """
    X = _as_2d_features(X)
    outputs = np.asarray(y_hat, dtype=np.float64)
    squeeze = outputs.ndim == 1
    if squeeze:
        outputs = outputs[:, None]
    if outputs.ndim != 2 or len(outputs) != len(X):
        raise ValueError(f"y_hat must have one row per sample of X ({len(X)}); got shape {np.shape(y_hat)}")
    if len(X) < 2:
        raise ValueError("an activation pattern needs at least 2 samples")
    centred = outputs - outputs.mean(axis=0)
    cross = _cross_covariance(X, centred, chunk_features)
    if joint:
        output_cov = centred.T @ centred / (len(X) - 1)
        pattern = cross @ linalg.pinv(output_cov)
    else:
        variance = (centred**2).sum(axis=0) / (len(X) - 1)
        safe = np.where(variance > 1e-12 * max(float(variance.max()), 1e-300), variance, np.inf)
        pattern = cross / safe
    return pattern[:, 0] if squeeze else pattern


def _cross_covariance(X: np.ndarray, centred: np.ndarray, chunk_features: int) -> np.ndarray:
    """``X^T centred / (n - 1)`` in float64, chunk by chunk over features."""
    out = np.empty((X.shape[1], centred.shape[1]))
    for first in range(0, X.shape[1], chunk_features):
        block = np.asarray(X[:, first : first + chunk_features], dtype=np.float64)
        out[first : first + block.shape[1]] = block.T @ centred
    return out / (len(X) - 1)


def _as_2d_features(X: Any) -> np.ndarray:
    if not hasattr(X, "shape"):
        X = np.asarray(X)
    if len(X.shape) != 2:
        raise ValueError(f"X must be 2-D (samples x features); got shape {X.shape}")
    return X


def pattern_kind(model: str) -> str:
    """``"haufe"`` for linear models, ``"output_covariance"`` for the others."""
    return "haufe" if check_model_name(model) in LINEAR_MODELS else "output_covariance"


# ------------------------------------------------------------------------------- folds and samples
def explanation_splitter(params: Any, meta: Any) -> Any:
    """The chapter's cross-validation splitter, with ``explain.folds`` pairing for blocked LOSO.

    ``explain.folds = "rotation"`` tests every subject once on one story block (one fold per
    subject) instead of every (subject, block) pair: the same honesty, a fifth of the refits.
    """
    if params.cv == "loso_blocked":
        folds = getattr(params.explain, "folds", "rotation")
        if folds != params.cv_options.pairing:
            params = params.model_copy(deep=True)
            params.cv_options.pairing = folds
    return make_splitter(params, meta)


def thinned_rows(subject: np.ndarray, start: np.ndarray, stride: int) -> np.ndarray:
    """Rows keeping every ``stride``-th window of each subject (in story order).

    Neighbouring sliding windows share all but ``step`` volumes, so explanations computed on every
    few windows lose little information and cost ``stride**2`` times less in kernel algebra.
    """
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"the window stride must be a positive integer, got {stride!r}")
    subject = np.asarray(subject)
    start = np.asarray(start)
    keep = np.zeros(len(subject), dtype=bool)
    for name in pd.unique(subject):
        rows = np.flatnonzero(subject == name)
        rows = rows[np.argsort(start[rows], kind="stable")]
        keep[rows[::stride]] = True
    return np.flatnonzero(keep)


@dataclass
class ExplanationData:
    """The samples an explanation runs on: features, targets, metadata and block definitions."""

    X: np.ndarray
    y: np.ndarray
    meta: WindowMeta
    edges: np.ndarray | None
    roi_networks: np.ndarray
    target_names: tuple[str, ...] = EMOTIONS
    rows: np.ndarray | None = None  # rows of the original feature set

    @property
    def is_edges(self) -> bool:
        return self.edges is not None


def explanation_data(feature_set: Any, stride: int = 1) -> ExplanationData:
    """Take every ``stride``-th window of a :class:`helpers.features.FeatureSet` into memory."""
    rows = thinned_rows(feature_set.subject, feature_set.start, stride)
    X = np.ascontiguousarray(np.asarray(feature_set.X)[rows] if stride > 1 else np.asarray(feature_set.X),
                             dtype=np.float32)
    return ExplanationData(
        X=X,
        y=np.asarray(feature_set.y, dtype=float)[rows],
        meta=WindowMeta(np.asarray(feature_set.subject)[rows], np.asarray(feature_set.start)[rows],
                        np.asarray(feature_set.stop)[rows]),
        edges=None if feature_set.edges is None else np.asarray(feature_set.edges),
        roi_networks=np.asarray(feature_set.roi_networks, dtype=str),
        target_names=tuple(feature_set.target_names),
        rows=rows,
    )


# ----------------------------------------------------------------------------------------- blocks
def network_blocks(edges: np.ndarray | None, networks: Sequence[str], n_features: int | None = None) -> dict[str, np.ndarray]:
    """Feature indices per network: edges with at least one end in it (or its ROIs, without edges)."""
    networks = np.asarray(networks, dtype=str)
    names = list(dict.fromkeys(networks.tolist()))
    if edges is None:
        return {name: np.flatnonzero(networks == name) for name in names}
    edges = np.asarray(edges)
    a, b = networks[edges[:, 0]], networks[edges[:, 1]]
    return {name: np.flatnonzero((a == name) | (b == name)) for name in names}


def network_pair_blocks(edges: np.ndarray, networks: Sequence[str]) -> dict[str, np.ndarray]:
    """Feature indices per network pair ``"A|B"`` (A before B in atlas order); a partition of edges."""
    networks = np.asarray(networks, dtype=str)
    names = list(dict.fromkeys(networks.tolist()))
    rank = {n: i for i, n in enumerate(names)}
    codes = np.array([rank[n] for n in networks])
    edges = np.asarray(edges)
    low = np.minimum(codes[edges[:, 0]], codes[edges[:, 1]])
    high = np.maximum(codes[edges[:, 0]], codes[edges[:, 1]])
    pair = low * len(names) + high
    blocks = {}
    for value in np.unique(pair):
        blocks[f"{names[value // len(names)]}|{names[value % len(names)]}"] = np.flatnonzero(pair == value)
    return blocks


def roi_set_block(edges: np.ndarray | None, rois: Sequence[int], n_features: int | None = None) -> np.ndarray:
    """Feature indices that involve any ROI of ``rois``: its edges, or the ROI columns themselves."""
    rois = np.asarray(rois, dtype=int)
    if rois.size == 0:
        raise ValueError("the ROI set is empty; name at least one ROI to remove")
    if edges is None:
        if n_features is not None and rois.max() >= n_features:
            raise ValueError(f"ROI {rois.max()} is out of range for {n_features} ROI features")
        return np.unique(rois)
    edges = np.asarray(edges)
    return np.flatnonzero(np.isin(edges[:, 0], rois) | np.isin(edges[:, 1], rois))


# ----------------------------------------------------------------------------------- fold kernels
class FoldKernels:
    """Each outer fold's linear kernel over ``[train, test]`` rows, computed once and shared.

    The kernels of a block of columns are additive: the kernel without block ``B`` is
    ``full - kernel(B)`` in both scaling modes (centring and standardisation act per feature).
    """

    def __init__(self, X: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], feature_scaling: str) -> None:
        if feature_scaling not in ("standard", "center"):
            raise ValueError(f"feature_scaling must be 'standard' or 'center', got {feature_scaling!r}")
        self.X = X
        self.folds = folds
        self.feature_scaling = feature_scaling
        self._full: dict[int, np.ndarray] = {}
        self._gram: np.ndarray | None = None

    def _fold_kernel(self, X: np.ndarray, k: int, gram: np.ndarray | None) -> np.ndarray:
        train, test = self.folds[k]
        return fold_linear_kernel(X, train, test, self.feature_scaling, gram)

    def full(self, k: int) -> np.ndarray:
        """Fold ``k``'s kernel; with ``center`` scaling every fold is cut from one Gram matrix."""
        if k not in self._full:
            if self.feature_scaling == "center" and self._gram is None:
                self._gram = linear_gram(self.X)
            self._full[k] = self._fold_kernel(self.X, k, self._gram)
        return self._full[k]

    def block(self, k: int, columns: np.ndarray) -> np.ndarray:
        return self._fold_kernel(self.X[:, columns], k, None)

    def without(self, columns: np.ndarray) -> dict[int, np.ndarray]:
        """Per-fold kernels of the features outside ``columns`` (a ``kernel_cache`` for CV)."""
        columns = np.asarray(columns)
        if self.feature_scaling == "center":
            gram = linear_gram(self.X[:, columns])
            return {k: self.full(k) - self._fold_kernel(None, k, gram) for k in range(len(self.folds))}
        return {k: self.full(k) - self.block(k, columns) for k in range(len(self.folds))}

    def cache(self) -> dict[int, np.ndarray]:
        return {k: self.full(k) for k in range(len(self.folds))}


def _fold_scaling(X: np.ndarray, train: np.ndarray, feature_scaling: str) -> tuple[np.ndarray, np.ndarray]:
    """Training mean and scale per feature, as :func:`helpers.models.fold_linear_kernel` uses them."""
    block = np.asarray(X[train], dtype=np.float64)
    mean = block.mean(axis=0)
    if feature_scaling == "center":
        return mean, np.ones_like(mean)
    scale = block.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return mean, scale


def _extended_kernel(K: np.ndarray, n_train: int) -> np.ndarray:
    """Kernel over rows ``[train, test, train]`` from one over ``[train, test]`` (no recomputation)."""
    index = np.concatenate([np.arange(K.shape[0]), np.arange(n_train)])
    return K[np.ix_(index, index)]


# ------------------------------------------------------------------------------ training patterns
@dataclass
class FeatureImportance:
    """Importance of every feature for every emotion, averaged over outer folds."""

    values: np.ndarray  # (n_features, n_targets)
    spread: np.ndarray  # standard deviation over folds, same shape
    model: str
    method: str
    emotions: list[str]
    n_folds: int
    cv: CVResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def frame(self, feature_names: Sequence[str] | None = None) -> pd.DataFrame:
        index = list(feature_names) if feature_names is not None else None
        return pd.DataFrame(self.values, columns=self.emotions, index=index)


def training_patterns(
    model: str,
    data: ExplanationData,
    splitter: Any,
    *,
    y: np.ndarray | None = None,
    inner_splits: int = 3,
    feature_scaling: str = "standard",
    kernels: FoldKernels | None = None,
    grid: ModelGrid | None = None,
    joint: bool = False,
    progress: bool = False,
) -> FeatureImportance:
    """Activation patterns of ``model`` fitted in each outer training fold, averaged over folds.

    One nested tuning and fit per fold (the regression module's :func:`fit_predict_fold`) yields both
    the held-out predictions (returned as ``.cv``, a :class:`CVResult`) and the fitted values on the
    training samples, whose covariance with the training features is the fold's pattern. Patterns
    are in the units the model saw (standardised features for ``feature_scaling="standard"``,
    centred ones for ``"center"``) per standard deviation of the fold's output: the shrinkage chosen
    in each fold changes the output's scale, and a pattern per unit of output would let the most
    shrunk fold dominate the average. ``y`` replaces the targets (e.g. null targets) if given.
    """
    from helpers.progress import tqdm

    check_model_name(model)
    grid = grid or ModelGrid()
    Y = np.asarray(data.y if y is None else y, dtype=float)
    X = data.X
    folds = list(splitter.split(X))
    if kernels is None and model in KERNEL_MODELS:
        kernels = FoldKernels(X, folds, feature_scaling)
    total = np.zeros((X.shape[1], Y.shape[1]))
    total_sq = np.zeros_like(total)
    predictions = np.full(Y.shape, np.nan)
    chosen = []
    if kernels is not None:
        kernels.cache()
    for k, (train, test) in enumerate(tqdm(folds, desc=f"patterns {model}", disable=not progress, leave=False)):
        with _small_blas():
            inner = list(splitter.inner(train, inner_splits).split())
            fold = FoldInput(train, np.concatenate([test, train]), inner)
            K_ext = _extended_kernel(kernels.full(k), len(train)) if model in KERNEL_MODELS else None
            out = fit_predict_fold(model, X, Y, fold, grid, feature_scaling, None, K_ext)
        predictions[test] = out.predictions[: len(test)]
        fitted = out.predictions[len(test) :]
        chosen.append(out.chosen)
        pattern = activation_pattern(X[train], fitted, joint=joint)
        pattern *= fitted.std(axis=0, ddof=1)[None, :]
        if feature_scaling == "standard":
            _, scale = _fold_scaling(X, train, feature_scaling)
            pattern /= scale[:, None]
        total += pattern
        total_sq += pattern**2
    n = len(folds)
    mean = total / n
    spread = np.sqrt(np.maximum(total_sq / n - mean**2, 0.0))
    emotions = list(data.target_names)[: Y.shape[1]]
    result = CVResult(model, "dfc" if data.is_edges else "roi", "", emotions, Y, predictions,
                      data.meta.subject, data.meta.start, folds, chosen)
    return FeatureImportance(mean, spread, model, pattern_kind(model), emotions, n, result)


# ------------------------------------------------------------------------ permutation importance
class _KernelPredictor:
    """A fitted kernel model rebuilt from the hyperparameters its nested tuning chose.

    Predicts from the centred/scaled linear kernel between test and training samples plus the
    test samples' squared norms, so the fast permuted-kernel updates can be fed in directly.
    """

    def __init__(self, model: str, K_train: np.ndarray, Y_train: np.ndarray, chosen: dict[str, Any], grid: ModelGrid):
        self.model = model
        self.diag_train = np.diag(K_train).copy()
        n_targets = Y_train.shape[1]
        d2 = squared_distances(K_train)
        self.parts: list[tuple[float | None, np.ndarray, Any]] = []
        if model in SVR_MODELS:
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
            dual = linalg.solve(K + alpha * np.eye(len(K)), Y_train[:, targets] - mean[targets],
                                assume_a="pos", check_finite=False)
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
            if self.model in SVR_MODELS:
                machines, mean, sd = state
                for t in targets:
                    out[:, t] = machines[t].predict(K) * sd[t] + mean[t]
            else:
                dual, mean = state
                out[:, targets] = K @ dual + mean
        return out


def block_permutation_importance(
    model: str,
    data: ExplanationData,
    splitter: Any,
    blocks: Mapping[str, np.ndarray],
    *,
    n_repeats: int = 5,
    seed: int = 0,
    inner_splits: int = 3,
    feature_scaling: str = "standard",
    kernels: FoldKernels | None = None,
    grid: ModelGrid | None = None,
    progress: bool = False,
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
    chosen hyperparameters and predict on permuted copies of the test features.
    """
    from helpers.progress import tqdm

    check_model_name(model)
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be at least 1, got {n_repeats}")
    if not blocks:
        raise ValueError("no feature blocks given; use network_blocks() or network_pair_blocks()")
    grid = grid or ModelGrid()
    X, Y = data.X, np.asarray(data.y, dtype=float)
    for name, columns in blocks.items():
        columns = np.asarray(columns)
        if columns.size == 0 or columns.min() < 0 or columns.max() >= X.shape[1]:
            raise ValueError(f"block {name!r} must hold feature indices in [0, {X.shape[1]}); got {columns.size} indices")
    names = list(blocks)
    folds = list(splitter.split(X))
    if kernels is None and model in KERNEL_MODELS:
        kernels = FoldKernels(X, folds, feature_scaling)
    if kernels is not None:
        kernels.cache()
    rng = np.random.default_rng(seed)
    base = np.full(Y.shape, np.nan)
    permuted = np.full((len(names), n_repeats) + Y.shape, np.nan, dtype=np.float32)
    for k, (train, test) in enumerate(tqdm(folds, desc=f"permutation {model}", disable=not progress, leave=False)):
        inner = list(splitter.inner(train, inner_splits).split())
        K_full = kernels.full(k) if model in KERNEL_MODELS else None
        with _small_blas():
            out = fit_predict_fold(model, X, Y, FoldInput(train, test, inner), grid, feature_scaling, None, K_full)
        base[test] = out.predictions
        orders = [rng.permutation(len(test)) for _ in range(n_repeats)]
        if model in KERNEL_MODELS:
            n_tr = len(train)
            with _small_blas():
                predictor = _KernelPredictor(model, K_full[:n_tr, :n_tr], Y[train], out.chosen, grid)
            K_test = K_full[n_tr:, :n_tr]
            diag_test = np.diag(K_full)[n_tr:]
            mean, scale = _fold_scaling(X, train, feature_scaling)
            for b, name in enumerate(names):
                columns = np.asarray(blocks[name])
                Z_tr = ((np.asarray(X[np.ix_(train, columns)], dtype=np.float64) - mean[columns]) / scale[columns]).astype(np.float32)
                Z_te = ((np.asarray(X[np.ix_(test, columns)], dtype=np.float64) - mean[columns]) / scale[columns]).astype(np.float32)
                G = (Z_te @ Z_tr.T).astype(np.float64)
                norms = np.einsum("ij,ij->i", Z_te, Z_te, dtype=np.float64)
                for r, order in enumerate(orders):
                    permuted[b, r, test] = predictor.predict(K_test - G + G[order], diag_test - norms + norms[order])
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
        r_perm = np.stack([pearson_columns(Y[tested], permuted[b, r][tested].astype(float)) for r in range(n_repeats)])
        for e, emotion in enumerate(emotions):
            rows.append({
                "block": name, "emotion": emotion, "r_full": float(r_full[e]),
                "r_permuted": float(r_perm[:, e].mean()),
                "importance": float(r_full[e] - r_perm[:, e].mean()),
                "importance_sd": float(r_perm[:, e].std()),
                "n_features": int(len(blocks[name])),
            })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- lesions / LONO
def lesion_drops(
    model: str,
    data: ExplanationData,
    splitter: Any,
    lesions: Mapping[str, np.ndarray],
    *,
    inner_splits: int = 3,
    feature_scaling: str = "standard",
    kernels: FoldKernels | None = None,
    grid: ModelGrid | None = None,
    baseline: CVResult | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Retrain without each block of features and report the drop in held-out r per emotion.

    ``lesions`` maps a name to the feature indices removed (e.g. :func:`network_blocks` for
    leave-one-network-out, :func:`roi_set_block` for a virtual lesion of the amygdala). Each lesioned
    model goes through the regression module's :func:`cross_validate_model` with the same folds and
    nested tuning as the intact one; for kernel models the lesioned fold kernels are the intact ones
    minus the block's (exact, since kernels are sums over features). Returns one row per (lesion,
    emotion) plus an emotion ``"mean"`` row: ``r_full``, ``r_lesioned``, ``drop``.
    """
    from helpers.progress import tqdm

    check_model_name(model)
    X, Y = data.X, np.asarray(data.y, dtype=float)
    folds = list(splitter.split(X))
    if kernels is None and model in KERNEL_MODELS:
        kernels = FoldKernels(X, folds, feature_scaling)
    common = dict(inner_splits=inner_splits, feature_scaling=feature_scaling, grid=grid,
                  emotions=list(data.target_names))
    if baseline is None:
        cache = kernels.cache() if model in KERNEL_MODELS else None
        with _small_blas():
            baseline = cross_validate_model(model, X, Y, data.meta, splitter, kernel_cache=cache, **common)
    full = baseline.scores().set_index("emotion")["r"]
    rows = []
    for name, columns in tqdm(list(lesions.items()), desc=f"lesions {model}", disable=not progress, leave=False):
        columns = np.unique(np.asarray(columns, dtype=int))
        if columns.size == 0:
            raise ValueError(f"lesion {name!r} removes no feature")
        if columns.size >= X.shape[1]:
            raise ValueError(f"lesion {name!r} removes every feature; nothing is left to decode from")
        keep = np.setdiff1d(np.arange(X.shape[1]), columns)
        cache = kernels.without(columns) if model in KERNEL_MODELS else None
        with _small_blas():
            lesioned = cross_validate_model(model, X[:, keep], Y, data.meta, splitter, kernel_cache=cache, **common)
        scores = lesioned.scores().set_index("emotion")["r"]
        for emotion in scores.index:
            rows.append({"lesion": name, "emotion": emotion, "r_full": float(full[emotion]),
                         "r_lesioned": float(scores[emotion]), "drop": float(full[emotion] - scores[emotion]),
                         "n_features": int(columns.size)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ null targets
def null_sample_targets(
    tr_targets: np.ndarray,
    meta: WindowMeta,
    n_nulls: int,
    *,
    method: str = "circular_shift",
    seed: int = 0,
    min_shift: int = 1,
    target: str = "mean",
) -> list[np.ndarray]:
    """Per-sample null targets from circularly shifted (or phase-randomised) TR-level emotion series.

    One shift for all emotions and subjects (the story is shared), aggregated into windows as the
    real targets were (``target="mean"``: window mean; ``"centre"``: value at the window centre).
    """
    from helpers.features import window_centre_values
    from helpers.stats import null_window_targets

    windows, window_of_sample = meta.window_index()
    maker: Callable[[np.ndarray], np.ndarray] | None = None
    if target == "centre":
        def maker(series: np.ndarray) -> np.ndarray:
            per_window = np.stack([window_centre_values(series, [s], e - s)[0] for s, e in windows])
            return per_window[window_of_sample]
    elif target != "mean":
        raise ValueError(f"window target {target!r} is not known; allowed: mean, centre")
    table = null_window_targets(np.asarray(tr_targets, dtype=float), windows, window_of_sample, n_nulls,
                                method, seed, min_shift, maker)
    n_targets = np.shape(tr_targets)[1]
    return [table[:, k * n_targets : (k + 1) * n_targets][window_of_sample] for k in range(n_nulls)]


def copy_params_with(params: Any, **sections: dict[str, Any]) -> Any:
    """A deep copy of ``params`` with some section fields replaced (e.g. ``explain={"folds": "all"}``)."""
    out = params.model_copy(deep=True)
    for section, values in sections.items():
        target = getattr(out, section)
        for key, value in values.items():
            setattr(target, key, copy.deepcopy(value))
    return out


__all__ = [
    "LINEAR_MODELS", "activation_pattern", "pattern_kind", "explanation_splitter", "thinned_rows",
    "ExplanationData", "explanation_data", "network_blocks", "network_pair_blocks", "roi_set_block",
    "FoldKernels", "FeatureImportance", "training_patterns", "block_permutation_importance",
    "lesion_drops", "null_sample_targets", "copy_params_with",
]


# ------------------------------------------------------------------------------ chapter inputs
@dataclass
class ExplanationInputs:
    """Everything the explanation chapters start from, for one parameter set."""

    data: dict[str, ExplanationData]  # feature-set name -> thinned samples
    atlas: Any
    tr_targets: np.ndarray  # (n_volumes, 8) TR-level emotion series
    truth: dict | None
    feature_scaling: str

    def splitter(self, params: Any, name: str = "dfc") -> Any:
        return explanation_splitter(params, self.data[name].meta)


def explanation_inputs(params: Any, feature_sets: Sequence[str] = ("dfc", "roi_window")) -> ExplanationInputs:
    """ROI signals, targets and cached features of ``params``, thinned by ``explain.window_stride``."""
    from helpers.features import build_feature_sets
    from helpers.pipeline import ground_truth, roi_timeseries
    from helpers.annotation.targets import emotion_targets

    roi = roi_timeseries(params, progress=False)
    targets = emotion_targets(params, stimulus_onset=roi.stimulus_onset)
    wanted = params.model_copy(deep=True)
    wanted.features = list(feature_sets)
    built = build_feature_sets(wanted, roi, targets)
    data = {name: explanation_data(built[name], params.explain.window_stride) for name in feature_sets}
    scaling = params.explain.feature_scaling
    if scaling == "cv":
        scaling = params.cv_options.feature_scaling
    return ExplanationInputs(data, roi.atlas, targets.to_numpy(dtype=float), ground_truth(params), scaling)


__all__ += ["ExplanationInputs", "explanation_inputs"]

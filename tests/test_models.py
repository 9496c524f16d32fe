"""The fast kernel route must give the answers of the plain scikit-learn estimators."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from helpers.decoding.folds import FoldInput, fit_predict_fold, kernel_ridge_fold
from helpers.decoding.kernels import (
    KernelSpectrum,
    centre_kernel,
    fold_linear_kernel,
    kernel_ridge_predict,
    linear_gram,
    median_heuristic_gamma,
    squared_distances,
)
from helpers.decoding.models import ModelGrid


@pytest.fixture()
def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    n, p = 90, 40
    X = (
        rng.standard_normal((n, p)).astype(np.float32) * rng.uniform(0.5, 3.0, p).astype(np.float32)
        + 2.0
    )
    W = rng.standard_normal((p, 3))
    Y = X @ W * 0.1 + rng.standard_normal((n, 3))
    train, test = np.arange(70), np.arange(70, 90)
    inner = [(np.arange(0, 45), np.arange(45, 70)), (np.arange(25, 70), np.arange(0, 25))]
    return {"X": X, "Y": Y, "train": train, "test": test, "inner": inner}


def test_eigendecomposition_kernel_ridge_equals_sklearn(data) -> None:
    X = data["X"].astype(float)
    K = X @ X.T
    tr, te = data["train"], data["test"]
    for alpha in (0.1, 10.0, 1000.0):
        ours = kernel_ridge_predict(K[np.ix_(tr, tr)], K[np.ix_(te, tr)], data["Y"][tr], alpha)
        ref = KernelRidge(alpha=alpha, kernel="precomputed").fit(K[np.ix_(tr, tr)], data["Y"][tr])
        np.testing.assert_allclose(ours, ref.predict(K[np.ix_(te, tr)]), rtol=1e-6, atol=1e-6)
    gamma = 0.01
    Krbf = np.exp(-gamma * squared_distances(K))
    ours = KernelSpectrum(Krbf[np.ix_(tr, tr)]).predict(
        Krbf[np.ix_(te, tr)], data["Y"][tr], np.array([0.5, 5.0])
    )
    for a, pred in zip((0.5, 5.0), ours):
        ref = (
            KernelRidge(alpha=a, kernel="rbf", gamma=gamma).fit(X[tr], data["Y"][tr]).predict(X[te])
        )
        np.testing.assert_allclose(pred, ref, rtol=1e-5, atol=1e-6)


def test_fold_ridge_equals_sklearn_pipeline(data) -> None:
    """One penalty in the grid: the fold engine is StandardScaler + Ridge fitted on the training rows."""
    X, Y, tr, te = data["X"], data["Y"], data["train"], data["test"]
    fold = FoldInput(tr, te, data["inner"])
    grid = ModelGrid(relative_alphas=(0.5,))
    out = fit_predict_fold("ridge", X, Y, fold, grid)
    scaled = StandardScaler().fit(X[tr])
    alpha = 0.5 * X.shape[1]  # relative penalty x mean diagonal of the standardised linear kernel
    ref = Ridge(alpha=alpha).fit(scaled.transform(X[tr]), Y[tr]).predict(scaled.transform(X[te]))
    np.testing.assert_allclose(out.predictions, ref, rtol=1e-4, atol=1e-4)


def test_rbf_kernel_ridge_equals_sklearn_with_intercept(data) -> None:
    X, Y, tr, te = data["X"], data["Y"], data["train"], data["test"]
    grid = ModelGrid(relative_alphas=(0.3,), gamma_factors=(1.0,))
    out = fit_predict_fold("kernel_ridge_rbf", X, Y, FoldInput(tr, te, data["inner"]), grid)
    Z = StandardScaler().fit(X[tr])
    Ztr, Zte = Z.transform(X[tr]), Z.transform(X[te])
    gamma = median_heuristic_gamma(squared_distances(Ztr @ Ztr.T))
    mean = Y[tr].mean(axis=0)
    ref = (
        KernelRidge(alpha=0.3, kernel="rbf", gamma=gamma).fit(Ztr, Y[tr] - mean).predict(Zte) + mean
    )
    np.testing.assert_allclose(out.predictions, ref, rtol=1e-4, atol=1e-4)
    assert out.chosen["gamma"][0] == pytest.approx(gamma, rel=1e-4)


def test_precomputed_svr_equals_sklearn_svr(data) -> None:
    X, Y, tr, te = data["X"], data["Y"], data["train"], data["test"]
    grid = ModelGrid(svr_C=(2.0,))
    out = fit_predict_fold("svr_rbf", X, Y, FoldInput(tr, te, data["inner"]), grid)
    Z = StandardScaler().fit(X[tr])
    Ztr, Zte = Z.transform(X[tr]), Z.transform(X[te])
    gamma = median_heuristic_gamma(squared_distances(Ztr @ Ztr.T))
    for t in range(Y.shape[1]):
        m, s = Y[tr, t].mean(), Y[tr, t].std()
        ref = (
            SVR(kernel="rbf", gamma=gamma, C=2.0, epsilon=0.1)
            .fit(Ztr, (Y[tr, t] - m) / s)
            .predict(Zte)
            * s
            + m
        )
        np.testing.assert_allclose(out.predictions[:, t], ref, rtol=1e-3, atol=1e-3)


def test_hat_matrix_permutations_equal_explicit_refits(data) -> None:
    """Null columns through the fold's decomposition = refitting (tuning included) on each column."""
    rng = np.random.default_rng(1)
    X, tr, te = data["X"], data["train"], data["test"]
    n_windows = 30
    window_of_sample = rng.integers(0, n_windows, size=len(X))
    null_windows = rng.standard_normal((n_windows, 12))
    Y_obs = null_windows[window_of_sample, :3]
    fold = FoldInput(tr, te, data["inner"], window_of_sample)
    grid = ModelGrid(relative_alphas=(1e-2, 1.0, 100.0), gamma_factors=(0.5, 2.0))
    for name in ("kernel_ridge_linear", "kernel_ridge_rbf"):
        K = fold_linear_kernel(X, tr, te)
        fast = kernel_ridge_fold(name, K, Y_obs, fold, grid, null_windows=null_windows)
        refit = kernel_ridge_fold(name, K, null_windows[window_of_sample], fold, grid)
        np.testing.assert_allclose(fast.null_predictions, refit.predictions, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(
            fast.predictions, refit.predictions[:, :3], rtol=1e-8, atol=1e-10
        )
        assert len(set(refit.chosen["alpha"])) > 1, (
            "the case must exercise several chosen penalties"
        )


def test_centre_mode_kernel_from_one_gram(data) -> None:
    X, tr, te = data["X"], data["train"], data["test"]
    from_gram = fold_linear_kernel(X, tr, te, "center", gram=linear_gram(X))
    rows = np.concatenate([tr, te])
    centred = X[rows].astype(float) - X[tr].astype(float).mean(axis=0)
    np.testing.assert_allclose(from_gram, centred @ centred.T, rtol=1e-4, atol=1e-2)
    assert np.allclose(centre_kernel(from_gram, len(tr))[: len(tr)].sum(axis=0), 0.0, atol=1e-2)


def test_inner_tuning_uses_training_rows_only(data) -> None:
    """Changing test targets or test features never changes what was chosen."""
    X, Y, tr, te = data["X"].copy(), data["Y"].copy(), data["train"], data["test"]
    fold = FoldInput(tr, te, data["inner"])
    first = fit_predict_fold("kernel_ridge_rbf", X, Y, fold)
    Y[te] += 100.0
    second = fit_predict_fold("kernel_ridge_rbf", X, Y, fold)
    assert first.chosen == second.chosen
    np.testing.assert_allclose(first.predictions, second.predictions)


@pytest.mark.parametrize(
    "name", ["linear", "lasso", "elastic_net", "random_forest", "svr_linear", "kernel_ridge_linear"]
)
def test_every_model_predicts_all_targets(name: str, data) -> None:
    fold = FoldInput(data["train"], data["test"], data["inner"])
    grid = ModelGrid(forest_trees=10)
    out = fit_predict_fold(name, data["X"], data["Y"], fold, grid)
    assert out.predictions.shape == (20, 3)
    assert np.isfinite(out.predictions).all()


def test_unknown_model_is_named() -> None:
    with pytest.raises(ValueError, match="unknown model 'svm'"):
        fit_predict_fold(
            "svm", np.zeros((4, 2)), np.zeros((4, 1)), FoldInput(np.arange(2), np.arange(2, 4), [])
        )

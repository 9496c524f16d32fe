"""Kernel ridge through Cholesky factorisations gives the answers of the eigendecomposition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d
from sklearn.kernel_ridge import KernelRidge

from helpers.decoding import CVOptions, cross_validate_model, kernels
from helpers.decoding.kernels import KernelSpectrum, PenaltyFactors, penalised_solver
from helpers.features import FeatureSet


def _kernel(n: int, seed: int = 0) -> np.ndarray:
    X = np.random.default_rng(seed).standard_normal((n, 40))
    return X @ X.T


def test_penalty_factors_match_the_spectrum_and_scikit_learn():
    K = _kernel(90)
    train, test = np.arange(70), np.arange(70, 90)
    Y = np.random.default_rng(1).standard_normal((70, 3))
    alphas = np.array([0.1, 5.0, 300.0])
    args = (K[np.ix_(test, train)], Y, alphas)
    ours = PenaltyFactors(K[np.ix_(train, train)]).predict(*args)
    spectrum = KernelSpectrum(K[np.ix_(train, train)]).predict(*args)
    np.testing.assert_allclose(ours, spectrum, rtol=1e-8, atol=1e-10)
    reference = KernelRidge(kernel="precomputed", alpha=5.0).fit(K[np.ix_(train, train)], Y)
    np.testing.assert_allclose(ours[1], reference.predict(K[np.ix_(test, train)]), rtol=1e-8)


def test_the_solver_is_chosen_by_the_length_of_the_grid():
    K = _kernel(10)
    assert isinstance(penalised_solver(K, 6), PenaltyFactors)
    assert isinstance(penalised_solver(K, kernels.CHOLESKY_MAX_PENALTIES + 1), KernelSpectrum)


def _features() -> FeatureSet:
    rng = np.random.default_rng(7)
    n_trs, length = 120, 6
    tr_targets = gaussian_filter1d(rng.standard_normal((n_trs, 2)), 3.0, axis=0)
    starts = np.arange(0, n_trs - length + 1, 2)
    subjects = [f"sub-{k:02d}" for k in range(1, 5)]
    y = np.tile(np.stack([tr_targets[s : s + length].mean(axis=0) for s in starts]), (4, 1))
    X = rng.standard_normal((len(y), 30)).astype(np.float32)
    X[:, :2] += y
    return FeatureSet.from_arrays(
        X,
        y,
        np.repeat(subjects, len(starts)),
        np.tile(starts, 4),
        tr_targets=tr_targets,
        window={"length": length},
    )


@pytest.mark.parametrize("model", ["ridge", "kernel_ridge_rbf"])
def test_cross_validation_and_every_null_draw_agree_between_solvers(model, monkeypatch):
    features = _features()
    options = CVOptions(
        n_blocks=2, subjects_per_fold=2, hrf_span_s=0.0, inner_splits=2, n_permutations=20
    )
    factored = cross_validate_model(features, model, options)
    monkeypatch.setattr(kernels, "CHOLESKY_MAX_PENALTIES", 0)  # every solve by eigendecomposition
    spectral = cross_validate_model(features, model, options)
    assert factored.chosen == spectral.chosen
    np.testing.assert_allclose(factored.predictions, spectral.predictions, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(factored.null_r, spectral.null_r, rtol=1e-5, atol=1e-6)


def test_a_grid_without_positive_penalties_is_refused_in_one_line():
    from helpers.decoding.models import ModelGrid

    with pytest.raises(ValueError, match="relative_alphas must be positive"):
        ModelGrid(relative_alphas=(0.0, 1.0))

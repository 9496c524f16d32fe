"""The fast fold engine against plain scikit-learn, and our regressors against scikit-learn's own checks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV, cross_val_predict
from sklearn.utils.estimator_checks import check_estimator

from helpers.decoding.crossval import CVOptions, cross_validate_model
from helpers.decoding.estimators import FastKernelRidge
from helpers.decoding.models import ModelGrid
from helpers.decoding.splits import LeaveOneSubjectOutBlocked, WindowMeta
from helpers.features import FeatureSet


@pytest.mark.parametrize(
    "estimator",
    [FastKernelRidge(), FastKernelRidge(kernel="rbf", alpha=0.1)],
    ids=["linear", "rbf"],
)
def test_regressors_pass_scikit_learn_checks(estimator) -> None:
    check_estimator(estimator)


def _windows(seed: int = 0, n_subjects: int = 4, n_windows: int = 40, n_features: int = 30):
    rng = np.random.default_rng(seed)
    start = np.tile(np.arange(n_windows) * 2, n_subjects)
    subject = np.repeat([f"sub-{k}" for k in range(n_subjects)], n_windows)
    story = rng.standard_normal((n_windows, 2))
    X = rng.standard_normal((len(start), n_features)).astype(np.float32)
    X[:, :3] += np.tile(story[:, :1], (n_subjects, 1)).astype(np.float32)
    y = np.tile(story, (n_subjects, 1)) + 0.5 * rng.standard_normal((len(start), 2))
    return FeatureSet.from_arrays(X, y, subject, start, window={"length": 6})


def test_fast_ridge_equals_scikit_learn_ridge_fold_by_fold() -> None:
    features = _windows()
    splitter = LeaveOneSubjectOutBlocked(features, n_blocks=4, hrf_span_s=4.0, subjects_per_fold=2)
    grid = ModelGrid(relative_alphas=(0.5,))
    fast = cross_validate_model(
        features, "ridge", CVOptions(splitter=splitter, grid=grid, feature_scaling="center")
    )
    X = features.X.astype(np.float64)
    for train, test in splitter.split(X):
        centred = X[train] - X[train].mean(axis=0)
        alpha = 0.5 * np.mean(np.sum(centred**2, axis=1))  # relative to the mean kernel diagonal
        plain = Ridge(alpha=alpha).fit(X[train], features.y[train]).predict(X[test])
        np.testing.assert_allclose(fast.predictions[test], plain, atol=1e-6)
    groups = WindowMeta.from_features(features).as_groups()
    through_sklearn = cross_val_predict(
        FastKernelRidge(alpha=0.5), X, features.y, cv=splitter.bound(groups), groups=groups
    )
    np.testing.assert_allclose(fast.predictions, through_sklearn, atol=1e-6)


def test_fast_rbf_equals_the_plain_estimator_in_cross_val_predict() -> None:
    features = _windows(1)
    splitter = LeaveOneSubjectOutBlocked(n_blocks=4, hrf_span_s=4.0, subjects_per_fold=2)
    grid = ModelGrid(relative_alphas=(0.3,), gamma_factors=(1.0,))
    fast = cross_validate_model(
        features,
        "kernel_ridge_rbf",
        CVOptions(splitter=splitter, grid=grid, feature_scaling="center"),
    )
    groups = WindowMeta.from_features(features).as_groups()
    plain = cross_val_predict(
        FastKernelRidge(alpha=0.3, kernel="rbf"),
        features.X.astype(np.float64),
        features.y,
        cv=splitter,
        groups=groups,
    )
    np.testing.assert_allclose(fast.predictions, plain, atol=1e-6)


def test_nested_tuning_equals_grid_search_on_the_inner_folds() -> None:
    """The engine's per-target choice of penalty is GridSearchCV's on the same inner folds."""
    features = _windows(2)
    splitter = LeaveOneSubjectOutBlocked(features, n_blocks=4, hrf_span_s=4.0, subjects_per_fold=1)
    relative = (0.3, 3.0, 30.0)
    fast = cross_validate_model(
        features,
        "ridge",
        CVOptions(
            splitter=splitter,
            grid=ModelGrid(relative_alphas=relative),
            feature_scaling="center",
            inner_splits=3,
        ),
    )
    X = features.X.astype(np.float64)
    sse = make_scorer(lambda y, p: -np.sum((y - p) ** 2))
    for (train, test), chosen in zip(splitter.split(X), fast.chosen):
        centred = X[train] - X[train].mean(axis=0)
        scale = np.mean(np.sum(centred**2, axis=1))
        inner = list(splitter.inner(train, 3).split())
        for target in range(features.y.shape[1]):
            search = GridSearchCV(
                FastKernelRidge(alpha_scale="absolute"),
                {"alpha": [a * scale for a in relative]},
                cv=inner,
                scoring=sse,
            ).fit(X[train], features.y[train, target])
            assert search.best_params_["alpha"] == pytest.approx(chosen["alpha"][target])
            # the engine forms kernels in float32: agreement to a few 1e-6
            np.testing.assert_allclose(
                search.predict(X[test]), fast.predictions[test, target], atol=1e-5
            )


def test_splitters_work_nested_inside_scikit_learn() -> None:
    """An honest splitter as cv= of cross_val_predict, with a GridSearchCV inside it on the groups."""
    features = _windows(3, n_subjects=6)
    groups = WindowMeta.from_features(features).as_groups()
    outer = LeaveOneSubjectOutBlocked(n_blocks=3, hrf_span_s=4.0, subjects_per_fold=2)
    inner = LeaveOneSubjectOutBlocked(
        n_blocks=2, hrf_span_s=4.0, subjects_per_fold=2, pairing="rotation"
    )
    search = GridSearchCV(FastKernelRidge(), {"alpha": [0.1, 10.0]}, cv=inner)
    predictions = cross_val_predict(
        search, features.X, features.y, cv=outer, groups=groups, params={"groups": groups}
    )
    assert predictions.shape == features.y.shape and np.isfinite(predictions).all()
    with pytest.raises(ValueError, match="groups="):
        next(outer.split(features.X))

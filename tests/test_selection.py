"""Selection models: inside the folds, equal to plain references, judged by scikit-learn's checks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils.estimator_checks import check_estimator

from helpers.decoding.correlations import TargetColumns, TrainingCorrelations, top_features
from helpers.decoding.crossval import CVOptions, cross_validate_model
from helpers.decoding.estimators import CPMRegressor, ScreenedRegressor
from helpers.decoding.metrics import fold_mean_r
from helpers.decoding.models import ModelGrid
from helpers.decoding.selection import CorrelationCache
from helpers.decoding.splits import LeaveOneSubjectOutBlocked
from helpers.features import FeatureSet, window_targets


@pytest.mark.parametrize(
    "estimator", [CPMRegressor(n_edges=3), ScreenedRegressor(k=2)], ids=["cpm", "screened"]
)
def test_selection_regressors_pass_scikit_learn_checks(estimator) -> None:
    check_estimator(estimator)


def _sparse_code(
    seed: int = 0,
    n_subjects: int = 4,
    n_features: int = 400,
    informative: int = 6,
    only_in: np.ndarray | None = None,
) -> FeatureSet:
    """Windows of a shared story; a few features follow the targets (everywhere, or only in ``only_in``)."""
    rng = np.random.default_rng(seed)
    n_trs, length = 120, 6
    tr_targets = np.cumsum(rng.standard_normal((n_trs, 2)), axis=0)
    starts = np.arange(0, n_trs - length + 1, 2)
    per_window = window_targets(tr_targets, starts, length)
    subject = np.repeat([f"sub-{k}" for k in range(n_subjects)], len(starts))
    start = np.tile(starts, n_subjects)
    y = np.tile(per_window, (n_subjects, 1))
    X = rng.standard_normal((len(y), n_features))
    rows = np.arange(len(y)) if only_in is None else only_in
    for t in range(2):
        X[np.ix_(rows, np.arange(informative) + t * informative)] += y[rows][:, [t]] * 0.8
    return FeatureSet.from_arrays(
        X.astype(np.float32),
        y,
        subject,
        start,
        tr_targets=tr_targets,
        window={"length": length},
    )


def _splitter(features: FeatureSet) -> LeaveOneSubjectOutBlocked:
    return LeaveOneSubjectOutBlocked(features, n_blocks=3, hrf_span_s=4.0, subjects_per_fold=2)


def _plain_loop(features, folds, fit_predict) -> np.ndarray:
    X, Y = features.X.astype(np.float64), features.y
    out = np.full(Y.shape, np.nan)
    for train, test in folds:
        for t in range(Y.shape[1]):
            r = np.array([np.corrcoef(X[train, j], Y[train, t])[0, 1] for j in range(X.shape[1])])
            order = np.argsort(-np.abs(r), kind="stable")
            out[test, t] = fit_predict(X, Y[:, t], train, test, order, r)
    return out


@pytest.mark.parametrize("row_block", [7, 1024], ids=["small row blocks", "one row block"])
def test_cpm_equals_a_plain_loop_with_corrcoef_and_linear_regression(
    row_block, monkeypatch
) -> None:
    monkeypatch.setattr("helpers.decoding.correlations._ROW_BLOCK", row_block)
    features = _sparse_code()
    splitter = _splitter(features)
    fast = cross_validate_model(
        features, "cpm", CVOptions(splitter=splitter, grid=ModelGrid(cpm_edges=(8,)))
    )

    def cpm(X, y, train, test, order, r):
        top = order[:8]
        pos, neg = top[r[top] > 0], top[r[top] < 0]
        S = np.stack([X[:, pos].sum(axis=1), X[:, neg].sum(axis=1)], axis=1)
        return LinearRegression().fit(S[train], y[train]).predict(S[test])

    plain = _plain_loop(features, list(splitter.split(features.X)), cpm)
    np.testing.assert_allclose(fast.predictions, plain, atol=1e-6)
    estimator = np.full_like(plain, np.nan)
    for train, test in splitter.split(features.X):
        estimator[test] = (
            CPMRegressor(n_edges=8)
            .fit(features.X[train], features.y[train])
            .predict(features.X[test])
        )
    np.testing.assert_allclose(estimator, plain, atol=1e-6)


def test_screened_ridge_equals_a_plain_loop() -> None:
    features = _sparse_code(1)
    splitter = _splitter(features)
    grid = ModelGrid(screening_k=(10,), relative_alphas=(0.5,))
    fast = cross_validate_model(features, "ridge_screened", CVOptions(splitter=splitter, grid=grid))

    def screened(X, y, train, test, order, r):
        top = order[:10]
        centred = X[np.ix_(train, top)] - X[np.ix_(train, top)].mean(axis=0)
        alpha = 0.5 * np.mean(np.sum(centred**2, axis=1))
        return Ridge(alpha=alpha).fit(X[np.ix_(train, top)], y[train]).predict(X[np.ix_(test, top)])

    plain = _plain_loop(features, list(splitter.split(features.X)), screened)
    np.testing.assert_allclose(fast.predictions, plain, atol=1e-6)


def test_selection_happens_inside_the_training_folds() -> None:
    """Features informative only on the test rows of each fold are invisible to honest selection."""
    base = _sparse_code(2, informative=0)
    splitter = _splitter(base)
    folds = list(splitter.split(base.X))
    X = base.X.copy()
    rng = np.random.default_rng(3)
    for k, (_, test) in enumerate(
        folds
    ):  # each fold gets its own features, planted on its test rows
        columns = 20 + 4 * k + np.arange(4)
        X[np.ix_(test, columns)] = (
            base.y[test][:, [0]] + 0.3 * rng.standard_normal((len(test), 4))
        ).astype(np.float32)
    features = base.with_features(X)
    honest = cross_validate_model(
        features, "cpm", CVOptions(splitter=splitter, grid=ModelGrid(cpm_edges=(4,)))
    )
    assert abs(honest.scores()["r"].iloc[0]) < 0.2
    cheat = np.full(
        base.y.shape[0], np.nan
    )  # the same model allowed to select and fit on test rows
    for _train, test in folds:
        cheat[test] = CPMRegressor(n_edges=4).fit(X[test], base.y[test, 0]).predict(X[test])
    assert fold_mean_r(base.y[:, :1], cheat[:, None], folds)[0] > 0.9


def test_selection_recovers_a_sparse_code_and_tunes_inside() -> None:
    features = _sparse_code(4)
    options = CVOptions(splitter=_splitter(features), n_permutations=60, hrf_span_s=4.0)
    for model in ("cpm", "ridge_screened"):
        result = cross_validate_model(features, model, options)
        scores = result.scores()
        assert (scores["r"].iloc[:2] > 0.5).all(), model
        assert (scores["p_value"].iloc[:2] <= 2 / 61).all(), model
        assert len(result.chosen) == splitter_folds(features) and result.chosen[0]


def splitter_folds(features) -> int:
    return _splitter(features).get_n_splits()


def test_constant_features_get_no_training_correlation() -> None:
    rng = np.random.default_rng(3)
    n_windows, n_subjects = 30, 3
    window = np.tile(np.arange(n_windows), n_subjects)
    X = rng.standard_normal((len(window), 4)).astype(np.float32)
    X[:, 1] = 1e3  # constant, with a large value whose float32 sums do not cancel exactly
    X[:, 2] = 0.0
    X[:, 3] = X[:, 0] * 0.5 + 7.0  # an affine copy of feature 0, far from zero
    columns = TargetColumns.from_samples(rng.standard_normal((len(window), 2)), window)
    rows = np.arange(len(window))
    r = TrainingCorrelations(X, rows, columns)(slice(None))
    assert np.all(r[:, 1:3] == 0.0)
    expected = [np.corrcoef(X[:, 0], columns.values(rows)[:, c])[0, 1] for c in range(2)]
    np.testing.assert_allclose(r[:, 0], expected, atol=1e-6)
    np.testing.assert_allclose(r[:, 3], r[:, 0], atol=1e-5)


def test_top_features_are_the_strongest_by_absolute_correlation() -> None:
    rng = np.random.default_rng(4)
    for n_features in (30, 5000):  # one sort of all, and the threshold route
        r = rng.standard_normal((7, n_features)).astype(np.float32)
        index = top_features(r, 12)
        expected = np.argsort(-np.abs(r), axis=1, kind="stable")[:, :12]
        np.testing.assert_array_equal(index, expected)


def test_lesioned_rankings_equal_a_ranking_without_the_lesioned_features() -> None:
    rng = np.random.default_rng(5)
    n_windows, n_subjects, n_features = 40, 3, 400
    window = np.tile(np.arange(n_windows), n_subjects)
    X = rng.standard_normal((len(window), n_features)).astype(np.float32)
    columns = TargetColumns.from_samples(rng.standard_normal((len(window), 6)), window)
    rows = np.arange(len(window))
    r = TrainingCorrelations(X, rows, columns)(slice(None))
    strongest = np.argsort(-np.abs(r), axis=1, kind="stable")
    # a lesion of column 0's ten strongest features: with a ranking only ten deep, column 0 has
    # none left and is ranked again from its correlations; the others keep most of theirs
    excluded = strongest[0, :10]
    ranking = CorrelationCache(depth=1).ranking(X, rows, columns, 10)
    index, signs = ranking.top(slice(0, 6), 10, excluded)
    lesioned = r.copy()
    lesioned[:, excluded] = 0.0
    expected = np.argsort(-np.abs(lesioned), axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(index, expected)
    np.testing.assert_array_equal(signs, np.sign(np.take_along_axis(r, expected, axis=1)))
    assert not np.isin(index, excluded).any()


def test_folds_side_by_side_give_the_same_predictions_and_nulls_as_in_turn() -> None:
    features = _sparse_code()
    base = CVOptions(
        splitter=_splitter(features), grid=ModelGrid(cpm_edges=(4, 8)), n_permutations=5
    )
    in_turn = cross_validate_model(features, "cpm", base.replace(fold_workers=1))
    side_by_side = cross_validate_model(features, "cpm", base.replace(fold_workers=2))
    np.testing.assert_array_equal(in_turn.predictions, side_by_side.predictions)
    np.testing.assert_array_equal(in_turn.null_r, side_by_side.null_r)
    with pytest.raises(ValueError, match="fold_workers"):
        CVOptions(fold_workers=0)

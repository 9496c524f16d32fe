"""Nulls, p-values, FDR, the paired test, and what honest and leaky evaluation give on known truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats
from scipy.ndimage import gaussian_filter1d

from helpers.decoding.crossval import CVOptions, cross_validate_model
from helpers.decoding.nulls import circular_shift_nulls
from helpers.decoding.splits import LeaveOneSubjectOutBlocked, RandomWindowSplit, WindowMeta
from helpers.decoding.stats import (
    clopper_pearson,
    fdr_bh,
    paired_subject_test,
    permutation_p_value,
)
from helpers.features import FeatureSet, phase_randomize, window_targets

N_SUBJECTS, N_TRS, N_ROIS, WINDOW = 6, 160, 8, 8


def simulate(effect: str, seed: int = 0) -> dict:
    """Six subjects hearing one story; emotions 0-3 drive either ROI-pair coupling or ROI amplitude."""
    rng = np.random.default_rng(seed)
    raw = gaussian_filter1d(rng.standard_normal((N_TRS, 8)), 2.5, axis=0)
    tr_targets = (raw - raw.min(0)) / (raw.max(0) - raw.min(0))
    upper = np.triu_indices(N_ROIS, 1)
    dfc, roi, subject, start = [], [], [], []
    for s in range(N_SUBJECTS):
        series = rng.standard_normal((N_TRS, N_ROIS))
        for e in range(4):
            if effect == "connectivity":
                shared = rng.standard_normal(N_TRS) * (0.1 + 4.0 * tr_targets[:, e])
                series[:, 2 * e] += shared
                series[:, 2 * e + 1] += shared
            elif effect == "amplitude":
                series[:, 2 * e] += 3.0 * (tr_targets[:, e] - tr_targets[:, e].mean())
        for a in range(N_TRS - WINDOW + 1):
            segment = series[a : a + WINDOW]
            dfc.append(np.arctanh(np.clip(np.corrcoef(segment.T)[upper], -0.999, 0.999)))
            roi.append(segment.mean(axis=0))
            subject.append(f"sub-{s:02d}")
            start.append(a)
    start = np.array(start)
    meta = WindowMeta(np.array(subject), start, start + WINDOW)
    y = window_targets(tr_targets, meta.start, WINDOW)
    return {
        "dfc": np.array(dfc, np.float32),
        "roi": np.array(roi, np.float32),
        "y": y,
        "meta": meta,
        "tr_targets": tr_targets,
    }


def run(data: dict, features: str, cv: str, n_permutations: int = 200):
    meta = data["meta"]
    if cv == "loso_blocked":
        splitter = LeaveOneSubjectOutBlocked(meta, n_blocks=4, hrf_span_s=4.0, subjects_per_fold=2)
    else:
        splitter = RandomWindowSplit(meta, test_fraction=0.1, n_splits=3, seed=0)
    feature_set = FeatureSet.from_arrays(
        data[features],
        data["y"],
        meta.subject,
        meta.start,
        tr_targets=data["tr_targets"],
        window={"length": WINDOW, "shape": "rectangular", "target": "mean"},
    )
    feature_set.name = features
    options = CVOptions(
        cv=cv,
        splitter=splitter,
        n_permutations=n_permutations,
        hrf_span_s=4.0,
        feature_scaling="standard",
    )
    return cross_validate_model(feature_set, "kernel_ridge_linear", options)


def test_null_p_values_are_calibrated_under_blocked_cv() -> None:
    """Over several null datasets, FDR survivors are as rare as the 5% level allows."""
    datasets_with_survivor, p_values = 0, []
    for seed in range(8):
        scores = run(simulate("none", seed=seed), "dfc", "loso_blocked", 100).scores()
        p_values.extend(scores.p_value[:8])
        datasets_with_survivor += int((scores.p_fdr[:8] < 0.05).any())
    assert datasets_with_survivor <= 1, "no emotion may survive FDR on null data (beyond chance)"
    assert np.mean(np.asarray(p_values) < 0.05) <= 0.12


@pytest.fixture(scope="module")
def null_data() -> dict:
    return simulate("none", seed=1)


def test_null_is_null_under_blocked_cv_and_inflated_under_random_split(null_data) -> None:
    honest_r2 = {}
    for features in ("dfc", "roi"):
        honest = run(null_data, features, "loso_blocked").scores()
        honest_r2[features] = honest.loc[honest.emotion == "mean", "r2"].item()
        assert honest_r2[features] <= 0.02
    leaky = run(null_data, "dfc", "random", n_permutations=0).scores()
    mean = leaky.loc[leaky.emotion == "mean"].iloc[0]
    assert mean.r2 > 0.1 and mean.r > 0.35, "the random split must show the leak on null data"
    assert mean.r2 > honest_r2["dfc"] + 0.25


def test_connectivity_truth_favours_dfc_and_is_detected() -> None:
    data = simulate("connectivity", seed=1)
    dfc, roi = run(data, "dfc", "loso_blocked"), run(data, "roi", "loso_blocked")
    planted = dfc.scores().iloc[:4]
    assert (planted.p_fdr < 0.05).sum() >= 1, planted
    assert planted.r.mean() > roi.scores().r.iloc[:4].mean() + 0.2
    comparison = paired_subject_test(
        dfc.subject_mean_r().to_numpy(), roi.subject_mean_r().to_numpy()
    )
    assert comparison["delta_r"] > 0


def test_amplitude_truth_favours_roi() -> None:
    data = simulate("amplitude", seed=2)
    dfc, roi = run(data, "dfc", "loso_blocked", 100), run(data, "roi", "loso_blocked", 100)
    scores = roi.scores()
    assert (scores.p_fdr.iloc[:4] < 0.05).all()
    assert (scores.r.iloc[:4] > 0.3).all()
    assert scores.r.iloc[:4].mean() > dfc.scores().r.iloc[:4].mean() + 0.3
    comparison = paired_subject_test(
        roi.subject_mean_r().to_numpy(), dfc.subject_mean_r().to_numpy()
    )
    assert comparison["delta_r"] > 0.2 and comparison["p_value"] <= 2 / 2**6 + 1e-12


def test_circular_shift_is_a_rotation_with_a_minimum_lag() -> None:
    rng = np.random.default_rng(0)
    series = rng.standard_normal((50, 3))
    nulls = circular_shift_nulls(series, 40, seed=1, min_shift=10)
    for null in nulls:
        lags = [k for k in range(50) if np.allclose(np.roll(series, k, axis=0), null)]
        assert len(lags) == 1 and 10 <= lags[0] <= 40


def test_phase_randomisation_keeps_spectrum_and_cross_correlation() -> None:
    rng = np.random.default_rng(0)
    base = gaussian_filter1d(rng.standard_normal((128, 2)), 3, axis=0)
    series = np.column_stack([base[:, 0], base[:, 0] * 0.8 + base[:, 1] * 0.2])
    nulls = phase_randomize(series, 0, n_draws=5)
    for null in nulls:
        np.testing.assert_allclose(
            np.abs(np.fft.rfft(null, axis=0)), np.abs(np.fft.rfft(series, axis=0)), atol=1e-9
        )
        np.testing.assert_allclose(
            np.corrcoef(null.T)[0, 1], np.corrcoef(series.T)[0, 1], atol=1e-9
        )
        assert not np.allclose(null, series)


def test_p_values_and_fdr_known_answers() -> None:
    null = np.array([[0.1, 0.5], [0.2, 0.6], [0.3, 0.7], [0.4, 0.8]])
    np.testing.assert_allclose(permutation_p_value(np.array([0.35, 0.9]), null), [2 / 5, 1 / 5])
    np.testing.assert_allclose(fdr_bh([0.01, 0.04, 0.03, 0.2]), [0.04, 0.16 / 3, 0.16 / 3, 0.2])
    np.testing.assert_allclose(fdr_bh([0.01, 0.02, 0.03]), [0.03, 0.03, 0.03])
    assert np.isnan(fdr_bh([np.nan, 0.5])[0])


def test_fdr_leaves_missing_tests_out_of_the_family() -> None:
    adjusted = fdr_bh(np.array([[0.01, np.nan], [0.04, 0.9]]))
    np.testing.assert_allclose(adjusted, [[0.03, np.nan], [0.06, 0.9]])
    assert np.isnan(fdr_bh([np.nan, np.nan])).all() and fdr_bh([]).shape == (0,)
    assert fdr_bh([0.6, 0.7]).max() <= 1.0


@pytest.mark.parametrize(("k", "n"), [(0, 20), (1, 3), (5, 100), (24, 24)])
def test_clopper_pearson_is_the_beta_quantile_interval(k, n) -> None:
    low = scipy_stats.beta.ppf(0.025, k, n - k + 1) if k else 0.0
    high = scipy_stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    np.testing.assert_allclose(clopper_pearson(k, n), (low, high), rtol=1e-9, atol=1e-12)
    assert all(np.isnan(clopper_pearson(0, 0)))


def test_paired_sign_flip_exact() -> None:
    result = paired_subject_test(np.array([0.5, 0.6, 0.4, 0.7, 0.5, 0.6]), np.zeros(6))
    assert result["p_value"] == pytest.approx(2 / 64)
    assert result["delta_r"] == pytest.approx(0.55)
    with pytest.raises(ValueError, match="one value per subject"):
        paired_subject_test(np.zeros(3), np.zeros(4))


def test_null_needs_the_tr_level_targets(null_data) -> None:
    meta = null_data["meta"]
    splitter = LeaveOneSubjectOutBlocked(meta, n_blocks=4, hrf_span_s=4.0, subjects_per_fold=3)
    bare = FeatureSet.from_arrays(
        null_data["roi"], null_data["y"], meta.subject, meta.start, window={"length": WINDOW}
    )
    with pytest.raises(ValueError, match="TR-level targets"):
        cross_validate_model(bare, "ridge", CVOptions(splitter=splitter, n_permutations=5))


def test_a_constant_prediction_scores_zero_in_its_fold_so_null_draws_always_have_a_score():
    from helpers.decoding.metrics import fold_mean_r

    rng = np.random.default_rng(0)
    y = rng.standard_normal((40, 2))
    folds = [(np.arange(20, 40), np.arange(20)), (np.arange(20), np.arange(20, 40))]
    p = y.copy()
    p[:20, 0] = 3.0  # the first fold predicts a constant for the first target
    r = fold_mean_r(y, p, folds)
    np.testing.assert_allclose(r, [0.5, 1.0])
    assert fold_mean_r(y, np.zeros_like(y), folds).tolist() == [0.0, 0.0]

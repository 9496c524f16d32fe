"""Null targets are made exactly as the real targets are, whatever the window shape and target rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from helpers.decoding.nulls import null_tr_targets, null_window_table
from helpers.features import FeatureSet, window_average, window_targets, window_weights

N_TRS, LENGTH = 90, 12


def _feature_set(shape: str, target: str) -> FeatureSet:
    rng = np.random.default_rng(0)
    tr_targets = gaussian_filter1d(rng.standard_normal((N_TRS, 3)), 2.0, axis=0)
    starts = np.arange(0, N_TRS - LENGTH + 1, 3)
    window = {"length": LENGTH, "shape": shape, "taper_sigma": 3.0, "target": target}
    per_window = window_targets(
        tr_targets, starts, LENGTH, shape=shape, taper_sigma=3.0, target=target
    )
    subject = np.repeat(["sub-01", "sub-02"], len(starts))
    start = np.tile(starts, 2)
    y = np.tile(per_window, (2, 1))
    X = rng.standard_normal((len(y), 4)).astype(np.float32)
    return FeatureSet.from_arrays(X, y, subject, start, tr_targets=tr_targets, window=window)


def test_window_average_against_a_loop_on_stacks() -> None:
    rng = np.random.default_rng(1)
    series = rng.standard_normal((2, 40, 3))
    weights = window_weights(7, "tapered", 2.0)
    starts = np.array([0, 5, 33])
    expected = np.stack(
        [[(series[k, a : a + 7] * weights[:, None]).sum(axis=0) for a in starts] for k in range(2)]
    )
    np.testing.assert_allclose(window_average(series, starts, 7, weights), expected)
    with pytest.raises(ValueError, match="leave the 40 volumes"):
        window_average(series, np.array([35]), 7, weights)


@pytest.mark.parametrize(
    "shape, target", [("rectangular", "mean"), ("tapered", "mean"), ("tapered", "centre")]
)
def test_null_targets_follow_the_real_targets_aggregation(shape: str, target: str) -> None:
    features = _feature_set(shape, target)
    np.testing.assert_allclose(features.targets_from(features.tr_targets), features.y)
    table, window_of_sample = null_window_table(
        features, 4, "circular_shift", seed=3, min_shift=LENGTH
    )
    series = null_tr_targets(features.tr_targets, 4, "circular_shift", seed=3, min_shift=LENGTH)
    for k in range(4):
        expected = features.targets_from(series[k])
        np.testing.assert_allclose(table[:, 3 * k : 3 * k + 3][window_of_sample], expected)
    if shape == "tapered" and target == "mean":
        plain = window_average(series[0], np.unique(features.start), LENGTH)
        assert not np.allclose(plain, table[:, :3]), "tapered nulls must not be plain window means"


def test_same_seed_same_draws_for_every_feature_set() -> None:
    a, b = _feature_set("rectangular", "mean"), _feature_set("rectangular", "mean")
    np.testing.assert_array_equal(
        null_window_table(a, 5, seed=7, min_shift=5)[0],
        null_window_table(b, 5, seed=7, min_shift=5)[0],
    )

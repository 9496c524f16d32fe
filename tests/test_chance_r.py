"""Cross-validated r below zero with nothing to learn: the identities, and the null that reads it."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.decoding.chance_r import (
    cv_r_on_noise,
    cv_scores,
    fold_lean,
    no_relation_sample,
    null_test_of_r,
)


def _related_sample(n: int = 40, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, 0.8 * x + 0.6 * rng.standard_normal(n)


def test_a_residualised_sample_has_no_relation_at_all() -> None:
    x, y = no_relation_sample(40, seed=5)
    assert abs(np.corrcoef(x, y)[0, 1]) < 1e-12 and abs(y.mean()) < 1e-12
    x_raw, y_raw = no_relation_sample(40, seed=5, residualise=False)
    assert np.array_equal(x, x_raw) and abs(np.corrcoef(x_raw, y_raw)[0, 1]) > 1e-6
    with pytest.raises(ValueError, match="at least 4"):
        no_relation_sample(3)


def test_training_mean_and_fit_lean_away_from_the_held_out_fold() -> None:
    x, y = no_relation_sample(40, seed=0)
    lean = fold_lean(x, y, n_folds=5)
    # The grand mean is 0, so the training mean is the fold mean scaled by -8/32: always opposite.
    assert np.allclose(lean["train_mean"], -lean["test_mean"] * 8 / 32)
    # Within-fold r of a fitted line has the sign of train slope times test slope.
    assert np.array_equal(np.sign(lean["r"]), np.sign(lean["train_slope"] * lean["test_slope"]))
    assert (np.sign(lean["train_slope"]) != np.sign(lean["test_slope"])).sum() >= 4
    assert lean["r"].mean() < -0.2


def test_cross_validated_r_is_biased_below_zero_only_where_the_folds_lean() -> None:
    residualised = cv_r_on_noise(n_datasets=150, seed=10).mean()
    independent = cv_r_on_noise(n_datasets=150, residualise=False, seed=10).mean()
    assert residualised["fit_r"] < -0.15 and residualised["fit_pooled_r"] < -0.25
    # Independent draws: the within-fold r of a fit is centred on 0, the pooled r is not.
    assert abs(independent["fit_r"]) < 0.05
    assert independent["mean_pooled_r"] < -0.2 and independent["fit_pooled_r"] < -0.1
    related = cv_scores(*_related_sample())
    assert related["fit_r"] > 0.5 and related["fit_pooled_r"] > 0.5


def test_the_null_distribution_not_the_sign_is_the_test() -> None:
    x, y = no_relation_sample(40, seed=0)
    nothing = null_test_of_r(x, y, n_permutations=199, seed=1)
    assert nothing.loc["fit_r", "observed"] < 0 and nothing.loc["fit_r", "p_value"] > 0.5
    # The null carries the training mean's offset too, so the pooled score of the mean is no outlier.
    pooled = nothing.loc["mean_pooled_r"]
    assert pooled["null_mean"] < -0.2 and 0.05 < pooled["p_value"] < 0.95
    related = null_test_of_r(*_related_sample(), n_permutations=199, seed=1)
    assert related.loc["fit_r", "p_value"] <= 0.01

"""Agreement statistics against hand-computed and published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.annotation.agreement import (
    intraclass_correlation,
    krippendorff_alpha,
    per_emotion_spearman,
    summarise_agreement,
)

nan = np.nan

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers x 12 units with
# missing values; published alpha: nominal 0.743, interval 0.849. Units in rows, raters in columns.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
).T

# Shrout & Fleiss (1979), table 2: 6 targets x 4 judges; ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71.
SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    dtype=float,
)


def test_alpha_hand_computed_example():
    # units (1,1), (2,2), (3,4); n = 6 pairable values.
    # observed disagreement: only unit 3 differs, 2 ordered pairs x 1^2 / (2 - 1) / 6 = 1/3
    # expected: values 1,1,2,2,3,4 -> sum over ordered pairs (a-b)^2 = 2 (6*35 - 13^2) = 82,
    #           82 / (6 * 5) = 41/15;  alpha = 1 - (1/3) / (41/15) = 36/41
    ratings = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 4.0]])
    assert krippendorff_alpha(ratings) == pytest.approx(36 / 41)


def test_alpha_published_example_with_missing_values():
    assert krippendorff_alpha(KRIPPENDORFF_2011, "interval") == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha(KRIPPENDORFF_2011, "nominal") == pytest.approx(0.743, abs=5e-4)


def test_alpha_extremes():
    rng = np.random.default_rng(0)
    truth = rng.random(50)
    assert krippendorff_alpha(np.column_stack([truth, truth, truth])) == pytest.approx(1.0)
    noise = rng.random((2000, 3))
    assert abs(krippendorff_alpha(noise)) < 0.05
    assert np.isnan(krippendorff_alpha(np.ones((5, 2))))


def test_alpha_errors():
    with pytest.raises(ValueError, match="two raters"):
        krippendorff_alpha(np.array([[1.0, nan], [nan, 2.0]]))
    with pytest.raises(ValueError, match="2-D"):
        krippendorff_alpha(np.ones(4))
    with pytest.raises(ValueError, match="unknown level"):
        krippendorff_alpha(np.ones((3, 2)), "ordinal")


def test_icc_published_example():
    assert intraclass_correlation(SHROUT_FLEISS, "1,1") == pytest.approx(0.166, abs=1e-3)
    assert intraclass_correlation(SHROUT_FLEISS, "2,1") == pytest.approx(0.290, abs=1e-3)
    assert intraclass_correlation(SHROUT_FLEISS, "3,1") == pytest.approx(0.715, abs=1e-3)
    with pytest.raises(ValueError, match="complete ratings"):
        intraclass_correlation(KRIPPENDORFF_2011)
    with pytest.raises(ValueError, match="unknown ICC kind"):
        intraclass_correlation(SHROUT_FLEISS, "4,1")


def test_spearman_per_emotion_with_circular_null():
    rng = np.random.default_rng(1)
    n = 60
    smooth = np.cumsum(rng.normal(size=(n, 2)), axis=0)
    a = pd.DataFrame({"joy": smooth[:, 0], "fear": smooth[:, 1], "only_a": 0.0})
    b = pd.DataFrame({"joy": smooth[:, 0] ** 3, "fear": -smooth[:, 1]})
    result = per_emotion_spearman(a, b)
    assert list(result.index) == ["joy", "fear"]
    assert result.loc["joy", "rho"] == pytest.approx(1.0)  # monotone transform: ranks identical
    assert result.loc["fear", "rho"] == pytest.approx(-1.0)
    assert result.loc["joy", "p_circular"] == pytest.approx(1 / n)  # no shift does as well
    unrelated = per_emotion_spearman(a[["joy"]], pd.DataFrame({"joy": rng.random(n)}))
    assert 0 < unrelated.loc["joy", "p_circular"] <= 1
    with pytest.raises(ValueError, match="same segments"):
        per_emotion_spearman(a, b.iloc[:10])


@pytest.mark.parametrize("constant", [0.5, 1.0])
def test_constant_ratings_give_undefined_rho_with_a_note(constant):
    """All 0.5, or all clamped to 1: no ranking, so rho is NaN and said to be undefined."""
    rng = np.random.default_rng(2)
    varied = pd.DataFrame({"joy": rng.random(30), "fear": rng.random(30)})
    flat = pd.DataFrame({"joy": np.full(30, constant), "fear": rng.random(30)})
    result = per_emotion_spearman(varied, flat)
    assert np.isnan(result.loc["joy", "rho"]) and np.isnan(result.loc["joy", "p_circular"])
    assert result.loc["joy", "note"] == f"undefined (second ratings all {constant:g})"
    assert np.isfinite(result.loc["fear", "rho"]) and result.loc["fear", "note"] == ""

    partly = summarise_agreement(result)
    assert partly["undefined"] == ["joy"]
    assert partly["best"] == partly["worst"] == ("fear", pytest.approx(result.loc["fear", "rho"]))
    assert partly["median_rho"] == pytest.approx(result.loc["fear", "rho"])

    nothing = summarise_agreement(per_emotion_spearman(flat[["joy"]], flat[["joy"]]))
    assert nothing["best"] is None and nothing["worst"] is None
    assert np.isnan(nothing["median_rho"]) and nothing["n_significant"] == 0
    assert nothing["undefined"] == ["joy"]


def test_agreement_summary_of_defined_correlations():
    table = pd.DataFrame(
        {"rho": [0.8, -0.2, 0.1], "p_circular": [0.01, 0.4, 0.03], "note": ["", "", ""]},
        index=pd.Index(["joy", "fear", "anger"], name="emotion"),
    )
    summary = summarise_agreement(table)
    assert summary["best"] == ("joy", 0.8) and summary["worst"] == ("fear", -0.2)
    assert summary["median_rho"] == pytest.approx(0.1)
    assert summary["n_significant"] == 2 and summary["undefined"] == []

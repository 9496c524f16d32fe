"""Tools that compare annotators: linear targets, shuffle nulls, textbook tests, summaries."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.annotation.comparison import (
    effective_dimensions,
    llm_reliability,
    pairwise_agreement,
    segment_response_matrix,
    shuffled_segment_rho,
    shuffled_target_correlations,
    strongest_pair,
    textbook_critical_r,
    textbook_p_value,
    undefined_notes,
)
from helpers.annotation.targets import segments_to_volumes
from helpers.study import EMOTIONS

RNG = np.random.default_rng(1)
ONSETS = np.sort(RNG.uniform(20, 700, 60))
OFFSETS = np.append(ONSETS[1:], 720.0)


def test_targets_are_the_response_matrix_times_the_scores_even_with_overlaps():
    offsets = OFFSETS.copy()
    offsets[10] = ONSETS[12] + 1.0  # segment 10 overlaps the next two: the later one wins
    scores = RNG.random((60, 3))
    response = segment_response_matrix(ONSETS, offsets, stimulus_onset=0.657)
    direct = segments_to_volumes(ONSETS, offsets, scores, stimulus_onset=0.657)
    np.testing.assert_allclose(response @ scores, direct, atol=1e-12)


def test_unrelated_annotations_correlate_by_chance_far_beyond_the_textbook_spread():
    scores = pd.DataFrame(RNG.random((60, 8)), columns=list(EMOTIONS))
    targets = pd.DataFrame(
        segments_to_volumes(ONSETS, OFFSETS, RNG.random((60, 8))), columns=list(EMOTIONS)
    )
    null = shuffled_target_correlations(targets, ONSETS, OFFSETS, scores, n_shuffles=300, seed=0)
    assert null.shape == (300, 8)
    assert float(null.std().mean()) > 2 / np.sqrt(len(targets))
    again = shuffled_target_correlations(targets, ONSETS, OFFSETS, scores, n_shuffles=300, seed=0)
    pd.testing.assert_frame_equal(null, again)  # seeded


def test_shuffle_nulls_refuse_mismatched_inputs():
    scores = pd.DataFrame(RNG.random((59, 8)), columns=list(EMOTIONS))
    targets = pd.DataFrame(np.zeros((372, 8)), columns=list(EMOTIONS))
    with pytest.raises(ValueError, match="59 rows of scores for 60 segments"):
        shuffled_target_correlations(targets, ONSETS, OFFSETS, scores, n_shuffles=5, seed=0)
    with pytest.raises(ValueError, match="n_shuffles"):
        shuffled_segment_rho(scores, scores, n_shuffles=0, seed=0)
    with pytest.raises(ValueError, match="same lines"):
        shuffled_segment_rho(scores, scores.iloc[:10], n_shuffles=5, seed=0)


def test_shuffled_segment_rho_matches_scipy_for_one_shuffle():
    a = pd.DataFrame(RNG.random((30, 2)), columns=["joy", "fear"])
    b = pd.DataFrame(RNG.random((30, 2)), columns=["joy", "fear"])
    null = shuffled_segment_rho(a, b, n_shuffles=1, seed=3)
    order = np.random.default_rng(3).permutation(30)
    expected = stats.spearmanr(a["joy"], b["joy"].to_numpy()[order]).statistic
    assert null.loc[0, "joy"] == pytest.approx(expected)


def test_textbook_threshold_and_p_value_agree_with_scipy():
    r = textbook_critical_r(372)
    assert stats.pearsonr(*_pair_with_r(r, 372)).pvalue == pytest.approx(0.05, abs=1e-6)
    p = textbook_p_value(pd.Series({"joy": r, "fear": 0.0}), 372)
    assert p["joy"] == pytest.approx(0.05, abs=1e-9) and p["fear"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        textbook_critical_r(2)


def _pair_with_r(r, n):
    """Two series of length n whose Pearson correlation is exactly r."""
    x = RNG.normal(size=n)
    y = RNG.normal(size=n)
    x = (x - x.mean()) / x.std()
    y = y - y.mean() - (y @ x) / (x @ x) * x
    y /= y.std()
    return x, r * x + np.sqrt(1 - r**2) * y


def test_effective_dimensions_and_strongest_pair():
    assert effective_dimensions(pd.DataFrame(np.eye(8))) == pytest.approx(8.0)
    assert effective_dimensions(pd.DataFrame(np.ones((8, 8)))) == pytest.approx(1.0)
    matrix = pd.DataFrame(np.eye(3), index=list("abc"), columns=list("abc"))
    matrix.loc["a", "c"] = matrix.loc["c", "a"] = -0.7
    matrix.loc["a", "b"] = matrix.loc["b", "a"] = 0.4
    assert strongest_pair(matrix) == (["a", "c"], pytest.approx(-0.7))
    assert strongest_pair(matrix * np.nan) == (None, pytest.approx(np.nan, nan_ok=True))


def test_pairwise_agreement_uses_shared_lines_and_notes_constant_ratings():
    full = pd.DataFrame(RNG.random((20, 8)), columns=list(EMOTIONS))
    partial = full.iloc[:12] * 0.0 + 0.5  # an llm run that stopped early, all ratings 0.5
    agreement = pairwise_agreement({"reference": full, "llm": partial})
    table = agreement["reference_vs_llm"]
    assert (table["n_lines"] == 12).all() and table["rho"].isna().all()
    [note] = undefined_notes(agreement)
    assert note.startswith("reference vs llm: rho of anticipation, joy")
    assert note.endswith("is undefined (second ratings all 0.5)")


def test_llm_reliability_needs_two_samples():
    assert llm_reliability(None).empty
    assert llm_reliability({"samples": RNG.random((1, 5, 8)).tolist()}).empty
    base = RNG.random((10, 8))
    samples = np.stack([base, base + RNG.normal(0, 0.01, (10, 8))])
    table = llm_reliability({"samples": samples.tolist()})
    assert list(table.index) == list(EMOTIONS) and (table > 0.9).all().all()

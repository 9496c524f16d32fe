"""The account indices, the conclusion rule and the verdict table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.calibration_verdicts import verdicts
from helpers.explain.accounts import (
    KEPT,
    account_indices,
    account_tests,
    conclusion,
    constructionist_table,
    explained_features,
    read_verdicts,
    roi_profiles,
    target_correlation,
    verdict_table,
    weak_pairs,
)

N_ROIS, K = 160, 8
NETWORKS = [f"net{r % 4}" for r in range(N_ROIS)]


def _targets(seed: int = 0) -> np.ndarray:
    """Ratings where emotions 0-1 and 2-3 co-occur strongly, the rest weakly."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((300, K))
    base[:, 1] += 2 * base[:, 0]
    base[:, 3] += 2 * base[:, 2]
    return base


def _importance(kind: str, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    """ROI importance (n_rois, K): own ROIs per emotion, one shared set, or noise only."""
    values = noise * rng.standard_normal((N_ROIS, K))
    for e in range(K):
        if kind == "locationist":
            values[8 * e : 8 * e + 8, e] += 3.0
        elif kind == "constructionist":
            values[:12, e] += 3.0 * np.sign(rng.standard_normal(12))
    return values


def test_weak_pairs_leave_out_the_co_occurring_emotions():
    weak = weak_pairs(target_correlation(_targets()))
    assert not weak[0, 1] and not weak[2, 3] and not weak.diagonal().any()
    assert np.array_equal(weak, weak.T) and weak.sum() >= K * (K - 1) // 2


def test_roi_profiles_of_edges_count_only_each_emotions_top_edges():
    edges = np.array([[0, 1], [0, 2], [1, 2], [2, 3]])
    importance = np.array([[5.0, 0.1], [0.1, 0.2], [0.2, 4.0], [0.3, 0.1]])
    profile = roi_profiles(importance, edges, 4, fraction=0.25)
    np.testing.assert_allclose(profile[:, 0], [0.5, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(profile[:, 1], [0.0, 0.5, 0.5, 0.0])


def test_indices_tell_own_regions_from_shared_ones():
    rng = np.random.default_rng(1)
    weak = weak_pairs(target_correlation(_targets()))
    located = account_indices(
        roi_profiles(_importance("locationist", rng), None, N_ROIS, 1), NETWORKS, weak
    )
    shared = account_indices(
        roi_profiles(_importance("constructionist", rng), None, N_ROIS, 1), NETWORKS, weak
    )
    assert located["roi_specificity"] > 0.8 > 0.6 > shared["roi_specificity"]
    assert located["profile_similarity"] < 0.1 < 0.8 < shared["profile_similarity"]
    assert located["top_roi_overlap"] == 0.0 and shared["top_roi_overlap"] > 0.3
    # cross_share is 1 when another emotion's importance sits in an emotion's top ROIs as often
    # as their number predicts: far below for own regions, far above for shared ones
    assert located["cross_share"] < 0.7 < 5.0 < shared["cross_share"]


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("locationist", "locationist"),
        ("constructionist", "constructionist"),
        ("null", "inconclusive"),
    ],
)
def test_each_kept_index_names_the_planted_pattern_and_nothing_on_noise(kind, expected):
    rng = np.random.default_rng(2)
    correlation = target_correlation(_targets())
    observed = _importance(kind, rng)
    draws = [_importance("null", rng, noise=1.0) for _ in range(100)]
    tests = account_tests(observed, draws, None, NETWORKS, correlation)
    for name in KEPT:
        assert tests[name]["favours"] == expected, (name, tests[name])
    assert conclusion({name: t["favours"] for name, t in tests.items()}) == expected


def test_the_conclusion_reads_the_decoder_that_decodes_best():
    decoding = {
        "dfc": {"r": 0.2, "decodes": True},
        "roi_window": {"r": 0.9, "decodes": True},
        "roi": {"r": 0.95, "decodes": False},
    }
    assert explained_features(decoding) == "roi_window"
    assert explained_features({"dfc": {"r": 0.3, "decodes": False}}) is None
    verdicts = {
        "profile_similarity (roi_window)": "constructionist",
        "roi_specificity (dfc)": "locationist",
    }
    assert conclusion(verdicts, "roi_window") == "constructionist"
    assert conclusion(verdicts, "dfc") == "locationist"
    assert conclusion(verdicts, None) == "inconclusive"
    assert conclusion(verdicts) == "inconclusive"  # every kept index counts: they disagree


def test_the_conclusion_rule_counts_kept_indices_only():
    assert conclusion({"roi_specificity (dfc)": "locationist"}) == "locationist"
    assert (
        conclusion(
            {"roi_specificity (dfc)": "locationist", "profile_similarity": "constructionist"}
        )
        == "inconclusive"
    )
    assert conclusion({"mean_jaccard": "constructionist", "shared_core": "constructionist"}) == (
        "inconclusive"
    )
    assert conclusion({}) == "inconclusive"


def test_the_table_marks_descriptive_indices():
    table = constructionist_table(
        {
            "roi_specificity (dfc)": {"observed": 0.9, "favours": "locationist"},
            "mean_jaccard": {"observed": 0.3, "favours": "constructionist"},
        }
    ).set_index("index")
    assert table.loc["roi_specificity (dfc)", "role"] == "in the conclusion"
    assert table.loc["mean_jaccard", "role"] == "descriptive"


def test_verdicts_count_each_verdict_per_index_and_world(tmp_path):
    records = pd.DataFrame(
        {
            "index": ["conclusion"] * 4 + ["roi_specificity (dfc)"] * 2,
            "world": ["null", "null", "locationist", "locationist", "null", "locationist"],
            "seed": [1, 2, 1, 2, 1, 1],
            "favours": [
                "inconclusive",
                "locationist",
                "locationist",
                "locationist",
                "inconclusive",
                "constructionist",
            ],
        }
    )
    table = verdicts(records).set_index(["index", "world"])
    row = table.loc[("conclusion", "null")]
    assert row["n_datasets"] == 2 and row["share_inconclusive"] == row["share_locationist"] == 0.5
    assert table.loc[("conclusion", "locationist"), "share_locationist"] == 1.0
    shares = table[[c for c in table.columns if c.startswith("share_")]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
    confusion = verdict_table(verdicts(records).to_dict("records"))
    assert confusion.loc[("conclusion", "null"), "locationist"] == 0.5
    assert read_verdicts(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a calibration results file"):
        read_verdicts(tmp_path / "bad.json")


def test_cross_share_counts_for_roi_decoders_only():
    from helpers.explain.accounts import is_kept

    assert is_kept("cross_share (roi_window)") and not is_kept("cross_share (dfc)")
    assert is_kept("roi_specificity (dfc)") and not is_kept("mean_jaccard")
    verdicts = {"cross_share (dfc)": "constructionist", "cross_share (roi_window)": "locationist"}
    assert conclusion(verdicts, "dfc") == "inconclusive"
    assert conclusion(verdicts, "roi_window") == "locationist"

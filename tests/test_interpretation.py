"""Recovery of planted edges and constructionist indices on small simulated datasets."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from helpers.config import SimulationParams
from helpers.decoding.folds import FoldContext, FoldInput, fit_predict_fold
from helpers.decoding.models import ModelGrid
from helpers.decoding.splits import LeaveOneSubjectOut
from helpers.decoding.stats import VerdictLabels, verdict
from helpers.explain.accounts import constructionist_table
from helpers.explain.graphs import top_edge_indices
from helpers.explain.heldout import NullDraws, heldout_patterns
from helpers.explain.indices import (
    INDEX_DIRECTIONS,
    empirical_p,
    index_test,
    network_entropy,
    network_entropy_label_null,
    node_strength,
    null_pattern_indices,
    overlap_indices,
    pattern_indices,
    top_edge_masks,
)
from helpers.explain.lesion_indices import lesion_index, lono_concentration
from helpers.explain.patterns import activation_pattern
from helpers.explain.recovery import (
    candidate_edge_masks,
    planted_edge_masks,
    rank_auroc,
    recovery_auroc,
)
from helpers.features import FeatureSet, sliding_window_connectivity, window_average, window_starts
from helpers.study import EMOTIONS, N_VOLUMES

WINDOW = 12
STRIDE = 3


def _drive(seed: int = 5) -> np.ndarray:
    """Smooth, slowly varying emotion series in [0, 1] (372, 8)."""
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((N_VOLUMES + 40, len(EMOTIONS)))
    kernel = np.hanning(31)
    smooth = np.stack(
        [np.convolve(raw[:, k], kernel, mode="same") for k in range(raw.shape[1])], axis=1
    )[20:-20]
    return (smooth - smooth.min(axis=0)) / np.ptp(smooth, axis=0)


def _simulated(effect: str):
    from helpers.data.atlases import load_atlas
    from helpers.simulate import simulate_roi_signals

    atlas = load_atlas("dosenbach160")
    sim = SimulationParams(effect=effect, snr=1.5, seed=3)
    drive = _drive()
    subjects = [f"sub-{i:02d}" for i in range(1, 5)]
    signals = simulate_roi_signals(drive, atlas, sim, subjects)
    starts = window_starts(N_VOLUMES, WINDOW, STRIDE)
    blocks, targets, subject, start = [], [], [], []
    for s in subjects:
        series = signals.roi_signals[s] - signals.roi_signals[s].mean(axis=0)
        blocks.append(sliding_window_connectivity(series, WINDOW, starts=starts))
        targets.append(window_average(drive, starts, WINDOW))
        subject += [s] * len(starts)
        start.append(starts)
    start = np.concatenate(start)
    edges = np.stack(np.triu_indices(atlas.n_rois, k=1), axis=1)
    data = FeatureSet(
        "dfc",
        np.concatenate(blocks),
        np.concatenate(targets),
        np.array(subject),
        start,
        start + WINDOW,
        roi_labels=np.asarray(atlas.labels),
        roi_networks=np.asarray(atlas.networks),
        edges=edges,
        target_names=EMOTIONS,
    )
    return data, atlas, sim, signals.ground_truth


def _training_window_patterns(data) -> SimpleNamespace:
    """Kernel ridge's activation pattern on its own training windows, averaged over subject folds.

    The importance map the recovery and entropy indices are checked on: each fold is tuned on
    inner folds and fitted once, and its fitted values on the training windows give the pattern.
    """
    grid = ModelGrid()
    patterns = []
    for train, test in LeaveOneSubjectOut(data).split(data.X):
        inner = list(LeaveOneSubjectOut(data).inner(train, 3).split())
        fold = FoldInput(train, np.concatenate([test, train]), inner)
        context = FoldContext(feature_scaling="center")
        with threadpool_limits(limits=1, user_api="blas"):
            out = fit_predict_fold("kernel_ridge_rbf", data.X, data.y, fold, grid, context)
        fitted = out.predictions[len(test) :]
        patterns.append(activation_pattern(data.X[train], fitted) * fitted.std(axis=0, ddof=1))
    return SimpleNamespace(values=np.mean(patterns, axis=0))


@pytest.fixture(scope="module")
def connectivity_patterns():
    data, atlas, sim, truth = _simulated("connectivity")
    imp = _training_window_patterns(data)
    return imp, data, truth


@pytest.fixture(scope="module")
def null_patterns():
    data, atlas, sim, truth = _simulated("none")
    imp = _training_window_patterns(data)
    return imp, data, atlas, sim, truth


def test_recovery_auroc_high_on_connectivity_data(connectivity_patterns):
    imp, data, truth = connectivity_patterns
    auroc = recovery_auroc(imp.values, planted_edge_masks(truth, EMOTIONS), EMOTIONS)
    assert auroc["mean"] > 0.85, auroc


def test_recovery_auroc_near_half_on_null_data(null_patterns):
    imp, data, atlas, sim, truth = null_patterns
    assert all(not e["edges"] for e in truth["emotions"].values())
    masks = candidate_edge_masks(atlas, sim, EMOTIONS)
    assert all(m.sum() == sim.module_size * (sim.module_size - 1) // 2 for m in masks.values())
    auroc = recovery_auroc(imp.values, masks, EMOTIONS)
    assert abs(auroc["mean"] - 0.5) < 0.12, auroc
    nan = recovery_auroc(imp.values, planted_edge_masks(truth, EMOTIONS), EMOTIONS)
    assert np.isnan(nan["fear"])


def test_entropy_on_null_data_inside_label_shuffle_null(null_patterns):
    imp, data, atlas, sim, truth = null_patterns
    strength = node_strength(imp.values, data.edges, atlas.n_rois)
    observed = network_entropy(strength, atlas.networks)
    null = network_entropy_label_null(strength, atlas.networks, 400, seed=1)
    p_low = empirical_p(observed, null, tail="less")
    p_high = empirical_p(observed, null, tail="greater")
    # A null dataset is neither concentrated nor spread beyond chance for most emotions.
    assert np.mean((p_low > 0.025) & (p_high > 0.025)) >= 0.75, (observed, p_low, p_high)
    assert 0.0 < observed.min() and observed.max() <= 1.0


def test_entropy_extremes_and_overlap_known_answers():
    networks = np.array(["a"] * 3 + ["b"] * 3)
    uniform = np.ones((6, 1))
    assert network_entropy(uniform, networks)[0] == pytest.approx(1.0)
    concentrated = np.array([[1.0], [1.0], [1.0], [0.0], [0.0], [0.0]])
    assert network_entropy(concentrated, networks)[0] == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    independent = rng.standard_normal((20000, 4))
    result = overlap_indices(independent, 0.1)
    assert result["mean_jaccard"] == pytest.approx(
        0.1 / 1.9, abs=0.01
    )  # chance Jaccard of two 10% sets
    same = np.repeat(independent[:, :1], 4, axis=1)
    assert overlap_indices(same, 0.1) == {"mean_jaccard": 1.0, "shared_core": 1.0, "specific": 0.0}


def test_p_values_verdicts_and_table():
    null = np.arange(99, dtype=float)
    assert empirical_p(200.0, null) == pytest.approx(1 / 100)
    assert empirical_p(-1.0, null, tail="less") == pytest.approx(1 / 100)
    accounts = VerdictLabels("constructionist", "locationist")
    assert verdict(0.2, 0.01, accounts) == "constructionist"
    assert verdict(-0.2, 0.01, accounts) == "locationist"
    assert verdict(0.2, 0.4, accounts) == "inconclusive"
    assert verdict(0.2, 1 / 6, accounts) == "inconclusive"  # 5 null draws cannot reach 0.05
    table = constructionist_table(
        {"mean_jaccard": {"observed": 0.3, "p_value": 0.02, "favours": "constructionist"}}
    )
    assert isinstance(table, pd.DataFrame) and table["favours"].iloc[0] == "constructionist"
    with pytest.raises(ValueError, match="unknown index"):
        constructionist_table({"mood": {"observed": "", "favours": "neither"}})


def test_keep_top_edges_zeroes_all_but_the_top_fraction():
    from helpers.explain.indices import keep_top_edges

    importance = np.array([[0.1, -5.0], [-3.0, 0.2], [2.0, 0.3], [0.05, 0.4]])
    kept = keep_top_edges(importance, 0.5)
    np.testing.assert_array_equal(kept, [[0.0, 5.0], [3.0, 0.0], [2.0, 0.0], [0.0, 0.4]])


@pytest.fixture(scope="module")
def null_heldout():
    data, atlas, sim, truth = _simulated("none")
    data = dataclasses.replace(data, tr_targets=_drive())
    nulls = NullDraws(60, seed=1, min_shift=20)
    held = heldout_patterns("ridge", data, LeaveOneSubjectOut(data), nulls=nulls)
    return held, data, atlas, sim


def test_heldout_recovery_auroc_near_half_on_null_data(null_heldout):
    held, data, atlas, sim = null_heldout
    masks = candidate_edge_masks(atlas, sim, EMOTIONS)
    auroc = recovery_auroc(held.values, masks, EMOTIONS)
    assert abs(auroc["mean"] - 0.5) < 0.1, auroc
    null = [recovery_auroc(d, masks, EMOTIONS)["mean"] for d in held.null_draws()]
    assert len(null) == 60 and abs(np.mean(null) - 0.5) < 0.05


def test_pattern_indices_on_null_data_sit_inside_their_null(null_heldout):
    held, data, atlas, sim = null_heldout
    where = (data.edges, atlas.n_rois, atlas.networks, 0.05)
    observed = pattern_indices(held.values, *where)
    null = null_pattern_indices(held.null_draws(), *where)
    assert list(null.columns) == list(observed) and len(null) == 60
    for name, value in observed.items():
        test = index_test(value, null[name], above=INDEX_DIRECTIONS[name])
        # one null dataset: the observation lies within the bulk of its null draws (the rate of
        # verdicts over many null datasets is measured by helpers.calibration)
        assert abs(test["z"]) < 3, (name, test)
        assert test["n_null"] == 60


def test_index_test_effect_interval_and_verdict():
    null = np.random.default_rng(0).normal(0.5, 0.1, 400)
    high = index_test(0.9, null, above="constructionist")
    assert high["favours"] == "constructionist" and high["ci_low"] > 0
    assert high["effect"] == pytest.approx(0.9 - null.mean())
    assert high["z"] == pytest.approx(high["effect"] / null.std(ddof=1))
    assert index_test(0.1, null, above="constructionist")["favours"] == "locationist"
    assert index_test(0.9, null, above="locationist")["favours"] == "locationist"
    middle = index_test(0.52, null, above="constructionist")
    assert middle["favours"] == "inconclusive" and middle["p_value"] > 0.5
    # 20 draws cannot reach 0.05 two-sided: never a verdict
    assert index_test(5.0, null[:20], above="constructionist")["favours"] == "inconclusive"
    with pytest.raises(ValueError, match="above"):
        index_test(0.5, null, above="both")
    with pytest.raises(ValueError, match="null draws"):
        index_test(0.5, [np.nan, 1.0], above="locationist")


def test_lono_concentration_and_lesion_index_known_answers():
    assert lono_concentration(np.array([0.3, 0.1, -0.2, 0.0])) == pytest.approx(0.75)
    assert lono_concentration(np.array([[0.1, 0.1], [0.0, -1.0]]))[0] == pytest.approx(0.5)
    assert lono_concentration(np.array([[0.1, 0.1], [0.0, -1.0]]))[1] == 0.0  # nothing hurts
    undefined = index_test(float("nan"), np.linspace(0, 1, 50), above="locationist")
    assert np.isnan(undefined["p_value"]) and undefined["favours"] == "inconclusive"
    rows = [{"lesion": "x", "emotion": e, "drop": d} for e, d in (("a", 0.5), ("b", 0.1))]
    drops = pd.DataFrame(rows + [{"lesion": "x", "emotion": "mean", "drop": 0.3}])
    null = pd.DataFrame(
        [{"lesion": "x", "emotion": "a", "draw": k, "drop": v} for k, v in enumerate([0, 0.2])]
    )
    statistic, null_statistic = lesion_index(drops, null)
    sd = np.std([0, 0.2], ddof=1)
    assert statistic == pytest.approx((0.5 - 0.1) / sd)
    assert null_statistic == pytest.approx([-0.1 / sd, 0.1 / sd])


def test_top_edge_masks_match_top_edge_indices_with_ties():
    rng = np.random.default_rng(1)
    values = rng.integers(-3, 4, size=(200, 3)).astype(float)
    masks = top_edge_masks(values, 0.07)
    for j in range(3):
        assert np.flatnonzero(masks[:, j]).tolist() == top_edge_indices(values[:, j], 0.07).tolist()


def test_rank_auroc_equals_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    score = rng.integers(0, 6, 300).astype(float)
    mask = rng.random(300) < 0.1
    assert rank_auroc(score, mask) == pytest.approx(roc_auc_score(mask, score))
    assert np.isnan(rank_auroc(score, np.zeros(300, bool)))
    many = rng.random(300) < 0.5  # more than 64 positives: the sorted route
    assert rank_auroc(score, many) == pytest.approx(roc_auc_score(many, score))

"""Activation patterns, grouped permutation importance and lesions on synthetic data with known answers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from helpers.decoding.crossval import CVOptions, cross_validate_model
from helpers.decoding.kernels import FoldKernels
from helpers.decoding.nulls import null_window_table
from helpers.decoding.splits import LeaveOneSubjectOut
from helpers.explain.heldout import (
    ExplainOptions,
    NullDraws,
    explained_model,
    fold_pattern,
    heldout_patterns,
)
from helpers.explain.inputs import (
    network_blocks,
    network_pair_blocks,
    roi_set_block,
    thinned_rows,
)
from helpers.explain.lesions import (
    EdgeGrams,
    _roi_lesion_scores,
    lesion_drops,
    lesion_null_drops,
    roi_lesions_with_null,
)
from helpers.explain.patterns import activation_pattern
from helpers.explain.permutation import block_permutation_importance
from helpers.features import FeatureSet


def test_haufe_pattern_recovers_signal_where_weights_mislead():
    # x1 = signal + distractor, x2 = distractor, y = signal. The best decoder is w = (1, -1): the
    # distractor-only channel gets a large weight, but its activation pattern is 0.
    rng = np.random.default_rng(0)
    signal = rng.standard_normal(5000)
    signal -= signal.mean()
    distractor = 2.0 * rng.standard_normal(5000)
    distractor -= distractor.mean()
    distractor -= signal * (distractor @ signal) / (signal @ signal)  # sample-uncorrelated
    X = np.stack([signal + distractor, distractor], axis=1)
    decoder = LinearRegression().fit(X, signal)
    assert decoder.coef_ == pytest.approx([1.0, -1.0], abs=1e-8)
    pattern = activation_pattern(X, decoder.predict(X))
    assert pattern == pytest.approx([1.0, 0.0], abs=1e-8)
    # joint = per-target when the outputs are one; chunking changes nothing
    assert activation_pattern(X, decoder.predict(X)[:, None], joint=True)[:, 0] == pytest.approx(
        pattern
    )
    assert activation_pattern(X, decoder.predict(X), chunk_features=1) == pytest.approx(pattern)
    with pytest.raises(ValueError, match="one row per sample"):
        activation_pattern(X, signal[:10])


CENTRED = ExplainOptions(feature_scaling="center")
"""The explanation options of the chapters: features centred on each training fold."""


def _toy_data(seed: int = 0, n_subjects: int = 4, n_per: int = 60) -> FeatureSet:
    """Two 'networks' of 5 ROIs each -> 45 edges; targets are driven by edges of network A only."""
    rng = np.random.default_rng(seed)
    n_rois = 10
    edges = np.stack(np.triu_indices(n_rois, k=1), axis=1)
    n = n_subjects * n_per
    X = rng.standard_normal((n, len(edges))).astype(np.float32)
    networks = np.array(["A"] * 5 + ["B"] * 5)
    in_a = np.flatnonzero((networks[edges[:, 0]] == "A") & (networks[edges[:, 1]] == "A"))
    y = np.stack(
        [X[:, in_a[:3]].sum(axis=1), X[:, in_a[3:6]].sum(axis=1)], axis=1
    ) + 0.3 * rng.standard_normal((n, 2))
    subject = np.repeat([f"sub-{i:02d}" for i in range(n_subjects)], n_per)
    start = np.tile(np.arange(n_per), n_subjects)
    return FeatureSet(
        "dfc",
        X,
        y,
        subject,
        start,
        start + 1,
        roi_labels=np.array([f"r{k}" for k in range(n_rois)]),
        roi_networks=networks,
        edges=edges,
        target_names=("e1", "e2"),
    )


def test_heldout_patterns_find_the_driving_edges():
    data = _toy_data()
    splitter = LeaveOneSubjectOut(data)
    imp = heldout_patterns("ridge", data, splitter, options=ExplainOptions()).importance
    assert imp.method == "held-out haufe" and imp.values.shape == (45, 2)
    top = np.argsort(-np.abs(imp.values[:, 0]))[:3]
    network_a = np.flatnonzero((data.edges < 5).all(axis=1))
    assert set(top) == set(network_a[:3])
    assert imp.cv.scores()["r"].iloc[-1] > 0.8


def test_permutation_importance_fast_path_and_blocks():
    data = _toy_data(1)
    splitter = LeaveOneSubjectOut(data)
    blocks = network_pair_blocks(data.edges, data.roi_networks)
    assert sorted(np.concatenate(list(blocks.values())).tolist()) == list(range(45))
    for model in ("kernel_ridge_rbf", "svr_rbf", "random_forest"):
        table = block_permutation_importance(
            model, data, splitter, blocks, n_repeats=3, options=CENTRED
        )
        by_block = table.groupby("block")["importance"].mean()
        assert by_block["A|A"] > 0.2, model
        assert abs(by_block["B|B"]) < 0.1, model
    # unpermuted predictions of the rebuilt kernel model equal the regression module's
    direct = cross_validate_model(
        data, "kernel_ridge_rbf", CVOptions(splitter=splitter, feature_scaling="center")
    )
    table = block_permutation_importance(
        "kernel_ridge_rbf", data, splitter, blocks, n_repeats=1, options=CENTRED
    )
    assert table["r_full"].iloc[:2].to_numpy() == pytest.approx(
        direct.scores()["r_pooled"].iloc[:2].to_numpy(), abs=1e-6
    )


def test_lesion_kernel_subtraction_equals_refit():
    data = _toy_data(2)
    splitter = LeaveOneSubjectOut(data)
    lesions = network_blocks(data.edges, data.roi_networks)
    table = lesion_drops(
        "ridge", data, splitter, lesions, options=ExplainOptions(feature_scaling="standard")
    )
    keep = np.setdiff1d(np.arange(45), lesions["A"])
    refit = cross_validate_model(
        data.with_features(data.X[:, keep]),
        "ridge",
        CVOptions(splitter=splitter, feature_scaling="standard"),
    )
    lesioned = table[(table.lesion == "A")].set_index("emotion")["r_lesioned"]
    assert lesioned["mean"] == pytest.approx(refit.scores()["r"].iloc[-1], abs=1e-6)
    assert table[(table.lesion == "A") & (table.emotion == "mean")]["drop"].iloc[0] > 0.5
    assert abs(table[(table.lesion == "B") & (table.emotion == "mean")]["drop"].iloc[0]) < 0.05


def test_blocks_and_thinning():
    edges = np.stack(np.triu_indices(4, k=1), axis=1)
    assert roi_set_block(edges, [0]).tolist() == [0, 1, 2]
    assert roi_set_block(None, [2, 1]).tolist() == [1, 2]
    with pytest.raises(ValueError, match="empty"):
        roi_set_block(edges, [])
    blocks = network_blocks(edges, ["a", "a", "b", "c"])
    assert blocks["b"].tolist() == [1, 3, 5]
    subject = np.repeat(["s1", "s2"], 10)
    start = np.tile(np.arange(10)[::-1], 2)
    rows = thinned_rows(subject, start, 3)
    assert sorted(start[rows[:4]].tolist()) == [0, 3, 6, 9]
    with pytest.raises(ValueError, match="stride"):
        thinned_rows(subject, start, 0)
    with pytest.raises(ValueError, match="feature_scaling"):
        FoldKernels(np.zeros((3, 2)), [], "minmax")


def _with_tr_targets(data: FeatureSet, seed: int = 0) -> FeatureSet:
    """The toy data with smooth TR-level series to draw circular-shift null targets from."""
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((80, data.y.shape[1]))
    smooth = np.stack([np.convolve(c, np.hanning(9), mode="same") for c in raw.T], axis=1)
    return dataclasses.replace(data, stop=data.start + 2, window={"length": 2}, tr_targets=smooth)


def test_heldout_patterns_find_the_driving_edges_on_test_windows():
    data = _toy_data(3)
    splitter = LeaveOneSubjectOut(data)
    held = heldout_patterns("ridge", data, splitter, options=ExplainOptions())
    assert held.values.shape == (45, 2) and held.importance.method == "held-out haufe"
    top = np.argsort(-np.abs(held.values[:, 0]))[:3]
    network_a = np.flatnonzero((data.edges < 5).all(axis=1))
    assert set(top) == set(network_a[:3])
    # the fold pattern is Haufe's covariance of test features with test predictions, per sd
    train, test = next(iter(splitter.split(data.X)))
    pred = held.importance.cv.predictions[test]
    expected = activation_pattern(data.X[test], pred) * pred.std(axis=0, ddof=1)
    assert fold_pattern(data.X[test], pred, np.ones(45)) == pytest.approx(expected, abs=1e-5)
    assert held.importance.cv.scores()["r"].iloc[-1] > 0.8
    assert list(held.null_draws()) == []


@pytest.mark.parametrize("model", ["ridge", "kernel_ridge_rbf", "cpm"])
def test_null_draw_patterns_equal_a_refit_on_that_null_target(model):
    data = _with_tr_targets(_toy_data(4))
    splitter = LeaveOneSubjectOut(data)
    held = heldout_patterns(model, data, splitter, nulls=NullDraws(4, seed=2, min_shift=5))
    draws = list(held.null_draws(chunk=3))
    assert len(draws) == 4 and draws[0].shape == (45, 2)
    table, window_of_sample = null_window_table(data, 4, "phase_randomization", 2, 5)
    width = data.y.shape[1]
    targets = [table[:, k * width : (k + 1) * width][window_of_sample] for k in range(4)]
    for d in (0, 3):
        refit = heldout_patterns(model, dataclasses.replace(data, y=targets[d]), splitter)
        assert draws[d] == pytest.approx(refit.values, abs=1e-4), (model, d)
    assert not np.allclose(draws[0], held.values)


def test_roi_lesions_fast_route_equals_refit_and_edge_grams_add_up():
    data = _toy_data(5)
    splitter = LeaveOneSubjectOut(data)
    sets = {"a": np.array([0, 1]), "b": np.array([7, 9])}
    options = ExplainOptions()
    fast = _roi_lesion_scores("ridge", data, splitter, sets, options)
    blocks = {name: roi_set_block(data.edges, rois) for name, rois in sets.items()}
    slow = lesion_drops("ridge", data, splitter, blocks, options=CENTRED)
    wide = slow.pivot(index="lesion", columns="emotion", values="r_lesioned")
    assert fast.to_numpy() == pytest.approx(wide.loc[["a", "b"], ["e1", "e2"]].to_numpy(), abs=1e-6)
    cpm = _roi_lesion_scores("cpm", data, splitter, sets, options)  # shared correlations
    assert list(cpm.index) == ["a", "b"] and list(cpm.columns) == ["e1", "e2"]
    assert cpm.loc["b"].min() > cpm.loc["a"].max()  # ROIs 0 and 1 carry network A's signal
    refit = lesion_drops(
        "cpm", data, splitter, blocks, options=ExplainOptions(feature_scaling="standard")
    )
    wide = refit.pivot(index="lesion", columns="emotion", values="r_lesioned")
    assert cpm.to_numpy() == pytest.approx(wide.loc[["a", "b"], ["e1", "e2"]].to_numpy(), abs=1e-6)
    grams = EdgeGrams(data.X, data.edges, 10)
    block = data.X[:, blocks["b"]].astype(float)
    assert grams.gram(sets["b"]) == pytest.approx(block @ block.T, rel=1e-4, abs=1e-3)
    baseline = heldout_patterns("ridge", data, splitter, options=options).importance.cv
    drops, null = roi_lesions_with_null(
        data,
        splitter,
        {"a": sets["a"]},
        baseline=baseline,
        random_sets=NullDraws(5),
        options=options,
    )
    assert set(null["draw"]) == set(range(5)) and (null.lesion == "a").all()
    assert drops.set_index("emotion").loc["mean", "drop"] > 0.3  # network A carries the signal


def test_cpm_network_lesions_with_nulls_equal_refits_without_the_network():
    data = _with_tr_targets(_toy_data(6))
    splitter = LeaveOneSubjectOut(data)
    blocks = network_blocks(data.edges, data.roi_networks)
    observed, null = lesion_null_drops(
        "cpm", data, splitter, blocks, nulls=NullDraws(3, seed=1), options=ExplainOptions()
    )
    options = CVOptions(splitter=splitter, n_permutations=3, seed=1, inner_splits=3)
    full = cross_validate_model(data, "cpm", options)
    for name, columns in blocks.items():
        keep = np.setdiff1d(np.arange(data.X.shape[1]), columns)
        refit = cross_validate_model(data.with_features(data.X[:, keep]), "cpm", options)
        drop = full.scores()["r"].iloc[-1] - refit.scores()["r"].iloc[-1]
        assert observed[name] == pytest.approx(drop, abs=1e-6)
        null_drop = full.null_r.mean(axis=1) - refit.null_r.mean(axis=1)
        assert null[name].to_numpy() == pytest.approx(null_drop, abs=1e-6)


def test_explained_model_and_options_refuse_bad_input():
    assert explained_model(["cpm", "ridge"]) == "cpm"
    assert explained_model(["random_forest", "ridge", "cpm"]) == "ridge"
    assert explained_model(["random_forest", "cpm"]) == "cpm"
    assert explained_model(["random_forest"]) == "random_forest"
    with pytest.raises(ValueError, match="empty"):
        explained_model([])
    with pytest.raises(ValueError, match="feature_scaling"):
        ExplainOptions(feature_scaling="zscore")
    with pytest.raises(ValueError, match="at least 3 test samples"):
        fold_pattern(np.ones((2, 3)), np.ones(2), np.ones(3))


def test_settings_come_as_one_options_object():
    data = _toy_data(6)
    splitter = LeaveOneSubjectOut(data)
    lesions = network_blocks(data.edges, data.roi_networks)
    default = lesion_drops("ridge", data, splitter, lesions)
    assert default.equals(lesion_drops("ridge", data, splitter, lesions, options=CENTRED))
    with pytest.raises(TypeError, match="feature_scaling"):
        lesion_drops("ridge", data, splitter, lesions, feature_scaling="center")
    blocks = network_pair_blocks(data.edges, data.roi_networks)
    with pytest.raises(TypeError, match="inner_splits"):
        block_permutation_importance("ridge", data, splitter, blocks, inner_splits=4)

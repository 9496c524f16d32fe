"""Sliding-window connectivity and the feature sets, checked against straightforward references."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from helpers.config import params_from_dict
from helpers.features import (
    R_CLIP,
    Z_MAX,
    ConstantWindowWarning,
    FeatureSet,
    RunWindows,
    build_feature_sets,
    edge_pairs,
    edge_target_correlations,
    effective_length,
    network_pair_matrix,
    network_pair_summary,
    phase_randomize,
    sliding_window_connectivity,
    spurious_fluctuation,
    window_average,
    window_centre_values,
    window_starts,
    window_weights,
    windowed_connectivity,
)
from helpers.study import EMOTIONS, N_VOLUMES


def reference_dfc(x: np.ndarray, length: int, starts, fisher: bool = True) -> np.ndarray:
    """The obvious loop: np.corrcoef per window, upper triangle, arctanh."""
    rows, cols = np.triu_indices(x.shape[1], k=1)
    out = []
    for s in starts:
        r = np.corrcoef(x[s : s + length].T)[rows, cols]
        out.append(np.arctanh(r) if fisher else r)
    return np.array(out)


def reference_weighted_dfc(x: np.ndarray, weights: np.ndarray, starts) -> np.ndarray:
    """Weighted Pearson per window via np.cov(aweights=...), then arctanh."""
    rows, cols = np.triu_indices(x.shape[1], k=1)
    length = len(weights)
    out = []
    for s in starts:
        cov = np.cov(x[s : s + length].T.astype(float), aweights=weights)
        sd = np.sqrt(np.diag(cov))
        out.append(np.arctanh((cov / np.outer(sd, sd))[rows, cols]))
    return np.array(out)


@pytest.fixture
def random_series() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((150, 30)).astype(np.float32)


@pytest.fixture
def strongly_correlated_series() -> np.ndarray:
    """ROIs sharing one factor with tiny noise (|r| up to ~0.9999) plus anticorrelated copies."""
    rng = np.random.default_rng(2)
    factor = rng.standard_normal((150, 1))
    noise_levels = np.geomspace(1e-2, 1.0, 12)
    base = factor + noise_levels * rng.standard_normal((150, 12))
    return np.concatenate(
        [base, -base[:, :6] + 0.003 * rng.standard_normal((150, 6))], axis=1
    ).astype(np.float32)


# ------------------------------------------------------------------------- correctness
@pytest.mark.parametrize("length,step", [(12, 1), (20, 3), (3, 7)])
def test_matches_reference_loop_on_random_data(random_series, length, step):
    starts = np.arange(0, len(random_series) - length + 1, step)
    expected = reference_dfc(random_series.astype(float), length, starts)
    got = sliding_window_connectivity(random_series, length, step)
    assert got.dtype == np.float32
    assert got.shape == (len(starts), 30 * 29 // 2)
    # 3-volume windows reach |r| > R_CLIP: there z is capped at +-Z_MAX by design.
    clipped = np.abs(np.tanh(expected)) > R_CLIP
    assert np.abs(got[~clipped] - expected[~clipped]).max() < 1e-5
    assert np.allclose(got[clipped], np.sign(expected[clipped]) * Z_MAX, atol=1e-5)


def test_two_volume_windows_are_clipped_not_infinite(random_series):
    # Two points always correlate perfectly: r = +-1 is clipped to +-R_CLIP.
    got = sliding_window_connectivity(random_series, 2)
    assert np.isfinite(got).all()
    assert np.allclose(np.abs(got), Z_MAX, atol=1e-4)


def test_matches_reference_loop_on_strong_correlations(strongly_correlated_series):
    expected = reference_dfc(strongly_correlated_series.astype(float), 12, range(150 - 11))
    assert np.abs(np.tanh(expected)).max() > 0.9999  # the hard regime is really tested
    got = sliding_window_connectivity(strongly_correlated_series, 12)
    assert np.abs(got - expected).max() < 1e-5


def test_correlations_without_fisher(random_series):
    got = sliding_window_connectivity(random_series, 15, 5, fisher=False)
    expected = reference_dfc(random_series.astype(float), 15, range(0, 136, 5), fisher=False)
    assert np.abs(got - expected).max() < 1e-6


def test_edge_order_is_upper_triangle_row_major():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 40))
    # ROI 1 copies ROI 0, ROI 2 is its negative, ROI 3 is unrelated noise.
    x = np.stack([a, a, -a, b], axis=1)
    z = sliding_window_connectivity(x, 40)[0]
    assert edge_pairs(4).tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert z[0] == pytest.approx(Z_MAX, abs=1e-4)  # (0, 1)
    assert z[1] == pytest.approx(-Z_MAX, abs=1e-4)  # (0, 2)
    assert z[3] == pytest.approx(-Z_MAX, abs=1e-4)  # (1, 2)
    assert z[2] == pytest.approx(np.arctanh(np.corrcoef(a, b)[0, 1]), abs=1e-6)  # (0, 3)
    assert np.isfinite(z).all() and Z_MAX == pytest.approx(np.arctanh(R_CLIP))


def test_writes_into_preallocated_rows(random_series):
    big = np.full((300, 435), np.nan, dtype=np.float32)
    view = big[100:239]
    returned = windowed_connectivity(random_series, RunWindows(12, out=view))
    assert returned is view
    assert np.isnan(big[:100]).all() and np.isnan(big[239:]).all() and np.isfinite(view).all()
    with pytest.raises(ValueError, match="out must be float32 of shape"):
        windowed_connectivity(random_series, RunWindows(12, out=np.empty((139, 435))))


# ---------------------------------------------------------------------------- tapering
def test_tapered_weights_shape_and_limits():
    weights = window_weights(12, "tapered", 3.0)
    assert weights.sum() == pytest.approx(1.0)
    assert np.allclose(weights, weights[::-1])
    assert weights[0] < weights[5] and np.all(np.diff(weights[:6]) >= 0)
    rectangular = window_weights(12)
    assert np.allclose(window_weights(12, "tapered", 0.05), rectangular)
    assert np.allclose(window_weights(12, "tapered", 1e4), rectangular, rtol=1e-5)
    assert effective_length(rectangular) == pytest.approx(12.0)
    assert 6 < effective_length(weights) < 12
    with pytest.raises(ValueError, match="allowed: rectangular, tapered"):
        window_weights(12, "hann")


def test_tapered_matches_weighted_pearson(random_series):
    weights = window_weights(12, "tapered", 3.0)
    got = sliding_window_connectivity(random_series, 12, 2, shape="tapered")
    expected = reference_weighted_dfc(random_series, weights, range(0, 139, 2))
    assert np.abs(got - expected).max() < 1e-5
    plain = sliding_window_connectivity(random_series, 12, 2)
    assert np.abs(got - plain).max() > 1e-3  # the taper does change the estimate
    given = sliding_window_connectivity(random_series, 12, 2, shape=weights * 7.0)
    assert np.array_equal(given, got)  # weights are normalised; the default sigma is 3 TR
    with pytest.raises(ValueError, match="window weights must be 12 non-negative numbers"):
        sliding_window_connectivity(random_series, 12, 2, shape=np.ones(5))


# ---------------------------------------------------------------------- constant and bad input
def test_constant_roi_gives_zero_and_one_warning(random_series):
    x = random_series.copy()
    x[30:60, 4] = 2.5  # ROI 4 flat for 30 volumes: windows starting 30..48 see no variance
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = RunWindows(12, subject="sub-18", roi_labels=[f"r{i}" for i in range(30)])
        z = windowed_connectivity(x, run)
    constant = [w for w in caught if issubclass(w.category, ConstantWindowWarning)]
    assert len(constant) == 1
    message = str(constant[0].message)
    assert "sub-18" in message and "19 of 139 windows" in message and "ROI 4 (r4)" in message
    assert np.isfinite(z).all()
    edges = edge_pairs(30)
    touches = (edges == 4).any(axis=1)
    assert np.all(z[30:49][:, touches] == 0)
    with np.errstate(invalid="ignore"):
        expected = reference_dfc(x.astype(float), 12, range(139))
    assert np.abs(z[:, ~touches] - expected[:, ~touches]).max() < 1e-5
    assert np.abs(z[:30] - expected[:30]).max() < 1e-5


def test_bad_inputs_are_named(random_series):
    with pytest.raises(ValueError, match="longer than the run"):
        sliding_window_connectivity(random_series, 151)
    with pytest.raises(ValueError, match="step must be an integer of at least 1"):
        sliding_window_connectivity(random_series, 12, step=0)
    with pytest.raises(ValueError, match="length must be an integer of at least 2"):
        sliding_window_connectivity(random_series, 1)
    with pytest.raises(ValueError, match="2-D"):
        sliding_window_connectivity(random_series[:, 0], 12)
    with pytest.raises(ValueError, match="starts must lie in"):
        sliding_window_connectivity(random_series, 12, starts=[0, 140])
    x = random_series.copy()
    x[10:13, 7] = np.nan
    labels = [f"roi{i}" for i in range(30)]
    with pytest.raises(ValueError, match=r"sub-22: .*NaN.*ROI 7 \(roi7\) \(3 of 150 volumes\)"):
        windowed_connectivity(x, RunWindows(12, subject="sub-22", roi_labels=labels))


# ---------------------------------------------------------------------------- anchors
def test_paper_anchors_count_and_ends():
    starts = window_starts(N_VOLUMES, 12, anchors="paper")
    # 273 anchors at 26..746 s, 269 distinct; those at or before 720 s leave room for 12 TR.
    assert len(starts) == 258
    assert starts[0] == 13 and starts[-1] == 360
    assert np.all(np.diff(starts) > 0) and starts[-1] + 12 <= N_VOLUMES
    shifted = window_starts(N_VOLUMES, 12, anchors="paper", stimulus_onset=0.657)
    assert shifted[0] == 14 and shifted[-1] == 360 and len(shifted) == 257


def test_anchor_conversion_rules():
    starts = window_starts(
        20, 5, anchors="paper", anchor_times=np.array([0.0, 2.0, 2.0, 3.0, 30.0, 32.0])
    )
    # 3 s -> volume 2 (first at or after); 30 s -> volume 15 ends at 20; 32 s would end past 20
    assert starts.tolist() == [0, 1, 2, 15]
    assert window_starts(20, 5, step=4).tolist() == [0, 4, 8, 12]
    with pytest.raises(ValueError, match="longer than the run"):
        window_starts(20, 21)
    with pytest.raises(ValueError, match="allowed: tr, paper"):
        window_starts(20, 5, anchors="seconds")


# ---------------------------------------------------------------------------- targets
def test_window_mean_and_centre_targets():
    t = np.arange(30, dtype=float)
    values = np.stack([t, t**2], axis=1)
    starts = np.array([0, 5, 18])
    mean = window_average(values, starts, 12)
    assert np.allclose(mean[:, 0], starts + 5.5)
    assert np.allclose(mean[:, 1], [np.mean(np.arange(s, s + 12) ** 2) for s in starts])
    centre_even = window_centre_values(values, starts, 12)
    assert np.allclose(centre_even[:, 1], ((starts + 5) ** 2 + (starts + 6) ** 2) / 2)
    centre_odd = window_centre_values(values, starts, 11)
    assert np.allclose(centre_odd[:, 0], starts + 5)
    tapered = window_average(values, starts, 12, window_weights(12, "tapered"))
    assert np.allclose(tapered[:, 0], starts + 5.5)  # symmetric weights keep a ramp's mean


# ---------------------------------------------------------------------------- feature sets
def _roi_data(n_subjects: int = 3, n_rois: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    timeseries = {
        f"sub-{18 + k}": rng.standard_normal((N_VOLUMES, n_rois)).astype(np.float32)
        for k in range(n_subjects)
    }
    atlas = SimpleNamespace(
        labels=[f"roi{i}" for i in range(n_rois)], networks=["A"] * 5 + ["B"] * (n_rois - 5)
    )
    return SimpleNamespace(timeseries=timeseries, atlas=atlas)


def _targets(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.uniform(0, 1, (N_VOLUMES, 8)), columns=list(EMOTIONS))


def test_build_feature_sets_shapes_alignment_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALICE_DATA_HOME", str(tmp_path))
    params = params_from_dict({"window": {"length": 12, "step": 2}})
    roi_data, targets = _roi_data(), _targets()
    sets = build_feature_sets(params, roi_data, targets)
    assert set(sets) == {"roi", "roi_window", "dfc"}
    n_windows = len(range(0, N_VOLUMES - 11, 2))
    dfc, roi, roi_window = sets["dfc"], sets["roi"], sets["roi_window"]
    assert isinstance(dfc, FeatureSet)
    assert dfc.X.shape == (3 * n_windows, 66) and dfc.X.dtype == np.float32
    assert roi.X.shape == (3 * N_VOLUMES, 12) and roi_window.X.shape == (3 * n_windows, 12)
    assert dfc.subjects() == ["sub-18", "sub-19", "sub-20"]
    assert np.all(dfc.stop - dfc.start == 12) and np.all(roi.stop - roi.start == 1)
    # second subject's third window starts at volume 4
    row = n_windows + 2
    assert dfc.subject[row] == "sub-19" and dfc.start[row] == 4
    series = roi_data.timeseries["sub-19"]
    assert np.allclose(dfc.X[row], reference_dfc(series.astype(float), 12, [4])[0], atol=1e-5)
    assert np.allclose(roi_window.X[row], series[4:16].mean(axis=0), atol=1e-6)
    assert np.allclose(dfc.y[row], targets.to_numpy()[4:16].mean(axis=0))
    assert np.array_equal(roi.y[N_VOLUMES : 2 * N_VOLUMES], targets.to_numpy())
    assert dfc.feature_names[0] == "roi0|roi1" and len(dfc.feature_names) == 66
    assert dfc.target_names == EMOTIONS

    cached = build_feature_sets(params, roi_data, targets)
    assert np.array_equal(cached["dfc"].X, dfc.X) and np.array_equal(
        cached["dfc"].subject, dfc.subject
    )
    assert len(list((tmp_path / "cache" / "features").iterdir())) == 3
    changed = _roi_data(seed=1)
    build_feature_sets(params, changed, targets)
    assert len(list((tmp_path / "cache" / "features").iterdir())) == 6  # new inputs, new cache

    centre = params_from_dict(
        {"window": {"length": 12, "step": 2, "target": "centre"}, "features": ["dfc"]}
    )
    by_centre = build_feature_sets(centre, roi_data, targets, use_cache=False)["dfc"]
    assert np.allclose(by_centre.y[row], targets.to_numpy()[9:11].mean(axis=0))


def test_damaged_feature_cache_is_named_and_rebuilt(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ALICE_DATA_HOME", str(tmp_path))
    params = params_from_dict({"window": {"length": 12, "step": 2}, "features": ["dfc"]})
    roi_data, targets = _roi_data(), _targets()
    first = build_feature_sets(params, roi_data, targets)["dfc"].X.copy()
    [x_file] = list((tmp_path / "cache" / "features").glob("*/X.npy"))
    with open(x_file, "r+b") as handle:  # 400 random bytes in the middle of the matrix
        handle.seek(x_file.stat().st_size // 2)
        handle.write(np.random.default_rng(0).bytes(400))
    again = build_feature_sets(params, roi_data, targets)["dfc"].X
    assert "X.npy" in capsys.readouterr().err
    np.testing.assert_array_equal(again, first)


def test_network_pair_features_are_cached_with_their_names(tmp_path, monkeypatch):
    monkeypatch.setenv("ALICE_DATA_HOME", str(tmp_path))
    params = params_from_dict(
        {"window": {"length": 12, "step": 2}, "features": ["dfc", "dfc_networks"]}
    )
    sets = build_feature_sets(params, _roi_data(), _targets())
    networks = sets["dfc_networks"]
    assert networks.X.shape[1] == 3 and networks.feature_names == ["A|A", "A|B", "B|B"]
    a = np.asarray(sets["dfc"].edges)
    within_a = (a < 5).all(axis=1)
    np.testing.assert_allclose(networks.X[:, 0], sets["dfc"].X[:, within_a].mean(axis=1), atol=1e-6)


def test_paper_anchors_follow_each_subjects_audio_onset():
    params = params_from_dict({"window": {"anchors": "paper"}, "features": ["dfc", "roi_window"]})
    roi_data = _roi_data(n_subjects=2, n_rois=5)
    roi_data.runs = [
        SimpleNamespace(subject="sub-18", stimulus_onset=0.0),
        SimpleNamespace(subject="sub-19", stimulus_onset=0.657),
    ]
    sets = build_feature_sets(params, roi_data, _targets(), use_cache=False)
    dfc = sets["dfc"]
    first = dfc.start[dfc.subject == "sub-18"]
    second = dfc.start[dfc.subject == "sub-19"]
    assert (len(first), first[0]) == (258, 13) and (len(second), second[0]) == (257, 14)
    assert np.array_equal(sets["roi_window"].start, dfc.start)


def test_build_feature_sets_rejects_mismatches():
    params = params_from_dict({"features": ["dfc"]})
    roi_data = _roi_data(n_subjects=1)
    with pytest.raises(ValueError, match="do not match 100 target volumes"):
        build_feature_sets(params, roi_data, _targets().iloc[:100], use_cache=False)
    roi_data.timeseries["sub-18"][5, 3] = np.nan
    with pytest.raises(ValueError, match=r"sub-18: .*ROI 3 \(roi3\)"):
        build_feature_sets(params, roi_data, _targets(), use_cache=False)


# ---------------------------------------------------------------------------- summaries
def test_edge_target_correlations_and_network_pairs():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((80, 6))
    y = rng.standard_normal((80, 2))
    r = edge_target_correlations(X, y, chunk_features=4)
    assert np.allclose(r[:, 0], [np.corrcoef(X[:, k], y[:, 0])[0, 1] for k in range(6)])
    groups = np.repeat([0, 1], 40)
    by_group = edge_target_correlations(X, y, groups)
    expected = np.mean(
        [np.corrcoef(X[g * 40 : g * 40 + 40, 2], y[g * 40 : g * 40 + 40, 1])[0, 1] for g in (0, 1)]
    )
    assert by_group[2, 1] == pytest.approx(expected)

    edges = edge_pairs(4)  # ROIs 0, 1 in "Vis"; 2, 3 in "DMN"
    values = np.arange(6, dtype=float)  # (0,1)=0 (0,2)=1 (0,3)=2 (1,2)=3 (1,3)=4 (2,3)=5
    summary = network_pair_summary(values, edges, ["Vis", "Vis", "DMN", "DMN"], columns=["joy"])
    assert summary.loc[("Vis", "Vis"), "joy"] == 0
    assert summary.loc[("DMN", "DMN"), "joy"] == 5
    assert summary.loc[("DMN", "Vis"), "joy"] == pytest.approx(2.5)
    assert summary["n_edges"].tolist() == [1, 4, 1]
    matrix = network_pair_matrix(summary, "joy")
    assert matrix.loc["Vis", "DMN"] == matrix.loc["DMN", "Vis"] == pytest.approx(2.5)


# ---------------------------------------------------------------------------- null model
def test_phase_randomisation_keeps_spectrum_and_static_correlation(strongly_correlated_series):
    x = strongly_correlated_series[:148].astype(float)
    surrogate = phase_randomize(x, seed=7)
    assert surrogate.shape == x.shape
    assert np.allclose(
        np.abs(np.fft.rfft(surrogate, axis=0)), np.abs(np.fft.rfft(x, axis=0)), atol=1e-8
    )
    assert np.allclose(np.corrcoef(surrogate.T), np.corrcoef(x.T), atol=1e-10)
    assert np.allclose(surrogate.mean(axis=0), x.mean(axis=0))
    assert np.abs(surrogate - x).max() > 0.1
    assert np.array_equal(phase_randomize(x, seed=7), surrogate)
    odd = phase_randomize(x[:147], seed=1)
    assert np.allclose(np.corrcoef(odd.T), np.corrcoef(x[:147].T), atol=1e-10)


def test_spurious_fluctuation_separates_dynamic_from_stationary_coupling():
    rng = np.random.default_rng(11)
    n, p = 372, 6
    # Stationary: independent noise. Dynamic: ROI pairs coupled in alternating 60-TR blocks.
    stationary = [rng.standard_normal((n, p)) for _ in range(2)]
    dynamic = []
    for _ in range(2):
        x = rng.standard_normal((n, p))
        on = (np.arange(n) // 60) % 2 == 0
        x[on, 1] = 0.95 * x[on, 0] + 0.3 * x[on, 1]
        x[on, 3] = 0.95 * x[on, 2] + 0.3 * x[on, 3]
        dynamic.append(x)
    lengths = [10, 40]
    null_table = spurious_fluctuation(stationary, lengths, n_surrogates=8, n_rois=None, seed=0)
    dyn_table = spurious_fluctuation(dynamic, lengths, n_surrogates=8, n_rois=None, seed=0)
    assert list(null_table.columns[:3]) == ["length", "effective_length", "real_std"]
    assert np.all(np.abs(null_table["ratio"] - 1) < 0.15)
    assert (
        null_table["real_std"].iloc[0] > null_table["real_std"].iloc[1]
    )  # short windows fluctuate more
    assert dyn_table["ratio"].iloc[1] > 1.2 and dyn_table["p_value"].iloc[1] == pytest.approx(1 / 9)


def test_network_features_average_the_edges_of_each_network_pair() -> None:
    from helpers.data.atlases import load_atlas
    from helpers.features import network_averaging, network_connectivity

    atlas = load_atlas("seitzman300")
    edges = edge_pairs(atlas.n_rois)
    matrix, labels = network_averaging(edges, atlas.networks)
    n_networks = len(set(atlas.networks))
    assert len(labels) == n_networks * (n_networks + 1) // 2 == matrix.shape[1]
    rng = np.random.default_rng(0)
    dfc = rng.standard_normal((3, len(edges))).astype(np.float32)
    means = network_connectivity(dfc, edges, atlas.networks)
    networks = np.asarray(atlas.networks)
    a, b = labels[7].split("|")
    in_pair = ((networks[edges[:, 0]] == a) & (networks[edges[:, 1]] == b)) | (
        (networks[edges[:, 0]] == b) & (networks[edges[:, 1]] == a)
    )
    np.testing.assert_allclose(means[:, 7], dfc[:, in_pair].mean(axis=1), rtol=1e-5)

"""Smoke tests of the features chapter's figures: each returns a figure with its panels."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers import plotting
from helpers.features import n_edges, network_pair_matrix


def test_window_pair_has_signals_and_course():
    rng = np.random.default_rng(0)
    r_course = np.tanh(rng.standard_normal(40))
    fig = plotting.plot_window_pair(
        rng.standard_normal((51, 2)), ("a", "b"), np.arange(40), 12, r_course, "t"
    )
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(fig.axes[0].patches) == 2  # the strongest and the weakest window


def test_dfc_windows_draw_one_matrix_and_colourbar_each(toy_atlas):
    rng = np.random.default_rng(1)
    windows = {"w1": rng.uniform(-1, 1, n_edges(6)), "w2": rng.uniform(-1, 1, n_edges(6))}
    fig = plotting.plot_dfc_windows(windows, toy_atlas)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (6, 6) and np.allclose(image, np.asarray(image).T)


def test_fisher_z_has_two_histograms():
    fig = plotting.plot_fisher_z(np.random.default_rng(2).uniform(-1, 1, (30, 15)))
    assert isinstance(fig, Figure) and len(fig.axes) == 2


def test_feature_counts_and_window_weights():
    counts = pd.DataFrame({"atlas": ["x", "y"], "features": [10, 100], "samples": [20, 20]})
    fig = plotting.plot_feature_counts(counts)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert len(fig.axes[0].patches) >= 4
    fig = plotting.plot_window_weights({"rectangular": np.ones(12) / 12})
    assert (
        isinstance(fig, Figure) and "effective 12.0" in fig.axes[0].get_legend().texts[0].get_text()
    )


def test_dfc_beside_emotions_and_network_pairs():
    centres = np.arange(20.0)
    fig = plotting.plot_dfc_beside_emotions(
        centres, np.random.default_rng(3).random((20, 2)), ["joy", "fear"], {"e": centres}
    )
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    index = pd.MultiIndex.from_tuples(
        [("A", "A"), ("A", "B"), ("B", "B")], names=["network_a", "network_b"]
    )
    pairs = pd.DataFrame({"joy": [0.1, -0.2, 0.3], "fear": [0.0, 0.1, -0.1]}, index=index)
    fig = plotting.plot_network_pair_correlations(pairs, network_pair_matrix(pairs, "joy"), "joy")
    assert isinstance(fig, Figure) and len(fig.axes) == 4


def test_fluctuation_null_has_levels_and_ratio():
    fluctuation = pd.DataFrame(
        {
            "length": [6, 12, 20],
            "real_std": [0.6, 0.4, 0.3],
            "null_std": [0.58, 0.36, 0.25],
            "null_low": [0.57, 0.35, 0.24],
            "null_high": [0.59, 0.37, 0.26],
            "ratio": [1.03, 1.11, 1.2],
        }
    )
    fig = plotting.plot_fluctuation_null(fluctuation, 12)
    assert isinstance(fig, Figure) and len(fig.axes) == 2

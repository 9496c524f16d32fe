"""Smoke tests of the explanations chapter's figures: each returns a figure with its panels."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers import plotting


def test_weights_and_patterns_two_panels():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 2))
    fig = plotting.plot_weights_and_patterns(X, X[:, 0], [1.0, -1.0], [1.0, 0.0])
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(fig.axes[1].patches) == 4  # two features x (weights, pattern)


def test_recovery_bars_with_null_band():
    table = pd.DataFrame({"e1": [0.9, 0.5], "e2": [0.8, 0.6], "mean": [0.85, 0.55]}, ["m", "u"])
    fig = plotting.plot_recovery(table, np.linspace(0.45, 0.55, 20))
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    fig = plotting.plot_recovery(table)
    assert len(fig.axes) == 1


def test_connectomes_one_panel_per_emotion(toy_atlas):
    importance = np.random.default_rng(0).standard_normal((15, 2))
    fig = plotting.plot_connectomes(importance, toy_atlas, ["e1", "e2"], n_show=3)
    assert isinstance(fig, Figure) and len(fig.axes) >= 2


def test_network_pairs_trees_jaccard_and_lono(toy_atlas):
    table = pd.DataFrame(np.eye(3), index=list("ABC"), columns=list("ABC"))
    fig = plotting.plot_network_pair_importance({"e1": table, "e2": table})
    assert isinstance(fig, Figure) and len(fig.axes) == 4  # one row of four panels
    tree = nx.path_graph(6)
    fig = plotting.plot_spanning_trees({"e1": tree, "e2": tree}, toy_atlas)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    fig = plotting.plot_jaccard(pd.DataFrame(np.eye(2), ["e1", "e2"], ["e1", "e2"]))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    drops = pd.Series([0.2, -0.1, 0.05], index=["A", "B", "C"])
    fig = plotting.plot_leave_one_network_out(drops, toy_atlas, "t")
    assert isinstance(fig, Figure) and len(fig.axes) == 1

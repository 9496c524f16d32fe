"""Smoke tests of the interpretation chapter's figures: each returns a figure with its panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers import plotting


def test_network_shares_heatmap():
    shares = pd.DataFrame(np.random.default_rng(0).random((4, 3)), index=list("abcd"))
    fig = plotting.plot_network_shares(shares)
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # heatmap and colour bar


def test_index_nulls_one_panel_per_index():
    rng = np.random.default_rng(0)
    null = {"x": rng.normal(size=50), "y": np.append(rng.normal(size=49), np.nan)}
    fig = plotting.plot_index_nulls(null, {"x": 0.5, "y": 3.0})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[1].lines[0].get_xdata()[0] == 3.0  # the observed value is marked


def test_lesion_drops_named_beside_random():
    drops = pd.DataFrame(
        {"lesion": ["a", "a", "a"], "emotion": ["e1", "e2", "mean"], "drop": [0.1, 0.2, 0.15]}
    )
    null = pd.DataFrame(
        {
            "lesion": ["a"] * 4,
            "emotion": ["e1", "e2"] * 2,
            "draw": [0, 0, 1, 1],
            "drop": [0, 1, 2, 3],
        }
    )
    fig = plotting.plot_lesion_drops(drops, null)
    assert isinstance(fig, Figure) and len(fig.axes) == 1

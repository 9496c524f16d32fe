"""Smoke tests of the preprocessing chapter's figures: each returns a figure with its panels."""

import numpy as np
from matplotlib.figure import Figure

from helpers import plotting


def test_glass_brain_shows_four_views(toy_atlas):
    fig = plotting.plot_atlas_glass_brain(toy_atlas)
    assert isinstance(fig, Figure)
    assert len(fig.axes) >= 4
    assert fig.legends and len(fig.legends[0].get_texts()) == 3


def test_cleaning_figure_has_raw_and_cleaned_panels():
    rng = np.random.default_rng(0)
    t = np.arange(100)
    raw = 1000 + 0.1 * t + rng.standard_normal(100)
    cleaned = (raw - np.polyval(np.polyfit(t, raw, 1), t)) / 1.0
    fig = plotting.plot_cleaning(raw, (cleaned - cleaned.mean()) / cleaned.std(), "roi0")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 2


def test_carpet_has_carpet_and_signal_change(toy_atlas):
    series = np.random.default_rng(1).standard_normal((50, 6))
    fig = plotting.plot_carpet(series, toy_atlas, "toy")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[0].images[0].get_array().shape == (6, 50)


def test_tsnr_has_one_box_per_subject():
    tsnr = {f"sub-{i}": np.random.default_rng(i).uniform(50, 100, 30) for i in range(3)}
    fig = plotting.plot_tsnr(tsnr)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list(tsnr)

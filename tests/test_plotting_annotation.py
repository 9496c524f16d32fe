"""Smoke tests of the annotation chapter's figures: each returns a figure with its axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers import plotting  # noqa: E402
from helpers.study import EMOTIONS  # noqa: E402

RNG = np.random.default_rng(0)
SCORES = pd.DataFrame(RNG.random((12, 8)), columns=list(EMOTIONS))
ONSETS = np.arange(12) * 10.0 + 20.0
OFFSETS = ONSETS + 9.0


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_segment_timeline_has_one_row_per_segmentation():
    frame = pd.DataFrame({"onset": ONSETS, "duration": OFFSETS - ONSETS})
    fig = plotting.plot_segment_timeline({"a": frame, "b": frame.iloc[:5]})
    assert len(fig.axes) == 2


def test_timestamp_check_is_one_panel():
    check = pd.DataFrame(
        {
            "aligned_onset": ONSETS,
            "aligned_offset": OFFSETS,
            "timestamp": 2 * np.ceil(OFFSETS / 2),
            "timestamp_minus_offset": 2 * np.ceil(OFFSETS / 2) - OFFSETS,
        }
    )
    assert len(plotting.plot_timestamp_check(check).axes) == 1


def test_agreement_bars_show_every_pair():
    table = pd.DataFrame({"rho": RNG.uniform(-1, 1, 8)}, index=list(EMOTIONS))
    fig = plotting.plot_annotator_agreement({"a_vs_b": table, "a_vs_c": table * 0.5})
    assert len(fig.axes) == 1
    assert len(fig.axes[0].patches) >= 16  # 8 emotions x 2 pairs


def test_trajectories_have_one_row_per_emotion_even_for_constant_scores():
    flat = SCORES * 0.0 + 0.5
    fig = plotting.plot_emotion_trajectories(
        {"x": (SCORES, ONSETS, OFFSETS), "flat": (flat, ONSETS, OFFSETS)}, EMOTIONS
    )
    assert len(fig.axes) == len(EMOTIONS)


def test_target_construction_has_kernel_and_series_panels():
    times = np.arange(50) * 2.0
    fig = plotting.plot_target_construction(
        times, np.ones(50), np.ones(50), np.ones(50), np.arange(10) * 0.1, np.ones(10)
    )
    assert len(fig.axes) == 2


def test_targets_have_one_row_per_emotion():
    targets = pd.DataFrame(RNG.random((40, 8)), columns=list(EMOTIONS))
    assert len(plotting.plot_targets(targets, np.arange(40) * 2.0).axes) == 8


def test_cooccurrence_draws_one_heatmap_per_annotator_and_a_colour_bar():
    undefined = SCORES.corr() * np.nan  # an annotator whose scores never vary
    fig = plotting.plot_cooccurrence({"a": SCORES.corr(), "b": undefined})
    assert len(fig.axes) == 3


def test_shuffle_null_has_one_panel_per_emotion():
    null = pd.DataFrame(RNG.normal(0, 0.1, (100, 8)), columns=list(EMOTIONS))
    fig = plotting.plot_shuffle_null(null, null.iloc[0], 0.1)
    assert len(fig.axes) == 8

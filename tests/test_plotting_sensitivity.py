"""Smoke tests of the sensitivity chapter's figures on a small table shaped like the chapter's."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers import plotting  # noqa: E402


@pytest.fixture
def table():
    rows = []
    for length, shape in [
        (6, "rectangular"),
        (12, "rectangular"),
        (12, "tapered"),
        (48, "rectangular"),
    ]:
        for cv in ("loso_blocked", "random"):
            for model in ("cpm", "ridge"):
                testable = not (length == 48 and cv == "loso_blocked")
                delta = 0.1 if testable else np.nan
                rows.append(
                    {
                        "window.length": length,
                        "window.shape": shape,
                        "cv": cv,
                        "model": model,
                        "delta_r": delta,
                        "ci_low": delta - 0.05,
                        "ci_high": delta + 0.05,
                        "verdict": (
                            "not testable"
                            if not testable
                            else "lesson (leaky split)"
                            if cv == "random"
                            else "DFC > ROI"
                        ),
                    }
                )
    return pd.DataFrame(rows)


def test_window_length_has_one_panel_per_split(table):
    fig = plotting.plot_window_length(table)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_window_shape_compares_the_shapes_where_both_were_run(table):
    fig = plotting.plot_window_shape(table)
    assert len(fig.axes) == 1
    assert "12 TR" in fig.axes[0].get_title()
    plt.close(fig)


def test_swept_choice_and_verdicts(table):
    fig = plotting.plot_swept_choice(table, "window.shape")
    assert len(fig.axes) == 1
    plt.close(fig)
    fig = plotting.plot_verdicts(table, ["window.length", "window.shape"])
    assert len(fig.axes) == 2  # the heatmap and its colour bar
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"DFC", "leak", "n/t"} <= texts
    plt.close(fig)


def test_power_curve_has_two_panels():
    power = pd.DataFrame(
        {
            "snr": [0.0, 2.0, 4.0] * 2,
            "model": ["oracle"] * 3 + ["cpm"] * 3,
            "r": [0.0, 0.3, 0.6, 0.0, 0.2, 0.4],
            "share_detected": [0.0, 0.5, 1.0, 0.0, None, 0.75],
        }
    )
    fig = plotting.plot_power_curve(power)
    assert len(fig.axes) == 2
    plt.close(fig)

"""Smoke test of the calibration chapter's own figure."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from helpers import plotting  # noqa: E402


def test_null_p_values_against_uniform_has_two_panels():
    p = np.random.default_rng(0).uniform(size=200)
    fig = plotting.plot_null_p_values(p, title="ridge on dfc")
    assert len(fig.axes) == 2
    assert fig.axes[1].get_xlim() == (0.0, 1.0)
    plt.close(fig)

"""Smoke tests of the regression chapter's figures (its own and the shared ones it restyles)."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from helpers import plotting  # noqa: E402


def test_split_leak_draws_one_panel_per_score():
    scores = pd.DataFrame(
        [
            {"model": "ridge", "features": f, "cv": cv, "emotion": "mean", "r2": r2, "r": r}
            for f in ("dfc", "roi_window")
            for cv, r2, r in (("random", 0.6, 0.8), ("loso_blocked", -0.1, 0.2))
        ]
        + [{"model": "cpm", "features": "dfc", "cv": "random", "emotion": "mean", "r2": 0, "r": 0}]
    )
    fig = plotting.plot_split_leak(scores, "ridge")
    assert len(fig.axes) == 2
    assert len(fig.axes[0].patches) >= 4  # two feature sets x two splits
    plt.close(fig)


def test_paired_subjects_draws_one_panel_per_model():
    dfc = pd.Series([0.3, 0.2, 0.25, 0.1], index=["s1", "s2", "s3", "s4"])
    roi = pd.Series([0.1, 0.0, 0.05, 0.12], index=dfc.index)
    fig = plotting.plot_paired_subjects(
        {"cpm": (dfc, roi, ["roi_window", "dfc"]), "ridge": (dfc, roi, ["roi_window", "dfc"])}
    )
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["roi_window", "dfc"]
    plt.close(fig)


def test_null_distributions_mark_every_emotion():
    emotions = ["joy", "fear", "anger", "trust", "sadness", "disgust", "surprise", "anticipation"]
    scores = pd.DataFrame({"emotion": emotions, "r": 0.2, "p_value": 0.01})
    result = SimpleNamespace(
        emotions=emotions,
        model="ridge",
        features="dfc",
        cv="loso_blocked",
        null_r=np.random.default_rng(0).normal(0, 0.05, size=(50, 8)),
        scores=lambda: scores,
    )
    fig = plotting.plot_null_distributions(result)
    assert len(fig.axes) == 8
    assert fig.axes[0].get_title() == "joy: p = 0.010"
    plt.close(fig)

"""Figures of the regression chapter: folds, the split's leak, trajectories, nulls, paired subjects."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from helpers.plotting.theme import emotion_grid

__all__ = [
    "plot_folds",
    "plot_split_leak",
    "plot_trajectories",
    "plot_null_distributions",
    "plot_paired_subjects",
]


def plot_folds(meta, splitters: dict, axes=None):
    """One fold of each splitter: which (subject, window) samples train, test or are purged.

    Parameters
    ----------
    meta : WindowMeta
        The samples' subjects and windows.
    splitters : dict
        Name -> splitter (with ``split(groups=...)`` and ``get_n_splits``).
    axes : sequence of matplotlib.axes.Axes, optional
        One per splitter; a new figure when None.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    subjects = list(meta.subjects)
    if axes is None:
        _, axes = plt.subplots(1, len(splitters), figsize=(5.5 * len(splitters), 2.8), sharey=True)
    axes = np.atleast_1d(axes)
    colours = ListedColormap(["lightgrey", "tab:blue", "tab:orange"])
    for ax, (name, splitter) in zip(axes, splitters.items()):
        train, test = next(iter(splitter.split(groups=meta.as_groups())))
        role = np.zeros(len(meta))
        role[train], role[test] = 1, 2
        grid = np.full((len(subjects), int(meta.stop.max())), np.nan)
        for k, subject in enumerate(subjects):
            rows = np.flatnonzero(meta.subject == subject)
            grid[k, meta.start[rows]] = role[rows]
        ax.imshow(grid, aspect="auto", interpolation="nearest", cmap=colours, vmin=0, vmax=2)
        ax.set_title(f"{name}: one of {splitter.get_n_splits(groups=meta.as_groups())} folds")
        ax.set_xlabel("window start (volume)")
    axes[0].set_yticks(range(len(subjects)), subjects, fontsize=7)
    handles = [
        Patch(color=c, label=label)
        for c, label in [
            ("tab:blue", "train"),
            ("tab:orange", "test"),
            ("lightgrey", "purged / other fold"),
        ]
    ]
    axes[0].figure.legend(handles=handles, loc="lower center", ncol=3, fontsize=8)
    axes[0].figure.tight_layout(rect=(0, 0.1, 1, 1))
    return axes


def plot_split_leak(scores, model: str):
    """One model's R² and within-fold r per feature set under each split: the leak at a glance.

    Parameters
    ----------
    scores : pandas.DataFrame
        Rows with ``model``, ``features``, ``cv``, ``emotion`` (``mean`` is used), ``r2`` and ``r``.
    model : str
        The model shown.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = scores[(scores["emotion"] == "mean") & (scores["model"] == model)]
    long = rows.melt(id_vars=["features", "cv"], value_vars=["r2", "r"], var_name="score")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, (score, label) in zip(axes, [("r2", "R² (pooled)"), ("r", "r (within fold)")]):
        sns.barplot(long[long["score"] == score], x="features", y="value", hue="cv", ax=ax)
        ax.axhline(0, color="k", lw=0.8)
        ax.set(xlabel="", ylabel=label, title=f"{model}: {label}")
    axes[1].get_legend().remove()
    fig.tight_layout()
    return fig


def plot_trajectories(result, subject: str):
    """Predicted against actual emotion trajectories of one held-out subject.

    Parameters
    ----------
    result : CVResult
        A cross-validation run (predictions of every tested sample).
    subject : str
        The held-out subject shown.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = np.flatnonzero((result.subject == subject) & result.tested)
    rows = rows[np.argsort(result.start[rows])]
    fig, axes = emotion_grid(
        result.emotions,
        f"{subject}, held out: {result.model} on {result.features} ({result.cv})",
        height=6,
    )
    for e, ax in enumerate(axes):
        ax.plot(result.start[rows], result.y_true[rows, e], color="k", lw=1, label="actual")
        ax.plot(
            result.start[rows],
            result.predictions[rows, e],
            color="tab:red",
            lw=1,
            label="predicted",
        )
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_null_distributions(result, emotions=None):
    """Each emotion's null r (histogram) with the observed within-fold r and its p-value.

    Parameters
    ----------
    result : CVResult
        A cross-validation run with null draws (``null_r``, shape (n_draws, n_emotions)).
    emotions : sequence of str, optional
        The emotions shown; all of the run's when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    emotions = list(emotions or result.emotions)
    observed = result.scores().set_index("emotion")
    fig, axes = emotion_grid(
        emotions,
        f"null r of {result.model} on {result.features} ({result.cv}, {len(result.null_r)} draws)",
    )
    for e, (ax, emotion) in enumerate(zip(axes, emotions)):
        sns.histplot(result.null_r[:, e], bins=30, kde=True, color="0.6", ax=ax)
        ax.axvline(observed.loc[emotion, "r"], color="tab:red", lw=1.5)
        ax.set_title(f"{emotion}: p = {observed.loc[emotion, 'p_value']:.3f}", fontsize=9)
        ax.set_ylabel("")
    fig.tight_layout()
    return fig


def plot_paired_subjects(per_subject: dict, titles: dict | None = None):
    """Each held-out subject's mean r on two feature sets, joined by a line, one panel per model.

    The red diamonds are the mean over subjects with a 95% bootstrap interval (description: the
    subjects share training data and a story, so the interval is not a test).

    Parameters
    ----------
    per_subject : dict
        Model -> ``(a, b, labels)``: per-subject scores (n_subjects,) on the two feature sets and
        their two labels (``labels[0]`` names ``b``).
    titles : dict, optional
        Model -> panel title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(
        1, len(per_subject), figsize=(3.6 * len(per_subject), 3.2), squeeze=False
    )
    for ax, (model, (a, b, labels)) in zip(axes[0], per_subject.items()):
        pairs = pd.DataFrame({labels[0]: np.asarray(b), labels[1]: np.asarray(a)})
        long = pairs.reset_index(names="subject").melt(id_vars="subject", var_name="features")
        sns.lineplot(
            long,
            x="features",
            y="value",
            units="subject",
            estimator=None,
            color="0.6",
            alpha=0.7,
            marker="o",
            ax=ax,
        )
        sns.pointplot(
            long, x="features", y="value", color="tab:red", errorbar=("ci", 95), markers="D", ax=ax
        )
        ax.axhline(0, color="k", lw=0.5)
        ax.set(xlabel="", ylabel="", title=(titles or {}).get(model, model))
    axes[0, 0].set_ylabel("held-out subject: mean r")
    fig.tight_layout()
    return fig

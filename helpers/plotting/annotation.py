"""Figures of the annotation chapter: segments, agreement, trajectories, targets, co-occurrence."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from helpers.plotting.theme import emotion_grid

__all__ = [
    "plot_segment_timeline",
    "plot_timestamp_check",
    "plot_annotator_agreement",
    "plot_emotion_trajectories",
    "plot_target_construction",
    "plot_targets",
    "plot_cooccurrence",
    "plot_shuffle_null",
]


def plot_segment_timeline(segmentations: dict):
    """Each segmentation's segments as bars on the audio's clock, one row per segmentation.

    Parameters
    ----------
    segmentations : dict
        Label -> frame with ``onset`` and ``duration`` columns (seconds).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(
        len(segmentations), 1, figsize=(11, 1.3 * len(segmentations) + 0.6), sharex=True
    )
    axes = np.atleast_1d(axes)
    colours = sns.color_palette("tab20", 20)
    for ax, (label, frame) in zip(axes, segmentations.items()):
        bars = list(zip(frame["onset"], frame["duration"]))
        ax.broken_barh(bars, (0, 1), facecolors=[colours[k % 20] for k in range(len(bars))])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    axes[-1].set_xlabel("time in the audio (s)")
    fig.tight_layout()
    return fig


def plot_timestamp_check(check):
    """Published timestamps minus the aligned end and start of each line, against the line's end.

    Parameters
    ----------
    check : pandas.DataFrame
        One row per line: ``timestamp``, ``aligned_onset``, ``aligned_offset`` and
        ``timestamp_minus_offset`` (seconds).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(11, 2.6))
    ax.axhspan(0, 2, color="0.92", zorder=0, label="one TR after the end")
    x = check["aligned_offset"]
    ax.plot(x, check["timestamp_minus_offset"], "o", ms=4, label="timestamp - aligned end")
    start = check["timestamp"] - check["aligned_onset"]
    ax.plot(x, start, "x", ms=4, label="timestamp - aligned start")
    ax.set_xlabel("aligned end of the line (s)")
    ax.set_ylabel("seconds")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_annotator_agreement(agreement: dict):
    """Spearman rho per emotion for each pair of annotators (bars), zero marked.

    Parameters
    ----------
    agreement : dict
        Pair name (``a_vs_b``) -> frame indexed by emotion with a ``rho`` column.

    Returns
    -------
    matplotlib.figure.Figure
    """
    long = pd.concat(
        [
            t["rho"].rename_axis("emotion").reset_index().assign(pair=p.replace("_", " "))
            for p, t in agreement.items()
        ],
        ignore_index=True,
    )
    fig, ax = plt.subplots(figsize=(8, 3))
    sns.barplot(data=long, x="emotion", y="rho", hue="pair", ax=ax)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylabel("Spearman rho")
    ax.set_xlabel("")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def plot_emotion_trajectories(annotations: dict, emotions):
    """Segment scores of each annotator as steps over the audio, one row per emotion.

    Each annotator's scores of an emotion are divided by their maximum, so annotators on different
    scales share one axis.

    Parameters
    ----------
    annotations : dict
        Annotator name -> ``(scores, onsets, offsets)``: a segments x emotions frame and the
        segments' onset and offset times (seconds, arrays of length n_segments).
    emotions : sequence of str
        The emotions shown, one row each.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = []
    for name, (scores, onsets, offsets) in annotations.items():
        for emotion in emotions:
            times, values = _step_series(scores, onsets, offsets, emotion)
            peak = np.max(values) or 1.0
            rows.append(
                pd.DataFrame(
                    {"time": times, "score": values / peak, "annotator": name, "emotion": emotion}
                )
            )
    grid = sns.relplot(
        data=pd.concat(rows, ignore_index=True),
        x="time",
        y="score",
        hue="annotator",
        row="emotion",
        kind="line",
        drawstyle="steps-post",
        estimator=None,
        height=1.25,
        aspect=8,
        facet_kws={"sharey": True},
        linewidth=1,
    )
    grid.set_titles(row_template="{row_name}", size=9)
    grid.set_axis_labels("time in the audio (s)", "score / max")
    return grid.figure


def plot_target_construction(times, step, target, helper_target, kernel_times, kernel):
    """Left: the HRF. Right: one emotion's step per volume, convolved with the HRF.

    Parameters
    ----------
    times : numpy.ndarray, shape (n_volumes,)
        Time in the audio of each volume (s).
    step, target, helper_target : numpy.ndarray, shape (n_volumes,)
        The score held per volume, its convolution with the HRF per TR, and the helper's target
        computed on a finer grid.
    kernel_times, kernel : numpy.ndarray, shape (n_kernel,)
        The HRF's time axis (s) and values.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3), gridspec_kw={"width_ratios": [1, 3.5]})
    sns.lineplot(x=kernel_times, y=kernel, ax=left, color="k")
    left.set_xlabel("seconds after a brief event")
    left.set_title("HRF (sums to 1)")
    right.step(times, step, where="post", color="0.6", label="score held per volume")
    right.plot(times, target, color="C0", lw=2, label="convolved with the HRF (per TR)")
    right.plot(times, helper_target, color="C3", lw=1, ls="--", label="helper (0.1-s grid)")
    right.set_xlabel("time in the audio of each volume (s)")
    right.legend(fontsize=8, ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    return fig


def plot_targets(targets, times):
    """The eight TR-level targets of a run, one row per emotion.

    Parameters
    ----------
    targets : pandas.DataFrame, shape (n_volumes, n_emotions)
        One column per emotion.
    times : numpy.ndarray, shape (n_volumes,)
        Time in the audio of each volume (s).

    Returns
    -------
    matplotlib.figure.Figure
    """
    long = targets.assign(time=times).melt(id_vars="time", var_name="emotion", value_name="target")
    grid = sns.relplot(
        data=long,
        x="time",
        y="target",
        row="emotion",
        hue="emotion",
        kind="line",
        height=1.0,
        aspect=10,
        legend=False,
        estimator=None,
        facet_kws={"sharey": True},
    )
    grid.set_titles(row_template="{row_name}", size=9)
    grid.set_axis_labels("time in the audio of each volume (s)", "")
    return grid.figure


def plot_cooccurrence(matrices: dict):
    """One heatmap of emotion-by-emotion Spearman rho per annotator, on one colour scale.

    Parameters
    ----------
    matrices : dict
        Annotator name -> emotions x emotions frame of rho.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(
        1,
        len(matrices) + 1,
        figsize=(4.3 * len(matrices) + 0.6, 4),
        gridspec_kw={"width_ratios": [1] * len(matrices) + [0.06]},
    )
    for k, (ax, (name, matrix)) in enumerate(zip(axes, matrices.items())):
        sns.heatmap(
            matrix,
            vmin=-1,
            vmax=1,
            cmap="RdBu_r",
            annot=True,
            fmt=".1f",
            square=True,
            annot_kws={"fontsize": 7},
            ax=ax,
            cbar=k == len(matrices) - 1,
            cbar_ax=axes[-1],
            cbar_kws={"label": "Spearman rho"},
        )
        ax.set_title(name)
        if k:
            ax.set_yticklabels([])
    fig.tight_layout()
    return fig


def plot_shuffle_null(null, observed, critical_r: float):
    """Each emotion's correlation with shuffled lines (histogram), the observed one (red line),
    and the band a textbook test would call chance (grey).

    Parameters
    ----------
    null : pandas.DataFrame, shape (n_shuffles, n_emotions)
        Null correlations, one column per emotion.
    observed : pandas.Series or dict
        Observed correlation per emotion.
    critical_r : float
        Half-width of the grey band.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = emotion_grid(list(null.columns), height=4.5)
    for ax, emotion in zip(axes, null.columns):
        ax.axvspan(-critical_r, critical_r, color="0.85", zorder=0)
        sns.histplot(null[emotion], bins=30, ax=ax, color="C0", edgecolor="none")
        ax.axvline(observed[emotion], color="C3", lw=2)
        ax.set_xlabel("r")
        ax.set_ylabel("")
    fig.tight_layout()
    return fig


def _step_series(frame, onsets, offsets, emotion: str) -> tuple[np.ndarray, np.ndarray]:
    """Segment scores as steps held from each segment's onset until the next one begins."""
    times = np.append(onsets, offsets[-1])
    values = frame[emotion].to_numpy()
    return times, np.append(values, values[-1])

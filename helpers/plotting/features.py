"""Figures of the features chapter: windows, DFC matrices, the Fisher transform, feature counts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from helpers.data.atlases import Atlas
from helpers.features.connectivity import R_CLIP
from helpers.plotting.theme import plot_network_matrix

__all__ = [
    "plot_window_pair",
    "plot_dfc_windows",
    "plot_fisher_z",
    "plot_feature_counts",
    "plot_window_weights",
    "plot_dfc_beside_emotions",
    "plot_network_pair_correlations",
    "plot_fluctuation_null",
]


def plot_window_pair(
    pair: np.ndarray,
    labels: tuple[str, str],
    starts: np.ndarray,
    length: int,
    r_course: np.ndarray,
    title: str = "",
):
    """Two ROI signals with their strongest and weakest window shaded, over the window r course.

    Parameters
    ----------
    pair : numpy.ndarray, shape (n_volumes, 2)
        The two ROI signals.
    labels : tuple of str
        Their names.
    starts : numpy.ndarray, shape (n_windows,)
        First volume of each window.
    length : int
        Window length (volumes).
    r_course : numpy.ndarray, shape (n_windows,)
        The pair's correlation in each window.
    title : str
        Title of the upper panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    centres = np.asarray(starts) + (length - 1) / 2
    fig, (ax_signal, ax_r) = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    ax_signal.plot(pair[:, 0], lw=0.9, label=labels[0])
    ax_signal.plot(pair[:, 1], lw=0.9, label=labels[1])
    shown = [int(np.argmax(r_course)), int(np.argmin(r_course))]
    for k, color in zip(shown, ["tab:green", "tab:red"]):
        ax_signal.axvspan(starts[k], starts[k] + length - 1, color=color, alpha=0.2)
        ax_r.plot(centres[k], r_course[k], "o", color=color, ms=8)
    ax_signal.set_ylabel("ROI signal (z)")
    ax_signal.legend(fontsize=8, loc="upper right")
    ax_signal.set_title(title)
    ax_r.plot(centres, r_course, color="k", lw=1)
    ax_r.axhline(0, color="grey", lw=0.5)
    ax_r.set_ylabel("window correlation r")
    ax_r.set_xlabel("volume (window centre for r)")
    fig.tight_layout()
    return fig


def plot_dfc_windows(windows: dict[str, np.ndarray], atlas: Atlas, vmax: float | None = None):
    """Network-ordered ROI x ROI heatmaps of DFC windows, on one colour scale.

    Parameters
    ----------
    windows : dict
        Title -> edge vector (n_edges,) in ``np.triu_indices(n_rois, 1)`` order.
    atlas : Atlas
        Gives the ROIs' networks.
    vmax : float, optional
        Colour limit; the 99th percentile of all ``|values|`` when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows, cols = np.triu_indices(atlas.n_rois, k=1)
    matrices = {}
    for title, edges in windows.items():
        matrix = np.zeros((atlas.n_rois, atlas.n_rois))
        matrix[rows, cols] = matrix[cols, rows] = edges
        matrices[title] = matrix
    if vmax is None:
        vmax = float(np.percentile(np.abs(np.concatenate(list(windows.values()))), 99))
    fig, axes = plt.subplots(1, len(windows), figsize=(6.5 * len(windows), 5.5), squeeze=False)
    for ax, (title, matrix) in zip(axes[0], matrices.items()):
        plot_network_matrix(matrix, atlas, title=title, ax=ax, vmax=vmax)
        ax.grid(False)
    fig.tight_layout()
    return fig


def plot_fisher_z(r: np.ndarray):
    """Window correlations before and after the Fisher transform, each as a density histogram.

    Millions of values are binned with numpy first, so the figure stays fast at any atlas size.

    Parameters
    ----------
    r : array_like
        Window correlations, any shape (flattened).

    Returns
    -------
    matplotlib.figure.Figure
    """
    r = np.ravel(np.asarray(r, dtype=float))
    z = np.arctanh(np.clip(r, -R_CLIP, R_CLIP))
    fig, (ax_r, ax_z) = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, values, color in ((ax_r, r, "tab:grey"), (ax_z, z, "tab:blue")):
        density, edges = np.histogram(values, bins=80, density=True)
        ax.stairs(density, edges, fill=True, color=color, alpha=0.7)
        ax.set_ylabel("density")
    ax_r.set_xlabel("window correlation r")
    ax_r.set_title("r: bounded, squeezed near +-1")
    ax_z.set_xlabel("Fisher z = artanh(r)")
    ax_z.set_title("z: unbounded, spread stabilised")
    fig.tight_layout()
    return fig


def plot_feature_counts(counts):
    """Features per sample against samples, per atlas.

    Parameters
    ----------
    counts : pandas.DataFrame
        Columns ``atlas``, ``features`` and ``samples``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    frame = counts.melt(
        id_vars="atlas", value_vars=["features", "samples"], var_name="", value_name="count"
    )
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.barplot(data=frame, x="atlas", y="count", hue="", ax=ax)
    ax.set_yscale("log")
    ax.set_ylabel("count (log scale)")
    ax.set_xlabel("")
    ax.set_title("DFC features per window against the samples of this run")
    fig.tight_layout()
    return fig


def plot_window_weights(weights: dict[str, np.ndarray]):
    """The relative weight of each volume in windows of each shape, with its effective length.

    Parameters
    ----------
    weights : dict
        Shape name -> weights (length,) of one window.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(5, 2.5))
    for shape, w in weights.items():
        w = np.asarray(w, dtype=float)
        effective = w.sum() ** 2 / np.sum(w**2)
        ax.plot(
            np.arange(len(w)), w / w.max(), "o-", label=f"{shape} (effective {effective:.1f} TR)"
        )
    ax.set_xlabel("volume within the window")
    ax.set_ylabel("relative weight")
    ax.set_ylim(0, 1.1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_dfc_beside_emotions(
    centres: np.ndarray,
    targets: np.ndarray,
    emotions,
    courses: dict[str, np.ndarray],
):
    """Window-aligned emotion trajectories above a few edges' DFC time courses.

    Parameters
    ----------
    centres : numpy.ndarray, shape (n_windows,)
        Centre volume of each window.
    targets : numpy.ndarray, shape (n_windows, n_emotions)
        Window targets.
    emotions : sequence of str
        Names of the target columns.
    courses : dict
        Edge label -> Fisher z course (n_windows,).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax_emotion, ax_dfc) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    for k, emotion in enumerate(emotions):
        ax_emotion.plot(centres, targets[:, k], lw=1, label=emotion)
    ax_emotion.set_ylabel("emotion (window mean)")
    ax_emotion.legend(ncol=4, fontsize=7, loc="upper left")
    for label, course in courses.items():
        ax_dfc.plot(centres, course, lw=1, label=label)
    ax_dfc.set_ylabel("Fisher z (mean over subjects)")
    ax_dfc.set_xlabel("volume (window centre)")
    ax_dfc.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_network_pair_correlations(top_pairs, matrix, emotion: str):
    """Edge-emotion r averaged by network pair: the strongest pairs, and one emotion's matrix.

    Parameters
    ----------
    top_pairs : pandas.DataFrame
        Indexed by ``(network, network)`` pairs, one column per emotion.
    matrix : pandas.DataFrame, shape (n_networks, n_networks)
        One emotion's mean r by network pair.
    emotion : str
        That emotion, for the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax_pairs, ax_matrix) = plt.subplots(
        1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [1, 1.2]}
    )
    shown = top_pairs.copy()
    shown.index = [f"{a} - {b}" for a, b in shown.index]
    limit = float(np.nanmax(np.abs(shown.to_numpy())))
    sns.heatmap(
        shown, cmap="RdBu_r", vmin=-limit, vmax=limit, ax=ax_pairs, cbar_kws={"shrink": 0.6}
    )
    ax_pairs.set_title(f"mean edge-emotion r, {len(shown)} strongest network pairs")
    ax_pairs.tick_params(axis="y", labelsize=7)
    ax_pairs.tick_params(axis="x", labelsize=8, rotation=45)
    limit = float(np.nanmax(np.abs(matrix.to_numpy())))
    sns.heatmap(
        matrix,
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        square=True,
        ax=ax_matrix,
        cbar_kws={"shrink": 0.6},
    )
    ax_matrix.set_title(f"{emotion}: mean edge-emotion r by network pair")
    ax_matrix.set_xlabel("")
    ax_matrix.set_ylabel("")
    ax_matrix.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def plot_fluctuation_null(fluctuation, window_length: int):
    """DFC's fluctuation over time in real signals against the phase-randomised null.

    Parameters
    ----------
    fluctuation : pandas.DataFrame
        One row per window length: ``length``, ``real_std``, ``null_std``, ``null_low``,
        ``null_high`` and ``ratio``.
    window_length : int
        The length used by the run, marked (TR).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax, ax_ratio) = plt.subplots(
        1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.4, 1]}
    )
    lengths = fluctuation["length"]
    ax.fill_between(
        lengths,
        fluctuation["null_low"],
        fluctuation["null_high"],
        color="grey",
        alpha=0.3,
        label="phase-randomised null (95%)",
    )
    ax.plot(lengths, fluctuation["null_std"], color="grey", lw=1)
    ax.plot(lengths, fluctuation["real_std"], "o-", color="tab:blue", label="real signals")
    ax.axvline(window_length, color="k", ls=":", lw=1, label=f"window used ({window_length} TR)")
    ax.set_xlabel("window length (TR)")
    ax.set_ylabel("std over time of Fisher z\n(mean over edges and subjects)")
    ax.legend(fontsize=8)
    ax_ratio.plot(lengths, fluctuation["ratio"], "o-", color="tab:blue")
    ax_ratio.axhline(1, color="grey", lw=1)
    ax_ratio.set_xlabel("window length (TR)")
    ax_ratio.set_ylabel("real / null fluctuation")
    fig.tight_layout()
    return fig

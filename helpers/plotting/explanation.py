"""Figures of the explanations chapter: weights against patterns, recovery, edge-importance maps."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from helpers.plotting.theme import network_colors

__all__ = [
    "plot_weights_and_patterns",
    "plot_recovery",
    "plot_connectomes",
    "plot_network_pair_importance",
    "plot_spanning_trees",
    "plot_jaccard",
    "plot_leave_one_network_out",
]


def plot_weights_and_patterns(X, y, weights, pattern, names=("signal + distractor", "distractor")):
    """Two features of a decoder: the samples, then its weights beside its Haufe pattern.

    Left: the samples coloured by the target, with the weight vector (the direction the decoder
    reads out) and the pattern (the direction the target moves the data). Right: both as bars.

    Parameters
    ----------
    X : numpy.ndarray, shape (n_samples, 2)
        The two features.
    y : numpy.ndarray, shape (n_samples,)
        The target.
    weights, pattern : numpy.ndarray, shape (2,)
        The decoder's weights and its activation pattern.
    names : tuple of str
        Names of the two features.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=6, alpha=0.6)
    scale = float(np.abs(X).max()) / 2
    for vector, label, color in ((weights, "weights", "k"), (pattern, "pattern", "tab:green")):
        unit = np.asarray(vector, dtype=float) / (np.linalg.norm(vector) or 1.0)
        left.annotate("", scale * unit, (0, 0), arrowprops={"color": color, "width": 2})
        left.text(*(1.08 * scale * unit), label, color=color)
    left.set_xlabel(names[0])
    left.set_ylabel(names[1])
    left.set_aspect("equal")
    frame = {"weights": np.asarray(weights), "pattern": np.asarray(pattern)}
    positions = np.arange(len(names))
    for k, (label, values) in enumerate(frame.items()):
        right.bar(positions + (k - 0.5) * 0.38, values, width=0.38, label=label)
    right.set_xticks(positions, names)
    right.axhline(0, color="k", lw=0.6)
    right.legend()
    fig.tight_layout()
    return fig


def plot_recovery(recovery_table, null_auroc=None):
    """Recovery AUROC of the planted edges per emotion and model, with chance and the null's range.

    Parameters
    ----------
    recovery_table : pandas.DataFrame
        Indexed by model, one column per emotion plus ``mean``.
    null_auroc : array_like, optional
        AUROCs under the null; their 95% range is shaded.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(9, 3.2))
    long = recovery_table.drop(columns="mean").rename_axis("model").reset_index()
    long = long.melt(id_vars="model", var_name="emotion", value_name="AUROC")
    sns.barplot(data=long, x="emotion", y="AUROC", hue="model", ax=ax)
    ax.axhline(0.5, color="k", lw=0.8, ls="--")
    if null_auroc is not None and len(null_auroc):
        low, high = np.nanpercentile(null_auroc, [2.5, 97.5])
        ax.axhspan(low, high, color="grey", alpha=0.2, lw=0)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, ncol=3, loc="lower right")
    fig.tight_layout()
    return fig


def plot_connectomes(importance, atlas, emotions, n_show: int = 40):
    """Each emotion's ``n_show`` strongest edges on a glass brain, nodes coloured by network.

    Parameters
    ----------
    importance : numpy.ndarray, shape (n_edges, n_emotions)
        Edge importance in ``np.triu_indices`` order.
    atlas : Atlas
        ROI coordinates and networks.
    emotions : sequence of str
        Names of the columns of ``importance``.
    n_show : int
        Edges drawn per emotion.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from nilearn import plotting as nilearn_plotting

    from helpers.explain.graphs import edge_matrix

    colors = network_colors(atlas)
    node_colors = [colors[n] for n in atlas.networks]
    rows = int(np.ceil(len(emotions) / 2))
    fig, axes = plt.subplots(rows, 2, figsize=(12, 2.75 * rows))
    for k, (emotion, ax) in enumerate(zip(emotions, axes.ravel())):
        limit = float(np.sort(np.abs(importance[:, k]))[-n_show])
        nilearn_plotting.plot_connectome(
            edge_matrix(importance[:, k], atlas.n_rois), atlas.coords, node_color=node_colors,
            node_size=4, edge_threshold=limit, display_mode="z", axes=ax, title=emotion,
            edge_cmap="RdBu_r", colorbar=False,
        )  # fmt: skip
    return fig


def plot_network_pair_importance(tables: dict):
    """Mean |importance| between every pair of networks, one heatmap per emotion.

    Parameters
    ----------
    tables : dict
        Emotion -> networks x networks frame.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = int(np.ceil(len(tables) / 4))
    fig, axes = plt.subplots(rows, 4, figsize=(16, 4 * rows), squeeze=False)
    for ax, (emotion, table) in zip(axes.ravel(), tables.items()):
        sns.heatmap(table, cmap="magma", ax=ax, cbar=False, square=True)
        ax.set_title(emotion)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig


def plot_spanning_trees(trees: dict, atlas):
    """Each emotion's maximum spanning tree at the ROIs' (x, y) positions; size = betweenness.

    Parameters
    ----------
    trees : dict
        Emotion -> networkx graph on ROI indices.
    atlas : Atlas
        ROI coordinates and networks.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import networkx as nx

    colors = network_colors(atlas)
    node_colors = [colors[n] for n in atlas.networks]
    positions = {i: atlas.coords[i, :2] for i in range(atlas.n_rois)}
    rows = int(np.ceil(len(trees) / 4))
    fig, axes = plt.subplots(rows, 4, figsize=(16, 4 * rows), squeeze=False)
    for ax, (emotion, tree) in zip(axes.ravel(), trees.items()):
        central = nx.betweenness_centrality(tree)
        sizes = [5 + 150 * central[n] for n in tree.nodes]
        nx.draw_networkx(
            tree, positions, ax=ax, with_labels=False, node_color=node_colors,
            node_size=sizes, width=0.5,
        )  # fmt: skip
        ax.set_title(emotion)
        ax.set_aspect("equal")
        ax.axis("off")
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=n) for n, c in colors.items()]
    fig.legend(handles=handles, loc="lower center", ncol=7, fontsize=7, frameon=False)
    return fig


def plot_jaccard(jaccard, title: str = ""):
    """Pairwise Jaccard overlap of the emotions' top edge sets (a seaborn heatmap).

    Parameters
    ----------
    jaccard : pandas.DataFrame, shape (n_emotions, n_emotions)
        Overlaps in [0, 1].
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    sns.heatmap(jaccard, vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".2f", ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_leave_one_network_out(drops, atlas, title: str = ""):
    """Drop in mean held-out r when each network's edges are removed, in network colours.

    Parameters
    ----------
    drops : pandas.Series
        Network name -> drop in mean r.
    atlas : Atlas
        Gives the network colours.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    colors = network_colors(atlas)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(range(len(drops)), drops.to_numpy(), color=[colors[n] for n in drops.index])
    ax.set_xticks(range(len(drops)), drops.index, rotation=60, ha="right", fontsize=8)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("drop in mean r")
    ax.set_title(title)
    fig.tight_layout()
    return fig

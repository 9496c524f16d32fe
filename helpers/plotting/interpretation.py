"""Figures of the interpretation chapter: network shares, index nulls, lesions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

__all__ = ["plot_network_shares", "plot_index_nulls", "plot_lesion_drops"]


def plot_network_shares(shares):
    """Share of each emotion's top-edge importance held by each network (a seaborn heatmap).

    Parameters
    ----------
    shares : pandas.DataFrame, shape (n_networks, n_emotions)
        Shares in [0, 1]; each column sums to 1.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(shares) + 1.5))
    sns.heatmap(shares, cmap="magma", ax=ax, cbar_kws={"label": "share of importance"})
    ax.set_xlabel("emotion")
    ax.set_ylabel("network")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


def plot_index_nulls(null, observed: dict, titles: dict | None = None):
    """Each index's null distribution (histogram) with the observed value as a red line.

    Parameters
    ----------
    null : dict
        Index name -> its null draws (n_draws,).
    observed : dict
        Index name -> observed value; its keys choose the panels.
    titles : dict, optional
        Index name -> panel title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(observed)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        values = np.asarray(null[name], dtype=float)
        sns.histplot(values[np.isfinite(values)], bins=30, color="lightgrey", ax=ax)
        ax.axvline(observed[name], color="tab:red", lw=2)
        ax.set_title((titles or {}).get(name, name), fontsize=9)
        ax.set_xlabel("")
    fig.tight_layout()
    return fig


def plot_lesion_drops(drops, null_drops):
    """Each named lesion's drop in held-out r per emotion, beside the random lesions' drops.

    Parameters
    ----------
    drops, null_drops : pandas.DataFrame
        Rows with ``lesion``, ``emotion`` and ``drop``: the named lesions, and the random lesions
        of matching size (labelled with the named lesion's name).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(9, 3.2))
    named = drops[drops.emotion != "mean"]
    random = null_drops[null_drops.emotion != "mean"]
    lesions = list(dict.fromkeys(named.lesion))
    boxes = [random.loc[random.lesion == name, "drop"].to_numpy() for name in lesions]
    ax.boxplot(boxes, positions=range(len(lesions)), widths=0.5, showfliers=False)
    palette = dict(zip(dict.fromkeys(named.emotion), sns.color_palette(n_colors=12)))
    for position, name in enumerate(lesions):
        rows = named[named.lesion == name]
        for emotion, drop in zip(rows.emotion, rows["drop"]):
            ax.scatter(position, drop, color=palette[emotion], s=30, zorder=3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=e) for e, c in palette.items()]
    ax.legend(handles=handles, fontsize=7, ncol=4, loc="upper right")
    ax.set_xticks(range(len(lesions)), lesions)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("drop in held-out r")
    fig.tight_layout()
    return fig

"""The book's shared look: one seaborn theme, network colours, the grids several figures use."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from helpers.data.atlases import Atlas

__all__ = ["use_book_theme", "network_colors", "emotion_grid", "plot_network_matrix"]


def use_book_theme() -> None:
    """One look for every figure of the book: seaborn's white grid, colour-blind palette.

    Call once at the top of a chapter; it sets seaborn's theme and matplotlib's rcParams.
    """
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.bbox": "tight", "axes.titlesize": "medium"})


def network_colors(atlas: Atlas) -> dict[str, tuple[float, float, float, float]]:
    """One distinct colour per network, stable for a given atlas.

    Parameters
    ----------
    atlas : Atlas
        The atlas whose ``network_names()`` are coloured, in that order.

    Returns
    -------
    dict
        Network name -> RGBA tuple.
    """
    names = atlas.network_names()
    cmap = plt.get_cmap("tab20", max(len(names), 1))
    return {name: cmap(i) for i, name in enumerate(names)}


def emotion_grid(emotions, title: str = "", sharex: bool = True, height: float = 4.5):
    """A 2 x 4 grid of axes, one per emotion, titled with the emotion's name.

    Returns
    -------
    (matplotlib.figure.Figure, numpy.ndarray)
        The figure and its eight axes, flattened in the order of ``emotions``.
    """
    fig, axes = plt.subplots(2, 4, figsize=(12, height), sharex=sharex)
    for ax, emotion in zip(axes.ravel(), emotions):
        ax.set_title(emotion, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig, axes.ravel()


def plot_network_matrix(
    matrix: np.ndarray,
    atlas: Atlas,
    title: str = "",
    ax=None,
    cmap: str = "RdBu_r",
    vmax: float | None = None,
):
    """An ROI x ROI matrix ordered by network, with network boundaries and names.

    Parameters
    ----------
    matrix : numpy.ndarray, shape (n_rois, n_rois)
        Values in the atlas's ROI order (reordered here by network).
    atlas : Atlas
        Gives the network of every ROI.
    title : str
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    cmap : str
        A diverging colour map, symmetric around zero.
    vmax : float, optional
        Colour limit; the 99th percentile of ``|matrix|`` when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    order = atlas.network_order()
    ordered = np.asarray(matrix)[np.ix_(order, order)]
    networks = np.asarray(atlas.networks)[order]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    limit = vmax if vmax is not None else float(np.nanpercentile(np.abs(ordered), 99))
    image = ax.imshow(ordered, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    boundaries = np.flatnonzero(networks[1:] != networks[:-1]) + 1
    for b in boundaries:
        ax.axhline(b - 0.5, color="k", lw=0.4)
        ax.axvline(b - 0.5, color="k", lw=0.4)
    starts = np.concatenate([[0], boundaries])
    stops = np.concatenate([boundaries, [len(networks)]])
    centres = (starts + stops - 1) / 2
    ax.set_yticks(centres, [networks[s] for s in starts], fontsize=7)
    ax.set_xticks([])
    ax.set_title(title)
    plt.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax

"""Figures shared by several chapters (network colours, network-ordered matrices)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from helpers.data.atlases import Atlas


def network_colors(atlas: Atlas) -> dict[str, tuple[float, float, float, float]]:
    """One distinct colour per network, stable for a given atlas."""
    names = atlas.network_names()
    cmap = plt.get_cmap("tab20", max(len(names), 1))
    return {name: cmap(i) for i, name in enumerate(names)}


def plot_network_matrix(matrix: np.ndarray, atlas: Atlas, title: str = "", ax=None,
                        cmap: str = "RdBu_r", vmax: float | None = None):
    """An ROI x ROI matrix ordered by network, with network boundaries and names."""
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

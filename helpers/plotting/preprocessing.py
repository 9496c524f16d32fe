"""Figures of the preprocessing chapter: the atlas, cleaning, carpet plots, temporal SNR."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from helpers.data.atlases import Atlas
from helpers.plotting.theme import network_colors
from helpers.study import TR_SECONDS

__all__ = ["plot_atlas_glass_brain", "plot_cleaning", "plot_carpet", "plot_tsnr"]


def plot_atlas_glass_brain(atlas: Atlas):
    """The atlas's ROI centres on a glass brain, coloured by network, with a legend.

    Parameters
    ----------
    atlas : Atlas
        ROI coordinates (``coords``, MNI mm) and networks.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from nilearn import plotting as nilearn_plotting  # deferred: heavy, one figure needs it

    colors = network_colors(atlas)
    fig = plt.figure(figsize=(11, 3.6))
    display = nilearn_plotting.plot_glass_brain(
        None, display_mode="lyrz", figure=fig, title=f"{atlas.name}: {atlas.n_rois} ROIs"
    )
    display.add_markers(
        atlas.coords, marker_color=[colors[n] for n in atlas.networks], marker_size=12
    )
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=n) for n, c in colors.items()]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=7, frameon=False)
    return fig


def plot_cleaning(raw: np.ndarray, cleaned: np.ndarray, label: str):
    """One ROI's signal as the masker averages it, the slow part cleaning removed, and the result.

    The removed part is the raw signal minus its mean and minus the cleaned signal rescaled by
    least squares: what detrending and filtering took away, drawn on the raw scale.

    Parameters
    ----------
    raw, cleaned : numpy.ndarray, shape (n_volumes,)
        The ROI's mean signal before and after cleaning.
    label : str
        The ROI's name, for the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    raw = np.asarray(raw, dtype=float)
    cleaned = np.asarray(cleaned, dtype=float)
    centred = raw - raw.mean()
    removed = centred - (centred @ cleaned / (cleaned @ cleaned)) * cleaned
    volumes = np.arange(len(raw))
    fig, (ax_raw, ax_clean) = plt.subplots(2, 1, figsize=(10, 4.5), sharex=True)
    ax_raw.plot(volumes, raw, lw=0.8, color="grey", label="mean over the ROI's voxels")
    ax_raw.plot(volumes, raw.mean() + removed, lw=1.5, color="tab:red", label="removed by cleaning")
    ax_raw.set_ylabel("raw signal")
    ax_raw.set_title(f"{label}: before and after cleaning")
    ax_raw.legend(fontsize=8, loc="upper right")
    ax_clean.plot(volumes, cleaned, lw=0.8, color="k")
    ax_clean.axhline(0, color="grey", lw=0.5)
    ax_clean.set_ylabel("cleaned (z)")
    ax_clean.set_xlabel(f"volume (TR = {TR_SECONDS:g} s)")
    fig.tight_layout()
    return fig


def plot_carpet(series: np.ndarray, atlas: Atlas, title: str = ""):
    """Carpet plot (ROIs in network order x volumes) over the volume-to-volume signal change.

    Parameters
    ----------
    series : numpy.ndarray, shape (n_volumes, n_rois)
        Cleaned (z-scored) ROI signals.
    atlas : Atlas
        Gives the network order of the ROIs.
    title : str
        Title of the carpet.

    Returns
    -------
    matplotlib.figure.Figure
    """
    series = np.asarray(series, dtype=float)
    fig, (ax_carpet, ax_change) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [4, 1]}
    )
    ax_carpet.imshow(
        series[:, atlas.network_order()].T,
        aspect="auto",
        cmap="gray",
        vmin=-2.5,
        vmax=2.5,
        interpolation="nearest",
    )
    ax_carpet.set_ylabel("ROI (network order)")
    ax_carpet.set_title(title)
    ax_carpet.grid(False)
    change = np.sqrt(np.mean(np.diff(series, axis=0) ** 2, axis=1))
    ax_change.plot(np.arange(1, len(series)), change, lw=0.8)
    ax_change.set_xlabel(f"volume (TR = {TR_SECONDS:g} s)")
    ax_change.set_ylabel("signal change")
    fig.tight_layout()
    return fig


def plot_tsnr(tsnr: dict[str, np.ndarray]):
    """Each subject's ROI temporal SNR as a box, the subjects side by side.

    Parameters
    ----------
    tsnr : dict
        Subject -> array (n_rois,) of tSNR.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import pandas as pd

    frame = pd.DataFrame(
        [(subject, float(v)) for subject, values in tsnr.items() for v in values],
        columns=["subject", "tSNR"],
    )
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(tsnr) + 2), 3.2))
    with warnings.catch_warnings():  # seaborn 0.13 still passes boxplot's deprecated ``vert``
        warnings.simplefilter("ignore", DeprecationWarning)
        sns.boxplot(data=frame, x="subject", y="tSNR", color="tab:blue", fliersize=2, ax=ax)
    ax.set_ylabel("ROI tSNR (raw signal)")
    ax.set_xlabel("")
    ax.set_title("Temporal SNR of every ROI, per subject")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig

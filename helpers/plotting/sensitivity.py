"""Figures of the sensitivity chapter: the swept grid, verdicts, power against SNR."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

__all__ = [
    "plot_window_length",
    "plot_window_shape",
    "plot_swept_choice",
    "plot_verdicts",
    "plot_power_curve",
]


def _interval(rows, centre: str = "delta_r"):
    """Error-bar lengths below and above ``centre`` from the ``ci_low``/``ci_high`` columns."""
    return [rows[centre] - rows["ci_low"], rows["ci_high"] - rows[centre]]


def plot_window_length(table, shape: str = "rectangular", paper_length: int = 12):
    """DFC minus ROI against window length, one panel per split, one line per model.

    Bars are the 95% interval across held-out subjects (description; the verdicts come from the
    joint permutation test); grey bands mark lengths a split could not test.

    Parameters
    ----------
    table : pandas.DataFrame
        The sweep's rows: ``cv``, ``model``, ``window.length``, ``delta_r``, ``ci_low``,
        ``ci_high``, ``verdict`` (and ``window.shape`` when swept).
    shape : str
        The window shape shown when the grid varies it.
    paper_length : int
        The paper's window length, marked (TR).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if "window.shape" in table:
        table = table[table["window.shape"] == shape]
    schemes = list(dict.fromkeys(table["cv"]))
    fig, axes = plt.subplots(1, len(schemes), figsize=(4.2 * len(schemes), 3.6), squeeze=False)
    for ax, scheme in zip(axes[0], schemes):
        rows = table[table["cv"] == scheme]
        for model, group in rows.groupby("model", sort=False):
            group = group.dropna(subset=["delta_r"]).sort_values("window.length")
            ax.errorbar(
                group["window.length"],
                group["delta_r"],
                yerr=_interval(group),
                marker="o",
                capsize=3,
                label=model,
            )
        for length in sorted(set(rows.loc[rows["verdict"] == "not testable", "window.length"])):
            ax.axvspan(length - 2, length + 2, color="0.85", zorder=0)
        ax.axhline(0, color="k", lw=0.8)
        ax.axvline(paper_length, color="tab:red", ls=":", lw=1)
        ax.set(title=scheme, xlabel="window length (TR)")
    axes[0, 0].set_ylabel("DFC - ROI (mean r over emotions)")
    axes[0, -1].legend(fontsize=8)
    fig.suptitle("DFC advantage against window length (grey: not testable)")
    fig.tight_layout()
    return fig


def plot_window_shape(table):
    """DFC minus ROI for each window shape at the lengths where the grid tried both shapes.

    Parameters
    ----------
    table : pandas.DataFrame
        The sweep's rows, as for :func:`plot_window_length`, with ``window.shape``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    both = table.groupby("window.length")["window.shape"].nunique()
    rows = table[table["window.length"].isin(both[both > 1].index)].dropna(subset=["delta_r"])
    labels = list(dict.fromkeys(rows["model"] + "\n" + rows["cv"]))
    shapes = list(dict.fromkeys(rows["window.shape"]))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(labels)), 3.4))
    width = 0.8 / len(shapes)
    for k, shape in enumerate(shapes):
        part = rows[rows["window.shape"] == shape]
        x = [labels.index(label) for label in part["model"] + "\n" + part["cv"]]
        x = np.asarray(x) + (k - (len(shapes) - 1) / 2) * width
        ax.bar(x, part["delta_r"], width=width, yerr=_interval(part), capsize=3, label=shape)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.axhline(0, color="k", lw=0.8)
    lengths = ", ".join(str(v) for v in sorted(set(rows["window.length"])))
    ax.set(ylabel="DFC - ROI", title=f"Window shape at {lengths} TR")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_swept_choice(table, key: str):
    """DFC minus ROI for each value of one swept key, per model and split.

    Parameters
    ----------
    table : pandas.DataFrame
        The sweep's rows (``model``, ``cv``, ``delta_r`` and the swept key).
    key : str
        The swept key on the x axis (e.g. ``atlas``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = table.dropna(subset=["delta_r"]).assign(run=lambda t: t["model"] + ", " + t["cv"])
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.barplot(rows, x=key, y="delta_r", hue="run", errorbar=None, ax=ax)
    ax.axhline(0, color="k", lw=0.8)
    ax.set(ylabel="DFC - ROI", title=f"DFC - ROI by {key}")
    fig.tight_layout()
    return fig


def plot_verdicts(table, swept: list[str]):
    """DFC minus ROI for every combination, model and split, coloured, with each cell's verdict.

    Parameters
    ----------
    table : pandas.DataFrame
        The sweep's rows (``model``, ``cv``, ``delta_r``, ``verdict`` and the swept keys).
    swept : list of str
        The keys whose values name a combination.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = table.assign(
        combination=table[swept].astype(str).agg(", ".join, axis=1),
        run=table["model"] + "\n" + table["cv"],
    )
    delta = rows.pivot_table(index="combination", columns="run", values="delta_r", sort=False)
    short = {"DFC > ROI": "DFC", "ROI > DFC": "ROI", "no difference": "=", "not testable": "n/t"}
    labels = rows.pivot_table(
        index="combination", columns="run", values="verdict", aggfunc="first", sort=False
    ).map(lambda v: short.get(v, "leak") if isinstance(v, str) else "")
    labels = labels.reindex(index=delta.index, columns=delta.columns)
    fig, ax = plt.subplots(figsize=(1.3 * delta.shape[1] + 3, 0.45 * len(delta) + 1.8))
    limit = float(np.nanmax(np.abs(delta.to_numpy()))) if delta.notna().any().any() else 1.0
    sns.heatmap(
        delta,
        annot=labels,
        fmt="",
        cmap="RdBu_r",
        center=0,
        vmin=-limit,
        vmax=limit,
        cbar_kws={"label": "DFC - ROI (mean r)"},
        ax=ax,
    )
    for i, j in zip(*np.nonzero(delta.isna().to_numpy())):  # heatmap leaves empty cells unlabelled
        ax.text(j + 0.5, i + 0.5, labels.iloc[i, j], ha="center", va="center", color="0.4")
    ax.set(xlabel="", ylabel=", ".join(swept), title="Verdicts (leak: a leaky split, no verdict)")
    fig.tight_layout()
    return fig


def plot_power_curve(power):
    """Honest r and the share of emotions detected against the simulated SNR, per model.

    Parameters
    ----------
    power : pandas.DataFrame
        Rows with ``snr``, ``model``, ``r`` and ``share_detected``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), sharex=True)
    sns.lineplot(power, x="snr", y="r", hue="model", marker="o", ax=left)
    sns.lineplot(power, x="snr", y="share_detected", hue="model", marker="o", ax=right)
    left.set(xlabel="simulated SNR", ylabel="honest r (mean over emotions)")
    right.set(xlabel="simulated SNR", ylabel="share of emotions detected (FDR 0.05)")
    right.axhline(0.5, color="k", ls=":", lw=1)
    right.set_ylim(-0.05, 1.05)
    right.get_legend().remove()
    fig.tight_layout()
    return fig

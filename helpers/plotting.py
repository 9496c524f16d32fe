"""The book's figures: one named function per picture, drawn in one shared theme.

Chapters call these functions and narrate what they show; each chapter's figures sit in its own
section below, after the ones several chapters share.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from helpers.data.atlases import Atlas


def use_book_theme() -> None:
    """One look for every figure of the book: seaborn's white grid, colour-blind palette."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.bbox": "tight", "axes.titlesize": "medium"})


def network_colors(atlas: Atlas) -> dict[str, tuple[float, float, float, float]]:
    """One distinct colour per network, stable for a given atlas."""
    names = atlas.network_names()
    cmap = plt.get_cmap("tab20", max(len(names), 1))
    return {name: cmap(i) for i, name in enumerate(names)}


def plot_network_matrix(
    matrix: np.ndarray,
    atlas: Atlas,
    title: str = "",
    ax=None,
    cmap: str = "RdBu_r",
    vmax: float | None = None,
):
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


def plot_folds(meta, splitters: dict, axes=None):
    """One fold of each splitter: which (subject, window) samples train, test or are purged."""
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


def emotion_grid(emotions, title: str = "", sharex: bool = True, height: float = 4.5):
    """A 2 x 4 grid of axes, one per emotion, titled with the emotion's name."""
    fig, axes = plt.subplots(2, 4, figsize=(12, height), sharex=sharex)
    for ax, emotion in zip(axes.ravel(), emotions):
        ax.set_title(emotion, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig, axes.ravel()


def plot_null_distributions(result, emotions=None):
    """Each emotion's null r (histogram) with the observed within-fold r (red line) and its p-value."""
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


def plot_trajectories(result, subject: str):
    """Predicted against actual emotion trajectories of one held-out subject."""
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


def plot_paired_subjects(per_subject: dict, titles: dict | None = None):
    """Each held-out subject's mean r on two feature sets, joined by a line, one panel per model.

    The red diamonds are the mean over subjects with a 95% bootstrap interval (description: the
    subjects share training data and a story, so the interval is not a test).
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


def step_series(frame, onsets, offsets, emotion: str) -> tuple[np.ndarray, np.ndarray]:
    """Segment scores as steps held from each segment's onset until the next one begins."""
    times = np.append(onsets, offsets[-1])
    values = frame[emotion].to_numpy()
    return times, np.append(values, values[-1])


def plot_calibration(summary, alpha: float = 0.05):
    """False-positive rate of each test on null data (with its interval) beside its power."""
    order = summary.sort_values("test")
    y = np.arange(len(order))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.35 * len(order) + 1.5), sharey=True)
    rate = order["false_positive_rate"].to_numpy()
    errors = [rate - order["ci_low"].to_numpy(), order["ci_high"].to_numpy() - rate]
    left.errorbar(rate, y, xerr=errors, fmt="o", color="k", capsize=3)
    left.axvline(alpha, color="tab:red", lw=1)
    left.set_yticks(y, order["test"], fontsize=8)
    left.set_xlabel(f"false-positive rate at alpha {alpha} (null datasets)")
    right.barh(y, order["power"], color="tab:blue")
    right.set_xlim(0, 1)
    right.set_xlabel("power (planted datasets)")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ chapter 01: annotation
# Figures of the LLM annotation chapter: trajectories, co-occurrence, agreement.


# --------------------------------------------------------------- chapter 02: preprocessing
# Figures of the preprocessing chapter: masker, carpet plots, quality measures.


# -------------------------------------------------------------------- chapter 03: features
# Figures of the features chapter: windows, DFC matrices, feature counts.


# ------------------------------------------------------------------ chapter 04: regression
# Figures of the regression chapter beyond the shared ones above.


def plot_split_leak(scores, model: str):
    """One model's R² and within-fold r per feature set under each split: the leak at a glance."""
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


# ---------------------------------------------------------------- chapter 05: explanations
# Figures of the explanations chapter: weights against patterns, importance maps.


# -------------------------------------------------------------- chapter 06: interpretation
# Figures of the interpretation chapter: network shares, lesions, verdicts.


# ----------------------------------------------------------------- chapter 07: sensitivity
# Figures of the sensitivity chapter: grids, power curves.


def _interval(rows, centre: str = "delta_r"):
    """Error-bar lengths below and above ``centre`` from the ``ci_low``/``ci_high`` columns."""
    return [rows[centre] - rows["ci_low"], rows["ci_high"] - rows[centre]]


def plot_window_length(table, shape: str = "rectangular", paper_length: int = 12):
    """DFC minus ROI against window length, one panel per split, one line per model.

    Bars are the 95% interval across held-out subjects (description; the verdicts come from the
    joint permutation test); grey bands mark lengths a split could not test.
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
    """DFC minus ROI for each window shape at the lengths where the grid tried both shapes."""
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
    """DFC minus ROI for each value of one swept key, per model and split."""
    rows = table.dropna(subset=["delta_r"]).assign(run=lambda t: t["model"] + ", " + t["cv"])
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.barplot(rows, x=key, y="delta_r", hue="run", errorbar=None, ax=ax)
    ax.axhline(0, color="k", lw=0.8)
    ax.set(ylabel="DFC - ROI", title=f"DFC - ROI by {key}")
    fig.tight_layout()
    return fig


def plot_verdicts(table, swept: list[str]):
    """DFC minus ROI for every combination, model and split, coloured, with each cell's verdict."""
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
    """Honest r and the share of emotions detected against the simulated SNR, one line per model."""
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


# ----------------------------------------------------------------- chapter 08: calibration
# Figures of the calibration chapter beyond plot_calibration above.


def plot_null_p_values(p_values, alpha: float = 0.05, title: str = ""):
    """Null p-values against the uniform distribution: histogram and empirical CDF.

    A calibrated test's null p-values are uniform: a flat histogram at density 1 and a CDF on the
    diagonal. A CDF above the diagonal near ``alpha`` means too many small p-values.
    """
    p = np.asarray(p_values, dtype=float)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    sns.histplot(p, bins=10, binrange=(0, 1), stat="density", color="lightgrey", ax=left)
    left.axhline(1, color="tab:red", lw=1, label="uniform")
    left.set(xlabel="null p-value", ylabel="density")
    left.legend(fontsize=8)
    sns.ecdfplot(p, ax=right, color="k")
    right.plot([0, 1], [0, 1], color="tab:red", lw=1)
    right.axvline(alpha, color="0.5", ls=":", lw=1)
    right.set(xlabel="null p-value", ylabel="share of p-values below", xlim=(0, 1), ylim=(0, 1))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig

"""The book's figures: one named function per picture, drawn in one shared theme.

Chapters call these functions and narrate what they show; each chapter's figures sit in its own
section below, after the ones several chapters share.
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from helpers.data.atlases import Atlas
from helpers.features.connectivity import R_CLIP
from helpers.study import TR_SECONDS


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


def plot_segment_timeline(segmentations: dict):
    """Each segmentation's segments as bars on the audio's clock, one row per segmentation.

    ``segmentations`` maps a label to a frame with ``onset`` and ``duration`` columns (seconds).
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
    """Published timestamps minus the aligned end and start of each line, against the line's end."""
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
    """Spearman rho per emotion for each pair of annotators (bars), zero marked."""
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

    ``annotations`` maps a name to ``(scores, onsets, offsets)``. Each annotator's scores of an
    emotion are divided by their maximum, so annotators on different scales share one axis.
    """
    rows = []
    for name, (scores, onsets, offsets) in annotations.items():
        for emotion in emotions:
            times, values = step_series(scores, onsets, offsets, emotion)
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
    """Left: the HRF. Right: one emotion's step per volume, the step convolved with the HRF,
    and the helper's target computed on a finer grid."""
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
    """The eight TR-level targets of a run, one row per emotion."""
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
    """One heatmap of emotion-by-emotion Spearman rho per annotator, on one colour scale."""
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
    and the band a textbook test would call chance (grey)."""
    fig, axes = emotion_grid(list(null.columns), height=4.5)
    for ax, emotion in zip(axes, null.columns):
        ax.axvspan(-critical_r, critical_r, color="0.85", zorder=0)
        sns.histplot(null[emotion], bins=30, ax=ax, color="C0", edgecolor="none")
        ax.axvline(observed[emotion], color="C3", lw=2)
        ax.set_xlabel("r")
        ax.set_ylabel("")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------- chapter 02: preprocessing
# Figures of the preprocessing chapter: masker, carpet plots, quality measures.


def plot_atlas_glass_brain(atlas: Atlas):
    """The atlas's ROI centres on a glass brain, coloured by network, with a legend."""
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
    """Carpet plot (ROIs in network order x volumes) over the volume-to-volume signal change."""
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
    """Each subject's ROI temporal SNR as a box, the subjects side by side."""
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


# -------------------------------------------------------------------- chapter 03: features
# Figures of the features chapter: windows, DFC matrices, feature counts.


def plot_window_pair(
    pair: np.ndarray,
    labels: tuple[str, str],
    starts: np.ndarray,
    length: int,
    r_course: np.ndarray,
    title: str = "",
):
    """Two ROI signals with their strongest and weakest window shaded, over the window r course."""
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
    """Network-ordered ROI x ROI heatmaps of DFC windows (each a vector of edges), one colour scale."""
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
    """Features per sample against samples, per atlas (a table with atlas, features, samples)."""
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
    """The relative weight of each volume in windows of each shape, with its effective length."""
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
    """Window-aligned emotion trajectories above a few edges' DFC time courses."""
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
    """Edge-emotion r averaged by network pair: the strongest pairs, and one emotion's matrix."""
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
    """DFC's fluctuation over time in real signals against the phase-randomised null, per length."""
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


def plot_weights_and_patterns(X, y, weights, pattern, names=("signal + distractor", "distractor")):
    """Two features of a decoder: the samples, then its weights beside its Haufe pattern.

    Left: the samples coloured by the target, with the weight vector (the direction the decoder
    reads out) and the pattern (the direction the target moves the data). Right: both as bars.
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
    """Recovery AUROC of the planted edges per emotion and model, with chance and the null's range."""
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
    """Each emotion's ``n_show`` strongest edges on a glass brain, nodes coloured by network."""
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
    """Mean |importance| between every pair of networks, one heatmap per emotion."""
    rows = int(np.ceil(len(tables) / 4))
    fig, axes = plt.subplots(rows, 4, figsize=(16, 4 * rows), squeeze=False)
    for ax, (emotion, table) in zip(axes.ravel(), tables.items()):
        sns.heatmap(table, cmap="magma", ax=ax, cbar=False, square=True)
        ax.set_title(emotion)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig


def plot_spanning_trees(trees: dict, atlas):
    """Each emotion's maximum spanning tree at the ROIs' (x, y) positions; size = betweenness."""
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
    """Pairwise Jaccard overlap of the emotions' top edge sets (a seaborn heatmap)."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    sns.heatmap(jaccard, vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".2f", ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_leave_one_network_out(drops, atlas, title: str = ""):
    """Drop in mean held-out r when each network's edges are removed, bars in network colours."""
    colors = network_colors(atlas)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(range(len(drops)), drops.to_numpy(), color=[colors[n] for n in drops.index])
    ax.set_xticks(range(len(drops)), drops.index, rotation=60, ha="right", fontsize=8)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("drop in mean r")
    ax.set_title(title)
    fig.tight_layout()
    return fig


# -------------------------------------------------------------- chapter 06: interpretation
# Figures of the interpretation chapter: network shares, lesions, verdicts.


def plot_network_shares(shares):
    """Share of each emotion's top-edge importance held by each network (a seaborn heatmap)."""
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(shares) + 1.5))
    sns.heatmap(shares, cmap="magma", ax=ax, cbar_kws={"label": "share of importance"})
    ax.set_xlabel("emotion")
    ax.set_ylabel("network")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


def plot_index_nulls(null, observed: dict, titles: dict | None = None):
    """Each index's null distribution (histogram) with the observed value as a red line.

    ``null`` maps an index name to its null draws, ``observed`` to the observed value.
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
    """Each named lesion's drop in held-out r per emotion, beside the random lesions' drops."""
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

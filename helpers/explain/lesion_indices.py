"""Lesion indices of the interpretation chapter: where a decoder's losses concentrate.

Leave-one-network-out concentration, the named-lesion index against random ROI sets of the same
size, and the chapter's lesion table; each compares a decoder's drops with the drops of the same
lesions under null draws (:mod:`helpers.explain.lesions` computes them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.explain.indices import empirical_p


def lono_concentration(drops: np.ndarray) -> np.ndarray:
    """Share of the summed leave-one-network-out loss carried by the most important network.

    ``drops`` is (..., n_networks): each network's drop in held-out r. Negative drops (removing a
    network helped) count as no loss. 1 means one network carries all of it (locationist); ``1 /
    n_networks`` an even spread; 0 when no removal hurts, so no network carries any loss. A value,
    not NaN, in that case keeps the decoder of the real targets and those of null targets
    comparable: a decoder of no signal often loses nothing to any lesion.

    Parameters
    ----------
    drops : numpy.ndarray
        (..., n_networks) drop in held-out r when each network is left out.

    Returns
    -------
    numpy.ndarray
        (...) concentration in [0, 1].
    """
    loss = np.clip(np.asarray(drops, dtype=float), 0.0, None)
    total = loss.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, loss.max(axis=-1) / np.where(total > 0, total, 1.0), 0.0)


def lesion_index(drops: pd.DataFrame, null_drops: pd.DataFrame) -> tuple[float, np.ndarray]:
    """The lesion index and its null: the largest standardised specific drop over named lesions.

    For each named lesion, its largest drop in held-out r over emotions is put in standard
    deviations of the same statistic for random lesions of its size; the index is the largest of
    these over lesions. Its null takes, draw by draw, the same maximum over the random lesions, so
    testing several lesions does not inflate the false-positive rate.

    Parameters
    ----------
    drops : pandas.DataFrame
        Named lesions' drops: columns ``lesion``, ``emotion`` and ``drop`` (held-out r); rows with
        ``emotion == "mean"`` are ignored.
    null_drops : pandas.DataFrame
        Random lesions' drops, the same columns plus ``draw``; ``lesion`` names the lesion each
        random set stands in for (at least 2 draws per lesion).

    Returns
    -------
    tuple of (float, numpy.ndarray)
        The index and its (n_draws,) null.
    """
    observed, null = [], []
    for lesion, group in drops[drops.emotion != "mean"].groupby("lesion", sort=False):
        random = null_drops[(null_drops.lesion == lesion) & (null_drops.emotion != "mean")]
        per_draw = random.groupby("draw")["drop"].max().to_numpy()
        if len(per_draw) < 2:
            raise ValueError(f"lesion {lesion!r} needs at least 2 random lesions")
        centre, sd = per_draw.mean(), per_draw.std(ddof=1) or 1.0
        observed.append((group["drop"].max() - centre) / sd)
        null.append((per_draw - centre) / sd)
    if not observed:
        raise ValueError("no named lesion to test")
    return float(max(observed)), np.max(np.stack(null), axis=0)


def random_roi_sets(
    n_rois: int, size: int, n_sets: int, seed: int = 0, exclude: Sequence[int] = ()
) -> list[np.ndarray]:
    """``n_sets`` random ROI sets of ``size`` ROIs (not from ``exclude``): the lesion null."""
    pool = np.setdiff1d(np.arange(n_rois), np.asarray(exclude, dtype=int))
    if size > len(pool):
        raise ValueError(f"cannot draw {size} ROIs from {len(pool)} available")
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(pool, size=size, replace=False)) for _ in range(n_sets)]


def lesion_summary(drops: pd.DataFrame, null_drops: pd.DataFrame) -> pd.DataFrame:
    """Each named lesion's mean drop in r (over emotions) and its largest single-emotion drop, with
    p-values against random lesions of the same size (``null_drops`` has a ``lesion`` column naming
    the real lesion each random set stands in for).

    Parameters
    ----------
    drops : pandas.DataFrame
        Named lesions' drops: columns ``lesion``, ``emotion``, ``drop`` (held-out r) and
        ``n_features``; rows with ``emotion == "mean"`` are ignored.
    null_drops : pandas.DataFrame
        Random lesions' drops: columns ``lesion``, ``emotion``, ``drop`` and ``draw``.

    Returns
    -------
    pandas.DataFrame
        One row per named lesion: ``lesion``, ``n_features``, ``mean_drop``, ``null_mean_drop``,
        ``p_mean_drop``, ``max_drop``, ``max_drop_emotion`` and ``p_max_drop``.
    """
    rows = []
    for lesion, group in drops[drops.emotion != "mean"].groupby("lesion", sort=False):
        null = null_drops[(null_drops.lesion == lesion) & (null_drops.emotion != "mean")]
        null_mean = null.groupby("draw")["drop"].mean().to_numpy()
        null_max = null.groupby("draw")["drop"].max().to_numpy()
        worst = group.loc[group["drop"].idxmax()]
        rows.append(
            {
                "lesion": lesion,
                "n_features": int(group["n_features"].iloc[0]),
                "mean_drop": float(group["drop"].mean()),
                "null_mean_drop": float(np.mean(null_mean)) if len(null_mean) else float("nan"),
                "p_mean_drop": float(empirical_p(group["drop"].mean(), null_mean)),
                "max_drop": float(worst["drop"]),
                "max_drop_emotion": str(worst["emotion"]),
                "p_max_drop": float(empirical_p(worst["drop"], null_max)),
            }
        )
    return pd.DataFrame(rows)


__all__ = ["lesion_index", "lesion_summary", "lono_concentration", "random_roi_sets"]

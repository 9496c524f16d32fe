"""The pattern statistics of the interpretation chapter and their tests against null draws.

Network entropy and shares (computed in :mod:`helpers.explain.network_indices`), Jaccard overlap
and the shared core of top edges, leave-one-network-out concentration, the lesion index and the
joint DFC-against-ROI comparison, each against a null from the same pipeline: null targets (phase
randomisations of the emotion series with their spectrum and co-occurrence, predicted through the
same folds and tuning), shuffled network labels (network sizes kept) or random ROI sets of a
lesion's size. Calibrated on worlds with a known account, none of these tells the accounts apart
(chapter 08's verdict table), so the chapter shows them as descriptive;
:mod:`helpers.explain.accounts` holds the indices that do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from helpers.decoding.stats import VerdictLabels, verdict
from helpers.explain.network_indices import (
    network_entropy,
    network_entropy_label_null,
    network_shares,
)


# ----------------------------------------------------------------------------- null p-values
def empirical_p(
    observed: float | np.ndarray, null: np.ndarray, tail: str = "greater"
) -> np.ndarray:
    """``(1 + #null at least as extreme) / (1 + n_null)`` along the first axis of ``null``.

    Parameters
    ----------
    observed : float or numpy.ndarray
        The observed value(s), broadcast against ``null[i]``.
    null : numpy.ndarray
        (n_null, ...) null draws.
    tail : {"greater", "less"}, optional
        Which values count as at least as extreme: those above or those below ``observed``.

    Returns
    -------
    numpy.ndarray
        The p-value(s), shaped like ``observed``; NaN when there are no null draws.
    """
    null = np.asarray(null, dtype=float)
    observed = np.asarray(observed, dtype=float)
    if null.shape[0] == 0:
        return np.full(observed.shape, np.nan)
    if tail == "greater":
        count = np.sum(null >= observed - 1e-12, axis=0)
    elif tail == "less":
        count = np.sum(null <= observed + 1e-12, axis=0)
    else:
        raise ValueError(f"tail must be 'greater' or 'less', got {tail!r}")
    return (1.0 + count) / (1.0 + null.shape[0])


# ---------------------------------------------------------------------------- spread over networks
def two_sided_p(observed: float, null: np.ndarray) -> float:
    """Two-sided empirical p-value: twice the smaller tail, capped at 1."""
    null = np.asarray(null, dtype=float)
    return float(
        min(1.0, 2 * min(empirical_p(observed, null), empirical_p(observed, null, tail="less")))
    )


def node_strength(importance: np.ndarray, edges: np.ndarray | None, n_rois: int) -> np.ndarray:
    """Sum of ``|importance|`` over each ROI's edges: (n_rois, n_targets). ROI features: ``|importance|``.

    Parameters
    ----------
    importance : numpy.ndarray
        (n_features,) or (n_features, n_targets) importances, one row per edge or per ROI.
    edges : numpy.ndarray or None
        (n_edges, 2) ROI indices of each edge's two ends; None when the features are ROIs.
    n_rois : int
        Number of ROIs.

    Returns
    -------
    numpy.ndarray
        (n_rois, n_targets) node strength.
    """
    values = np.abs(np.asarray(importance, dtype=float))
    if values.ndim == 1:
        values = values[:, None]
    if edges is None:
        if len(values) != n_rois:
            raise ValueError(f"{len(values)} ROI importances for {n_rois} ROIs")
        return values
    edges = np.asarray(edges)
    if len(edges) != len(values):
        raise ValueError(f"{len(values)} edge importances for {len(edges)} edges")
    ends = np.concatenate([edges[:, 0], edges[:, 1]])
    return np.stack(
        [np.bincount(ends, np.tile(column, 2), minlength=n_rois) for column in values.T], axis=1
    )


def keep_top_edges(importance: np.ndarray, fraction: float) -> np.ndarray:
    """|importance| with every edge outside each target's top ``fraction`` set to zero.

    Summed over all edges, every ROI's strength is dominated by its hundreds of unimportant edges
    and any concentration is washed out; on the thresholded graph (the one the chapter draws) the
    strength says where the important edges sit.

    Parameters
    ----------
    importance : numpy.ndarray
        (n_edges,) or (n_edges, n_targets) edge importances.
    fraction : float
        Share of edges kept per target (at least one edge).

    Returns
    -------
    numpy.ndarray
        (n_edges, n_targets) ``|importance|``, zero outside each target's top edges.
    """
    values = np.abs(np.asarray(importance, dtype=float))
    if values.ndim == 1:
        values = values[:, None]
    k = max(1, int(round(fraction * len(values))))
    cutoff = -np.partition(-values, k - 1, axis=0)[k - 1]
    return np.where(values >= cutoff, values, 0.0)


def top_edge_masks(importance: np.ndarray, fraction: float) -> np.ndarray:
    """Boolean (n_edges, n_targets): each target's top ``fraction`` edges by ``|importance|``.

    The same sets as :func:`helpers.explain.graphs.top_edge_indices` (``ceil(fraction * n)`` edges,
    ties broken by index), found with a partition instead of a sort: the null distributions call
    this hundreds of times on 44,850 edges.
    """
    values = np.abs(np.asarray(importance, dtype=float))
    if values.ndim == 1:
        values = values[:, None]
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"the top-edge fraction must be in (0, 1], got {fraction}")
    k = max(1, int(np.ceil(fraction * len(values))))
    cutoff = -np.partition(-values, k - 1, axis=0)[k - 1]
    masks = values > cutoff
    for j in range(values.shape[1]):
        missing = k - int(masks[:, j].sum())
        if missing > 0:
            masks[np.flatnonzero(values[:, j] == cutoff[j])[:missing], j] = True
    return masks


def overlap_indices(
    importance: np.ndarray, fraction: float, masks: np.ndarray | None = None
) -> dict[str, float]:
    """How much the emotions share their top edges.

    ``mean_jaccard``: mean pairwise Jaccard overlap of the top ``fraction`` edges;
    ``shared_core``: share of the union of top edges that is top for at least two emotions;
    ``specific``: mean share of an emotion's top edges that no other emotion has in its top set.
    ``masks`` (from :func:`top_edge_masks`) may be passed when already computed.

    Parameters
    ----------
    importance : numpy.ndarray
        (n_edges, n_emotions) edge importances, at least two emotions.
    fraction : float
        Share of edges in each emotion's top set.
    masks : numpy.ndarray, optional
        (n_edges, n_emotions) boolean top-edge sets; computed from ``importance`` when None.

    Returns
    -------
    dict of str to float
        ``mean_jaccard``, ``shared_core`` and ``specific``.
    """
    importance = np.asarray(importance, dtype=float)
    k = importance.shape[1]
    if k < 2:
        raise ValueError("overlap needs at least two emotions")
    if masks is None:
        masks = top_edge_masks(importance, fraction)
    as_float = masks.astype(np.float32)
    inter = as_float.T @ as_float
    sizes = np.diag(inter)
    pairs = np.triu_indices(k, 1)
    union = sizes[:, None] + sizes[None, :] - inter
    counts = masks.sum(axis=1)
    in_union = counts > 0
    only_one = counts == 1
    specific = [float(np.mean(only_one[masks[:, j]])) for j in range(k)]
    return {
        "mean_jaccard": float(np.mean(inter[pairs] / union[pairs])),
        "shared_core": float(np.mean(counts[in_union] >= 2)),
        "specific": float(np.mean(specific)),
    }


# ------------------------------------------------------------ indices against null targets
INDEX_DIRECTIONS = {
    "network_entropy": "constructionist",
    "mean_jaccard": "constructionist",
    "shared_core": "constructionist",
    "lono_concentration": "locationist",
}
"""Which account a value *above* the null favours, for each index of :func:`pattern_indices`."""


def pattern_indices(
    importance: np.ndarray,
    edges: np.ndarray,
    n_rois: int,
    roi_networks: Sequence[str],
    fraction: float,
) -> dict[str, float]:
    """The pattern-level indices of one importance matrix (n_edges, n_emotions).

    ``network_entropy``: mean over emotions of the normalised entropy of the top-``fraction``
    edges' strength over networks; ``mean_jaccard`` and ``shared_core``: see
    :func:`overlap_indices`.

    Parameters
    ----------
    importance : numpy.ndarray
        (n_edges, n_emotions) edge importances.
    edges : numpy.ndarray
        (n_edges, 2) ROI indices of each edge's two ends.
    n_rois : int
        Number of ROIs.
    roi_networks : sequence of str
        (n_rois,) network of each ROI.
    fraction : float
        Share of edges in each emotion's top set.

    Returns
    -------
    dict of str to float
        ``network_entropy``, ``mean_jaccard`` and ``shared_core``.
    """
    importance = np.asarray(importance, dtype=float)
    top = top_edge_masks(importance, fraction)
    strength = node_strength(np.where(top, np.abs(importance), 0.0), edges, n_rois)
    overlap = overlap_indices(importance, fraction, masks=top)
    return {
        "network_entropy": float(network_entropy(strength, roi_networks).mean()),
        "mean_jaccard": overlap["mean_jaccard"],
        "shared_core": overlap["shared_core"],
    }


def null_pattern_indices(
    draws: Iterable[np.ndarray],
    edges: np.ndarray,
    n_rois: int,
    roi_networks: Sequence[str],
    fraction: float,
) -> pd.DataFrame:
    """:func:`pattern_indices` of every null draw's importance: one row per draw.

    Parameters
    ----------
    draws : iterable of numpy.ndarray
        Each null draw's (n_edges, n_emotions) edge importances.
    edges : numpy.ndarray
        (n_edges, 2) ROI indices of each edge's two ends.
    n_rois : int
        Number of ROIs.
    roi_networks : sequence of str
        (n_rois,) network of each ROI.
    fraction : float
        Share of edges in each emotion's top set.

    Returns
    -------
    pandas.DataFrame
        (n_draws, 3) columns ``network_entropy``, ``mean_jaccard`` and ``shared_core``.
    """
    rows = [pattern_indices(d, edges, n_rois, roi_networks, fraction) for d in draws]
    return pd.DataFrame(rows, columns=["network_entropy", "mean_jaccard", "shared_core"])


def index_test(
    observed: float,
    null: np.ndarray,
    *,
    above: str,
    level: float = 0.95,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """An index against its null: effect size, interval, two-sided p and the verdict.

    ``effect`` is the observed value minus the null mean and ``z`` the same in null standard
    deviations. The interval ``[observed - q_hi, observed - q_lo]`` (``q`` the null's central
    ``level`` quantiles) holds the effects a decoder of no signal would produce around this
    observation; it excludes zero exactly when the observation lies outside the null's central
    range. ``above`` is the account a value above the null favours (the other one is favoured
    below); :func:`helpers.decoding.stats.verdict` decides, and says ``inconclusive`` when the test
    does not reject.

    Parameters
    ----------
    observed : float
        The index on the real targets.
    null : numpy.ndarray
        (n_null,) the index on null draws; non-finite draws are dropped (at least 2 must remain).
    above : {"constructionist", "locationist"}
        The account a value above the null favours.
    level : float, optional
        Coverage of the interval.
    alpha : float, optional
        Significance level of the verdict.

    Returns
    -------
    dict of str to Any
        ``observed``, ``null_mean``, ``null_sd``, ``effect``, ``z``, ``ci_low``, ``ci_high``,
        ``p_value``, ``n_null`` and ``favours`` (the verdict).
    """
    if above not in ("constructionist", "locationist"):
        raise ValueError(f"above must be 'constructionist' or 'locationist', got {above!r}")
    null = np.asarray(null, dtype=float)
    null = null[np.isfinite(null)]
    if null.size < 2:
        raise ValueError(f"an index test needs at least 2 finite null draws, got {null.size}")
    below = "locationist" if above == "constructionist" else "constructionist"
    tail = (1 - level) / 2
    q_lo, q_hi = np.quantile(null, [tail, 1 - tail])
    effect = float(observed - null.mean())
    sd = float(null.std(ddof=1))
    # an undefined observation (e.g. no importance at all) is no evidence: counting it as beyond
    # both tails of the null would reject
    p = two_sided_p(observed, null) if np.isfinite(observed) else float("nan")
    low, high = float(observed - q_hi), float(observed - q_lo)
    return {
        "observed": float(observed),
        "null_mean": float(null.mean()),
        "null_sd": sd,
        "effect": effect,
        "z": effect / sd if sd > 0 else float("nan"),
        "ci_low": low,
        "ci_high": high,
        "p_value": p,
        "n_null": int(null.size),
        "favours": verdict(
            effect, p, VerdictLabels(above, below), interval=(low, high), alpha=alpha
        ),
    }


__all__ = [
    "empirical_p",
    "two_sided_p",
    "node_strength",
    "keep_top_edges",
    "network_shares",
    "network_entropy",
    "network_entropy_label_null",
    "top_edge_masks",
    "overlap_indices",
    "INDEX_DIRECTIONS",
    "pattern_indices",
    "null_pattern_indices",
    "index_test",
]

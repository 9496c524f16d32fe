"""The account indices on each emotion's ROI profile, and whether the explained decoder decodes.

Each emotion's importance is summarised per ROI (its *profile*: shares over its top edges, or over
ROIs for amplitude features) and the indices read the ROI x emotion profile on the pairs of
emotions whose ratings co-occur least (:func:`weak_pairs`), where a locationist brain has nothing
to share (Lindquist et al. 2012: consistency and specificity of each emotion's regions):

* ``roi_specificity``: for an emotion's top ROIs, the share of importance that is the emotion's own
  rather than a weakly co-occurring emotion's (above the null: locationist);
* ``top_roi_overlap``: the Jaccard overlap of the top ROI sets of two weakly co-occurring emotions
  (above the null: constructionist, below: locationist);
* ``cross_share``: the share of a weakly co-occurring emotion's importance that sits in an
  emotion's top ROIs, per share of ROIs they are (1: as many as their number; above the null:
  constructionist);
* ``profile_similarity``: the correlation over ROIs of two weakly co-occurring emotions' profiles
  (above the null: constructionist);
* ``shared_network_share``: the share of each emotion's importance in the networks important for
  every emotion (descriptive).

Every index is tested against the same index of decoders of null targets (phase randomisations
with the ratings' spectrum and co-occurrence, through the same folds). A decoder that does not
predict held-out windows better than its null draws has nothing to explain:
:func:`decoding_test` says whether it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from helpers.decoding.nulls import null_window_table
from helpers.explain.heldout import NullDraws
from helpers.explain.indices import index_test, network_shares, node_strength, top_edge_masks

TOP_ROI_FRACTION = 0.05
"""Share of the atlas's ROIs counted as an emotion's top ROIs (8 of 160, 15 of 300)."""

SHARED_NETWORKS = 2
"""How many networks count as important for every emotion (those with the largest smallest share)."""

PROFILE_EDGE_FRACTION = 0.002
"""Share of edges that make an emotion's ROI profile: a few dozen of the strongest edges (25 of
Dosenbach's 12,720, 90 of Seitzman's 44,850), so the profile says where the decoder's few
important edges sit rather than where its noise does."""

ACCOUNT_DIRECTIONS = {
    "roi_specificity": "locationist",
    "top_roi_overlap": "constructionist",
    "cross_share": "constructionist",
    "profile_similarity": "constructionist",
    "shared_network_share": "constructionist",
}
"""Each account index with the account a value *above* the null favours."""


def target_correlation(targets: np.ndarray) -> np.ndarray:
    """Correlation matrix of the emotion targets: how the ratings co-occur.

    Parameters
    ----------
    targets : numpy.ndarray
        (n_windows, K) emotion targets, K >= 2.

    Returns
    -------
    numpy.ndarray
        (K, K) Pearson correlations.
    """
    targets = np.asarray(targets, dtype=float)
    if targets.ndim != 2 or targets.shape[1] < 2:
        raise ValueError(f"targets must be (n_windows, n_emotions >= 2); got {targets.shape}")
    return np.corrcoef(targets, rowvar=False)


def weak_pairs(correlation: np.ndarray) -> np.ndarray:
    """Boolean (K, K): the pairs of distinct emotions whose ratings co-occur least.

    A pair is weak when its |correlation| is at most the median over all pairs: the half of the
    pairs on which co-occurring ratings cannot pass for shared substrate.

    Parameters
    ----------
    correlation : numpy.ndarray
        (K, K) correlations of the emotion targets (:func:`target_correlation`).

    Returns
    -------
    numpy.ndarray
        (K, K) bool, symmetric, False on the diagonal.
    """
    correlation = np.abs(np.asarray(correlation, dtype=float))
    k = len(correlation)
    off = ~np.eye(k, dtype=bool)
    return off & (correlation <= np.median(correlation[np.triu_indices(k, 1)]))


def roi_profiles(
    importance: np.ndarray, edges: np.ndarray | None, n_rois: int, fraction: float
) -> np.ndarray:
    """Each emotion's share of importance per ROI: (n_rois, K), columns summing to one.

    Edge importance counts through each emotion's top ``fraction`` edges by |importance| (over all
    edges, every ROI's hundreds of unimportant edges would wash out where the important ones sit);
    ROI features (``edges=None``) count directly.
    """
    values = np.abs(np.asarray(importance, dtype=float))
    if edges is not None:
        values = np.where(top_edge_masks(values, fraction), values, 0.0)
    strength = node_strength(values, edges, n_rois)
    total = strength.sum(axis=0)
    return strength / np.where(total > 0, total, 1.0)


def account_indices(
    profile: np.ndarray, roi_networks: Sequence[str], weak: np.ndarray
) -> dict[str, float]:
    """The account indices of one ROI x emotion profile, read on weakly co-occurring pairs.

    Parameters
    ----------
    profile
        (n_rois, K) shares of importance per ROI (:func:`roi_profiles`).
    roi_networks
        The network of each ROI.
    weak
        (K, K) boolean: the pairs the indices are read on (:func:`weak_pairs`).

    Returns
    -------
    dict
        One value per index of :data:`ACCOUNT_DIRECTIONS`.
    """
    profile = np.asarray(profile, dtype=float)
    n_rois, k = profile.shape
    n_top = max(1, int(np.ceil(TOP_ROI_FRACTION * n_rois)))
    top = np.argsort(-profile, axis=0, kind="stable")[:n_top]
    member = np.zeros((n_rois, k))
    member[top, np.arange(k)] = 1.0
    shared = member.T @ member
    jaccard = shared / (2 * n_top - shared)
    own = np.array([profile[top[:, e], e].sum() for e in range(k)])
    # held[e, f]: the share of f's importance that sits in e's top ROIs
    held = np.stack([profile[top[:, e]].sum(axis=0) for e in range(k)])
    with np.errstate(invalid="ignore", divide="ignore"):
        selectivity = own[:, None] / (own[:, None] + held)
        similarity = np.corrcoef(profile, rowvar=False)
    shares = network_shares(profile, roi_networks).to_numpy()
    common = np.argsort(-shares.min(axis=1), kind="stable")[:SHARED_NETWORKS]
    return {
        "roi_specificity": float(np.nanmean(selectivity[weak])),
        "top_roi_overlap": float(np.mean(jaccard[weak])),
        "cross_share": float(np.nanmean(held[weak])) * n_rois / n_top,
        "profile_similarity": float(np.nanmean(similarity[weak])),
        "shared_network_share": float(shares[common].sum(axis=0).mean()),
    }


def account_tests(
    importance: np.ndarray,
    null_draws: Any,
    edges: np.ndarray | None,
    roi_networks: Sequence[str],
    correlation: np.ndarray,
    fraction: float = PROFILE_EDGE_FRACTION,
) -> dict[str, dict[str, Any]]:
    """Every account index of ``importance`` against the same index of each null draw.

    Parameters
    ----------
    importance
        (n_features, K) held-out importance of the explained decoder.
    null_draws
        Iterable of arrays shaped like ``importance``: the decoders of null targets.
    edges
        (n_features, 2) ROI pairs of DFC features, or ``None`` for ROI features.
    roi_networks
        The network of each ROI.
    correlation
        (K, K) correlation of the emotion ratings (:func:`target_correlation`).
    fraction
        Share of edges that make a profile (:data:`PROFILE_EDGE_FRACTION`).

    Returns
    -------
    dict
        Per index, :func:`helpers.explain.indices.index_test`'s result with its ``null`` values.
    """
    where = (edges, len(roi_networks), fraction)
    weak = weak_pairs(correlation)
    observed = account_indices(roi_profiles(importance, *where), roi_networks, weak)
    null = pd.DataFrame(
        [account_indices(roi_profiles(draw, *where), roi_networks, weak) for draw in null_draws]
    )
    return {
        name: index_test(observed[name], null[name].to_numpy(), above=above)
        | {"null": null[name].to_numpy()}
        for name, above in ACCOUNT_DIRECTIONS.items()
    }


def _mean_within_fold_r(y: np.ndarray, p: np.ndarray, folds: Sequence[tuple], k: int) -> np.ndarray:
    """Mean over folds and each group of ``k`` targets of the within-fold r: one per group."""
    out = []
    for _, test in folds:
        yt, pt = y[test] - y[test].mean(axis=0), p[test] - p[test].mean(axis=0)
        denominator = np.sqrt((yt**2).sum(axis=0) * (pt**2).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(denominator > 0, (yt * pt).sum(axis=0) / denominator, 0.0)
        out.append(r.reshape(-1, k).mean(axis=1))
    return np.mean(out, axis=0)


def decoding_test(held: Any, data: Any, draws: NullDraws, alpha: float = 0.05) -> dict[str, Any]:
    """Does the explained decoder predict held-out windows better than its null draws?

    Parameters
    ----------
    held
        :class:`helpers.explain.heldout.HeldOutPatterns` of the decoder, with null draws.
    data
        The feature set it was explained on.
    draws
        The null draws ``held`` was made with (the same ones are drawn again, targets only).
    alpha
        Level of the one-sided test.

    Returns
    -------
    dict
        ``r`` (mean within-fold r over emotions), ``null_r`` (the same per null draw),
        ``p_value`` and ``decodes`` (``p_value < alpha``).
    """
    result = held.importance.cv
    observed = float(
        _mean_within_fold_r(result.y_true, result.predictions, held.folds, held.n_targets)[0]
    )
    if not draws.n or held.null_predictions is None:
        return {"r": observed, "null_r": np.empty(0), "p_value": None, "decodes": False}
    table, window_of_sample = null_window_table(
        data, draws.n, draws.method, draws.seed, draws.min_shift
    )
    y_null = table[window_of_sample]
    p_null = np.full(y_null.shape, np.nan)
    for (_, test), predicted in zip(held.folds, held.null_predictions):
        p_null[test] = predicted
    null_r = _mean_within_fold_r(y_null, p_null, held.folds, held.n_targets)
    p = float((1 + np.sum(null_r >= observed)) / (1 + len(null_r)))
    return {"r": observed, "null_r": null_r, "p_value": p, "decodes": bool(p < alpha)}


__all__ = [
    "ACCOUNT_DIRECTIONS",
    "PROFILE_EDGE_FRACTION",
    "SHARED_NETWORKS",
    "TOP_ROI_FRACTION",
    "account_indices",
    "account_tests",
    "decoding_test",
    "roi_profiles",
    "target_correlation",
    "weak_pairs",
]

"""How a pattern's importance spreads over the atlas's networks: shares, entropy and its label null.

A locationist code concentrates an emotion's importance in few networks (low entropy); a
distributed one spreads it. Shares use each network's mean ROI strength, so a network's size does
not decide its share; the null shuffles the network labels with the networks' sizes kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["network_entropy", "network_entropy_label_null", "network_shares"]


def network_shares(
    strength: np.ndarray, roi_networks: Sequence[str], names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Share of importance per network: mean ROI strength in the network, normalised to sum 1.

    Using the mean (not the sum) makes a network's share independent of how many ROIs it has, so
    uniform importance gives equal shares and normalised entropy 1.

    Parameters
    ----------
    strength : numpy.ndarray
        (n_rois, n_targets) node strength (see :func:`helpers.explain.indices.node_strength`).
    roi_networks : sequence of str
        (n_rois,) network of each ROI.
    names : sequence of str, optional
        Networks to report, in order; by default those of ``roi_networks`` in order of appearance.

    Returns
    -------
    pandas.DataFrame
        (n_networks, n_targets) shares indexed by network, each column summing to 1 (0 when the
        target has no strength).
    """
    networks = np.asarray(roi_networks, dtype=str)
    names = list(names) if names is not None else list(dict.fromkeys(networks.tolist()))
    means = np.stack([strength[networks == n].mean(axis=0) for n in names])
    total = means.sum(axis=0)
    return pd.DataFrame(means / np.where(total > 0, total, 1.0), index=names)


def _entropy_of_groups(strength: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Normalised entropy of mean strength per group; ``codes`` is (n_rois,) or (n_shuffles, n_rois)."""
    codes = np.atleast_2d(codes)
    sizes = np.bincount(codes[0], minlength=n_groups).astype(float)
    out = np.empty((codes.shape[0], strength.shape[1]))
    for s, code in enumerate(codes):
        sums = np.zeros((n_groups, strength.shape[1]))
        np.add.at(sums, code, strength)
        means = sums / sizes[:, None]
        p = means / np.where(means.sum(axis=0) > 0, means.sum(axis=0), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=0)
        out[s] = h / np.log(n_groups)
    return out


def network_entropy(strength: np.ndarray, roi_networks: Sequence[str]) -> np.ndarray:
    """Normalised Shannon entropy (0..1) of importance over networks, per target (see network_shares).

    Parameters
    ----------
    strength : numpy.ndarray
        (n_rois, n_targets) node strength (see :func:`helpers.explain.indices.node_strength`).
    roi_networks : sequence of str
        (n_rois,) network of each ROI; at least two networks.

    Returns
    -------
    numpy.ndarray
        (n_targets,) entropy divided by ``log(n_networks)``.
    """
    networks = np.asarray(roi_networks, dtype=str)
    _, codes = np.unique(networks, return_inverse=True)
    n_groups = int(codes.max()) + 1
    if n_groups < 2:
        raise ValueError("entropy over networks needs at least two networks")
    return _entropy_of_groups(np.asarray(strength, dtype=float), codes, n_groups)[0]


def network_entropy_label_null(
    strength: np.ndarray, roi_networks: Sequence[str], n_shuffles: int, seed: int = 0
) -> np.ndarray:
    """Entropies after shuffling which ROI belongs to which network (sizes kept): (n_shuffles, K).

    Parameters
    ----------
    strength : numpy.ndarray
        (n_rois, K) node strength, K targets (see :func:`helpers.explain.indices.node_strength`).
    roi_networks : sequence of str
        (n_rois,) network of each ROI.
    n_shuffles : int
        Number of label shuffles.
    seed : int, optional
        Seed of the shuffles.

    Returns
    -------
    numpy.ndarray
        (n_shuffles, K) normalised entropies (see :func:`network_entropy`).
    """
    networks = np.asarray(roi_networks, dtype=str)
    _, codes = np.unique(networks, return_inverse=True)
    rng = np.random.default_rng(seed)
    shuffled = (
        np.stack([rng.permutation(codes) for _ in range(n_shuffles)])
        if n_shuffles
        else np.empty((0, len(codes)), int)
    )
    if n_shuffles == 0:
        return np.empty((0, np.shape(strength)[1]))
    return _entropy_of_groups(np.asarray(strength, dtype=float), shuffled, int(codes.max()) + 1)


# -------------------------------------------------------------------------- overlap across emotions

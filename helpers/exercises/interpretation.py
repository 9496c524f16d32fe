"""Checks for the coding exercises of chapter 06 (constructionist or locationist?)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from helpers.exercises.checking import check_array
from helpers.explain.indices import network_entropy


def check_network_entropy(answer: Any, strength: np.ndarray, networks: Sequence[str]) -> bool:
    """Is ``answer`` the normalised entropy over networks of each column of ``strength``?

    The reference averages the strength of each network's ROIs (so network size does not count),
    turns the averages into shares and divides their Shannon entropy by ``log(n_networks)``.

    Parameters
    ----------
    answer : array_like or Ellipsis
        The student's entropies, (K,).
    strength : numpy.ndarray
        (P, K) importance strength of each ROI for each of K targets.
    networks : sequence of str
        The network of each of the P ROIs.

    Returns
    -------
    bool
        True when the answer matches the reference within 1e-6.
    """
    expected = network_entropy(np.asarray(strength, dtype=float), networks)
    return check_array("network entropy", answer, expected, atol=1e-6)


__all__ = ["check_network_entropy"]

"""Checks for the coding exercises of chapter 05 (explaining the models)."""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.exercises.checking import check_array
from helpers.explain.patterns import activation_pattern


def check_haufe_pattern(answer: Any, X: np.ndarray, w: np.ndarray) -> bool:
    """Is ``answer`` the Haufe pattern ``Cov(X) w / Var(X w)`` of the decoder weights ``w``?

    Parameters
    ----------
    answer : array_like or Ellipsis
        The student's pattern, (n_features,).
    X : numpy.ndarray
        (n_samples, n_features) features.
    w : numpy.ndarray
        (n_features,) decoder weights.

    Returns
    -------
    bool
        True when the answer matches the reference within 1e-3.
    """
    X = np.asarray(X, dtype=float)
    expected = activation_pattern(X, X @ np.asarray(w, dtype=float))
    return check_array("Haufe pattern", answer, expected, atol=1e-3)


__all__ = ["check_haufe_pattern"]

"""Checks for the calibration chapter's exercises: a Clopper-Pearson interval by hand."""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.decoding.stats import clopper_pearson
from helpers.exercises.checking import check_array, not_answered

ALPHA = 0.05


def check_clopper_pearson(answer: Any, null_p_values: Any, alpha: float = ALPHA) -> bool:
    """Print whether ``answer`` is the 95% Clopper-Pearson interval of the rejection rate.

    The reference is :func:`helpers.decoding.stats.clopper_pearson`, the interval behind the
    chapter's table; a Wald interval or swapped bounds are named.

    Parameters
    ----------
    answer : tuple of float
        The student's ``(low, high)``.
    null_p_values : array_like, shape (n_datasets,)
        p-values of one test on null datasets; the rate is the share below ``alpha``.
    alpha : float
        The test's level.

    Returns
    -------
    bool
        Whether the answer is correct (a sentence saying why is printed either way).
    """
    p = np.asarray(null_p_values, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("null_p_values must be a non-empty one-dimensional list of p-values")
    k, n = int(np.sum(p < alpha)), int(p.size)
    expected = np.array(clopper_pearson(k, n))
    if not not_answered(answer) and np.shape(answer) == (2,):
        slip = _named_slip(np.asarray(answer, dtype=float), k, n)
        if slip:
            print(f"Clopper-Pearson interval: {slip}")
            return False
    return check_array("Clopper-Pearson interval", answer, expected)


def _named_slip(values: np.ndarray, k: int, n: int) -> str | None:
    """A sentence naming a common mistake in ``values``, or None."""
    rate = k / n
    half = 1.959964 * np.sqrt(rate * (1 - rate) / n)
    if np.allclose(values, [rate - half, rate + half], atol=1e-3) and k not in (0, n):
        return (
            "this is the normal-approximation (Wald) interval; Clopper-Pearson uses quantiles "
            "of beta distributions, which stay inside [0, 1] and do not shrink to a point."
        )
    if values[0] > values[1]:
        return "the lower bound is above the upper bound."
    return None

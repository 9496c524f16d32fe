"""Checks for the features chapter's coding exercises: tapered window correlations, window means.

The references are the fast functions the pipeline uses, so a student's plain loop is compared
with the numbers the models really receive.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.exercises.checking import check_array, not_answered
from helpers.features import (
    sliding_window_connectivity,
    window_average,
    window_starts,
    window_weights,
)


def _series(timeseries: np.ndarray) -> np.ndarray:
    data = np.asarray(timeseries, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] < 2:
        raise ValueError(
            f"timeseries must be volumes x ROIs with at least 2 ROIs; got {data.shape}"
        )
    return data


def check_tapered_dfc(
    answer: Any, timeseries: np.ndarray, length: int, step: int, sigma: float
) -> bool:
    """Is ``answer`` the Fisher z of every ROI pair in tapered windows (n_windows, n_edges)?

    Parameters
    ----------
    answer : array_like or Ellipsis
        The student's Fisher z, (n_windows, n_edges).
    timeseries : numpy.ndarray
        (T, P) ROI time series.
    length : int
        Window length in TRs.
    step : int
        Volumes between window starts.
    sigma : float
        Standard deviation of the taper in TRs.

    Returns
    -------
    bool
        True when the answer matches the reference within 1e-4.
    """
    if not_answered(answer):
        return check_array("tapered DFC", answer, np.zeros(0))
    data = _series(timeseries)
    weights = window_weights(length, "tapered", sigma)
    expected = sliding_window_connectivity(data, length, step, weights, fisher=True)
    values = np.asarray(answer) if isinstance(answer, (np.ndarray, list, tuple)) else None
    if values is not None and values.shape == expected.shape and np.isfinite(values).all():
        plain = sliding_window_connectivity(data, length, step, "rectangular", fisher=True)
        # Only a hint when the two windows differ (a huge sigma makes the taper rectangular).
        if not np.allclose(plain, expected, atol=1e-4) and np.allclose(values, plain, atol=1e-4):
            print("tapered DFC: these are rectangular windows; weight the volumes with w.")
            return False
        if np.allclose(np.arctanh(np.clip(values, -0.999999, 0.999999)), expected, atol=1e-4):
            print("tapered DFC: these look like correlations r; return Fisher z = arctanh(r).")
            return False
    return check_array("tapered DFC", answer, expected, atol=1e-4)


def check_window_means(answer: Any, timeseries: np.ndarray, length: int, step: int) -> bool:
    """Is ``answer`` each ROI's mean over every window (n_windows, P), as the ``roi_window`` set?

    Parameters
    ----------
    answer : array_like or Ellipsis
        The student's means, (n_windows, P).
    timeseries : numpy.ndarray
        (T, P) ROI time series.
    length : int
        Window length in TRs.
    step : int
        Volumes between window starts.

    Returns
    -------
    bool
        True when the answer matches the reference within 1e-5.
    """
    if not_answered(answer):
        return check_array("window means", answer, np.zeros(0))
    data = _series(timeseries)
    starts = window_starts(len(data), length, step)
    expected = window_average(data, starts, length, window_weights(length))
    return check_array("window means", answer, expected, atol=1e-5)

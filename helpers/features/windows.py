"""Sliding windows: where they start, how their volumes are weighted, and how a TR-level series
becomes one value per window.

A window is the half-open volume range ``[start, stop)`` with ``stop = start + length``. The same
weights serve connectivity, windowed ROI amplitude and the targets (real or null), so every sample
integrates exactly the same volumes whatever it describes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from helpers.data.fetch import fetch
from helpers.study import TR_SECONDS

DEFAULT_TAPER_SIGMA = 3.0
"""Gaussian width (TR) of the tapered window, as in Allen et al. (2014)."""


def window_weights(
    length: int, shape: str = "rectangular", sigma: float = DEFAULT_TAPER_SIGMA
) -> np.ndarray:
    """Weights of the volumes inside one window, float64 summing to 1.

    ``"rectangular"`` weighs every volume equally. ``"tapered"`` is a rectangle of ``length`` volumes
    convolved with a Gaussian of standard deviation ``sigma`` TR (Allen et al. 2014), evaluated on the
    rectangle's own ``length`` volumes: the edge volumes are down-weighted (to about 0.6 of the centre
    weight for sigma = 3 TR) and the window keeps the support ``[start, start + length)``, so its
    ``start``/``stop`` stay exact for purging in cross-validation. A very small or a very large
    ``sigma`` gives back the rectangular window. See :func:`effective_length`.

    Parameters
    ----------
    length : int
        Window length in TRs.
    shape : {"rectangular", "tapered"}, optional
        Window shape.
    sigma : float, optional
        Standard deviation of the taper's Gaussian in TRs (tapered windows only).

    Returns
    -------
    numpy.ndarray
        (length,) float64 weights summing to 1.
    """
    _check_length(length)
    if shape == "rectangular":
        weights = np.ones(length)
    elif shape == "tapered":
        if not sigma > 0:
            raise ValueError(f"the taper's sigma must be positive (TR), got {sigma}")
        offsets = np.arange(length)
        distance = offsets[:, None] - offsets[None, :]
        weights = np.exp(-0.5 * (distance / sigma) ** 2).sum(axis=1)
    else:
        raise ValueError(f"window shape {shape!r} is not known; allowed: rectangular, tapered")
    return weights / weights.sum()


def effective_length(weights: np.ndarray) -> float:
    """Kish effective number of volumes of a weighted window, ``(sum w)^2 / sum w^2``.

    Equal to the length for a rectangular window; about 11.7 volumes for the tapered 12-TR window
    with sigma = 3 TR.

    Parameters
    ----------
    weights : numpy.ndarray
        (length,) weights of a window's volumes.

    Returns
    -------
    float
        The effective number of volumes.
    """
    weights = np.asarray(weights, dtype=float)
    return float(weights.sum() ** 2 / np.sum(weights**2))


def paper_anchor_times() -> np.ndarray:
    """The paper's window anchors in seconds of the audio (``expanded_timestamps.csv``, 273 rows).

    They lie on a 2 s grid from 26 to 746 s but skip some points and repeat four.
    """
    table = pd.read_csv(fetch("emotional-decoding-2025/expanded_timestamps.csv"), index_col=0)
    return table["timestamps"].to_numpy(dtype=float)


def window_starts(
    n_volumes: int,
    length: int,
    step: int = 1,
    anchors: str = "tr",
    *,
    stimulus_onset: float = 0.0,
    anchor_times: np.ndarray | None = None,
) -> np.ndarray:
    """First volume (inclusive, 0-based) of every window of a run.

    ``anchors="tr"``: a window every ``step`` volumes from the first one, while it fits in the run.
    ``anchors="paper"``: one window per distinct paper anchor (``anchor_times``, default
    :func:`paper_anchor_times`; ``step`` is then ignored). An anchor at audio time ``t`` starts at
    the first volume acquired at or after it, ``ceil((t + stimulus_onset) / TR)``, because volume
    ``k`` sees audio time ``k * TR - stimulus_onset``. (The authors' code used ``fix(t / 2)`` as a
    1-based index and 13-volume windows; here windows are exactly ``length`` volumes.) Repeated
    anchors give one window (the authors' code kept one window per start too), and windows that
    would run past the last volume are dropped, as in the authors' code.

    Parameters
    ----------
    n_volumes : int
        Volumes in the run.
    length : int
        Window length in TRs.
    step : int, optional
        Volumes between window starts (``anchors="tr"`` only).
    anchors : {"tr", "paper"}, optional
        Where windows start.
    stimulus_onset : float, optional
        Start of the audio in seconds after the first volume.
    anchor_times : numpy.ndarray, optional
        Paper anchors in seconds of the audio, (n_anchors,).

    Returns
    -------
    numpy.ndarray
        (n_windows,) int64 first volumes, increasing; each window is ``[start, start + length)``.
    """
    _check_length(length)
    _check_step(step)
    if length > n_volumes:
        raise ValueError(
            f"window length {length} TR is longer than the run ({n_volumes} volumes); "
            f"use a window of at most {n_volumes} TR"
        )
    if anchors == "tr":
        return np.arange(0, n_volumes - length + 1, step, dtype=np.int64)
    if anchors != "paper":
        raise ValueError(f"window anchors {anchors!r} are not known; allowed: tr, paper")
    times = paper_anchor_times() if anchor_times is None else np.asarray(anchor_times, dtype=float)
    if times.ndim != 1 or not np.all(np.isfinite(times)):
        raise ValueError("anchor times must be a 1-D array of finite seconds of the audio")
    starts = np.unique(np.ceil((times + stimulus_onset) / TR_SECONDS - 1e-9).astype(np.int64))
    starts = starts[(starts >= 0) & (starts + length <= n_volumes)]
    if starts.size == 0:
        raise ValueError(
            f"no paper anchor leaves room for a {length}-TR window inside {n_volumes} volumes; "
            "use a shorter window or anchors='tr'"
        )
    return starts


def window_average(
    values: np.ndarray, starts: np.ndarray, length: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Weighted mean over each window of ``values`` (..., T, K): (..., n_windows, K) float64.

    With the DFC window's weights this gives ROI amplitudes and targets that integrate exactly the
    volumes a connectivity sample integrates. Leading axes (e.g. null draws) are kept.
    """
    values = _as_series(values)
    weights = np.full(length, 1.0 / length) if weights is None else np.asarray(weights, dtype=float)
    if len(weights) != length:
        raise ValueError(f"{len(weights)} weights for a window of {length} volumes")
    starts = _checked_starts(starts, length, values.shape[-2])
    windows = sliding_window_view(values, length, axis=-2)  # (..., T - L + 1, K, L)
    return windows[..., starts, :, :] @ weights


def window_centre_values(values: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Value of ``values`` (..., T, K) at each window's centre time: (..., n_windows, K) float64.

    For an odd length the centre is a volume; for an even length it falls between the two middle
    volumes, whose mean (the linear interpolation at the centre) is returned.
    """
    values = _as_series(values)
    starts = _checked_starts(starts, length, values.shape[-2])
    if length % 2:
        return values[..., starts + length // 2, :]
    return 0.5 * (values[..., starts + length // 2 - 1, :] + values[..., starts + length // 2, :])


def window_targets(
    series: np.ndarray,
    starts: np.ndarray,
    length: int,
    *,
    shape: str = "rectangular",
    taper_sigma: float = DEFAULT_TAPER_SIGMA,
    target: str = "mean",
) -> np.ndarray:
    """One target value per window from a TR-level series (..., T, K): (..., n_windows, K).

    The single definition used for real targets, for null targets and in every chapter:
    ``target="mean"`` weighs the window's volumes exactly as its connectivity does (rectangular or
    tapered); ``"centre"`` takes the value at the window's centre time.
    """
    if target == "mean":
        return window_average(series, starts, length, window_weights(length, shape, taper_sigma))
    if target == "centre":
        return window_centre_values(series, starts, length)
    raise ValueError(f"window target {target!r} is not known; allowed: mean, centre")


def _as_series(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values[:, None] if values.ndim == 1 else values


def _checked_starts(starts: np.ndarray, length: int, n_volumes: int) -> np.ndarray:
    starts = np.asarray(starts, dtype=np.int64)
    if starts.size and (starts.min() < 0 or starts.max() + length > n_volumes):
        raise ValueError(
            f"windows of {length} TR from {starts.min()} to {starts.max()} leave the {n_volumes} volumes"
        )
    return starts


def _check_length(length: Any, who: str = "") -> None:
    if not isinstance(length, (int, np.integer)) or isinstance(length, bool) or length < 2:
        raise ValueError(f"{who}window length must be an integer of at least 2 TR; got {length!r}")


def _check_step(step: Any, who: str = "") -> None:
    if not isinstance(step, (int, np.integer)) or isinstance(step, bool) or step < 1:
        raise ValueError(f"{who}window step must be an integer of at least 1 TR; got {step!r}")

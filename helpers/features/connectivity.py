"""Dynamic functional connectivity: the Pearson correlation of every ROI pair in sliding windows.

Conventions: edges in ``np.triu_indices(P, k=1)`` order (:mod:`helpers.features.edges`); Fisher z
is ``arctanh(r)`` with ``r`` clipped to ``[-R_CLIP, R_CLIP]`` (``R_CLIP = 1 - 1e-7``), so
``|z| <= 8.41``: two identical signals give a large finite value, never ``inf``. A ROI that is
constant inside a window has no defined correlation; its correlations in that window are set to 0
(no evidence of coupling) and one warning counts such windows.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

from helpers.features.edges import n_edges
from helpers.features.windows import (
    _check_length,
    _check_step,
    window_starts,
    window_weights,
)

R_CLIP = 1.0 - 1e-7
"""Largest |r| passed to the Fisher transform; ``arctanh(R_CLIP)`` is about 8.41."""


Z_MAX = float(np.arctanh(R_CLIP))
"""Largest |Fisher z| a DFC feature can take."""


_CHUNK_BYTES = 8 * 2**20
"""Scratch memory for one chunk of window correlation matrices (float32)."""


_REFINE_ABOVE = 0.9
"""Correlations stronger than this are recomputed in float64. Window products in float32 are
accurate to a few 1e-7 in r; the Fisher transform multiplies that by ``1 / (1 - r^2)``, at most 5.3
below this threshold (a few 1e-6 in z at worst), without bound above it."""


_REFINE_BATCH = 1 << 16
"""Strong correlations recomputed at a time (bounds the scratch of the float64 refinement)."""


_R_CLIP32 = np.float32(1.0 - 2.0**-23)
"""Float32 clip before the float32 Fisher transform, where 1 - 1e-7 is not representable."""


_CONSTANT_RELATIVE_TOLERANCE = 1e-9
"""A ROI counts as constant in a window when its weighted root sum of squares there is below this
fraction of its largest absolute value over the run (float32 rounding of a constant signal leaves
residuals of about 1e-16 of that)."""


class ConstantWindowWarning(UserWarning):
    """Some windows contain a constant ROI; its correlations there were set to 0."""


def sliding_window_connectivity(
    timeseries: np.ndarray,
    length: int,
    step: int = 1,
    shape: str | np.ndarray = "rectangular",
    fisher: bool = True,
    *,
    starts: np.ndarray | None = None,
) -> np.ndarray:
    """Pearson correlation of every ROI pair in sliding windows: (T, P) -> (n_windows, P*(P-1)/2).

    Parameters
    ----------
    timeseries
        One run, volumes x ROIs.
    length, step
        Window length and the spacing of window starts, in volumes. Ignored ``step`` when ``starts``
        is given.
    shape
        ``"rectangular"`` (plain Pearson), ``"tapered"`` (weighted Pearson with
        :func:`window_weights` and its default width), or the ``length`` volume weights themselves
        (e.g. ``window_weights(length, "tapered", sigma)``; see :func:`effective_length`).
    fisher
        Return Fisher z (``arctanh`` of r clipped to ``+-R_CLIP``) instead of r.
    starts
        First volume of each window (e.g. from :func:`window_starts` with the paper's anchors).

    Returns
    -------
    float32 array, one row per window, columns in ``np.triu_indices(P, k=1)`` order.

    Notes
    -----
    Each window's data are centred and scaled in float64, then multiplied by their transpose in
    float32 (one small BLAS call per window, single-threaded: threads only fight over such small
    products); the upper triangle is copied row by row into a chunk buffer and Fisher-transformed in
    float32 straight into the result. Correlations with |r| > 0.9, where float32 rounding would be
    amplified by the Fisher transform, are recomputed in float64 from the window data, so the result
    matches a float64 computation to about 1e-6 in z (a few 1e-6 at worst). Scratch memory is a few
    MB whatever the run length. A ROI that is constant inside a window gets correlation 0 there,
    with one :class:`ConstantWindowWarning` per call.
    """
    run = RunWindows(length, step, shape, starts)
    return windowed_connectivity(timeseries, run, fisher)


@dataclass(frozen=True)
class RunWindows:
    """The sliding windows of one run: length, starts (or their spacing) and volume weights.

    ``subject`` and ``roi_labels`` only name the culprit in error messages and warnings; ``out``
    (float32, n_windows x n_edges) receives the result, e.g. one subject's rows of a stacked
    feature matrix, so that no second copy is ever made.
    """

    length: int
    step: int = 1
    shape: str | np.ndarray = "rectangular"
    starts: np.ndarray | None = None
    subject: str | None = None
    roi_labels: Sequence[str] | None = None
    out: np.ndarray | None = field(default=None, repr=False)


def windowed_connectivity(
    timeseries: np.ndarray, run: RunWindows, fisher: bool = True
) -> np.ndarray:
    """:func:`sliding_window_connectivity` over the windows of ``run`` (written into ``run.out``).

    Parameters
    ----------
    timeseries
        One run, volumes x ROIs.
    run
        The windows, the culprit's names and the optional output rows (:class:`RunWindows`).
    fisher
        Return Fisher z instead of r.

    Returns
    -------
    float32 array (n_windows, n_edges): ``run.out`` when given.
    """
    length, step, starts, out = run.length, run.step, run.starts, run.out
    roi_labels = run.roi_labels
    who = f"{run.subject}: " if run.subject else ""
    data = _checked_timeseries(timeseries, who, roi_labels)
    n_volumes, n_rois = data.shape
    _check_length(length, who)
    _check_step(step, who)
    if length > n_volumes:
        raise ValueError(
            f"{who}window length {length} TR is longer than the run ({n_volumes} volumes); "
            f"use a window of at most {n_volumes} TR"
        )
    if starts is None:
        starts = window_starts(n_volumes, length, step)
    else:
        starts = np.asarray(starts, dtype=np.int64)
        if starts.ndim != 1:
            raise ValueError(f"{who}window starts must be a 1-D array of volume indices")
        if starts.size and (starts.min() < 0 or starts.max() + length > n_volumes):
            raise ValueError(
                f"{who}window starts must lie in [0, {n_volumes - length}] for {length}-TR windows in "
                f"{n_volumes} volumes; got {starts.min()}..{starts.max()}"
            )
    weights = _weights_of(run.shape, length, who)
    n_windows, n_pairs = len(starts), n_edges(n_rois)
    if out is None:
        out = np.empty((n_windows, n_pairs), dtype=np.float32)
    elif out.shape != (n_windows, n_pairs) or out.dtype != np.float32:
        raise ValueError(
            f"{who}out must be float32 of shape ({n_windows}, {n_pairs}); got {out.dtype} {out.shape}"
        )
    if n_windows == 0:
        return out

    windows = sliding_window_view(data, length, axis=0)  # (T - L + 1, P, L), a view
    sqrt_weights = np.sqrt(weights)
    tolerance = _CONSTANT_RELATIVE_TOLERANCE * np.abs(data).max(axis=0)
    rows, cols = np.triu_indices(n_rois, k=1)
    row_start = np.concatenate([[0], np.cumsum(np.arange(n_rois - 1, 0, -1))])
    chunk = int(max(1, min(n_windows, _CHUNK_BYTES // (4 * n_rois * n_rois))))
    products = np.empty((chunk, n_rois, n_rois), dtype=np.float32)
    upper = np.empty((chunk, n_pairs), dtype=np.float32)
    scratch = np.empty((chunk, n_pairs), dtype=np.float32)
    constant_windows = 0
    constant_rois: set[int] = set()

    with threadpool_limits(limits=1, user_api="blas"):
        for first in range(0, n_windows, chunk):
            last = min(n_windows, first + chunk)
            size = last - first
            block = windows[starts[first:last]]  # (size, P, L) float64, a copy
            block -= (block @ weights)[..., None]
            block *= sqrt_weights
            norms = np.sqrt(np.einsum("wpl,wpl->wp", block, block))
            is_constant = norms <= tolerance
            if is_constant.any():
                constant_windows += int(is_constant.any(axis=1).sum())
                constant_rois.update(np.flatnonzero(is_constant.any(axis=0)).tolist())
                norms[is_constant] = np.inf
            block /= norms[..., None]
            block32 = block.astype(np.float32)
            for k in range(size):
                np.matmul(block32[k], block32[k].T, out=products[k])
            for i in range(n_rois - 1):  # the upper triangle, row by row
                upper[:size, row_start[i] : row_start[i + 1]] = products[:size, i, i + 1 :]
            target = out[first:last]
            strong = np.flatnonzero(np.abs(upper[:size]) > _REFINE_ABOVE)
            if fisher:
                _fisher_into(upper[:size], target, scratch[:size])
            else:
                np.clip(upper[:size], -1.0, 1.0, out=target)
            if strong.size:
                _refine_strong(block, strong, rows, cols, target, fisher)

    if constant_windows:
        named = _name_rois(sorted(constant_rois), roi_labels)
        warnings.warn(
            f"{who}{constant_windows} of {n_windows} windows contain a constant ROI (zero variance: "
            f"{named}); their correlations in those windows are set to 0",
            ConstantWindowWarning,
            stacklevel=2,
        )
    return out


def _weights_of(shape: str | np.ndarray, length: int, who: str) -> np.ndarray:
    """Volume weights of a window shape given by name or as weights."""
    if isinstance(shape, str):
        return window_weights(length, shape)
    weights = np.asarray(shape, dtype=np.float64)
    if weights.shape != (length,) or not np.all(weights >= 0) or not weights.sum() > 0:
        raise ValueError(
            f"{who}window weights must be {length} non-negative numbers (one per volume) with a "
            f"positive sum; got shape {weights.shape}"
        )
    return weights / weights.sum()


def _fisher_into(correlations: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
    """Fisher z of float32 ``correlations`` (overwritten) into float32 ``out``.

    ``z = log((1 + r) / (1 - r)) / 2`` in float32: a vectorised logarithm several times faster than
    float64 ``arctanh``. Accurate to about 1e-6 for |r| <= ``_REFINE_ABOVE``; stronger correlations
    are recomputed in float64 by :func:`_refine_strong`. The clip keeps ``1 - r`` positive.
    """
    np.clip(correlations, -_R_CLIP32, _R_CLIP32, out=correlations)
    np.subtract(1.0, correlations, out=scratch)
    np.add(1.0, correlations, out=correlations)
    np.divide(correlations, scratch, out=out)
    np.log(out, out=out)
    out *= 0.5


def _refine_strong(
    block: np.ndarray,
    flat: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    out: np.ndarray,
    fisher: bool,
) -> None:
    """Recompute the correlations at ``flat`` (indices into ``out``'s window x edge grid) in float64.

    Near |r| = 1 the Fisher transform amplifies errors by ``1 / (1 - r^2)``, so these few values are
    taken from the float64 window data (``block``, centred and scaled) rather than from float32
    products.
    """
    n_pairs = out.shape[1]
    for begin in range(0, flat.size, _REFINE_BATCH):
        part = flat[begin : begin + _REFINE_BATCH]
        window, edge = np.divmod(part, n_pairs)
        r = np.einsum("nl,nl->n", block[window, rows[edge]], block[window, cols[edge]])
        if fisher:
            np.clip(r, -R_CLIP, R_CLIP, out=r)
            out[window, edge] = np.arctanh(r)
        else:
            out[window, edge] = np.clip(r, -1.0, 1.0)


def _checked_timeseries(timeseries: Any, who: str, roi_labels: Sequence[str] | None) -> np.ndarray:
    data = np.asarray(timeseries)
    if data.ndim != 2:
        raise ValueError(f"{who}timeseries must be 2-D (volumes x ROIs); got shape {data.shape}")
    if not np.issubdtype(data.dtype, np.number):
        raise ValueError(f"{who}timeseries must be numeric; got dtype {data.dtype}")
    if data.shape[1] < 2:
        raise ValueError(f"{who}connectivity needs at least 2 ROIs; got {data.shape[1]}")
    data = data.astype(np.float64)
    finite = np.isfinite(data)
    if not finite.all():
        bad_rois = np.flatnonzero(~finite.all(axis=0))
        first = int(bad_rois[0])
        n_bad = int((~finite[:, first]).sum())
        raise ValueError(
            f"{who}timeseries has NaN or infinite values in {len(bad_rois)} ROI(s), first "
            f"{_name_rois([first], roi_labels)} ({n_bad} of {data.shape[0]} volumes); drop that ROI "
            "or fix the preprocessing (an empty atlas region gives NaN)"
        )
    return data


def _name_rois(indices: Sequence[int], labels: Sequence[str] | None, limit: int = 3) -> str:
    def one(i: int) -> str:
        if labels is not None and i < len(labels):
            return f"ROI {i} ({labels[i]})"
        return f"ROI {i}"

    shown = ", ".join(one(i) for i in indices[:limit])
    more = len(indices) - limit
    return shown + (f" and {more} more" if more > 0 else "")

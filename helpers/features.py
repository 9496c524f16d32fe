"""Features for decoding: ROI amplitude against dynamic functional connectivity, on shared windows.

Two representations of the same ROI time series are compared throughout the book:

* **ROI amplitude** (the "locationist" view): the signal of each ROI, either per volume (``roi``) or
  averaged over each sliding window (``roi_window``), so that it integrates exactly the volumes a
  connectivity sample integrates;
* **dynamic functional connectivity** (``dfc``): the Pearson correlation between every pair of ROIs
  inside each window, Fisher z-transformed.

Conventions, fixed here and used everywhere downstream:

* Edge order is ``np.triu_indices(P, k=1)``: ``(0, 1), (0, 2), ..., (0, P-1), (1, 2), ...``.
* A window is the half-open volume range ``[start, stop)`` with ``stop = start + length``. Windows are
  described per sample by ``subject``, ``start`` and ``stop`` so that cross-validation can purge
  training windows that overlap a test block.
* Fisher z is ``arctanh(r)`` with ``r`` clipped to ``[-R_CLIP, R_CLIP]`` (``R_CLIP = 1 - 1e-7``), so
  ``|z| <= 8.41``: two identical signals give a large finite value, never ``inf``.
* A ROI that is constant inside a window (zero variance) has no defined correlation; its correlations
  in that window are set to 0 (no evidence of coupling) and one warning counts such windows.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

from helpers.study import EMOTIONS, TR_SECONDS
from helpers.data.storage import atomic_path, load_arrays, save_arrays, step_dir

R_CLIP = 1.0 - 1e-7
"""Largest |r| passed to the Fisher transform; ``arctanh(R_CLIP)`` is about 8.41."""

Z_MAX = float(np.arctanh(R_CLIP))
"""Largest |Fisher z| a DFC feature can take."""

DEFAULT_TAPER_SIGMA = 3.0
"""Gaussian width (TR) of the tapered window, as in Allen et al. (2014)."""

FEATURES_VERSION = 1
"""Bumped whenever the feature computation changes, so cached features are recomputed."""

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


# ----------------------------------------------------------------------------------- windows
def n_edges(n_rois: int) -> int:
    """Number of distinct ROI pairs, ``P * (P - 1) / 2``."""
    return n_rois * (n_rois - 1) // 2


def edge_index(n_rois: int) -> np.ndarray:
    """ROI pairs of the DFC features, shape (P*(P-1)/2, 2), in ``np.triu_indices(P, k=1)`` order."""
    rows, cols = np.triu_indices(n_rois, k=1)
    return np.stack([rows, cols], axis=1).astype(np.int32)


def window_weights(length: int, shape: str = "rectangular", sigma: float = DEFAULT_TAPER_SIGMA) -> np.ndarray:
    """Weights of the volumes inside one window, float64 summing to 1.

    ``"rectangular"`` weighs every volume equally. ``"tapered"`` is a rectangle of ``length`` volumes
    convolved with a Gaussian of standard deviation ``sigma`` TR (Allen et al. 2014), evaluated on the
    rectangle's own ``length`` volumes: the edge volumes are down-weighted (to about 0.6 of the centre
    weight for sigma = 3 TR) and the window keeps the support ``[start, start + length)``, so its
    ``start``/``stop`` stay exact for purging in cross-validation. A very small or a very large
    ``sigma`` gives back the rectangular window. See :func:`effective_length`.
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
    """
    weights = np.asarray(weights, dtype=float)
    return float(weights.sum() ** 2 / np.sum(weights**2))


def paper_anchor_times() -> np.ndarray:
    """The paper's window anchors in seconds of the audio (``expanded_timestamps.csv``, 273 rows).

    They lie on a 2 s grid from 26 to 746 s but skip some points and repeat four.
    """
    from helpers.data.fetch import fetch

    table = pd.read_csv(fetch("emotional-decoding-2025/expanded_timestamps.csv"), index_col=0)
    return table["timestamps"].to_numpy(dtype=float)


def window_starts(
    n_volumes: int,
    length: int,
    step: int = 1,
    anchors: str = "tr",
    *,
    stimulus_onset: float = 0.0,
    tr: float = TR_SECONDS,
    anchor_times: np.ndarray | None = None,
) -> np.ndarray:
    """First volume (inclusive, 0-based) of every window of a run.

    ``anchors="tr"``: a window every ``step`` volumes from the first one, while it fits in the run.
    ``anchors="paper"``: one window per distinct paper anchor (``anchor_times``, default
    :func:`paper_anchor_times`; ``step`` is then ignored). An anchor at audio time ``t`` starts at
    the first volume acquired at or after it, ``ceil((t + stimulus_onset) / tr)``, because volume
    ``k`` sees audio time ``k * tr - stimulus_onset``. (The authors' code used ``fix(t / 2)`` as a
    1-based index and 13-volume windows; here windows are exactly ``length`` volumes.) Repeated
    anchors give one window (the authors' code kept one window per start too), and windows that
    would run past the last volume are dropped, as in the authors' code.
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
    starts = np.unique(np.ceil((times + stimulus_onset) / tr - 1e-9).astype(np.int64))
    starts = starts[(starts >= 0) & (starts + length <= n_volumes)]
    if starts.size == 0:
        raise ValueError(
            f"no paper anchor leaves room for a {length}-TR window inside {n_volumes} volumes; "
            "use a shorter window or anchors='tr'"
        )
    return starts


# ----------------------------------------------------------------------------- connectivity
def sliding_window_connectivity(
    timeseries: np.ndarray,
    length: int,
    step: int = 1,
    shape: str = "rectangular",
    fisher: bool = True,
    *,
    starts: np.ndarray | None = None,
    taper_sigma: float = DEFAULT_TAPER_SIGMA,
    out: np.ndarray | None = None,
    subject: str | None = None,
    roi_labels: Sequence[str] | None = None,
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
        ``"rectangular"`` (plain Pearson) or ``"tapered"`` (weighted Pearson with
        :func:`window_weights`; its effective length is :func:`effective_length`).
    fisher
        Return Fisher z (``arctanh`` of r clipped to ``+-R_CLIP``) instead of r.
    starts
        First volume of each window (e.g. from :func:`window_starts` with the paper's anchors).
    out
        A preallocated float32 array of shape (n_windows, n_edges) to fill, e.g. one subject's rows of
        a stacked feature matrix, so that no second copy of the result is ever made.
    subject, roi_labels
        Only used to name the culprit in error messages and warnings.

    Returns
    -------
    float32 array, one row per window, columns in ``np.triu_indices(P, k=1)`` order.

    Notes
    -----
    Each window's data are centred and scaled in float64, then multiplied by their transpose in
    float32 (one small BLAS call per window, single-threaded: threads only fight over such small
    products); the upper triangle is copied row by row into a chunk buffer and Fisher-transformed in
    float32 straight into ``out``. Correlations with |r| > 0.9, where float32 rounding would be
    amplified by the Fisher transform, are recomputed in float64 from the window data, so the result
    matches a float64 computation to about 1e-6 in z (a few 1e-6 at worst). Scratch memory is a few MB whatever the run
    length. A ROI that is constant inside a window gets
    correlation 0 there, with one :class:`ConstantWindowWarning` per call.
    """
    who = f"{subject}: " if subject else ""
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
    weights = window_weights(length, shape, taper_sigma)
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
    block: np.ndarray, flat: np.ndarray, rows: np.ndarray, cols: np.ndarray, out: np.ndarray, fisher: bool
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


def _check_length(length: Any, who: str = "") -> None:
    if not isinstance(length, (int, np.integer)) or isinstance(length, bool) or length < 2:
        raise ValueError(f"{who}window length must be an integer of at least 2 TR; got {length!r}")


def _check_step(step: Any, who: str = "") -> None:
    if not isinstance(step, (int, np.integer)) or isinstance(step, bool) or step < 1:
        raise ValueError(f"{who}window step must be an integer of at least 1 TR; got {step!r}")


# ------------------------------------------------------------------ amplitude and targets
def window_average(values: np.ndarray, starts: np.ndarray, length: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted mean of ``values`` (T, K) over each window: (n_windows, K) float64.

    With the DFC window's weights this gives ROI amplitudes and targets that integrate exactly the
    volumes a connectivity sample integrates.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    weights = np.full(length, 1.0 / length) if weights is None else np.asarray(weights, dtype=float)
    if len(weights) != length:
        raise ValueError(f"{len(weights)} weights for a window of {length} volumes")
    starts = np.asarray(starts, dtype=np.int64)
    if starts.size and (starts.min() < 0 or starts.max() + length > len(values)):
        raise ValueError(f"windows of {length} TR from {starts.min()} to {starts.max()} leave the {len(values)} volumes")
    return sliding_window_view(values, length, axis=0)[starts] @ weights


def window_centre_values(values: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Value of ``values`` (T, K) at each window's centre time: (n_windows, K) float64.

    For an odd length the centre is a volume; for an even length it falls between the two middle
    volumes, whose mean (the linear interpolation at the centre) is returned.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    starts = np.asarray(starts, dtype=np.int64)
    if length % 2:
        return values[starts + length // 2]
    return 0.5 * (values[starts + length // 2 - 1] + values[starts + length // 2])


def roi_amplitude(timeseries: np.ndarray) -> np.ndarray:
    """ROI amplitude per volume, the "locationist" features: the ROI signals themselves, float32."""
    return np.ascontiguousarray(timeseries, dtype=np.float32)


# ------------------------------------------------------------------------------ feature sets
@dataclass
class FeatureSet:
    """Samples of one representation, stacked over subjects, with what cross-validation needs.

    Attributes
    ----------
    name
        ``"roi"``, ``"roi_window"`` or ``"dfc"``.
    X
        (n_samples, n_features) float32. For large cached sets this is a read-only memory map.
    y
        (n_samples, 8) targets aligned to the same volumes or windows.
    subject, start, stop
        Per sample: the subject and the volumes it integrates, ``[start, stop)``.
    roi_labels, roi_networks
        Atlas labels and networks of the P ROIs.
    edges
        (n_features, 2) ROI indices of each DFC feature, ``None`` for amplitude features (feature k
        is then ROI k).
    target_names
        The emotions, in the order of the columns of ``y``.
    window
        The window settings that produced the samples.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    subject: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    roi_labels: np.ndarray
    roi_networks: np.ndarray
    edges: np.ndarray | None = None
    target_names: tuple[str, ...] = EMOTIONS
    window: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.X.shape[0]
        for label, array in (("y", self.y), ("subject", self.subject), ("start", self.start), ("stop", self.stop)):
            if len(array) != n:
                raise ValueError(f"feature set {self.name}: {label} has {len(array)} rows, X has {n}")
        expected = len(self.edges) if self.edges is not None else len(self.roi_labels)
        if self.X.shape[1] != expected:
            raise ValueError(f"feature set {self.name}: X has {self.X.shape[1]} columns, expected {expected}")

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def feature_names(self) -> list[str]:
        """``"label"`` per ROI feature, ``"label_a|label_b"`` per DFC feature."""
        labels = [str(v) for v in self.roi_labels]
        if self.edges is None:
            return labels
        return [f"{labels[i]}|{labels[j]}" for i, j in self.edges]

    def subjects(self) -> list[str]:
        """Subjects in order of first appearance."""
        return list(dict.fromkeys(self.subject.tolist()))


def build_feature_sets(params: Any, roi_data: Any, targets: pd.DataFrame, *, use_cache: bool = True) -> dict[str, FeatureSet]:
    """The feature sets named in ``params.features``, stacked over subjects, cached on disk.

    Parameters
    ----------
    params
        A :class:`helpers.config.Params`; ``params.window`` and ``params.features`` are used.
    roi_data
        ``.timeseries`` (subject -> (T, P) array) and ``.atlas`` (``.labels``, ``.networks``). The
        audio onset of each subject, which places the paper's anchors, comes from
        ``.stimulus_onsets`` (subject -> seconds) or from ``.runs[k].stimulus_onset``; 0 otherwise.
    targets
        TR-level targets, one row per volume, one column per emotion.

    The cache folder is keyed by the window parameters and a digest of the input arrays, so new
    ROI signals or targets can never be served stale features.
    """
    timeseries: Mapping[str, np.ndarray] = roi_data.timeseries
    if not timeseries:
        raise ValueError("roi_data.timeseries is empty: no subject to build features from")
    subjects = list(timeseries)
    target_values, target_names = _checked_targets(targets)
    labels = np.asarray([str(v) for v in roi_data.atlas.labels])
    networks = np.asarray([str(v) for v in roi_data.atlas.networks])
    shapes = {s: np.shape(timeseries[s]) for s in subjects}
    for subject, shape in shapes.items():
        if len(shape) != 2 or shape[0] != len(target_values) or shape[1] != len(labels):
            raise ValueError(
                f"{subject}: ROI time series of shape {shape} do not match {len(target_values)} target "
                f"volumes and {len(labels)} atlas ROIs"
            )
    window = params.window
    weights = window_weights(window.length, window.shape, window.taper_sigma)
    onsets = _stimulus_onsets(roi_data)
    starts = {
        s: window_starts(
            shapes[s][0], window.length, window.step, window.anchors, stimulus_onset=float(onsets.get(s, 0.0))
        )
        for s in subjects
    }
    window_info = dict(params.window.model_dump(mode="json"), effective_length=effective_length(weights))
    key_base = {
        "version": FEATURES_VERSION,
        "window": params.window.model_dump(mode="json"),
        "inputs": _input_digest(timeseries, target_values, target_names, labels, onsets),
    }
    result: dict[str, FeatureSet] = {}
    for name in params.features:
        folder = step_dir("features", dict(key_base, feature_set=name)) if use_cache else None
        cached = _load_feature_set(folder, name) if folder is not None else None
        if cached is None:
            cached = _compute_feature_set(
                name, subjects, timeseries, target_values, starts, window, weights, labels
            )
            if folder is not None:
                _save_feature_set(folder, cached)
        X, y, subject, start, stop, edges = cached
        result[name] = FeatureSet(
            name=name, X=X, y=y, subject=subject, start=start, stop=stop, roi_labels=labels,
            roi_networks=networks, edges=edges, target_names=target_names, window=window_info,
        )
    return result


def _stimulus_onsets(roi_data: Any) -> dict[str, float]:
    """Audio onset per subject: ``roi_data.stimulus_onsets`` or the ``stimulus_onset`` of its runs."""
    explicit = getattr(roi_data, "stimulus_onsets", None)
    if explicit:
        return {str(k): float(v) for k, v in explicit.items()}
    runs = getattr(roi_data, "runs", None) or []
    return {run.subject: float(run.stimulus_onset) for run in runs}


_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]


def _compute_feature_set(
    name: str,
    subjects: list[str],
    timeseries: Mapping[str, np.ndarray],
    targets: np.ndarray,
    starts: dict[str, np.ndarray],
    window: Any,
    weights: np.ndarray,
    labels: np.ndarray,
) -> _Arrays:
    from helpers.progress import tqdm

    n_rois = len(labels)
    length = window.length
    if name == "roi":
        counts = {s: len(targets) for s in subjects}
    elif name in ("roi_window", "dfc"):
        counts = {s: len(starts[s]) for s in subjects}
    else:
        raise ValueError(f"unknown feature set {name!r}; allowed: roi, roi_window, dfc")
    n_samples = sum(counts.values())
    n_features = n_edges(n_rois) if name == "dfc" else n_rois
    X = np.empty((n_samples, n_features), dtype=np.float32)
    y = np.empty((n_samples, targets.shape[1]))
    subject_column = np.empty(n_samples, dtype=f"<U{max(len(s) for s in subjects)}")
    start = np.empty(n_samples, dtype=np.int64)
    stop = np.empty(n_samples, dtype=np.int64)
    row = 0
    for subject in tqdm(subjects, desc=f"features {name}", leave=False, disable=len(subjects) < 4):
        rows = slice(row, row + counts[subject])
        series = timeseries[subject]
        if name == "roi":
            checked = _checked_timeseries(series, f"{subject}: ", labels)
            X[rows] = checked
            y[rows] = targets
            start[rows] = np.arange(len(targets))
            stop[rows] = start[rows] + 1
        else:
            s = starts[subject]
            if name == "dfc":
                sliding_window_connectivity(
                    series, length, shape=window.shape, starts=s, taper_sigma=window.taper_sigma,
                    out=X[rows], subject=subject, roi_labels=labels,
                )
            else:
                checked = _checked_timeseries(series, f"{subject}: ", labels)
                X[rows] = window_average(checked, s, length, weights)
            if window.target == "mean":
                y[rows] = window_average(targets, s, length, weights)
            else:
                y[rows] = window_centre_values(targets, s, length)
            start[rows] = s
            stop[rows] = s + length
        subject_column[rows] = subject
        row += counts[subject]
    edges = edge_index(n_rois) if name == "dfc" else None
    return X, y, subject_column, start, stop, edges


def _checked_targets(targets: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(targets, pd.DataFrame):
        names = tuple(str(c) for c in targets.columns)
        values = targets.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(targets, dtype=np.float64)
        names = EMOTIONS if values.ndim == 2 and values.shape[1] == len(EMOTIONS) else tuple(
            f"target_{k}" for k in range(values.shape[1] if values.ndim == 2 else 0)
        )
    if values.ndim != 2:
        raise ValueError(f"targets must be a table of volumes x emotions; got shape {values.shape}")
    if not np.isfinite(values).all():
        column = int(np.flatnonzero(~np.isfinite(values).all(axis=0))[0])
        raise ValueError(f"targets have NaN or infinite values in column {names[column]!r}")
    return values, names


def _input_digest(
    timeseries: Mapping[str, np.ndarray], targets: np.ndarray, names: tuple[str, ...],
    labels: np.ndarray, onsets: Mapping[str, float],
) -> str:
    digest = hashlib.sha256()
    for subject, series in timeseries.items():
        array = np.ascontiguousarray(series)
        digest.update(f"{subject}|{array.dtype}|{array.shape}|{float(onsets.get(subject, 0.0))!r}".encode())
        digest.update(array.tobytes())
    digest.update(np.ascontiguousarray(targets).tobytes())
    digest.update("|".join(names).encode())
    digest.update("|".join(labels.tolist()).encode())
    return digest.hexdigest()[:16]


_MEMMAP_ABOVE_BYTES = 1 << 30


def _save_feature_set(folder: Path, arrays: _Arrays) -> None:
    """``X.npy`` streamed to disk (no in-memory copy of a multi-GB matrix), then the small arrays.

    Both are written atomically and ``meta.npz`` last, so its presence means the set is complete.
    """
    X, y, subject, start, stop, edges = arrays
    with atomic_path(folder / "X.npy") as tmp, open(tmp, "wb") as handle:
        np.save(handle, X)
    extra = {} if edges is None else {"edges": edges}
    save_arrays(folder / "meta.npz", y=y, subject=subject, start=start, stop=stop, **extra)


def _load_feature_set(folder: Path, name: str) -> _Arrays | None:
    meta_path, x_path = folder / "meta.npz", folder / "X.npy"
    if not (meta_path.exists() and x_path.exists()):
        return None
    meta = load_arrays(meta_path)
    big = x_path.stat().st_size > _MEMMAP_ABOVE_BYTES
    X = np.load(x_path, mmap_mode="r" if big else None, allow_pickle=False)
    return X, meta["y"], meta["subject"], meta["start"], meta["stop"], meta.get("edges")


# -------------------------------------------------------------------- summaries for the chapter
def edge_target_correlations(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None, chunk_features: int = 8192
) -> np.ndarray:
    """Pearson r of every feature with every target: (n_features, n_targets) float64.

    With ``groups`` (e.g. the subject of each sample) r is computed within each group and averaged,
    so that differences between subjects' mean connectivity do not masquerade as emotion effects.
    Constant features get r = 0. Features are processed in chunks to bound memory.
    """
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    groups = np.zeros(len(X), dtype=int) if groups is None else np.asarray(groups)
    unique = list(dict.fromkeys(groups.tolist()))
    total = np.zeros((X.shape[1], y.shape[1]))
    for group in unique:
        rows = np.flatnonzero(groups == group)
        yc = y[rows] - y[rows].mean(axis=0)
        y_norm = np.sqrt((yc**2).sum(axis=0))
        y_norm[y_norm == 0] = np.inf
        for first in range(0, X.shape[1], chunk_features):
            block = np.asarray(X[rows, first : first + chunk_features], dtype=np.float64)
            block -= block.mean(axis=0)
            x_norm = np.sqrt((block**2).sum(axis=0))
            x_norm[x_norm == 0] = np.inf
            total[first : first + block.shape[1]] += (block.T @ yc) / x_norm[:, None] / y_norm[None, :]
    return total / len(unique)


def network_pair_summary(
    edge_values: np.ndarray, edges: np.ndarray, networks: Sequence[str], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Average edge values (n_edges, K) within each pair of networks.

    Returns a DataFrame indexed by (``network_a``, ``network_b``) with ``network_a <= network_b``
    alphabetically (within-network pairs have a == b), one column per value column plus ``n_edges``.
    """
    values = np.asarray(edge_values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    edges = np.asarray(edges)
    if len(values) != len(edges):
        raise ValueError(f"{len(values)} edge values for {len(edges)} edges")
    names, codes = np.unique(np.asarray(networks, dtype=str), return_inverse=True)
    a, b = codes[edges[:, 0]], codes[edges[:, 1]]
    low, high = np.minimum(a, b), np.maximum(a, b)
    pair = low * len(names) + high
    counts = np.bincount(pair, minlength=len(names) ** 2)
    present = np.flatnonzero(counts)
    sums = np.stack([np.bincount(pair, weights=values[:, k], minlength=len(names) ** 2) for k in range(values.shape[1])], axis=1)
    columns = list(columns) if columns is not None else [f"value_{k}" for k in range(values.shape[1])]
    if len(columns) != values.shape[1]:
        raise ValueError(f"{len(columns)} column names for {values.shape[1]} value columns")
    frame = pd.DataFrame(sums[present] / counts[present, None], columns=columns)
    frame.index = pd.MultiIndex.from_arrays(
        [names[present // len(names)], names[present % len(names)]], names=["network_a", "network_b"]
    )
    frame["n_edges"] = counts[present]
    return frame


def network_pair_matrix(summary: pd.DataFrame, column: str) -> pd.DataFrame:
    """One column of :func:`network_pair_summary` as a symmetric network x network table."""
    table = summary[column].unstack("network_b")
    names = sorted(set(table.index) | set(table.columns))
    table = table.reindex(index=names, columns=names)
    return table.combine_first(table.T)


# ------------------------------------------------------------ null model for window length
def phase_randomize(timeseries: np.ndarray, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Surrogate signals with the same power spectra and the same static correlations.

    Every frequency's phase is shifted by one random angle shared by all ROIs (Prichard & Theiler
    1994): each ROI keeps its power spectrum, and all cross-spectra, hence the static correlation
    matrix, are unchanged, while any change of coupling over time is destroyed. The mean and, for an
    even length, the Nyquist component are kept as they are so the surrogate stays real. This is the
    null of Leonardi & Van De Ville (2015) for fluctuations of sliding-window correlations.
    """
    data = np.asarray(timeseries)
    if data.ndim != 2:
        raise ValueError(f"timeseries must be 2-D (volumes x ROIs); got shape {data.shape}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n_volumes = data.shape[0]
    spectrum = np.fft.rfft(np.asarray(data, dtype=np.float64), axis=0)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=spectrum.shape[0])
    phases[0] = 0.0
    if n_volumes % 2 == 0:
        phases[-1] = 0.0
    spectrum *= np.exp(1j * phases)[:, None]
    surrogate = np.fft.irfft(spectrum, n=n_volumes, axis=0)
    return surrogate.astype(data.dtype if np.issubdtype(data.dtype, np.floating) else np.float64)


def dfc_temporal_std(timeseries: np.ndarray, length: int, shape: str = "rectangular", taper_sigma: float = DEFAULT_TAPER_SIGMA) -> float:
    """Mean over edges of the standard deviation over windows of Fisher z (step 1)."""
    z = sliding_window_connectivity(timeseries, length, 1, shape, True, taper_sigma=taper_sigma)
    return float(z.std(axis=0, dtype=np.float64).mean()) if len(z) > 1 else 0.0


def spurious_fluctuation(
    timeseries: Mapping[str, np.ndarray] | Sequence[np.ndarray],
    lengths: Sequence[int],
    n_surrogates: int = 20,
    seed: int = 0,
    n_rois: int | None = 40,
    shape: str = "rectangular",
    taper_sigma: float = DEFAULT_TAPER_SIGMA,
) -> pd.DataFrame:
    """How much DFC fluctuates over time in real data and in phase-randomised surrogates.

    For each window length: the temporal standard deviation of Fisher z, averaged over edges and
    subjects, in the real signals and in ``n_surrogates`` surrogates per subject
    (:func:`phase_randomize`, which keeps each subject's static connectivity). Short windows make
    stationary signals fluctuate as much as real ones (Leonardi & Van De Ville 2015); a ratio
    real / null near 1 means the window cannot tell dynamics from sampling noise.

    ``n_rois`` ROIs drawn at random (the same for every subject) keep this cheap; ``None`` uses all.

    Returns one row per length: ``length``, ``effective_length``, ``real_std``, ``null_std`` (mean
    over surrogates), ``null_low``/``null_high`` (2.5 and 97.5 percentiles), ``ratio`` and ``p_value``
    (share of surrogates fluctuating at least as much as the real data, with the +1 correction).
    """
    series = list(timeseries.values()) if isinstance(timeseries, Mapping) else list(timeseries)
    if not series:
        raise ValueError("no time series given")
    if n_surrogates < 1:
        raise ValueError(f"n_surrogates must be at least 1; got {n_surrogates}")
    rng = np.random.default_rng(seed)
    n_total = np.shape(series[0])[1]
    if n_rois is not None and n_rois < n_total:
        if n_rois < 2:
            raise ValueError(f"n_rois must be at least 2; got {n_rois}")
        chosen = np.sort(rng.choice(n_total, size=n_rois, replace=False))
        series = [np.asarray(s)[:, chosen] for s in series]
    surrogates = [[phase_randomize(s, rng) for _ in range(n_surrogates)] for s in series]
    rows = []
    for length in lengths:
        real = np.mean([dfc_temporal_std(s, length, shape, taper_sigma) for s in series])
        null = np.array([
            np.mean([dfc_temporal_std(surrogates[i][k], length, shape, taper_sigma) for i in range(len(series))])
            for k in range(n_surrogates)
        ])
        rows.append({
            "length": int(length),
            "effective_length": effective_length(window_weights(length, shape, taper_sigma)),
            "real_std": float(real),
            "null_std": float(null.mean()),
            "null_low": float(np.percentile(null, 2.5)),
            "null_high": float(np.percentile(null, 97.5)),
            "ratio": float(real / null.mean()) if null.mean() > 0 else math.nan,
            "p_value": float((1 + np.sum(null >= real)) / (1 + n_surrogates)),
        })
    return pd.DataFrame(rows)

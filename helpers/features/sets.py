"""Feature sets: samples of one representation stacked over subjects, with their targets, cached.

Two representations of the same ROI time series are compared throughout the book: ROI amplitude
(per volume, ``roi``, or averaged over each sliding window, ``roi_window``) and dynamic functional
connectivity (``dfc``). Each sample records its subject and the volumes ``[start, stop)`` it
integrates, so cross-validation can purge training windows that overlap a test block.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.data.files import file_lock
from helpers.data.storage import (
    CorruptCacheError,
    discard_corrupt,
    load_array,
    load_arrays,
    save_array,
    save_arrays,
    step_dir,
)
from helpers.features.connectivity import RunWindows, _checked_timeseries, windowed_connectivity
from helpers.features.edges import edge_pairs, n_edges
from helpers.features.feature_set import FeatureSet
from helpers.features.networks import network_averaging
from helpers.features.windows import (
    effective_length,
    window_average,
    window_starts,
    window_targets,
    window_weights,
)
from helpers.progress import tqdm
from helpers.study import EMOTIONS

FEATURES_VERSION = 1
"""Bumped whenever the feature computation changes, so cached features are recomputed."""


def build_feature_sets(
    params: Any, roi_data: Any, targets: pd.DataFrame, *, use_cache: bool = True
) -> dict[str, FeatureSet]:
    """The feature sets named in ``params.features``, stacked over subjects, cached on disk.

    The cache folder is keyed by the window parameters and a digest of the input arrays, so new
    ROI signals or targets can never be served stale features.

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
    use_cache
        Read and write the cache; False computes every set in memory and writes nothing.

    Returns
    -------
    dict of str to FeatureSet
        Feature set name to its samples: ``X`` (n_samples, n_features) float32, ``y``
        (n_samples, n_emotions), and per sample ``subject``, ``start`` and ``stop`` (volumes).
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
            shapes[s][0],
            window.length,
            window.step,
            window.anchors,
            stimulus_onset=float(onsets.get(s, 0.0)),
        )
        for s in subjects
    }
    window_info = dict(
        params.window.model_dump(mode="json"), effective_length=effective_length(weights)
    )
    key_base = {
        "version": FEATURES_VERSION,
        "window": params.window.model_dump(mode="json"),
        "inputs": _input_digest(timeseries, target_values, target_names, labels, onsets),
    }
    result: dict[str, FeatureSet] = {}
    for name in params.features:
        folder = step_dir("features", dict(key_base, feature_set=name)) if use_cache else None
        cached = _load_feature_set(folder, name) if folder is not None else None
        if cached is None and folder is None:
            cached = _compute_feature_set(
                name, subjects, timeseries, target_values, starts, window, weights, labels, networks
            )
        elif cached is None:
            with file_lock(folder / "meta.npz", what=f"the {name} features"):
                cached = _load_feature_set(folder, name)  # another run may have made them meanwhile
                if cached is None:
                    cached = _compute_feature_set(
                        name,
                        subjects,
                        timeseries,
                        target_values,
                        starts,
                        window,
                        weights,
                        labels,
                        networks,
                    )
                    _save_feature_set(folder, cached)
        X, y, subject, start, stop, edges = cached
        pair_labels = None
        if name == "dfc_networks":
            pair_labels = np.asarray(network_averaging(edge_pairs(len(labels)), networks)[1])
        result[name] = FeatureSet(
            name=name,
            X=X,
            y=y,
            subject=subject,
            start=start,
            stop=stop,
            roi_labels=labels,
            roi_networks=networks,
            edges=edges,
            target_names=target_names,
            window=window_info,
            tr_targets=target_values,
            feature_labels=pair_labels,
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
    networks: np.ndarray,
) -> _Arrays:
    n_rois = len(labels)
    length = window.length
    if name == "roi":
        counts = {s: len(targets) for s in subjects}
    elif name in ("roi_window", "dfc", "dfc_networks"):
        counts = {s: len(starts[s]) for s in subjects}
    else:
        raise ValueError(
            f"unknown feature set {name!r}; allowed: roi, roi_window, dfc, dfc_networks"
        )
    n_samples = sum(counts.values())
    averaging = None
    if name == "dfc_networks":
        averaging = network_averaging(edge_pairs(n_rois), networks)[0]
    n_features = {
        "dfc": n_edges(n_rois),
        "dfc_networks": averaging.shape[1] if averaging is not None else 0,
    }.get(name, n_rois)
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
                run = RunWindows(length, 1, weights, s, subject, labels, out=X[rows])
                windowed_connectivity(series, run)
            elif name == "dfc_networks":
                z = windowed_connectivity(
                    series, RunWindows(length, 1, weights, s, subject, labels)
                )
                X[rows] = np.asarray(z @ averaging, dtype=np.float32)
            else:
                checked = _checked_timeseries(series, f"{subject}: ", labels)
                X[rows] = window_average(checked, s, length, weights)
            y[rows] = window_targets(
                targets,
                s,
                length,
                shape=window.shape,
                taper_sigma=window.taper_sigma,
                target=window.target,
            )
            start[rows] = s
            stop[rows] = s + length
        subject_column[rows] = subject
        row += counts[subject]
    edges = edge_pairs(n_rois) if name == "dfc" else None
    return X, y, subject_column, start, stop, edges


def _checked_targets(targets: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(targets, pd.DataFrame):
        names = tuple(str(c) for c in targets.columns)
        values = targets.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(targets, dtype=np.float64)
        names = (
            EMOTIONS
            if values.ndim == 2 and values.shape[1] == len(EMOTIONS)
            else tuple(f"target_{k}" for k in range(values.shape[1] if values.ndim == 2 else 0))
        )
    if values.ndim != 2:
        raise ValueError(f"targets must be a table of volumes x emotions; got shape {values.shape}")
    if not np.isfinite(values).all():
        column = int(np.flatnonzero(~np.isfinite(values).all(axis=0))[0])
        raise ValueError(f"targets have NaN or infinite values in column {names[column]!r}")
    return values, names


def _input_digest(
    timeseries: Mapping[str, np.ndarray],
    targets: np.ndarray,
    names: tuple[str, ...],
    labels: np.ndarray,
    onsets: Mapping[str, float],
) -> str:
    digest = hashlib.sha256()
    for subject, series in timeseries.items():
        array = np.ascontiguousarray(series)
        digest.update(
            f"{subject}|{array.dtype}|{array.shape}|{float(onsets.get(subject, 0.0))!r}".encode()
        )
        digest.update(array.tobytes())
    digest.update(np.ascontiguousarray(targets).tobytes())
    digest.update("|".join(names).encode())
    digest.update("|".join(labels.tolist()).encode())
    return digest.hexdigest()[:16]


_MEMMAP_ABOVE_BYTES = 1 << 30


def _save_feature_set(folder: Path, arrays: _Arrays) -> None:
    """``X.npy`` streamed to disk with its checksum (no in-memory copy of a multi-GB matrix), then the
    small arrays; both atomically, ``meta.npz`` last, so its presence means the set is complete."""
    X, y, subject, start, stop, edges = arrays
    save_array(folder / "X.npy", X)
    extra = {} if edges is None else {"edges": edges}
    save_arrays(folder / "meta.npz", y=y, subject=subject, start=start, stop=stop, **extra)


def _load_feature_set(folder: Path, name: str) -> _Arrays | None:
    """The cached set, or None when it is missing or damaged (a damaged one is named and removed)."""
    meta_path, x_path = folder / "meta.npz", folder / "X.npy"
    if not (meta_path.exists() and x_path.exists()):
        return None
    try:
        meta = load_arrays(meta_path)
        big = x_path.stat().st_size > _MEMMAP_ABOVE_BYTES
        X = load_array(x_path, mmap_mode="r" if big else None)
    except CorruptCacheError as error:
        discard_corrupt(error)
        return None
    return X, meta["y"], meta["subject"], meta["start"], meta["stop"], meta.get("edges")

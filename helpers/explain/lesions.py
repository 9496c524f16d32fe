"""Virtual lesions and leave-one-network-out: retrain without a block of features, measure the drop.

Each lesioned model goes through the same nested cross-validation as the intact one; because
kernels are additive over features, each fold's lesioned kernel is the full kernel minus the
block's, so a lesion pays only for its block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from helpers.decoding.crossval import CVOptions, cross_validate_model
from helpers.decoding.folds import FoldContext, FoldInput, fit_predict_fold
from helpers.decoding.kernels import FoldKernels, centre_kernel
from helpers.decoding.models import check_model_name
from helpers.decoding.results import CVResult
from helpers.decoding.selection import (
    CorrelationCache,
    CpmLesion,
)
from helpers.explain.heldout import ExplainOptions, NullDraws
from helpers.explain.inputs import roi_set_block
from helpers.explain.lesion_indices import random_roi_sets
from helpers.explain.patterns import _small_blas
from helpers.features import FeatureSet
from helpers.progress import tqdm
from helpers.registry import model_spec


def lesion_drops(
    model: str,
    data: FeatureSet,
    splitter: Any,
    lesions: Mapping[str, np.ndarray],
    *,
    baseline: CVResult | None = None,
    options: ExplainOptions | None = None,
) -> pd.DataFrame:
    """Retrain without each block of features and report the drop in held-out r per emotion.

    ``lesions`` maps a name to the feature indices removed (e.g. :func:`network_blocks` for
    leave-one-network-out, :func:`roi_set_block` for a virtual lesion of the amygdala). Each lesioned
    model goes through the regression module's :func:`cross_validate_model` with the same folds and
    nested tuning as the intact one; for kernel models the lesioned fold kernels are the intact ones
    minus the block's (exact, since kernels are sums over features). Returns one row per (lesion,
    emotion) plus an emotion ``"mean"`` row: ``r_full``, ``r_lesioned``, ``drop``. The fitting
    settings (tuning, scaling, shared kernels, progress) come as ``options``.

    Parameters
    ----------
    model : str
        A registered model (see :func:`helpers.registry.model_names`).
    data : FeatureSet
        The samples: ``X`` (n_samples, n_features) and ``y`` (n_samples, n_emotions).
    splitter : splitter
        The outer folds (as :func:`~helpers.explain.inputs.explanation_splitter` builds them).
    lesions : mapping of str to numpy.ndarray
        Lesion name to the indices of the features it removes.
    baseline : CVResult, optional
        The intact model's result on the same folds; cross-validated here if omitted.
    options : ExplainOptions, optional
        Tuning, scaling, shared kernels and progress; the defaults if omitted.

    Returns
    -------
    pandas.DataFrame
        (n_lesions * (n_emotions + 1)) rows: ``lesion``, ``emotion``, ``r_full``, ``r_lesioned``,
        ``drop`` and ``n_features`` (the features the lesion removed).
    """

    check_model_name(model)
    settings = options or ExplainOptions()
    feature_scaling, kernels, progress = (
        settings.feature_scaling,
        settings.kernels,
        settings.progress,
    )
    X = data.X
    folds = list(splitter.split(X))
    if kernels is None and model_spec(model).kernel_model:
        kernels = FoldKernels(X, folds, feature_scaling)
    options = CVOptions(
        splitter=splitter,
        inner_splits=settings.inner_splits,
        feature_scaling=feature_scaling,
        grid=settings.grid,
    )
    if baseline is None:
        with _small_blas():
            baseline = cross_validate_model(data, model, options, kernels=kernels)
    full = baseline.scores().set_index("emotion")["r"]
    cache = CorrelationCache() if model_spec(model).engine == "cpm" else None
    r_lesioned, sizes = {}, {}
    for name, columns in tqdm(
        list(lesions.items()), desc=f"lesions {model}", disable=not progress, leave=False
    ):
        columns = np.unique(np.asarray(columns, dtype=int))
        if columns.size == 0:
            raise ValueError(f"lesion {name!r} removes no feature")
        if columns.size >= X.shape[1]:
            raise ValueError(
                f"lesion {name!r} removes every feature; nothing is left to decode from"
            )
        with _small_blas():
            if (
                model_spec(model).engine == "cpm"
            ):  # the remaining features keep their training correlations
                lesioned = cross_validate_model(
                    data, model, options, lesion=CpmLesion(columns, cache)
                )
            else:
                keep = np.setdiff1d(np.arange(X.shape[1]), columns)
                lesioned_kernels = (
                    kernels.without(columns) if model_spec(model).kernel_model else None
                )
                lesioned = cross_validate_model(
                    data.with_features(X[:, keep]), model, options, kernels=lesioned_kernels
                )
        scores = lesioned.scores().set_index("emotion")["r"]
        r_lesioned[name], sizes[name] = scores.drop(index="mean"), int(columns.size)
    wide = pd.DataFrame.from_dict(r_lesioned, orient="index")
    return _long_drops(wide, full, sizes)


def lesion_null_drops(
    model: str,
    data: FeatureSet,
    splitter: Any,
    lesions: Mapping[str, np.ndarray],
    *,
    nulls: NullDraws,
    options: ExplainOptions | None = None,
) -> tuple[pd.Series, pd.DataFrame]:
    """Each lesion's drop in mean held-out r, for the real targets and for ``n_null`` null draws.

    The intact and every lesioned model are cross-validated with the same null target draws
    (kernel ridge through its hat matrix, CPM in one pass over its columns), so a lesion's drop
    under each null draw is what removing that block does to a decoder of no signal. Returns the
    observed drops (a Series by lesion) and the null drops (``n_null`` rows, one column per
    lesion); both average the drop over emotions.

    Parameters
    ----------
    model : str
        A registered model (see :func:`helpers.registry.model_names`).
    data : FeatureSet
        The samples: ``X`` (n_samples, n_features) and ``y`` (n_samples, n_emotions).
    splitter : splitter
        The outer folds.
    lesions : mapping of str to numpy.ndarray
        Lesion name to the indices of the features it removes.
    nulls : NullDraws
        How many null target draws, of which kind, from which seed (``nulls.n`` at least 1).
    options : ExplainOptions, optional
        Tuning, scaling and shared kernels; the defaults if omitted.

    Returns
    -------
    observed : pandas.Series
        (n_lesions,) drop of the mean r over emotions, named ``drop``, indexed by lesion.
    null : pandas.DataFrame
        (n_null, n_lesions) the same drop under each null draw.
    """
    check_model_name(model)
    options = options or ExplainOptions()
    n_null = nulls.n
    if n_null < 1:
        raise ValueError(f"n_null must be >= 1, got {n_null}")
    X = data.X
    folds = list(splitter.split(X))
    kernels = options.kernels
    if kernels is None and model_spec(model).kernel_model:
        kernels = FoldKernels(X, folds, options.feature_scaling)
    cv = CVOptions(
        splitter=splitter,
        inner_splits=options.inner_splits,
        feature_scaling=options.feature_scaling,
        grid=options.grid,
        n_permutations=n_null,
        null_method=nulls.method,
        seed=nulls.seed,
    )

    # CPM lesions keep every feature and exclude the lesioned ones from the shared rankings
    cache = CorrelationCache() if model_spec(model).engine == "cpm" else None

    def run(
        features: FeatureSet, fold_kernels: FoldKernels | None, excluded: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        lesion = CpmLesion(excluded, cache) if cache is not None else None
        with _small_blas():
            result = cross_validate_model(features, model, cv, kernels=fold_kernels, lesion=lesion)
        if result.null_r is None or len(result.null_r) < n_null:
            raise ValueError(f"{model} did not return {n_null} null draws")
        return float(result.scores()["r"].iloc[-1]), result.null_r.mean(axis=1)

    full_r, full_null = run(data, kernels)
    observed, null = {}, {}
    for name, columns in lesions.items():
        columns = np.unique(np.asarray(columns, dtype=int))
        if columns.size == 0 or columns.size >= X.shape[1]:
            raise ValueError(f"lesion {name!r} removes {columns.size} of {X.shape[1]} features")
        if cache is not None:
            r, r_null = run(data, None, columns)
        else:
            keep = np.setdiff1d(np.arange(X.shape[1]), columns)
            lesioned = kernels.without(columns) if model_spec(model).kernel_model else None
            r, r_null = run(data.with_features(X[:, keep]), lesioned)
        observed[name] = full_r - r
        null[name] = full_null - r_null
    return pd.Series(observed, name="drop"), pd.DataFrame(null)


class EdgeGrams:
    """Gram matrices ``X_E X_E^T`` of the edges touching each ROI, computed once.

    Kernels add over features, so the Gram of every edge touching an ROI set ``S`` is the sum of
    its ROIs' Grams minus that of the edges inside ``S`` (counted twice). Hundreds of random
    lesions then cost a few additions each instead of a pass over 44,850 edge columns.
    """

    def __init__(self, X: np.ndarray, edges: np.ndarray, n_rois: int) -> None:
        self.X = X
        self.edges = np.asarray(edges)
        n = X.shape[0]
        self.star = np.empty((n_rois, n, n), dtype=np.float32)
        for r in range(n_rois):
            columns = np.flatnonzero((self.edges[:, 0] == r) | (self.edges[:, 1] == r))
            block = np.ascontiguousarray(X[:, columns], dtype=np.float32)
            self.star[r] = block @ block.T

    def gram(self, rois: np.ndarray) -> np.ndarray:
        """``X_B X_B^T`` (float64) for ``B`` = every edge with an end in ``rois``."""
        rois = np.unique(np.asarray(rois, dtype=int))
        total = self.star[rois].sum(axis=0, dtype=np.float64)
        inside = np.flatnonzero(np.isin(self.edges[:, 0], rois) & np.isin(self.edges[:, 1], rois))
        if inside.size:
            block = np.ascontiguousarray(self.X[:, inside], dtype=np.float32)
            total -= (block @ block.T).astype(np.float64)
        return total


def _roi_lesion_scores(
    model: str,
    data: FeatureSet,
    splitter: Any,
    roi_sets: Mapping[Any, np.ndarray],
    options: ExplainOptions,
    shared: tuple[EdgeGrams | None, CorrelationCache | None] = (None, None),
) -> pd.DataFrame:
    """Held-out r per emotion after removing every edge of each ROI set: one row per set.

    Kernel models with ``center`` scaling take the fast route: each fold's lesioned kernel is the
    intact one minus the centred Gram of the removed edges (``shared[0]``, an
    :class:`EdgeGrams`), and each fold is
    refitted with the same inner folds and tuning as :func:`lesion_drops` uses. CPM re-ranks the
    edges of each fit kept in ``shared[1]`` (a :class:`CorrelationCache` shared between calls on
    the same data and folds).
    Other models refit through :func:`lesion_drops`.
    """
    grams, rankings = shared
    check_model_name(model)
    if data.edges is None:
        raise ValueError("ROI lesions of edge features need the feature set's edges")
    if model_spec(model).engine == "cpm":
        return _cpm_lesion_scores(data, splitter, roi_sets, options, rankings or CorrelationCache())
    fast = model_spec(model).kernel_model and options.feature_scaling == "center"
    if not fast:
        blocks = {name: roi_set_block(data.edges, rois) for name, rois in roi_sets.items()}
        drops = lesion_drops(model, data, splitter, blocks, options=options)
        wide = drops.pivot(index="lesion", columns="emotion", values="r_lesioned")
        return wide.loc[list(roi_sets), list(data.target_names)[: np.shape(data.y)[1]]]
    X, Y = data.X, np.asarray(data.y, dtype=float)
    folds = list(splitter.split(X))
    kernels = options.kernels or FoldKernels(X, folds, options.feature_scaling)
    n_rois = int(np.max(data.edges)) + 1
    grams = grams or EdgeGrams(X, data.edges, n_rois)
    window_of_sample = np.unique(data.start, return_inverse=True)[1].ravel()
    inputs = [
        FoldInput(train, test, list(splitter.inner(train, options.inner_splits).split()),
                  window_of_sample)
        for train, test in folds
    ]  # fmt: skip
    rows = {}
    emotions = list(data.target_names)[: Y.shape[1]]
    with _small_blas():
        for name, rois in roi_sets.items():
            gram = grams.gram(rois)
            predictions = np.full(Y.shape, np.nan)
            for k, fold in enumerate(inputs):
                index = np.concatenate([fold.train, fold.test])
                K = kernels.full(k) - centre_kernel(gram[np.ix_(index, index)], len(fold.train))
                context = FoldContext(K, options.feature_scaling)
                out = fit_predict_fold(model, X, Y, fold, options.grid, context)
                predictions[fold.test] = out.predictions
            result = CVResult(
                model, "dfc", "", emotions, Y, predictions, data.subject, data.start, folds, []
            )
            rows[name] = result.within_fold_r()
    return pd.DataFrame.from_dict(rows, orient="index", columns=emotions)


def _cpm_lesion_scores(
    data: FeatureSet,
    splitter: Any,
    roi_sets: Mapping[Any, np.ndarray],
    options: ExplainOptions,
    cache: CorrelationCache,
) -> pd.DataFrame:
    """CPM's held-out r per emotion after each ROI lesion, refitted with the same nested folds.

    A lesion only removes edges from the candidates: the other edges' training correlations are
    unchanged, so every fit ranks the edges once (:class:`CorrelationCache`) and each lesion costs
    a filtered ranking and the line fits. Same predictions as refitting on the remaining columns
    (:func:`lesion_drops`).
    """
    cv = CVOptions(splitter=splitter, inner_splits=options.inner_splits, grid=options.grid)
    rows = {}
    for name, rois in roi_sets.items():
        lesion = CpmLesion(roi_set_block(data.edges, rois), cache)
        rows[name] = cross_validate_model(data, "cpm", cv, lesion=lesion).within_fold_r()
    emotions = list(data.target_names)[: np.shape(data.y)[1]]
    return pd.DataFrame.from_dict(rows, orient="index", columns=emotions)


def _long_drops(r_lesioned: pd.DataFrame, r_full: pd.Series, n_features: dict) -> pd.DataFrame:
    """Wide lesioned r (lesion x emotion) as :func:`lesion_drops` rows, with the ``mean`` emotion."""
    rows = []
    for name, lesioned in r_lesioned.iterrows():
        values = dict(lesioned.items())
        values["mean"] = float(np.nanmean(lesioned.to_numpy(dtype=float)))
        for emotion, r in values.items():
            full = float(r_full[emotion])
            rows.append(
                {
                    "lesion": name,
                    "emotion": emotion,
                    "r_full": full,
                    "r_lesioned": float(r),
                    "drop": full - float(r),
                    "n_features": int(n_features[name]),
                }
            )
    return pd.DataFrame(rows)


def roi_lesions_with_null(
    data: FeatureSet,
    splitter: Any,
    lesions: Mapping[str, np.ndarray],
    *,
    baseline: CVResult,
    random_sets: NullDraws,
    options: ExplainOptions,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Named ROI lesions and ``random_sets.n`` random ROI sets of the same size for each.

    Parameters
    ----------
    data : the DFC feature set (its ``edges`` map features to ROI pairs).
    splitter : the outer folds of ``baseline``.
    lesions : named ROI sets (ROI indices) to remove.
    baseline : the intact model's cross-validation on the same folds (it names the model).
    random_sets : how many random ROI sets stand in for each lesion, and their seed.
    options : tuning, scaling and shared kernels.

    Returns
    -------
    ``(drops, null_drops)`` in :func:`lesion_drops`' format; ``null_drops`` has a ``draw`` column
    and its ``lesion`` names the real lesion each random set stands in for (random sets avoid that
    lesion's ROIs).
    """
    model, n_random, seed = baseline.model, random_sets.n, random_sets.seed
    if n_random < 1:
        raise ValueError(f"n_random must be >= 1, got {n_random}")
    n_rois = int(np.max(data.edges)) + 1
    scores = baseline.scores().set_index("emotion")["r"]
    grams, rankings = None, CorrelationCache() if model_spec(model).engine == "cpm" else None
    if model_spec(model).kernel_model and options.feature_scaling == "center":
        grams = EdgeGrams(data.X, data.edges, n_rois)

    def sizes(sets: Mapping[Any, np.ndarray]) -> dict:
        return {name: roi_set_block(data.edges, rois).size for name, rois in sets.items()}

    named = {name: np.asarray(rois, dtype=int) for name, rois in lesions.items()}
    r_named = _roi_lesion_scores(model, data, splitter, named, options, (grams, rankings))
    drops = _long_drops(r_named, scores, sizes(named))
    null_parts = []
    for name, rois in named.items():
        draws = random_roi_sets(n_rois, len(rois), n_random, seed=seed, exclude=rois)
        sets = dict(enumerate(draws))
        r_null = _roi_lesion_scores(model, data, splitter, sets, options, (grams, rankings))
        part = _long_drops(r_null, scores, sizes(sets)).rename(columns={"lesion": "draw"})
        null_parts.append(part.assign(lesion=name))
    return drops, pd.concat(null_parts, ignore_index=True)

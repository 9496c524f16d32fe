"""The samples an explanation runs on, the folds it uses, and the feature blocks it removes or shuffles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from helpers.decoding.kernels import FoldKernels
from helpers.decoding.schemes import make_splitter
from helpers.decoding.splits import WindowMeta
from helpers.explain.heldout import ExplainOptions
from helpers.features import FeatureSet, build_feature_sets
from helpers.pipeline import ground_truth, roi_timeseries, run_targets


def explanation_splitter(params: Any, meta: Any) -> Any:
    """The chapter's cross-validation splitter, with ``explain.folds`` pairing for blocked LOSO.

    ``explain.folds = "rotation"`` tests every subject once on one story block (one fold per
    subject) instead of every (subject, block) pair: the same honesty, a fifth of the refits.
    """
    if params.cv == "loso_blocked":
        folds = getattr(params.explain, "folds", "rotation")
        if folds != params.cv_options.pairing:
            params = params.model_copy(deep=True)
            params.cv_options.pairing = folds
    return make_splitter(params, meta)


def thinned_rows(subject: np.ndarray, start: np.ndarray, stride: int) -> np.ndarray:
    """Rows keeping every ``stride``-th window of each subject (in story order).

    Neighbouring sliding windows share all but ``step`` volumes, so explanations computed on every
    few windows lose little information and cost ``stride**2`` times less in kernel algebra.
    """
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"the window stride must be a positive integer, got {stride!r}")
    subject = np.asarray(subject)
    start = np.asarray(start)
    keep = np.zeros(len(subject), dtype=bool)
    for name in pd.unique(subject):
        rows = np.flatnonzero(subject == name)
        rows = rows[np.argsort(start[rows], kind="stable")]
        keep[rows[::stride]] = True
    return np.flatnonzero(keep)


def explanation_data(feature_set: FeatureSet, stride: int = 1) -> FeatureSet:
    """Every ``stride``-th window of each subject of a feature set, loaded into memory."""
    return feature_set.take(thinned_rows(feature_set.subject, feature_set.start, stride))


def network_blocks(
    edges: np.ndarray | None, networks: Sequence[str], n_features: int | None = None
) -> dict[str, np.ndarray]:
    """Feature indices per network: edges with at least one end in it (or its ROIs, without edges).

    Parameters
    ----------
    edges : numpy.ndarray or None
        (n_features, 2) ROI indices of each DFC feature, or None for ROI features (feature k is
        ROI k).
    networks : sequence of str
        The network of each ROI.
    n_features : int, optional
        Not used; kept for callers that pass it.

    Returns
    -------
    dict of str to numpy.ndarray
        Network name (atlas order) to the int indices of its features; with edges the blocks
        overlap (a between-network edge is in both networks' blocks).
    """
    networks = np.asarray(networks, dtype=str)
    names = list(dict.fromkeys(networks.tolist()))
    if edges is None:
        return {name: np.flatnonzero(networks == name) for name in names}
    edges = np.asarray(edges)
    a, b = networks[edges[:, 0]], networks[edges[:, 1]]
    return {name: np.flatnonzero((a == name) | (b == name)) for name in names}


def network_pair_blocks(edges: np.ndarray, networks: Sequence[str]) -> dict[str, np.ndarray]:
    """Feature indices per network pair ``"A|B"`` (A before B in atlas order); a partition of edges.

    Parameters
    ----------
    edges : numpy.ndarray
        (n_features, 2) ROI indices of each DFC feature.
    networks : sequence of str
        The network of each ROI.

    Returns
    -------
    dict of str to numpy.ndarray
        ``"A|B"`` to the int indices of the edges between networks A and B (``"A|A"`` within A).
    """
    networks = np.asarray(networks, dtype=str)
    names = list(dict.fromkeys(networks.tolist()))
    rank = {n: i for i, n in enumerate(names)}
    codes = np.array([rank[n] for n in networks])
    edges = np.asarray(edges)
    low = np.minimum(codes[edges[:, 0]], codes[edges[:, 1]])
    high = np.maximum(codes[edges[:, 0]], codes[edges[:, 1]])
    pair = low * len(names) + high
    blocks = {}
    for value in np.unique(pair):
        blocks[f"{names[value // len(names)]}|{names[value % len(names)]}"] = np.flatnonzero(
            pair == value
        )
    return blocks


def roi_set_block(
    edges: np.ndarray | None, rois: Sequence[int], n_features: int | None = None
) -> np.ndarray:
    """Feature indices that involve any ROI of ``rois``: its edges, or the ROI columns themselves."""
    rois = np.asarray(rois, dtype=int)
    if rois.size == 0:
        raise ValueError("the ROI set is empty; name at least one ROI to remove")
    if edges is None:
        if n_features is not None and rois.max() >= n_features:
            raise ValueError(f"ROI {rois.max()} is out of range for {n_features} ROI features")
        return np.unique(rois)
    edges = np.asarray(edges)
    return np.flatnonzero(np.isin(edges[:, 0], rois) | np.isin(edges[:, 1], rois))


@dataclass
class ExplanationInputs:
    """Everything the explanation chapters start from, for one parameter set."""

    data: dict[str, FeatureSet]  # feature-set name -> thinned samples
    atlas: Any
    tr_targets: np.ndarray  # (n_volumes, 8) TR-level emotion series
    truth: dict | None
    feature_scaling: str

    def splitter(self, params: Any, name: str = "dfc") -> Any:
        """The explanation folds over feature set ``name`` (see :func:`explanation_splitter`).

        Parameters
        ----------
        params : Params
            The run's parameters (``cv``, ``cv_options`` and ``explain.folds``).
        name : str, optional
            The feature set whose samples are split.

        Returns
        -------
        splitter
            A splitter whose ``split(X)`` yields the (train, test) index arrays of each outer fold.
        """
        return explanation_splitter(params, WindowMeta.from_features(self.data[name]))

    def explain_options(self, params: Any, name: str = "dfc") -> ExplainOptions:
        """Options that share each explanation fold's kernel over ``name`` between explanations.

        Every explanation of the same features and folds (patterns, lesions, permutations) then
        reuses one kernel per fold instead of forming it again; the seed is the parameters'.

        Parameters
        ----------
        params : Params
            The run's parameters (their cross-validation and ``seed``).
        name : str, optional
            The feature set whose fold kernels are shared.

        Returns
        -------
        ExplainOptions
            The inputs' ``feature_scaling``, the shared fold ``kernels`` and ``seed = params.seed``.
        """
        data = self.data[name]
        folds = list(self.splitter(params, name).split(data.X))
        kernels = FoldKernels(data.X, folds, self.feature_scaling)
        return ExplainOptions(
            feature_scaling=self.feature_scaling, kernels=kernels, seed=params.seed
        )


def explanation_inputs(
    params: Any, feature_sets: Sequence[str] = ("dfc", "roi_window")
) -> ExplanationInputs:
    """ROI signals, targets and cached features of ``params``, thinned by ``explain.window_stride``.

    Parameters
    ----------
    params : Params
        The run's parameters (``explain.window_stride`` and ``explain.feature_scaling`` included).
    feature_sets : sequence of str, optional
        The feature sets to build and thin.

    Returns
    -------
    ExplanationInputs
        ``data`` (feature set name to its thinned FeatureSet), the ``atlas``, ``tr_targets``
        (n_volumes, 8), the ``truth`` (None on real data) and the ``feature_scaling`` to use.
    """

    roi = roi_timeseries(params, progress=False)
    targets = run_targets(params, roi)
    wanted = params.model_copy(deep=True)
    wanted.features = list(feature_sets)
    built = build_feature_sets(wanted, roi, targets)
    data = {
        name: explanation_data(built[name], params.explain.window_stride) for name in feature_sets
    }
    scaling = params.explain.feature_scaling
    if scaling == "cv":
        scaling = params.cv_options.feature_scaling
    return ExplanationInputs(
        data, roi.atlas, targets.to_numpy(dtype=float), ground_truth(params), scaling
    )

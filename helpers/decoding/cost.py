"""How long a cross-validation will take, said from the size of its design before it runs.

A model's time on one design is a sum of terms, each the count of operations of one scaling law
times a constant in seconds per operation measured on a reference machine:

* kernel ridge (``ridge``, ``kernel_ridge_linear``, ``kernel_ridge_rbf``): one Cholesky
  factorisation of the training kernel per penalty, outer and inner fold (``n_train^3``, per RBF
  width; one eigendecomposition instead for grids of more than
  :data:`~helpers.decoding.kernels.CHOLESKY_MAX_PENALTIES` penalties), then every target column,
  real and null, through the hat matrix of every penalty (``n_train^2`` per column);
* support vector regression: one dual fit per emotion, penalty and fold (``n_train^2``), refitted
  for every null draw it takes;
* column models (``cpm``, ``ridge_screened``, the oracle): the features summed per window once
  (``n_train * features``), then one pass per target column, real and null, over the distinct
  windows of the training set (subjects heard the same story, so they share the targets);
* estimators fitted in the primal (``linear``, ``lasso``, ``elastic_net``, ``random_forest``):
  least squares ``n_train * features * min(n_train, features)``, coordinate descent
  ``n_train * features`` per penalty and emotion, trees ``n_train log n_train`` per feature tried;
  each refitted for every null draw it takes;
* every fit pays a fixed overhead (Python, scikit-learn's checks), and every target column, real
  or null, is scored on every sample (``outputs``).

Inner folds train on ``(k - 1) / k`` of the outer training set, so their share of a ``n^a`` law is
``k ((k - 1) / k)^a``. Null draws are counted as the book counts them
(:func:`helpers.decoding.crossval.n_null_draws`): every draw for the models with a shortcut, at
most the refit cap for the others. Constants: :data:`SECONDS_PER_OPERATION`.

Dense terms are divided by their speed-up on the process's BLAS threads
(:mod:`helpers.decoding.blas`). Checked on the shared 2-core machine with two threads:
``quick.yml``'s chapter 04 estimated 69 s, measured 45 s and 74 s (1.5 and 0.9); ``default.yml``
4.6 min against 3.3 min (1.4); the full design's ridge 121 s against 143 s and RBF kernel ridge
with 1,000 nulls 11.4 against 14.2 min (0.85, 0.80). ``paper-rehearsal.yml`` is estimated at 46
hours, 44 of them random forest, lasso and least squares on 79,800 DFC edges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from helpers.decoding.blas import blas_threads, thread_speedup
from helpers.decoding.cost_estimate import CostEstimate, duration_text
from helpers.decoding.crossval import CVOptions, n_null_draws
from helpers.decoding.kernels import CHOLESKY_MAX_PENALTIES
from helpers.decoding.models import ModelGrid
from helpers.decoding.splits import WindowMeta
from helpers.registry import ORACLE, model_spec

# Seconds per operation of each term, fitted by non-negative least squares (relative errors) on the
# times of ``benchmarks/bench_cost_model.py --slow --primal-limit 1000``: RegressionRun.evaluate on
# simulated ROI-level datasets of 4-6 subjects (364-1,086 samples), 21-44,850 features, 0, 100 and
# 400 null draws (refitted models: none, as the chapter runs them; lasso, elastic net and forests
# on at most 1,000 features), one BLAS thread, this 2-core machine shared with other work (load
# average 3-7), 2026-12-03; the column models (cpm, ridge_screened, oracle) re-measured the same
# day with their per-window and per-strength terms (``--models cpm ridge_screened``).
# The kernel models' ``factor`` constant (a Cholesky factorisation of a copy of ``K + a I`` and
# its solve, per ``n^3``) was measured directly at n = 2,000-4,000 with one BLAS thread
# (1.19e-11 to 1.33e-11), since these designs are too small to pin an ``n^3`` term down; ``eig``
# applies only to grids of more than CHOLESKY_MAX_PENALTIES penalties.
# Re-measure with ``python benchmarks/bench_cost_model.py --slow --write``.
SECONDS_PER_OPERATION: dict[str, dict[str, float]] = {
    "ridge": {"apply": 1.483e-13, "eig": 2.855e-10, "factor": 1.2e-11, "fits": 0.003182, "outputs": 2.263e-07},
    "kernel_ridge_rbf": {"apply": 2.857e-12, "eig": 2.224e-10, "factor": 1.2e-11, "fits": 0.001506, "outputs": 4.48e-7},
    "cpm": {"columns": 1.014e-10, "fits": 0.001194, "outputs": 1.611e-06, "strengths": 1.845e-08, "sums": 9.551e-09},
    "svr_rbf": {"dual": 3.166e-09, "fits": 0.0003208},
    "svr_linear": {"dual": 1.666e-08, "fits": 0.0009249},
    "linear": {"fits": 0.002086, "lstsq": 5.355e-10, "outputs": 1.225e-05},
    "lasso": {"descent": 3.391e-08, "fits": 0.00505},
    "random_forest": {"fits": 0.1215, "trees": 2.809e-08},
    "elastic_net": {"descent": 4.401e-08, "fits": 0.004878},
    "ridge_screened": {"columns": 5.583e-09, "eig": 1.688e-10, "fits": 0.001842, "sums": 4.001e-09},
    "kernel_ridge_linear": {"eig": 2.37e-10, "factor": 1.2e-11, "fits": 0.001786, "outputs": 2.813e-07},
    "oracle": {"columns": 2.98e-09, "fits": 0.0004237},
}  # fmt: skip
"""model -> term -> seconds per operation (see :func:`operation_counts`)."""

PER_CHAPTER: dict[str, float] = {
    "gram": 2.941e-11,  # s per n^2 p of one float32 linear Gram matrix
    "gram_call": 0.01391,  # s per Gram matrix
    "dfc": 4.088e-09,  # s per sample x edge x window volume of the feature sets
    "dfc_call": 0.106,  # s per build of the feature sets
    # s: chapter 04's figures, tables and small demonstrations: its time on quick.yml with one
    # model, two feature sets and 10 null draws (32.8 s) less its data (0.5 s) and estimated
    # cross-validations (7.2 s)
    "fixed": 25.1,
}
"""Terms outside the models: the shared Gram matrices, the feature sets and a fixed part."""


@dataclass(frozen=True)
class CVDesign:
    """The size of one cross-validation: what its cost depends on.

    ``n_train`` is the mean outer training set; ``n_null`` the null draws this model fits.
    """

    model: str
    n_samples: int
    n_features: int
    n_train: float
    n_folds: int
    inner_splits: int = 3
    n_targets: int = 8
    n_null: int = 0
    label: str = ""
    n_windows: float = 0.0  # mean distinct windows per training set (0: as many as samples)
    inner_fraction: float = 0.0  # mean inner training set / outer (0: (k - 1) / k)


def _inner(k: int, power: float, fraction: float = 0.0) -> float:
    """Outer plus inner folds' share of a ``n_train ** power`` law.

    ``fraction`` is the inner training set over the outer one (0: ``(k - 1) / k``). Blocked inner
    folds hold out subjects and story blocks at once, so theirs is far smaller; the fitted
    constants absorbed that, the directly measured ``factor`` constant must not.
    """
    return 1.0 + k * (fraction or (k - 1) / k) ** power if k > 1 else 1.0


def operation_counts(design: CVDesign, grid: ModelGrid | None = None) -> dict[str, float]:
    """The operation count of each term of ``design.model``'s scaling law (see the module text).

    Parameters
    ----------
    design : CVDesign
        The design's size.
    grid : ModelGrid, optional
        The hyperparameter grids (their sizes multiply the terms); the book's default if omitted.

    Returns
    -------
    dict
        Term name -> operations over all folds; ``fits`` counts model fits.

    Raises
    ------
    ValueError
        For a model the registry does not know.
    """
    counts = _model_counts(design, grid or ModelGrid())
    # scoring every column, real and null, on every sample (null tables, within-fold r, R2)
    counts["outputs"] = float(design.n_samples) * design.n_targets * (1 + design.n_null)
    return counts


def _model_counts(design: CVDesign, grid: ModelGrid) -> dict[str, float]:
    spec = model_spec(design.model)  # a ValueError listing the known models
    n, p, k = float(design.n_train), float(design.n_features), design.inner_splits
    columns = design.n_targets * (1 + design.n_null)
    refits = 1 + (0 if spec.joint_nulls else design.n_null)
    folds = design.n_folds
    widths = len(grid.gamma_factors) if spec.kernel == "rbf" else 1
    if spec.engine == "kernel_ridge":
        alphas = len(grid.relative_alphas)
        counts = {
            "apply": folds * widths * alphas * columns * n**2 * _inner(k, 2),
            "fits": folds * widths * (1 + k),
        }
        if alphas <= CHOLESKY_MAX_PENALTIES:  # one factorisation per penalty (penalised_solver)
            counts["factor"] = folds * widths * alphas * n**3 * _inner(k, 3, design.inner_fraction)
        else:
            counts["eig"] = folds * widths * n**3 * _inner(k, 3)
        return counts
    if spec.engine == "svr":
        fits = folds * widths * len(grid.svr_C) * (1 + k) * refits * design.n_targets
        return {
            "dual": fits / (1 + k) * n**2 * _inner(k, 2),
            "fits": fits,
        }
    if spec.engine in ("cpm", "screened_ridge", ORACLE):
        # features summed per window once, then every column against the distinct windows
        windows = float(design.n_windows or design.n_train)
        counts = {
            "sums": folds * n * p * _inner(k, 1),
            "columns": folds * columns * windows * p * _inner(k, 1),
            "fits": folds * (1 + k),
        }
        if spec.engine == "cpm":  # every column's strengths for every number of edges tried
            counts["strengths"] = folds * columns * n * len(grid.cpm_edges) * _inner(k, 1)
        if spec.engine == "screened_ridge":
            counts["eig"] = folds * len(grid.screening_k) * n**3 * _inner(k, 3)
        return counts
    name = design.model
    if name == "linear":
        return {"lstsq": folds * refits * n * p * min(n, p), "fits": folds * refits}
    if name in ("lasso", "elastic_net"):
        mixes = len(grid.l1_ratios) if name == "elastic_net" else 1
        fits = folds * refits * len(grid.lasso_alphas) * mixes * (1 + k)
        return {"descent": fits / (1 + k) * design.n_targets * n * p * _inner(k, 1), "fits": fits}
    if name == "random_forest":
        tried = np.mean([_features_tried(m, p) for m in grid.forest_max_features])
        fits = folds * refits * len(grid.forest_max_features) * (1 + k)
        trees = fits / (1 + k) * grid.forest_trees * tried * n * math.log2(max(n, 2)) * _inner(k, 1)
        return {"trees": trees, "fits": fits}
    raise ValueError(f"no scaling law for model {name!r} (engine {spec.engine}); add one here")


def _features_tried(max_features: Any, p: float) -> float:
    if max_features == "sqrt":
        return math.sqrt(p)
    if isinstance(max_features, float):
        return max_features * p
    return float(max_features if max_features is not None else p)


def estimate_seconds(
    design: CVDesign, grid: ModelGrid | None = None, threads: int | None = None
) -> float:
    """Seconds ``design`` will take on the reference machine with ``threads`` BLAS threads.

    Each dense term is divided by its speed-up on ``threads`` BLAS threads (default: the
    process's own; :func:`~helpers.decoding.blas.thread_speedup`).

    Raises
    ------
    ValueError
        For a model the registry does not know, or one whose constants were never measured.
    """
    counts = operation_counts(design, grid)
    constants = SECONDS_PER_OPERATION.get(design.model)
    if constants is None:
        raise ValueError(
            f"no measured cost constants for model {design.model!r}; measured: "
            f"{', '.join(sorted(SECONDS_PER_OPERATION))}. Run benchmarks/bench_cost_model.py"
        )
    threads = blas_threads() if threads is None else threads  # read the BLAS pools once
    return float(
        sum(
            constants.get(term, 0.0) * count / thread_speedup(term, threads)
            for term, count in counts.items()
        )
    )


def cv_design(features: Any, model: str, options: CVOptions, label: str = "") -> CVDesign:
    """The design :func:`helpers.decoding.cross_validate_model` would run, counted, not run.

    Parameters
    ----------
    features : FeatureSet
        The samples (their subjects and windows decide the folds).
    model : str
        A model of the registry.
    options : CVOptions
        Split, inner folds and null draws, as the chapter passes them.
    label : str
        A name for tables.
    """
    model_spec(model)
    splitter = options.splitter_for(features)
    folds = list(splitter.split(features.X))
    train = float(np.mean([len(tr) for tr, _ in folds])) if folds else 0.0
    starts = np.asarray(WindowMeta.from_features(features).start)
    windows = float(np.mean([len(np.unique(starts[tr])) for tr, _ in folds])) if folds else 0.0
    try:
        inner = [
            np.mean([len(it) for it, _ in splitter.inner(tr, options.inner_splits).split()])
            / len(tr)
            for tr, _ in folds
        ]
    except ValueError:  # a design too small for its inner folds: counted with (k - 1) / k
        inner = []
    n_null = n_null_draws(model, options) if options.n_permutations > 0 else 0
    n_targets = int(np.shape(features.y)[1]) if np.ndim(features.y) > 1 else 1
    return CVDesign(
        model, int(features.n_samples), int(features.n_features), train, len(folds),
        options.inner_splits, n_targets, n_null, label or f"{model} {features.name} {options.cv}",
        windows, float(np.mean(inner)) if inner else 0.0,
    )  # fmt: skip


def _gram_seconds(n: float, p: float) -> float:
    return PER_CHAPTER["gram_call"] + PER_CHAPTER["gram"] * n * n * p / thread_speedup("gram")


def regression_chapter_cost(
    params: Any, feature_sets: Mapping[str, Any], truth: dict | None = None
) -> CostEstimate:
    """What chapter 04 will spend after its features are built, part by part.

    Mirrors the chapter's calls: every model of ``params.models`` on every feature set under
    ``params.cv`` with ``params.n_permutations`` null draws (refitted models take
    ``cv_options.refit_null_draws``, as :class:`helpers.decoding.runs.RegressionRun` runs them),
    the oracle on simulated data, the
    plain scikit-learn ridge and the engine's ridge on one feature set, the random split beside the
    honest one, one linear Gram matrix per feature set, and the chapter's fixed cost (figures,
    small demonstrations).

    Parameters
    ----------
    params : Params
        The run's parameters.
    feature_sets : mapping of str to FeatureSet
        The chapter's feature sets.
    truth : dict, optional
        The simulated dataset's ground truth (adds the oracle).

    Returns
    -------
    CostEstimate
        One part per cross-validation, plus the chapter's fixed cost.
    """
    from helpers.decoding.oracle import planted_summary  # deferred: only for simulated data

    estimate = CostEstimate()
    options = CVOptions.from_params(
        params, max_refit_permutations=params.cv_options.refit_null_draws
    )
    for name, features in feature_sets.items():
        n, p = float(features.n_samples), float(features.n_features)
        estimate.add(f"linear kernel of {name}", _gram_seconds(n, p))
        for model in params.models:
            design = cv_design(features, model, options)
            estimate.add(design.label, estimate_seconds(design), design)
    if truth is not None:
        emotions = next(iter(feature_sets.values())).target_names
        try:
            planted = planted_summary(truth, feature_sets, emotions)
        except ValueError:  # the run's features do not include what was planted: no oracle
            planted = None
        if planted is not None:
            design = cv_design(planted, ORACLE, options)
            estimate.add(design.label, estimate_seconds(design), design)
    reference = feature_sets["dfc"] if "dfc" in feature_sets else next(iter(feature_sets.values()))
    one_alpha = options.replace(cv="loso_blocked", n_permutations=0)
    one_alpha = one_alpha.replace(grid=replace(one_alpha.grid, relative_alphas=(10.0,)))
    design = cv_design(reference, "ridge", one_alpha, "plain and engine ridge, one penalty")
    n, p = float(design.n_samples), float(design.n_features)
    # scikit-learn computes each fold's kernel in float64 (about twice the float32 Gram's time)
    plain = (
        2 * PER_CHAPTER["gram"] * design.n_folds * design.n_train * n * p / thread_speedup("gram")
    )
    estimate.add(design.label, plain + 2 * estimate_seconds(design) + _gram_seconds(n, p), design)
    replication = "ridge" if "ridge" in params.models else params.models[0]
    for cv in ("random", "loso_blocked"):
        if cv == params.cv:
            continue
        for features in feature_sets.values():
            design = cv_design(features, replication, options.replace(cv=cv, n_permutations=0))
            estimate.add(design.label, estimate_seconds(design), design)
    estimate.add("figures and demonstrations", PER_CHAPTER["fixed"])
    return estimate


__all__ = [
    "CostEstimate",
    "duration_text",
    "regression_chapter_cost",
    "PER_CHAPTER",
    "SECONDS_PER_OPERATION",
    "CVDesign",
    "cv_design",
    "estimate_seconds",
    "operation_counts",
]

"""Sensitivity of the DFC-against-ROI comparison to window, atlas, split and model choices."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from helpers.config import ParameterError, Params, deep_merge, params_from_dict
from helpers.decoding.crossval import CVOptions, cross_validate_model
from helpers.decoding.kernels import FoldKernels, linear_gram
from helpers.decoding.stats import VerdictLabels, joint_permutation_test, verdict
from helpers.features import build_feature_sets
from helpers.parameter_grid import SweepError, _value_text, expand_dotted, expand_grid
from helpers.parameter_sections import SweepParams
from helpers.pipeline import roi_timeseries, run_targets
from helpers.progress import tqdm

DIRECT_GRID_KEYS_LOOPED = ("models", "cv", "features")


def _confidence_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Standard error and t-based confidence interval of the mean of ``values``."""

    values = values[~np.isnan(values)]
    if len(values) < 2:
        return float("nan"), float("nan"), float("nan")
    se = float(values.std(ddof=1) / np.sqrt(len(values)))
    half = float(scipy_stats.t.ppf(0.5 + level / 2, len(values) - 1)) * se
    mean = float(values.mean())
    return se, mean - half, mean + half


def _resolved_value(params: Mapping[str, Any], dotted: str) -> Any:
    """The value a dotted key has in a dumped parameter set (lists joined with '+' for tables)."""
    node: Any = params
    for part in dotted.split("."):
        node = node[part]
    return node if isinstance(node, (int, float, str, bool)) or node is None else _value_text(node)


def combination_params(base_params: Params, sweep: SweepParams) -> list[tuple[dict, Params]]:
    """Each combination of ``sweep``'s direct grid, with the parameters it is run with.

    ``sweep.fixed`` goes on top of ``base_params``, then the combination's values; the feature sets
    are the sweep's ROI features and DFC. Everything is built before any combination runs, so a
    value the parameter checks refuse stops the grid at once with a :class:`SweepError` naming it.

    Parameters
    ----------
    base_params : Params
        The parameters every combination starts from.
    sweep : SweepParams
        The grid, its extra combinations, the fixed values and the ROI features.

    Returns
    -------
    list of (dict, Params)
        The combination's dotted values and its parameters, in grid order.
    """
    combos = expand_grid(sweep.grid, sweep.combinations)
    looped = [k for values in combos for k in values if k.split(".")[0] in DIRECT_GRID_KEYS_LOOPED]
    if looped:
        raise SweepError(
            f"the direct grid varies {looped[0]!r}; pass models and cv schemes as the 'models' and "
            "'cvs' arguments (they share features), and the feature sets are fixed to ROI and DFC"
        )
    if sweep.roi_features not in ("roi", "roi_window"):
        raise SweepError(f"roi_features must be 'roi' or 'roi_window', got {sweep.roi_features!r}")
    base = deep_merge(base_params.model_dump(mode="json"), expand_dotted(dict(sweep.fixed or {})))
    base["features"] = [sweep.roi_features, "dfc"]
    out = []
    for values in combos:
        try:
            merged = deep_merge(base, expand_dotted(values))
            out.append((values, params_from_dict(merged, source=f"combination {values}")))
        except ParameterError as exc:
            raise SweepError(str(exc)) from None
    return out


LESSON_SPLITS = ("random", "loso")
"""Splits that leak on a story every subject heard: their scores are shown as lessons, never as verdicts."""


def sensitivity_scores(
    base_params: Params,
    sweep: SweepParams | None = None,
    *,
    feature_scaling: str = "center",
    n_permutations: int = 200,
    progress: bool = True,
) -> pd.DataFrame:
    """DFC-minus-ROI decoding scores for every combination of a sweep's grid, computed in this process.

    ``sweep`` (default: ``base_params.sweep``) names the grid: for each combination (the product
    of ``sweep.grid`` plus the extra ``sweep.combinations``; dotted keys such as ``window.length``,
    ``window.shape``, ``atlas``, applied with ``sweep.fixed`` on top of ``base_params``) the ROI
    time series come from the pipeline's cache (extracted once per atlas and preprocessing, and
    kept in memory across combinations), the DFC and ROI feature sets are built, and each feature
    set's linear kernel is computed once and shared by every model and cross-validation scheme.
    Each (model, cv) pair of ``sweep.models`` and ``sweep.cv`` is cross-validated on both feature
    sets with the same folds and the same ``n_permutations`` null target draws; the joint
    permutation test of the difference in mean r decides the verdict (held-out subjects are
    not independent units, so their spread is description only). Under the leaky ``random`` and
    ``loso`` splits the verdict is ``"lesson (leaky split)"``: their deltas show the leak.

    Returns one row per (combination, model, cv): the value of every swept key (also where a
    combination left it at its base value), ``r_dfc`` and ``r_roi`` (mean over held-out subjects of
    each subject's mean r over emotions, so ``delta_r = r_dfc - r_roi``), ``pooled_r_dfc`` and
    ``pooled_r_roi`` (mean over emotions of r over all held-out samples pooled, as in the regression
    chapter's table; under blocked folds pooling mixes blocks whose training means differ),
    ``delta_r`` (mean over held-out subjects of DFC minus ROI mean r),
    ``delta_se``, ``ci_low``/``ci_high`` (95% t interval across subjects, description), ``p_value``
    (joint permutation test), ``n_subjects``, ``verdict``, ``n_samples``, ``error`` and
    ``seconds``. A (model, cv) that cannot be run for a combination (for instance blocked folds whose
    purge gap leaves no training windows with very long windows) gets ``verdict = "not testable"`` and
    the reason in ``error`` instead of stopping the whole grid.

    Parameters
    ----------
    base_params : Params
        The parameters every combination starts from.
    sweep : SweepParams, optional
        The grid, fixed values, models and schemes; ``base_params.sweep`` if omitted.
    feature_scaling : {"center", "standard"}, optional
        How the kernels scale features on the training samples: centred only, or standardised.
    n_permutations : int, optional
        Null target draws per (combination, model, cv).
    progress : bool, optional
        Show a progress bar over combinations.

    Returns
    -------
    pandas.DataFrame
        One row per (combination, model, cv), with the columns listed above.
    """

    sweep = sweep or base_params.sweep
    models, cvs, roi_features = sweep.models, sweep.cv, sweep.roi_features
    combos = combination_params(base_params, sweep)
    swept_keys = list(dict.fromkeys(k for values, _ in combos for k in values))
    roi_cache: dict[str, Any] = {}
    rows = []
    for _values, params in tqdm(combos, desc="sensitivity", disable=not progress):
        began = time.perf_counter()
        key = params.digest(
            "dataset", "subjects", "bids_root", "atlas", "simulation", "preprocessing", "annotation"
        )
        if key not in roi_cache:
            roi = roi_timeseries(params, progress=False)
            roi_cache[key] = (roi, run_targets(params, roi))
        roi, targets = roi_cache[key]
        resolved = params.model_dump(mode="json")
        feature_sets = build_feature_sets(params, roi, targets, use_cache=False)
        grams = {name: linear_gram(fs.X) for name, fs in feature_sets.items()}
        for cv in cvs:
            options = CVOptions.from_params(
                params,
                cv=cv,
                n_permutations=0 if cv in LESSON_SPLITS else n_permutations,
                feature_scaling=feature_scaling,
            )
            kernels: dict[str, FoldKernels] = {}
            for model in models:
                row = {k: _resolved_value(resolved, k) for k in swept_keys}
                row.update(model=model, cv=cv, n_samples=int(feature_sets["dfc"].n_samples))
                try:
                    for name, fs in feature_sets.items():
                        if name not in kernels:
                            folds = list(options.splitter_for(fs).split(fs.X))
                            kernels[name] = FoldKernels(
                                fs.X, folds, feature_scaling, gram=grams[name]
                            )
                    results = {
                        name: cross_validate_model(fs, model, options, kernels=kernels[name])
                        for name, fs in feature_sets.items()
                    }
                except (
                    ValueError
                ) as exc:  # e.g. a purge gap that leaves no training data: not testable
                    rows.append(
                        dict(
                            row,
                            verdict="not testable",
                            error=str(exc),
                            seconds=round(time.perf_counter() - began, 2),
                        )
                    )
                    began = time.perf_counter()
                    continue
                rows.append(
                    dict(
                        row,
                        **_delta_scores(results["dfc"], results[roi_features], cv),
                        error="",
                        seconds=round(time.perf_counter() - began, 2),
                    )
                )
                began = time.perf_counter()
        del feature_sets, grams
    return pd.DataFrame(rows)


def _delta_scores(dfc: Any, roi: Any, cv: str) -> dict[str, Any]:
    """One grid row's scores: DFC against ROI on the same folds and null draws, and the verdict."""
    joint = (
        joint_permutation_test(dfc.within_fold_r(), roi.within_fold_r(), dfc.null_r, roi.null_r)
        if dfc.null_r is not None and roi.null_r is not None
        else {"delta_r": float("nan"), "p_value": float("nan")}
    )
    per_subject = pd.concat({"dfc": dfc.subject_mean_r(), "roi": roi.subject_mean_r()}, axis=1)
    differences = (per_subject["dfc"] - per_subject["roi"]).to_numpy(dtype=float)
    se, low, high = _confidence_interval(differences)
    n_pairs = int(np.sum(~np.isnan(differences)))
    pooled = [
        float(res.scores().query("emotion == 'mean'")["r_pooled"].iloc[0]) for res in (dfc, roi)
    ]
    if cv in LESSON_SPLITS:
        label = "lesson (leaky split)"
    else:
        labels = VerdictLabels("DFC > ROI", "ROI > DFC", "no difference")
        label = verdict(joint["delta_r"], joint["p_value"], labels)
    return {
        "r_dfc": float(per_subject["dfc"].mean()),
        "r_roi": float(per_subject["roi"].mean()),
        "pooled_r_dfc": pooled[0],
        "pooled_r_roi": pooled[1],
        "delta_r": float(np.nanmean(differences)) if n_pairs else float("nan"),
        "delta_se": se,
        "ci_low": low,
        "ci_high": high,
        "p_value": joint["p_value"],
        "n_subjects": n_pairs,
        "verdict": label,
    }

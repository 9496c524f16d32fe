"""Measure the constants of the cost model (:mod:`helpers.decoding.cost`) on this machine.

Simulated ROI-level datasets (no images: :func:`helpers.simulate.simulate_roi_level`) of a few
sizes go through the book's own feature sets and :class:`helpers.decoding.runs.RegressionRun`, as
chapter 04 runs them; each model's time on each design is set beside the operation counts of its
scaling law (:func:`helpers.decoding.cost.operation_counts`), and the seconds per operation of every
term are fitted by non-negative least squares (relative errors, so small designs count as much as
large ones). The linear Gram matrix of each feature set (shared by every kernel model) and the
features' construction are timed and fitted the same way. ``--write`` prints the constants as
Python to paste into the module.

Run: ``python benchmarks/bench_cost_model.py`` (about 10 minutes on 2 cores).
``--estimate params/paper-rehearsal.yml`` prints chapter 04's estimate for a parameter file from
its design's geometry alone, in seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import numpy as np
from scipy.optimize import nnls

from helpers.annotation.targets import emotion_targets
from helpers.config import load_params
from helpers.data.atlases import load_atlas
from helpers.decoding.cost import cv_design, operation_counts, regression_chapter_cost
from helpers.decoding.kernels import linear_gram
from helpers.decoding.oracle import planted_summary
from helpers.decoding.runs import RegressionRun
from helpers.features import FeatureSet, build_feature_sets
from helpers.pipeline import simulation_drive
from helpers.preflight import _layout
from helpers.registry import ORACLE
from helpers.simulate import simulate_roi_level

QUICK = "params/quick.yml"
# (subjects, window step, atlas): 300-1,800 samples, 160-44,850 features
DATASETS = [
    (4, 4, "dosenbach160"),
    (4, 2, "dosenbach160"),
    (4, 2, "seitzman300"),
    (6, 2, "seitzman300"),
]
FAST_MODELS = ("ridge", "kernel_ridge_rbf", "cpm", "svr_rbf", "svr_linear", "linear")
SLOW_MODELS = ("lasso", "random_forest", "elastic_net", "ridge_screened", "kernel_ridge_linear")
DRAWS = (0, 100, 400)
PRIMAL_MODELS = ("lasso", "elastic_net", "random_forest")


def dataset(subjects: int, step: int, atlas: str):
    params = load_params(
        QUICK, {"subjects": subjects, "window": {"step": step}, "atlas": atlas, "n_permutations": 0}
    )
    roi = simulate_roi_level(
        simulation_drive(params), load_atlas(atlas), params.simulation, params.subject_ids()
    )
    began = time.perf_counter()
    sets = build_feature_sets(params, roi, emotion_targets(params, 0.657), use_cache=False)
    return params, roi, sets, time.perf_counter() - began


def measure(models: tuple[str, ...], draws: tuple[int, ...], forest_limit: int) -> list[dict]:
    rows = []
    for subjects, step, atlas in DATASETS:
        params, roi, sets, feature_s = dataset(subjects, step, atlas)
        n_rois = roi.atlas.n_rois
        n = next(iter(sets.values())).n_samples
        edges = n_rois * (n_rois - 1) / 2
        rows.append({"model": "features", "seconds": feature_s,
                     "counts": {"dfc": n * edges * params.window.length, "calls": 1.0}})  # fmt: skip
        for name, features in sets.items():
            began = time.perf_counter()
            gram = linear_gram(features.X)
            rows.append({"model": "gram", "seconds": time.perf_counter() - began,
                         "counts": {"gram": float(n) ** 2 * features.n_features, "calls": 1.0}})  # fmt: skip
            for n_perm in draws:
                run = RegressionRun(params.model_copy(update={"n_permutations": n_perm}), sets)
                run._grams[name] = gram  # the Gram matrix is timed on its own above
                for model in models:
                    refit_only = model not in ("ridge", "kernel_ridge_rbf", "kernel_ridge_linear",
                                               "cpm", "ridge_screened")  # fmt: skip
                    if n_perm and refit_only:
                        continue  # the chapter refits no null draw (max_refit_permutations=0)
                    if model in PRIMAL_MODELS and features.n_features > forest_limit:
                        continue  # minutes per design: their laws are fitted on the smaller sets
                    design = cv_design(features, model, run.options(params.cv, n_perm))
                    began = time.perf_counter()
                    run.evaluate(model, name, params.cv, n_permutations=n_perm)
                    seconds = time.perf_counter() - began
                    rows.append({"model": model, "seconds": seconds,
                                 "counts": operation_counts(design), "design": design.label,
                                 "n": n, "p": features.n_features, "draws": n_perm})  # fmt: skip
                    print(f"{model:>18} {name:>12} n={n:5d} p={features.n_features:6d} "
                          f"draws={n_perm:4d}: {seconds:7.2f} s", flush=True)  # fmt: skip
        for n_perm in draws:  # the planted signal's summary, fitted like the chapter's oracle
            run = RegressionRun(
                params.model_copy(update={"n_permutations": n_perm}), sets, roi.truth
            )
            began = time.perf_counter()
            result = run.oracle(params.cv)
            seconds = time.perf_counter() - began
            if result is None:
                continue
            planted = planted_summary(roi.truth, sets, next(iter(sets.values())).target_names)
            counts = operation_counts(cv_design(planted, ORACLE, run.options(params.cv, n_perm)))
            rows.append({"model": ORACLE, "seconds": seconds, "counts": counts, "draws": n_perm})
    return rows


def fit_constants(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Seconds per operation of each term, per model: NNLS on relative errors."""
    by_model = defaultdict(list)
    for row in rows:
        by_model[row["model"]].append(row)
    constants = {}
    for model, group in by_model.items():
        terms = sorted({t for r in group for t in r["counts"]})
        A = np.array([[r["counts"].get(t, 0.0) for t in terms] for r in group])
        b = np.array([r["seconds"] for r in group])
        scale = A.max(axis=0)
        scale[scale == 0] = 1.0
        weights = 1.0 / np.maximum(b, 0.05)
        solution, _ = nnls((A / scale) * weights[:, None], b * weights)
        constants[model] = {t: float(f"{c / s:.4g}") for t, c, s in zip(terms, solution, scale)}
        predicted = A @ (solution / scale)
        ratios = predicted / np.maximum(b, 1e-3)
        print(f"{model:>18}: {constants[model]}  predicted/measured "
              f"{ratios.min():.2f}-{ratios.max():.2f}")  # fmt: skip
    return constants


def estimate_from_geometry(path: str):
    """Chapter 04's estimate for a parameter file from its design's geometry alone.

    The feature sets are zero-stride arrays of the right shape (no memory, no data): the samples
    the windows and subjects give, the DFC edges of the atlas, its ROIs and network pairs.
    """
    params = load_params(path)
    meta = _layout(params, 1)
    n_rois = load_atlas(params.atlas).n_rois
    n_networks = len(load_atlas(params.atlas).network_names())
    widths = {
        "roi_window": n_rois,
        "roi": n_rois,
        "dfc": n_rois * (n_rois - 1) // 2,
        "dfc_networks": n_networks * (n_networks + 1) // 2,
    }
    y = np.zeros((len(meta.subject), 8))
    sets = {}
    for name in params.features:
        X = np.broadcast_to(np.float32(0), (len(y), widths[name]))
        features = FeatureSet.from_arrays(
            X, y, meta.subject, meta.start, window={"length": params.window.length}
        )
        features.name = name
        sets[name] = features
    return regression_chapter_cost(params, sets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=list(FAST_MODELS))
    parser.add_argument("--slow", action="store_true", help=f"also {', '.join(SLOW_MODELS)}")
    parser.add_argument("--draws", nargs="*", type=int, default=list(DRAWS))
    parser.add_argument(
        "--primal-limit",
        type=int,
        default=2000,
        help="most features for lasso, elastic net, forest",
    )
    parser.add_argument("--json", help="write the measurements here")
    parser.add_argument("--write", action="store_true", help="print the constants as Python")
    parser.add_argument(
        "--estimate", metavar="PARAMS", help="only print chapter 04's estimate for a parameter file"
    )
    args = parser.parse_args()
    if args.estimate:
        print(estimate_from_geometry(args.estimate).text(8))
        return
    models = tuple(args.models) + (SLOW_MODELS if args.slow else ())
    rows = measure(models, tuple(args.draws), args.primal_limit)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1, default=str)
    constants = fit_constants(rows)
    if args.write:
        print("SECONDS_PER_OPERATION = " + json.dumps(
            {m: c for m, c in constants.items() if m not in ("gram", "features")}, indent=4))  # fmt: skip
        print("PER_CHAPTER = " + json.dumps(
            {"gram": constants["gram"], "features": constants["features"]}, indent=4))  # fmt: skip


if __name__ == "__main__":
    main()

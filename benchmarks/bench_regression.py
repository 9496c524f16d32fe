"""Time the paper's way of fitting the regressions against the project's, on the same folds.

Paper's way: ``StandardScaler`` then ``MultiOutputRegressor(SVR(kernel="rbf"))``, refitted for every
target, every fold and every permutation. Project's way: one fold kernel shared by all targets
(SVR on a precomputed kernel), and kernel ridge whose permutations reuse the fold's
eigendecomposition. Data: random ROI signals of ``--subjects`` subjects and ``--rois`` ROIs, sliding
window correlations (``--window`` TR), smooth random targets shared by all subjects.

Run: ``python benchmarks/bench_regression.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR
from threadpoolctl import threadpool_limits

from helpers.decoding.crossval import CVOptions, cross_validate_model
from helpers.decoding.kernels import fold_linear_kernel, squared_distances
from helpers.decoding.splits import LeaveOneSubjectOutBlocked
from helpers.features import FeatureSet, window_targets
from helpers.study import N_VOLUMES


def sliding_correlations(series: np.ndarray, window: int) -> np.ndarray:
    """Fisher-z sliding-window correlations, upper triangle, one row per window start."""
    n_trs, n_rois = series.shape
    upper = np.triu_indices(n_rois, k=1)
    rows = []
    for a in range(n_trs - window + 1):
        segment = series[a : a + window]
        segment = (segment - segment.mean(0)) / segment.std(0)
        corr = (segment.T @ segment) / window
        rows.append(np.arctanh(np.clip(corr[upper], -0.999, 0.999)))
    return np.asarray(rows, dtype=np.float32)


def make_data(n_subjects: int, n_rois: int, window: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    raw = gaussian_filter1d(rng.standard_normal((N_VOLUMES, 8)), 3.0, axis=0)
    tr_targets = (raw - raw.min(0)) / (raw.max(0) - raw.min(0))
    X, subject, start = [], [], []
    for s in range(n_subjects):
        series = gaussian_filter1d(rng.standard_normal((N_VOLUMES, n_rois)), 1.0, axis=0)
        X.append(sliding_correlations(series, window))
        starts = np.arange(N_VOLUMES - window + 1)
        subject += [f"sub-{s:02d}"] * len(starts)
        start.append(starts)
    start = np.concatenate(start)
    y = window_targets(tr_targets, start, window)
    features = FeatureSet.from_arrays(
        np.concatenate(X),
        y,
        np.array(subject),
        start,
        tr_targets=tr_targets,
        window={"length": window},
    )
    features.name = "dfc"
    return features


def paper_svr(X: np.ndarray, Y: np.ndarray, folds) -> tuple[float, np.ndarray]:
    began = time.perf_counter()
    pred = np.full(Y.shape, np.nan)
    for train, test in folds:
        model = make_pipeline(StandardScaler(), MultiOutputRegressor(SVR(kernel="rbf")))
        model.fit(X[train], Y[train])
        pred[test] = model.predict(X[test])
    return time.perf_counter() - began, pred


def project_svr(X: np.ndarray, Y: np.ndarray, folds) -> tuple[float, np.ndarray]:
    """Same model and settings (C=1, epsilon=0.1, gamma='scale') on one kernel per fold for all targets."""
    began = time.perf_counter()
    pred = np.full(Y.shape, np.nan)
    for train, test in folds:
        K_lin = fold_linear_kernel(X, train, test, "standard")
        n_tr = len(train)
        gamma = 1.0 / X.shape[1]  # 'scale' after standardisation: 1 / (n_features * variance 1)
        K = np.exp(-gamma * squared_distances(K_lin))
        with threadpool_limits(1):
            for t in range(Y.shape[1]):
                svr = SVR(kernel="precomputed").fit(K[:n_tr, :n_tr], Y[train, t])
                pred[test, t] = svr.predict(K[n_tr:, :n_tr])
    return time.perf_counter() - began, pred


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=8)
    parser.add_argument("--rois", type=int, default=100)
    parser.add_argument("--window", type=int, default=12)
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument(
        "--paper-permutations",
        type=int,
        default=1,
        help="permutations actually refitted the paper's way (the rest is extrapolated)",
    )
    args = parser.parse_args()

    features = make_data(args.subjects, args.rois, args.window)
    X, Y = features.X, features.y
    splitter = LeaveOneSubjectOutBlocked(
        features, n_blocks=5, window_length=args.window, pairing="rotation"
    )
    folds = list(splitter.split(X))
    print(
        f"{len(Y)} samples x {X.shape[1]} DFC features, {len(folds)} folds (blocked, rotation), 8 targets"
    )

    paper_time, paper_pred = paper_svr(X, Y, folds)
    print(f"paper   SVR-RBF, MultiOutputRegressor, all folds:          {paper_time:8.1f} s")
    project_time, project_pred = project_svr(X, Y, folds)
    print(f"project SVR-RBF, precomputed kernel shared by 8 targets:   {project_time:8.1f} s")
    tested = ~np.isnan(paper_pred[:, 0])
    print(
        f"  speed-up {paper_time / project_time:.1f}x; max |prediction difference| "
        f"{np.max(np.abs(paper_pred[tested] - project_pred[tested])):.2e}"
    )

    rng = np.random.default_rng(1)
    began = time.perf_counter()
    for _ in range(args.paper_permutations):
        shifted = Y[:, rng.permutation(Y.shape[1])]
        paper_svr(X, shifted, folds)
    per_permutation = (time.perf_counter() - began) / max(args.paper_permutations, 1)
    print(
        f"paper   {args.permutations} permutations refitted (extrapolated from {args.paper_permutations}): "
        f"{per_permutation * args.permutations:8.0f} s"
    )

    options = CVOptions(splitter=splitter, hrf_span_s=16.0, feature_scaling="standard")
    began = time.perf_counter()
    plain = cross_validate_model(features, "kernel_ridge_rbf", options)
    plain_time = time.perf_counter() - began
    began = time.perf_counter()
    permuted = cross_validate_model(
        features, "kernel_ridge_rbf", options.replace(n_permutations=args.permutations)
    )
    permuted_time = time.perf_counter() - began
    assert np.allclose(plain.predictions[tested], permuted.predictions[tested])
    print(
        f"project kernel ridge RBF, nested (3 widths x 6 penalties), no permutations: {plain_time:6.1f} s"
    )
    print(
        f"project kernel ridge RBF, nested, {args.permutations} phase-randomised null draws:   {permuted_time:6.1f} s"
    )
    print(
        f"  permutations cost {permuted_time / plain_time:.2f}x the unpermuted cross-validation "
        "(both include building the fold kernels)"
    )


if __name__ == "__main__":
    main()

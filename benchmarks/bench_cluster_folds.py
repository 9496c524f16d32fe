"""Outer folds on Dask: time of one model's cross-validation here, and on 1 and 2 local workers.

Usage: python benchmarks/bench_cluster_folds.py [--samples 2400] [--features 4000] [--model ridge]

The design is synthetic (subjects x story blocks, as the book's blocked folds), so the script
measures the engine, not a chapter. On a machine with N cores, two workers should take about
half the time of one when the folds dominate; sending the features to each worker once is the
fixed cost.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.ndimage import gaussian_filter1d

from helpers.decoding import CVOptions, cross_validate_model
from helpers.features import FeatureSet


def design(n_samples: int, n_features: int, n_subjects: int = 8, length: int = 12) -> FeatureSet:
    rng = np.random.default_rng(0)
    per_subject = n_samples // n_subjects
    n_trs = per_subject + length
    tr_targets = gaussian_filter1d(rng.standard_normal((n_trs, 8)), 3.0, axis=0)
    starts = np.arange(per_subject)
    y_window = np.stack([tr_targets[s : s + length].mean(axis=0) for s in starts])
    y = np.tile(y_window, (n_subjects, 1))
    X = rng.standard_normal((len(y), n_features)).astype(np.float32)
    X[:, :8] += y
    subjects = np.repeat([f"sub-{k:02d}" for k in range(n_subjects)], per_subject)
    start = np.tile(starts, n_subjects)
    return FeatureSet.from_arrays(
        X, y, subjects, start, tr_targets=tr_targets, window={"length": length}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2400)
    parser.add_argument("--features", type=int, default=4000)
    parser.add_argument("--model", default="ridge")
    parser.add_argument("--nulls", type=int, default=100)
    args = parser.parse_args()
    features = design(args.samples, args.features)
    options = CVOptions(subjects_per_fold=2, n_permutations=args.nulls, fold_workers=1)
    rows = []
    for label, changes in (
        ("this process", {}),
        ("1 Dask worker", {"scheduler": "local", "fold_workers": 1}),
        ("2 Dask workers", {"scheduler": "local", "fold_workers": 2}),
    ):
        began = time.perf_counter()
        result = cross_validate_model(features, args.model, options.replace(**changes))
        rows.append((label, time.perf_counter() - began, len(result.folds)))
    print(f"{args.model}: {args.samples} samples x {args.features} features, {args.nulls} nulls")
    for label, seconds, folds in rows:
        print(f"  {label:15s} {seconds:7.1f} s  ({folds} folds)")
    print(f"  speed-up of 2 workers over 1: {rows[1][1] / rows[2][1]:.2f}x")


if __name__ == "__main__":
    main()

"""The whole decoding pipeline at the size of the real dataset, timed stage by stage.

Paper scale is 26 subjects x 372 volumes x 400 ROIs. ROI signals are simulated directly (no NIfTI)
with :func:`helpers.simulate.simulate_roi_signals` on a synthetic 400-ROI atlas in 7 networks,
driven by smooth synthetic emotion trajectories with connectivity coding. Stages:

1. ``simulate``: the ROI signals;
2. ``features``: DFC (12-TR windows every volume: 26 x 361 windows x 79,800 edges, 3.0 GB float32)
   and the window-averaged ROI amplitudes;
3. ``cpm+null (full design)``: connectome-based predictive modelling on DFC over the full design -
   every window (step 1), every subject group tested in every story block - nested (the edge count
   chosen on inner folds of the same kind), with ``--permutations`` null draws (``--null-method``,
   the book's default phase randomisation unless told) pushed through the same selection and
   tuning. Each fold's edge selection for all null draws is one product of the per-window feature
   sums with the table of distinct null targets; the strengths of
   every column are one sparse product with a feature-major copy of the DFC matrix shared by all
   folds. This is the stage the paper-scale targets are about (``--selection-models``). Measured
   on 2 cores shared with other work (load average about 5), with circular-shift nulls (which
   repeat lags, so only a few hundred distinct draws were fitted): 12.8 min, peak 7.2 GB, mean r
   0.289, p = 0.001 with 1,000 draws (``--skip-kernel-models --null-method circular_shift``);
4. ``gram``: the linear kernel between the samples used for regression, computed once and shared by
   every model, fold, hyperparameter and permutation (``feature_scaling="center"``);
5. ``ridge``, ``svr_rbf``: nested cross-validation with ``loso_blocked`` on DFC;
6. ``kernel_ridge_rbf+null``: RBF kernel ridge with 1,000 null targets pushed through
   the same folds and tuning by reusing each fold's hat matrix (observed and null in one pass);
7. ``ridge ROI``: ridge on the window-averaged ROI amplitudes, the other side of the contrast.

Kernel models' cost grows with the cube of the number of training samples, so by default the models
see every ``--regression-step``-th window of the step-1 feature matrix and each subject is tested on
one story block (``--pairing rotation``); ``--regression-step 1 --pairing all`` is the full design
(see the printed estimate of what it would cost). Time is wall-clock; memory is the peak resident
set size of this process during each stage, sampled every 50 ms by a background thread (tracemalloc
would slow the numpy code down), and the process's overall peak (``ru_maxrss``). BLAS runs with
``--blas-threads`` threads: on a shared, loaded machine one thread per process is usually fastest,
since spinning BLAS threads fight the other users' processes.

Run: ``python benchmarks/bench_paper_scale.py`` (``--help`` for the options).
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

TIME_TARGET_S = 20 * 60
MEMORY_TARGET_BYTES = 12 * 2**30
N_VOLUMES = 372


def _resident_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


class PeakMemorySampler:
    """Highest resident set size seen since the last :meth:`reset`, sampled in the background."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.peak = _resident_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, _resident_bytes())

    def reset(self) -> None:
        self.peak = _resident_bytes()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def load_average() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


class StageTimer:
    """Times stages, records their peak memory, prints one line per stage."""

    def __init__(self) -> None:
        self.sampler = PeakMemorySampler()
        self.rows: list[dict[str, Any]] = []

    @contextmanager
    def stage(self, name: str, note: str = "") -> Iterator[dict[str, Any]]:
        self.sampler.reset()
        before = _resident_bytes()
        row: dict[str, Any] = {"stage": name, "note": note}
        print(
            f"[{time.strftime('%H:%M:%S')}] {name} ... (load average {load_average()})"
            + (f"; {note}" if "estimate" in note else ""),
            flush=True,
        )
        started = time.perf_counter()
        yield row
        row["seconds"] = time.perf_counter() - started
        row["peak_gb"] = max(self.sampler.peak, _resident_bytes()) / 2**30
        row["start_gb"] = before / 2**30
        self.rows.append(row)
        extra = f"  {row['note']}" if row["note"] else ""
        print(
            f"    {row['seconds']:8.1f} s  peak RSS {row['peak_gb']:6.2f} GB (at start "
            f"{row['start_gb']:.2f} GB){extra}",
            flush=True,
        )

    def close(self) -> None:
        self.sampler.close()


def synthetic_atlas(n_rois: int, seed: int) -> Any:
    """A 400-ROI atlas shaped like Schaefer's: 7 named networks, MNI-like coordinates."""
    from helpers.data.atlases import SCHAEFER_NETWORK_NAMES, Atlas

    rng = np.random.default_rng(seed)
    names = list(SCHAEFER_NETWORK_NAMES.values())
    networks = tuple(names[k] for k in np.sort(rng.integers(0, len(names), n_rois)))
    labels = tuple(f"{net}_{i:03d}" for i, net in enumerate(networks))
    coords = rng.uniform([-70, -100, -40], [70, 70, 80], size=(n_rois, 3))
    return Atlas("synthetic", "spheres", labels, networks, networks, coords, 5.0)


def synthetic_emotions(n_volumes: int, n_emotions: int, seed: int) -> np.ndarray:
    """Smooth, slowly varying trajectories in [0, 1] (low-pass filtered noise), like HRF-convolved labels."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_volumes + 60, n_emotions))
    kernel = np.exp(-0.5 * (np.arange(-30, 31) / 8.0) ** 2)
    smooth = np.stack(
        [np.convolve(noise[:, k], kernel, mode="same") for k in range(n_emotions)], axis=1
    )[30:-30]
    low, high = smooth.min(axis=0), smooth.max(axis=0)
    return (smooth - low) / (high - low)


def _cv_summary(result: Any) -> str:
    scores = result.scores()
    mean = scores[scores["emotion"] == "mean"].iloc[0]
    text = f"mean r {mean['r']:.3f}, mean R2 {mean['r2']:.3f}"
    if result.null_r is not None:
        text += f", p(mean r) {mean['p_value']:.4f}, {len(result.null_r)} nulls"
    return text


def _estimated(features: Any, model: str, options: Any) -> str:
    """The cost model's estimate of a stage, said before it runs (helpers.decoding.cost)."""
    from helpers.decoding.cost import cv_design, duration_text, estimate_seconds

    seconds = estimate_seconds(cv_design(features, model, options))
    return f"cost model's estimate {duration_text(seconds)} ({seconds:.0f} s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=26)
    parser.add_argument("--rois", type=int, default=400)
    parser.add_argument("--length", type=int, default=12, help="window length (TR)")
    parser.add_argument(
        "--regression-step",
        type=int,
        default=4,
        help="use every k-th window of the step-1 DFC matrix for the models",
    )
    parser.add_argument("--pairing", choices=["rotation", "all"], default="rotation")
    parser.add_argument("--n-blocks", type=int, default=5)
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument(
        "--null-method",
        choices=["phase_randomization", "circular_shift"],
        default="phase_randomization",
        help="how null targets are drawn (the book's default: phase_randomization)",
    )
    parser.add_argument(
        "--models",
        nargs="*",
        default=["ridge", "svr_rbf"],
        help="models cross-validated without nulls (kernel ridge always runs, with the nulls)",
    )
    parser.add_argument(
        "--selection-models",
        nargs="*",
        default=["cpm"],
        help="selection models run on the full design with every null draw (cpm, ridge_screened)",
    )
    parser.add_argument(
        "--subjects-per-fold",
        type=int,
        default=6,
        help="subjects held out together in the full design (26 subjects: 5 groups x 5 blocks)",
    )
    parser.add_argument(
        "--kernel-subjects-per-fold",
        type=int,
        default=1,
        help="subjects held out together by the kernel models' folds (paper-rehearsal.yml: 4)",
    )
    parser.add_argument(
        "--skip-kernel-models",
        action="store_true",
        help="run only the simulation, the features and the selection models",
    )
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--snr", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from helpers.config import SimulationParams
    from helpers.decoding.crossval import CVOptions, cross_validate_model
    from helpers.decoding.kernels import FoldKernels, linear_gram
    from helpers.decoding.splits import LeaveOneSubjectOutBlocked, WindowMeta
    from helpers.features import (
        FeatureSet,
        RunWindows,
        n_edges,
        window_average,
        window_starts,
        windowed_connectivity,
    )
    from helpers.simulate import simulate_roi_signals
    from helpers.study import EMOTIONS

    subjects = [f"sub-{k + 1:02d}" for k in range(args.subjects)]
    starts = window_starts(N_VOLUMES, args.length, 1)
    n_windows, n_pairs = len(starts), n_edges(args.rois)
    print(
        f"paper scale: {args.subjects} subjects x {N_VOLUMES} volumes x {args.rois} ROIs; "
        f"DFC {args.subjects * n_windows} windows x {n_pairs} edges "
        f"({args.subjects * n_windows * n_pairs * 4 / 2**30:.2f} GB float32); "
        f"{os.cpu_count()} CPUs, BLAS threads {args.blas_threads}, load average {load_average()}",
        flush=True,
    )
    timer = StageTimer()
    began = time.perf_counter()
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        with timer.stage("simulate"):
            drive = synthetic_emotions(N_VOLUMES, len(EMOTIONS), args.seed)
            sim = SimulationParams(effect="connectivity", snr=args.snr, seed=args.seed)
            signals = simulate_roi_signals(
                drive, synthetic_atlas(args.rois, args.seed), sim, subjects
            ).roi_signals

        with timer.stage(
            "features", f"DFC + window-averaged ROI, window {args.length} TR, step 1"
        ) as row:
            dfc = np.empty((args.subjects * n_windows, n_pairs), dtype=np.float32)
            amplitude = np.empty((args.subjects * n_windows, args.rois), dtype=np.float32)
            for k, subject in enumerate(subjects):
                rows = slice(k * n_windows, (k + 1) * n_windows)
                series = signals[subject]
                series = (series - series.mean(axis=0)) / series.std(axis=0)
                windowed_connectivity(series, RunWindows(args.length, starts=starts, out=dfc[rows]))
                amplitude[rows] = window_average(series, starts, args.length)
            row["note"] += f"; DFC matrix {dfc.nbytes / 2**30:.2f} GB"
        targets = window_average(drive, starts, args.length)
        window = {"length": args.length}

        if args.selection_models:
            full = WindowMeta(
                np.repeat(subjects, n_windows),
                np.tile(starts, args.subjects),
                np.tile(starts + args.length, args.subjects),
            )
            full_splitter = LeaveOneSubjectOutBlocked(
                full,
                n_blocks=args.n_blocks,
                window_length=args.length,
                pairing="all",
                subjects_per_fold=args.subjects_per_fold,
                seed=args.seed,
            )
            full_set = FeatureSet.from_arrays(
                dfc,
                np.tile(targets, (args.subjects, 1)),
                full.subject,
                full.start,
                tr_targets=drive,
                window=window,
            )
            full_set.name = "dfc"
            print(
                f"full design: {len(full)} samples, {full_splitter.get_n_splits()} outer folds "
                f"({args.subjects_per_fold} subjects x 1 of {args.n_blocks} blocks each), "
                "3 inner folds each",
                flush=True,
            )
            full_options = CVOptions(
                splitter=full_splitter,
                feature_scaling="center",
                hrf_span_s=16.0,
                seed=args.seed,
                n_permutations=args.permutations,
                null_method=args.null_method,
                progress=True,
            )
            for model in args.selection_models:
                with timer.stage(
                    f"{model}+null (full design)", f"DFC, {args.permutations} null draws"
                ) as row:
                    selected = cross_validate_model(full_set, model, full_options)
                    row["note"] += f"; {_cv_summary(selected)}"
            del full_set
        if args.skip_kernel_models:
            del dfc
            return _report(timer, began, args, kernel_models_run=False)

        keep_windows = np.arange(0, n_windows, args.regression_step)
        rows = (np.arange(args.subjects)[:, None] * n_windows + keep_windows[None, :]).ravel()
        meta = WindowMeta(
            np.repeat(subjects, len(keep_windows)),
            np.tile(starts[keep_windows], args.subjects),
            np.tile(starts[keep_windows] + args.length, args.subjects),
        )
        Y = np.tile(targets[keep_windows], (args.subjects, 1))
        splitter = LeaveOneSubjectOutBlocked(
            meta,
            n_blocks=args.n_blocks,
            window_length=args.length,
            pairing=args.pairing,
            subjects_per_fold=args.kernel_subjects_per_fold,
            seed=args.seed,
        )
        folds = splitter.get_n_splits()
        train_sizes = [len(train) for train, _ in splitter.split()]
        print(
            f"regression: {len(rows)} samples (every {args.regression_step} window(s)), loso_blocked "
            f"{args.pairing}: {folds} folds, median training set {int(np.median(train_sizes))}",
            flush=True,
        )

        with timer.stage(
            "gram", f"{len(rows)} x {len(rows)} linear kernels of DFC and ROI features"
        ) as row:
            gram_dfc = linear_gram(dfc[rows])
            gram_roi = linear_gram(amplitude[rows])
        del dfc

        options = CVOptions(
            splitter=splitter,
            feature_scaling="center",
            hrf_span_s=16.0,
            seed=args.seed,
            null_method=args.null_method,
        )
        fold_list = list(splitter.split())

        def kernel_only(name: str, gram: np.ndarray) -> tuple[Any, Any]:
            """A feature set whose kernels come from a precomputed Gram (its columns are not needed)."""
            empty = np.empty((len(rows), 0), np.float32)
            features = FeatureSet.from_arrays(
                empty,
                Y,
                meta.subject,
                meta.start,
                tr_targets=drive,
                window=window,
            )
            features.name = name
            return features, FoldKernels(empty, fold_list, "center", gram=gram)

        dfc_set, dfc_kernels = kernel_only("dfc", gram_dfc)
        roi_set, roi_kernels = kernel_only("roi_window", gram_roi)
        results: dict[str, Any] = {}
        for model in args.models:
            with timer.stage(model, f"DFC; {_estimated(dfc_set, model, options)}") as row:
                results[model] = cross_validate_model(dfc_set, model, options, kernels=dfc_kernels)
                row["note"] += f"; {_cv_summary(results[model])}"
        null_options = options.replace(n_permutations=args.permutations)
        with timer.stage(
            "kernel_ridge_rbf+null",
            f"DFC, {args.permutations} {args.null_method} nulls; "
            + _estimated(dfc_set, "kernel_ridge_rbf", null_options),
        ) as row:
            null_result = cross_validate_model(
                dfc_set, "kernel_ridge_rbf", null_options, kernels=dfc_kernels
            )
            row["note"] += f"; {_cv_summary(null_result)}"
        with timer.stage(
            "ridge ROI",
            "window-averaged ROI amplitude, for the DFC-vs-ROI contrast; "
            + _estimated(roi_set, "ridge", options),
        ) as row:
            roi_result = cross_validate_model(roi_set, "ridge", options, kernels=roi_kernels)
            row["note"] += f"; {_cv_summary(roi_result)}"
    return _report(timer, began, args, kernel_models_run=True)


def _report(
    timer: StageTimer, began: float, args: argparse.Namespace, kernel_models_run: bool
) -> int:
    """The table of stages, the targets, and what the full design would cost the kernel models."""
    total = time.perf_counter() - began
    timer.close()

    peak = max(r["peak_gb"] for r in timer.rows)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30
    print("\nstage                     seconds   peak RSS (GB)")
    for r in timer.rows:
        print(f"{r['stage']:<24}{r['seconds']:9.1f}   {r['peak_gb']:8.2f}")
    print(f"{'total':<24}{total:9.1f}   {max(peak, max_rss):8.2f}  (ru_maxrss {max_rss:.2f} GB)")
    print(
        f"targets: <= {TIME_TARGET_S / 60:.0f} min: {'met' if total <= TIME_TARGET_S else 'MISSED'}; "
        f"<= {MEMORY_TARGET_BYTES / 2**30:.0f} GB: {'met' if max_rss * 2**30 <= MEMORY_TARGET_BYTES else 'MISSED'}"
    )
    if kernel_models_run and (args.regression_step > 1 or args.pairing != "all"):
        scale = args.regression_step**3 * (args.n_blocks if args.pairing == "rotation" else 1)
        model_seconds = sum(
            r["seconds"]
            for r in timer.rows
            if r["stage"] not in ("simulate", "features", "gram")
            and "full design" not in r["stage"]
        )
        gram_seconds = (
            sum(r["seconds"] for r in timer.rows if r["stage"] == "gram") * args.regression_step**2
        )
        print(
            f"the full design (every window, all {args.n_blocks} blocks per subject) multiplies the model stages' "
            f"cost by about {scale}x (n^3 per fold, {args.n_blocks}x the folds) and the Gram's by "
            f"{args.regression_step**2}x: ~{(model_seconds * scale + gram_seconds) / 3600:.1f} CPU-hours at this "
            "load, which independent folds and sweep combinations spread over a cluster's workers"
        )
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

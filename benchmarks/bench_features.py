"""Sliding-window connectivity at the paper's scale: project function against the obvious loop.

Paper scale is 26 subjects x 372 volumes x 400 ROIs (Schaefer 400), 12-TR windows every volume:
361 windows x 79,800 edges per subject, 3.0 GB of float32 features in all.

The project's :func:`helpers.features.windowed_connectivity` fills one preallocated float32
matrix subject by subject; the growth of the process's peak resident memory during that run
(``ru_maxrss`` against the resident size just before) is compared with the size of that output.
(tracemalloc would see the same buffers but slows this code about threefold, so it would distort
the timing.) The reference is a loop of ``np.corrcoef`` per window and
``np.arctanh`` of the upper triangle. Both run with single-threaded BLAS, so that neither is helped
or hurt by thread contention on a shared machine. The loop is slow, so by default it runs on a
subset of subjects and its time is extrapolated to all of them (the printout says so); on each of
those subjects the project's function is timed again right before the loop, so that the speed-up
compares runs made under the same load, and the loop's result is checked for equality.

Run: ``python benchmarks/bench_features.py`` (``--help`` for the options).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from helpers.features import RunWindows, n_edges, window_starts, windowed_connectivity

SPEED_TARGET = 3.0
MEMORY_TARGET = 1.5
EQUALITY_TARGET = 1e-5


def simulated_runs(n_subjects: int, n_volumes: int, n_rois: int, seed: int) -> list[np.ndarray]:
    """ROI signals with realistic structure: 7 network factors, shared drifts and ROI noise."""
    rng = np.random.default_rng(seed)
    network = rng.integers(0, 7, n_rois)
    runs = []
    for _ in range(n_subjects):
        factors = np.cumsum(
            rng.standard_normal((n_volumes, 7)), axis=0
        ) * 0.1 + rng.standard_normal((n_volumes, 7))
        signal = factors[:, network] + rng.standard_normal((n_volumes, n_rois))
        runs.append(((signal - signal.mean(0)) / signal.std(0)).astype(np.float32))
    return runs


def reference_loop(x: np.ndarray, length: int, starts: np.ndarray) -> np.ndarray:
    rows, cols = np.triu_indices(x.shape[1], k=1)
    out = np.empty((len(starts), len(rows)))
    for k, s in enumerate(starts):
        out[k] = np.arctanh(np.corrcoef(x[s : s + length].T)[rows, cols])
    return out


def _resident_bytes() -> int:
    """Current resident set size of this process (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=26)
    parser.add_argument("--volumes", type=int, default=372)
    parser.add_argument("--rois", type=int, default=400)
    parser.add_argument("--length", type=int, default=12)
    parser.add_argument("--step", type=int, default=1)
    parser.add_argument(
        "--reference-subjects",
        type=int,
        default=5,
        help="subjects the reference loop runs on (its time is extrapolated to all); 0 = all",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    runs = simulated_runs(args.subjects, args.volumes, args.rois, args.seed)
    starts = window_starts(args.volumes, args.length, args.step)
    n_windows, n_pairs = len(starts), n_edges(args.rois)
    output_bytes = args.subjects * n_windows * n_pairs * 4
    print(
        f"scale: {args.subjects} subjects x {args.volumes} volumes x {args.rois} ROIs, window {args.length} TR, "
        f"step {args.step}: {n_windows} windows x {n_pairs} edges per subject, "
        f"float32 output {output_bytes / 1e9:.2f} GB"
    )

    resident_before = _resident_bytes()
    wall = time.perf_counter()
    cpu = time.process_time()
    features = np.empty((args.subjects * n_windows, n_pairs), dtype=np.float32)
    for k, x in enumerate(runs):
        rows = features[k * n_windows : (k + 1) * n_windows]
        windowed_connectivity(x, RunWindows(args.length, args.step, out=rows))
    project_wall = time.perf_counter() - wall
    project_cpu = time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - resident_before

    # Paired timing: on each reference subject, the project's function and the loop run back to
    # back, so both see the same load from other users of the machine.
    n_ref = (
        args.subjects
        if args.reference_subjects <= 0
        else min(args.reference_subjects, args.subjects)
    )
    paired = {"project_wall": 0.0, "project_cpu": 0.0, "reference_wall": 0.0, "reference_cpu": 0.0}
    max_diff = 0.0
    scratch = np.empty((n_windows, n_pairs), dtype=np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        for k in range(n_ref):
            wall, cpu = time.perf_counter(), time.process_time()
            windowed_connectivity(runs[k], RunWindows(args.length, args.step, out=scratch))
            paired["project_wall"] += time.perf_counter() - wall
            paired["project_cpu"] += time.process_time() - cpu
            wall, cpu = time.perf_counter(), time.process_time()
            expected = reference_loop(runs[k], args.length, starts)
            paired["reference_wall"] += time.perf_counter() - wall
            paired["reference_cpu"] += time.process_time() - cpu
            rows = features[k * n_windows : (k + 1) * n_windows]
            max_diff = max(max_diff, float(np.abs(rows - expected).max()))
            del expected
    scale = args.subjects / n_ref
    extrapolated = (
        f" (extrapolated from {n_ref} subjects x {scale:.2f})" if n_ref < args.subjects else ""
    )
    reference_wall = paired["reference_wall"] * scale
    reference_cpu = paired["reference_cpu"] * scale

    speedup = paired["reference_wall"] / paired["project_wall"]
    speedup_cpu = paired["reference_cpu"] / paired["project_cpu"]
    memory_ratio = peak / output_bytes
    print(
        f"reference loop (np.corrcoef + arctanh per window): {reference_wall:8.1f} s wall, "
        f"{reference_cpu:8.1f} s CPU{extrapolated}"
    )
    print(
        f"windowed_connectivity, all subjects:               {project_wall:8.1f} s wall, {project_cpu:8.1f} s CPU"
    )
    print(
        f"paired on {n_ref} subjects: project {paired['project_wall']:.1f} s wall / {paired['project_cpu']:.1f} s CPU, "
        f"reference {paired['reference_wall']:.1f} s wall / {paired['reference_cpu']:.1f} s CPU"
    )
    print(
        f"speed-up (paired): {speedup:.1f}x wall, {speedup_cpu:.1f}x CPU; full run against the extrapolated loop: "
        f"{reference_wall / project_wall:.1f}x wall, {reference_cpu / project_cpu:.1f}x CPU "
        f"(target >= {SPEED_TARGET:.0f}x, judged on paired CPU time, which other users of the machine disturb least)"
    )
    print(
        f"peak memory added by the project's run: {peak / 1e9:.3f} GB = {memory_ratio:.3f} x the float32 output "
        f"(target <= {MEMORY_TARGET}x)"
    )
    print(
        f"max |project - reference| over {n_ref} subjects: {max_diff:.2e} (target < {EQUALITY_TARGET:.0e})"
    )
    ok = (
        speedup_cpu >= SPEED_TARGET and memory_ratio <= MEMORY_TARGET and max_diff < EQUALITY_TARGET
    )
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

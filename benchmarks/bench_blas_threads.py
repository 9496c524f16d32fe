"""How much faster the cost model's dense linear algebra runs on two BLAS threads than on one.

Times a Cholesky factorisation and solve of ``K + aI``, a symmetric eigendecomposition, a
kernel product, a float32 Gram matrix and a least-squares fit at ``--n`` samples, each with one and with two BLAS
threads (best of ``--repeats``), and prints each speed-up and its parallel share
(:func:`helpers.decoding.blas.fraction_from_speedup`): the values of
:data:`helpers.decoding.blas.PARALLEL_FRACTION`. Run it on an idle machine:
``python benchmarks/bench_blas_threads.py``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits

from helpers.decoding.blas import fraction_from_speedup


def _best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--features", type=int, default=12720)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.features)).astype(np.float32)
    K = (X @ X.T).astype(np.float64) / args.features
    Y = rng.standard_normal((args.n, 800))
    work = {
        "factor": lambda: linalg.cho_solve(linalg.cho_factor(K + np.eye(args.n)), Y),
        "eig": lambda: linalg.eigh(K),
        "apply": lambda: K @ Y,
        "gram": lambda: X @ X.T,
        "lstsq": lambda: linalg.lstsq(X[:, :1000].astype(np.float64), Y),
    }
    for name, function in work.items():
        seconds = {}
        for threads in (1, 2):
            with threadpool_limits(threads, user_api="blas"):
                seconds[threads] = _best(function, args.repeats)
        speedup = seconds[1] / seconds[2]
        share = min(1.0, fraction_from_speedup(speedup))
        print(
            f"{name}: {seconds[1]:.2f} s on 1 thread, {seconds[2]:.2f} s on 2 "
            f"(speed-up {speedup:.2f}, parallel share {share:.2f})"
        )


if __name__ == "__main__":
    main()

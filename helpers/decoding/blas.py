"""What the BLAS threads buy: the speed-up of the cost model's dense linear algebra.

The cost model's constants (:data:`helpers.decoding.cost.SECONDS_PER_OPERATION`) were measured
with one BLAS thread. Factorisations, eigendecompositions, kernel products and least squares run
on every BLAS thread the process has, the rest (Python, scikit-learn's checks, column passes) on
one. Amdahl's law with the parallel share :data:`PARALLEL_FRACTION` of those dense terms, measured
on this machine by ``benchmarks/bench_blas_threads.py``, turns the thread count into a speed-up.
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_info

PARALLEL_FRACTION: dict[str, float] = {
    "factor": 0.84,
    "eig": 0.70,
    "apply": 0.97,
    "gram": 0.94,
    "lstsq": 0.29,
}
"""Cost-model term -> share of its one-thread time that the BLAS threads divide. Medians of the
two-thread speed-ups of five runs of ``benchmarks/bench_blas_threads.py`` (n = 3,000-4,000) on this
2-core machine, 2026-12-04: Cholesky factor and solve 1.69-1.80, eigendecomposition 1.42-1.74,
kernel products and Gram matrices 1.9-2.0, least squares 1.17-1.34 (shared machine: single runs
vary by up to 0.3). The other terms (per-fit overheads, column passes, coordinate descent, trees,
SVR) run on one thread."""


def blas_threads() -> int:
    """Threads the process's BLAS will use: its own setting, at most the machine's cores."""
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    cores = os.cpu_count() or 1
    return max(1, min(max(counts, default=1), cores))


def thread_speedup(term: str, threads: int | None = None) -> float:
    """Amdahl's speed-up of cost-model ``term`` on ``threads`` BLAS threads.

    Parameters
    ----------
    term : str
        A cost-model term (``factor``, ``eig``, ...); terms not in :data:`PARALLEL_FRACTION` run
        on one thread.
    threads : int, optional
        BLAS threads; the process's own (:func:`blas_threads`) when omitted.

    Returns
    -------
    float
        ``1 / ((1 - f) + f / threads)`` with the term's parallel share ``f``: 1 on one thread.
    """
    threads = blas_threads() if threads is None else int(threads)
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    fraction = PARALLEL_FRACTION.get(term, 0.0)
    return 1.0 / ((1.0 - fraction) + fraction / threads)


def fraction_from_speedup(speedup: float, threads: int = 2) -> float:
    """The parallel share that gives ``speedup`` on ``threads`` threads (inverse of Amdahl's law)."""
    if threads < 2:
        raise ValueError("a parallel share needs at least 2 threads")
    return (1.0 - 1.0 / speedup) / (1.0 - 1.0 / threads)


__all__ = [
    "PARALLEL_FRACTION",
    "blas_threads",
    "fraction_from_speedup",
    "thread_speedup",
]

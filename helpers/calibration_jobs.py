"""Running the calibration's datasets: here or on workers, resumable, in a fixed order.

A dataset is a (kind, seed) job; its records are persisted by the caller as it finishes, jobs an
interrupted run already finished are not computed again, and the records always come back in job
order, so a resumed run returns exactly what an uninterrupted one does.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from helpers.config import Params
from helpers.progress import tqdm

Job = tuple[str, int]
"""One simulated dataset: its kind (an effect, or a world) and its seed."""


@dataclass
class JobExecution:
    """Where the calibration's datasets run and what happens as each one finishes.

    ``executor`` runs them on workers (this process when absent); ``done`` holds datasets an
    interrupted run already computed, which are not computed again; ``on_done(kind, seed,
    records)`` is called as each dataset finishes, so a caller can persist it at once.
    """

    executor: cf.Executor | None = None
    progress: bool = True
    done: Mapping[Job, list[dict[str, Any]]] | None = None
    on_done: Callable[[str, int, list[dict[str, Any]]], None] | None = None


def run_jobs(
    compute: Callable[[Params, str, int], list[dict[str, Any]]],
    params: Params,
    jobs: Sequence[Job],
    execution: JobExecution,
    desc: str,
) -> pd.DataFrame:
    """``compute(params, kind, seed)`` for every job not done, here or on the executor.

    The records come in job order whatever the order workers finish in, so a resumed run returns
    what an uninterrupted one does. On an error (Ctrl-C included) the jobs not yet started are
    cancelled.

    Parameters
    ----------
    compute : callable
        ``compute(params, kind, seed)`` -> the dataset's records.
    params : Params
        Passed to ``compute``.
    jobs : sequence of (str, int)
        The (kind, seed) datasets, in the order of the result.
    execution : JobExecution
        Workers, datasets already done and what to do as each finishes.
    desc : str
        The progress bar's label.

    Returns
    -------
    pandas.DataFrame
        Every job's records, in job order.
    """
    executor, progress = execution.executor, execution.progress
    done, on_done = execution.done, execution.on_done
    results: dict[Job, list[dict[str, Any]]] = {
        job: list(done[job]) for job in jobs if done and job in done
    }
    todo = [job for job in jobs if job not in results]

    def finished(job: Job, records: list[dict[str, Any]]) -> None:
        results[job] = records
        if on_done is not None:
            on_done(*job, records)

    if executor is None:
        for job in tqdm(todo, desc=desc, disable=not progress):
            finished(job, compute(params, *job))
    else:
        futures = {executor.submit(compute, params, *job): job for job in todo}
        try:
            for future in tqdm(
                cf.as_completed(futures), total=len(futures), desc=desc, disable=not progress
            ):
                finished(futures[future], future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return pd.DataFrame([record for job in jobs for record in results[job]])


__all__ = ["Job", "JobExecution", "run_jobs"]

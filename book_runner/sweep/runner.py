"""Run a sweep's combinations on an executor: local threads or a Dask cluster, resumable.

Each incomplete combination is prepared in its folder and submitted to a ``concurrent.futures``
executor (a thread pool, each thread waiting on one subprocess, or ``Client(address).get_executor()``
of a Dask cluster). Failures are collected in the report, never raised, so one bad combination does
not lose the others; a re-run skips the combinations whose ``done.json`` still matches.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from book_runner.chapters import ROOT
from book_runner.sweep.combination import BLAS_VARIABLES, is_complete, run_combination, write_task
from book_runner.sweep.gather import TABLE_FILE, gather
from book_runner.sweep.spec import SweepSpec
from helpers.config import load_params
from helpers.data.files import atomic_write_json
from helpers.decoding.distributed import ClusterError, dask_client
from helpers.parameter_grid import SweepError
from helpers.progress import tqdm


@contextmanager
def open_executor(
    max_workers: int = 2, scheduler: str | None = None, timeout: float = 30
) -> Iterator[cf.Executor]:
    """A ``concurrent.futures`` executor: local threads, or a Dask cluster's when ``scheduler`` is set.

    ``timeout``: seconds to wait for the scheduler before saying it cannot be reached.
    """
    if scheduler:
        try:
            with dask_client(scheduler, timeout=timeout, setting="--scheduler") as client:
                with client.get_executor(pure=False) as executor:
                    yield executor
        except ClusterError as error:
            raise SweepError(str(error)) from None
    else:
        with cf.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="sweep") as executor:
            yield executor


@dataclass
class SweepReport:
    """What a sweep did: finished, skipped (already complete) and failed combinations."""

    out_dir: Path
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    table: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        lines = [
            (
                f"sweep in {self.out_dir}: {len(self.done)} run, {len(self.skipped)} already complete, "
                f"{len(self.failed)} failed ({self.seconds:.1f} s)"
            )
        ]
        for cid, message in self.failed.items():
            lines.append(f"  FAILED {cid}: {message}")
        if self.table is not None:
            lines.append(f"  table: {self.table}")
        return "\n".join(lines)


def run_sweep(
    spec: SweepSpec,
    out_dir: str | Path,
    *,
    max_workers: int | None = None,
    scheduler: str | None = None,
    executor: cf.Executor | None = None,
    cwd: Path = ROOT,
    progress: bool = True,
) -> SweepReport:
    """Run every incomplete combination of ``spec`` into ``out_dir``, then gather the table.

    ``max_workers`` and ``scheduler`` default to the base parameters' ``sweep`` section. Pass an
    ``executor`` to use one you manage. Failures are collected in the report (and in each folder's
    ``error.json``), never raised, so one bad combination does not lose the others.
    """
    began = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    base_params = load_params(spec.base, spec.overrides)
    max_workers = max_workers or base_params.sweep.max_workers
    scheduler = scheduler if scheduler is not None else base_params.sweep.scheduler
    plan = spec.plan()
    sources_digest = spec.sources_digest()
    atomic_write_json(
        out_dir / "sweep.json",
        {
            "sweep_file": str(spec.path),
            "base": str(spec.base),
            "chapters": spec.chapters,
            "grid": spec.grid,
            "overrides": spec.overrides,
            "description": spec.description,
            "gather": {"chapter": spec.gather_chapter, "records": spec.gather_records},
            "combinations": [
                {"id": c.id, "values": c.values, "params_digest": c.params_digest} for c in plan
            ],
        },
    )
    report = SweepReport(out_dir)
    todo = []
    for combination in plan:
        folder = out_dir / combination.id
        if is_complete(folder, combination, sources_digest):
            report.skipped.append(combination.id)
        else:
            todo.append(combination)
    blas_threads = None if (scheduler or executor) else max(1, (os.cpu_count() or 1) // max_workers)
    if any(v in os.environ for v in BLAS_VARIABLES):
        blas_threads = None  # the user chose already
    for combination in todo:
        write_task(out_dir / combination.id, spec, combination, sources_digest, cwd, blas_threads)
    where = (
        f"Dask scheduler {scheduler}"
        if scheduler
        else ("the given executor" if executor else f"{max_workers} local worker(s)")
    )
    if progress:
        print(
            f"[sweep] {len(plan)} combination(s): {len(report.skipped)} complete, {len(todo)} to run on {where}",
            flush=True,
        )

    def submit_all(pool: cf.Executor) -> None:
        futures = {pool.submit(run_combination, str(out_dir / c.id)): c for c in todo}
        try:
            for future in tqdm(
                cf.as_completed(futures), total=len(futures), desc="sweep", disable=not progress
            ):
                combination = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker or similar: record, keep going
                    outcome = {"status": "failed", "message": f"{type(exc).__name__}: {exc}"}
                if outcome["status"] == "done":
                    report.done.append(combination.id)
                else:
                    chapter = outcome.get("chapter")
                    report.failed[combination.id] = (
                        f"{chapter}: " if chapter and chapter not in str(outcome["message"]) else ""
                    ) + str(outcome["message"])
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise

    if todo:
        if executor is not None:
            submit_all(executor)
        else:
            with open_executor(max_workers, scheduler) as pool:
                submit_all(pool)
    if report.done or report.skipped:
        table = gather(out_dir)
        report.table = out_dir / TABLE_FILE if len(table) else None
    atomic_write_json(out_dir / "failures.json", report.failed)
    report.seconds = time.perf_counter() - began
    return report

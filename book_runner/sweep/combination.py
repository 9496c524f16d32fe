"""One combination of a sweep: its folder, its own process, and its completion marker.

A combination's folder holds ``task.json`` (what to run), ``overrides.json``, the executed
notebooks, the chapters' results (its own ``ALICE_RESULTS_DIR``), a log, and either ``done.json``
or ``error.json``. :func:`run_combination` starts ``python -m book_runner.sweep run-one <folder>``
so concurrent combinations never share an environment or a results folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from book_runner.process_pool import kill_when_parent_dies
from book_runner.runner import ChapterFailed, execute_chapter
from book_runner.sweep.spec import Combination, SweepSpec
from helpers.data.files import atomic_write_json
from helpers.data.storage import RESULTS_DIR_ENV

DONE_FILE = "done.json"
ERROR_FILE = "error.json"
TASK_FILE = "task.json"
LOG_FILE = "log.txt"
BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def write_task(
    folder: Path,
    spec: SweepSpec,
    combination: Combination,
    sources_digest: str,
    cwd: Path,
    blas_threads: int | None,
) -> None:
    """Prepare a combination's folder: stale markers and results removed, ``task.json`` written."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (ERROR_FILE, DONE_FILE):
        (folder / stale).unlink(missing_ok=True)
    shutil.rmtree(folder / "results", ignore_errors=True)
    atomic_write_json(folder / "overrides.json", combination.overrides)
    atomic_write_json(
        folder / TASK_FILE,
        {
            "id": combination.id,
            "values": combination.values,
            "overrides": combination.overrides,
            "params_file": str(spec.base),
            "params_digest": combination.params_digest,
            "chapters": [str(p) for p in spec.chapter_sources()],
            "sources_digest": sources_digest,
            "cwd": str(cwd),
            "blas_threads": blas_threads,
        },
    )


def is_complete(folder: Path, combination: Combination, sources_digest: str) -> bool:
    """True when ``folder`` holds a completion marker for exactly these parameters and chapters."""
    marker = folder / DONE_FILE
    if not marker.is_file():
        return False
    try:
        done = json.loads(marker.read_text())
    except json.JSONDecodeError:
        return False
    return (
        done.get("params_digest") == combination.params_digest
        and done.get("sources_digest") == sources_digest
    )


def execute_combination(folder: str | Path) -> int:
    """Run one combination's chapters in this process (the ``run-one`` command); 0 on success.

    Results go to ``<folder>/results`` (``ALICE_RESULTS_DIR`` of the kernels started here), executed
    notebooks to ``<folder>/notebooks``. Success writes ``done.json``; a failure writes
    ``error.json`` with the chapter and the message naming the failing cell.
    """
    folder = Path(folder).resolve()
    task = json.loads((folder / TASK_FILE).read_text())
    os.environ[RESULTS_DIR_ENV] = str(folder / "results")
    (folder / "results").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    for source in map(Path, task["chapters"]):
        began = time.perf_counter()
        try:
            execute_chapter(
                source,
                Path(task["params_file"]),
                task["overrides"],
                output_dir=folder / "notebooks",
                cwd=Path(task["cwd"]),
            )
        except Exception as exc:  # noqa: BLE001 - any failure of a chapter is recorded, not raised
            message = str(exc) if isinstance(exc, ChapterFailed) else f"{type(exc).__name__}: {exc}"
            atomic_write_json(
                folder / ERROR_FILE,
                {
                    "id": task["id"],
                    "chapter": source.stem,
                    "message": message,
                    "traceback": "" if isinstance(exc, ChapterFailed) else traceback.format_exc(),
                },
            )
            print(f"[sweep] {task['id']}: {message}", file=sys.stderr, flush=True)
            return 1
        seconds[source.stem] = round(time.perf_counter() - began, 2)
    atomic_write_json(
        folder / DONE_FILE,
        {
            "id": task["id"],
            "values": task["values"],
            "params_digest": task["params_digest"],
            "sources_digest": task["sources_digest"],
            "seconds": seconds,
            "total_seconds": round(time.perf_counter() - started, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    )
    return 0


def run_combination(folder: str) -> dict[str, Any]:
    """Run one prepared combination folder in a fresh Python process and report how it went.

    This is what the executor calls, in a local thread or on a Dask worker: the subprocess isolates
    the environment (``ALICE_RESULTS_DIR``, BLAS threads) from concurrent combinations.
    """
    path = Path(folder)
    task = json.loads((path / TASK_FILE).read_text())
    env = dict(os.environ, **{RESULTS_DIR_ENV: str(path / "results")})
    if task.get("blas_threads"):
        for name in BLAS_VARIABLES:
            env[name] = str(task["blas_threads"])
    began = time.perf_counter()
    with open(path / LOG_FILE, "w") as log:
        process = subprocess.run(
            [sys.executable, "-m", "book_runner.sweep", "run-one", str(path)],
            cwd=task["cwd"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
            preexec_fn=kill_when_parent_dies,  # a killed sweep leaves no combination running
        )
    outcome: dict[str, Any] = {
        "id": task["id"],
        "seconds": round(time.perf_counter() - began, 2),
        "host": os.uname().nodename,
    }
    if (path / DONE_FILE).is_file() and process.returncode == 0:
        return dict(outcome, status="done")
    if (path / ERROR_FILE).is_file():
        error = json.loads((path / ERROR_FILE).read_text())
        return dict(
            outcome, status="failed", chapter=error.get("chapter"), message=error.get("message")
        )
    tail = (path / LOG_FILE).read_text()[-1500:]
    message = f"the run-one process exited with code {process.returncode}; end of {path / LOG_FILE}:\n{tail}"
    atomic_write_json(path / ERROR_FILE, {"id": task["id"], "chapter": None, "message": message})
    return dict(outcome, status="failed", chapter=None, message=message)

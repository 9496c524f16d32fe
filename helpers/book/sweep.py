"""Parameter sweeps: run chapters over a grid of parameter sets, locally or on a Dask cluster.

A sweep file names a base parameter file, the chapters to run and the values to vary::

    base: ../default.yml            # relative to the sweep file
    chapters: [04_regression]
    grid:                           # dotted keys; the cartesian product of the value lists
      window.length: [6, 12, 24]
      features: [[roi_window, dfc]]
    combinations:                   # optional: extra parameter sets, added after the product
      - {window.length: 48, window.shape: tapered}
    overrides: {n_permutations: 0}  # optional: applied to every combination
    gather: {chapter: 04_regression, records: scores}   # what the tidy table is made of

Each combination gets its own folder ``<out>/<combination id>/`` holding ``overrides.json``, the
executed notebooks (``notebooks/``), the chapters' results (``results/``, the combination's own
``ALICE_RESULTS_DIR``), a log, and either ``done.json`` (the completion marker) or ``error.json``
(the chapter, cell and message that failed). A combination runs in its own process
(``python -m helpers.book sweep run-one <folder>``), so concurrent runs never share a results folder or
an environment. The combinations are submitted to a ``concurrent.futures`` executor: a local thread
pool (each thread waits on one subprocess) by default, or a Dask cluster's executor
(``Client(address).get_executor()``) when a scheduler address is given; everything else is the same
code. On a cluster every worker must see the repository and the output folder at the same paths (a
shared file system) and have the project installed.

A failing combination is recorded and reported at the end; the others carry on. Re-running the same
command resumes: a combination whose ``done.json`` matches its parameters and chapter sources is
skipped. ``gather`` turns the finished combinations' result records into one tidy CSV, one row per
record, with the swept values as columns.

The sensitivity chapter uses :func:`sensitivity_scores`, a cheaper "direct" mode that computes DFC-
minus-ROI scores per combination in-process from the feature and regression helpers, reusing the
cached ROI time series and one kernel per feature set for every model and scheme.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.config import (
    ParameterError,
    deep_merge,
    load_params,
    read_yaml_mapping,
)
from helpers.parameter_grid import (
    SweepError,
    _canonical,
    _value_text,
    combination_id,
    expand_dotted,
    expand_grid,
)
from helpers.data.storage import RESULTS_DIR_ENV, atomic_write_json, atomic_write_text

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
SWEEP_KEYS = ("base", "chapters", "grid", "combinations", "overrides", "gather", "notebooks", "description")
DONE_FILE = "done.json"
ERROR_FILE = "error.json"
TASK_FILE = "task.json"
LOG_FILE = "log.txt"
TABLE_FILE = "results.csv"
BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# --------------------------------------------------------------------------------- the grid


# ------------------------------------------------------------------------------ sweep files
@dataclass(frozen=True)
class Combination:
    """One parameter set of a sweep."""

    id: str
    values: dict[str, Any]  # dotted key -> swept value
    overrides: dict[str, Any]  # nested overrides for load_params (common overrides + values)
    params_digest: str


@dataclass
class SweepSpec:
    """A validated sweep file."""

    path: Path
    base: Path
    chapters: list[str]
    grid: dict[str, list[Any]]
    combinations: list[dict[str, Any]] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    gather_chapter: str = "04_regression"
    gather_records: str = "scores"
    notebook_dir: Path = NOTEBOOK_DIR
    description: str = ""

    def chapter_sources(self) -> list[Path]:
        """The jupytext sources of the chapters, checked to exist."""
        available = {p.stem: p for p in sorted(self.notebook_dir.glob("[0-9][0-9]_*.md"))}
        sources = []
        for name in self.chapters:
            match = [p for stem, p in available.items() if stem == name or stem[:2] == name]
            if len(match) != 1:
                raise SweepError(f"{self.path}: chapter {name!r} is not one of the sources in {self.notebook_dir} "
                                 f"({', '.join(available) or 'none'})")
            sources.append(match[0])
        return sources

    def plan(self) -> list[Combination]:
        """Every combination, validated against the parameter schema before anything runs."""
        plan = []
        for values in expand_grid(self.grid, self.combinations):
            overrides = deep_merge(self.overrides, expand_dotted(values))
            try:
                params = load_params(self.base, overrides)
            except ParameterError as exc:
                raise SweepError(f"{self.path}: combination {_canonical(values)} is not a valid parameter set: "
                                 f"{exc}") from None
            plan.append(Combination(combination_id(values), values, overrides, params.digest()))
        ids = [c.id for c in plan]
        if len(set(ids)) != len(ids):  # pragma: no cover - needs a sha256 prefix collision
            raise SweepError(f"{self.path}: two combinations got the same folder name")
        return plan

    def sources_digest(self) -> str:
        digest = hashlib.sha256()
        for source in self.chapter_sources():
            digest.update(source.name.encode())
            digest.update(source.read_bytes())
        return digest.hexdigest()[:12]


def load_sweep(path: str | Path, notebook_dir: str | Path | None = None) -> SweepSpec:
    """Read and check a sweep file (see the module docstring for its keys)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise SweepError(f"sweep file {path} does not exist; see params/sweeps/*.yml for examples")
    raw = read_yaml_mapping(path, SweepError, f"a mapping with keys {', '.join(SWEEP_KEYS)}")
    unknown = sorted(set(raw) - set(SWEEP_KEYS))
    if unknown:
        raise SweepError(f"{path}: unknown key {unknown[0]!r}; allowed: {', '.join(SWEEP_KEYS)}")
    if "base" not in raw:
        raise SweepError(f"{path}: name the base parameter file, e.g. 'base: ../default.yml'")
    base = (path.parent / str(raw["base"])).resolve()
    if not base.is_file():
        raise SweepError(f"{path}: base parameter file {raw['base']!r} not found (looked at {base})")
    chapters = raw.get("chapters") or []
    if isinstance(chapters, str):
        chapters = [chapters]
    if not chapters or not all(isinstance(c, str) for c in chapters):
        raise SweepError(f"{path}: 'chapters' must list chapter names, e.g. [04_regression]")
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict):
        raise SweepError(f"{path}: 'grid' must map dotted parameter keys to lists of values")
    combinations = raw.get("combinations") or []
    if not isinstance(combinations, list):
        raise SweepError(f"{path}: 'combinations' must be a list of mappings of dotted keys to values")
    overrides = raw.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise SweepError(f"{path}: 'overrides' must be a mapping of (dotted) keys to values")
    gather = raw.get("gather") or {}
    if not isinstance(gather, dict) or set(gather) - {"chapter", "records"}:
        raise SweepError(f"{path}: 'gather' takes 'chapter' and 'records', e.g. "
                         "{chapter: 04_regression, records: scores}")
    folder = Path(notebook_dir) if notebook_dir is not None else (
        (path.parent / raw["notebooks"]).resolve() if raw.get("notebooks") else NOTEBOOK_DIR)
    spec = SweepSpec(
        path=path, base=base, chapters=list(chapters), grid={str(k): v for k, v in grid.items()},
        combinations=[dict(c) if isinstance(c, dict) else c for c in combinations],
        overrides=expand_dotted(overrides), gather_chapter=str(gather.get("chapter", chapters[-1])),
        gather_records=str(gather.get("records", "scores")), notebook_dir=folder,
        description=str(raw.get("description", "")),
    )
    spec.chapter_sources()
    return spec


# ------------------------------------------------------------------------- one combination
def _write_task(folder: Path, spec: SweepSpec, combination: Combination, sources_digest: str,
                cwd: Path, blas_threads: int | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (ERROR_FILE, DONE_FILE):
        (folder / stale).unlink(missing_ok=True)
    shutil.rmtree(folder / "results", ignore_errors=True)
    atomic_write_json(folder / "overrides.json", combination.overrides)
    atomic_write_json(folder / TASK_FILE, {
        "id": combination.id,
        "values": combination.values,
        "overrides": combination.overrides,
        "params_file": str(spec.base),
        "params_digest": combination.params_digest,
        "chapters": [str(p) for p in spec.chapter_sources()],
        "sources_digest": sources_digest,
        "cwd": str(cwd),
        "blas_threads": blas_threads,
    })


def is_complete(folder: Path, combination: Combination, sources_digest: str) -> bool:
    """True when ``folder`` holds a completion marker for exactly these parameters and chapters."""
    marker = folder / DONE_FILE
    if not marker.is_file():
        return False
    try:
        done = json.loads(marker.read_text())
    except json.JSONDecodeError:
        return False
    return done.get("params_digest") == combination.params_digest and done.get("sources_digest") == sources_digest


def execute_combination(folder: str | Path) -> int:
    """Run one combination's chapters in this process (the ``run-one`` command); 0 on success.

    Results go to ``<folder>/results`` (``ALICE_RESULTS_DIR`` of the kernels started here), executed
    notebooks to ``<folder>/notebooks``. Success writes ``done.json``; a failure writes
    ``error.json`` with the chapter and the message naming the failing cell.
    """
    from helpers.book.runner import ChapterFailed, execute_chapter

    folder = Path(folder).resolve()
    task = json.loads((folder / TASK_FILE).read_text())
    os.environ[RESULTS_DIR_ENV] = str(folder / "results")
    (folder / "results").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    for source in map(Path, task["chapters"]):
        began = time.perf_counter()
        try:
            execute_chapter(source, Path(task["params_file"]), task["overrides"], output_dir=folder / "notebooks",
                            cwd=Path(task["cwd"]))
        except Exception as exc:  # noqa: BLE001 - any failure of a chapter is recorded, not raised
            message = str(exc) if isinstance(exc, ChapterFailed) else f"{type(exc).__name__}: {exc}"
            atomic_write_json(folder / ERROR_FILE, {
                "id": task["id"], "chapter": source.stem, "message": message,
                "traceback": "" if isinstance(exc, ChapterFailed) else traceback.format_exc(),
            })
            print(f"[sweep] {task['id']}: {message}", file=sys.stderr, flush=True)
            return 1
        seconds[source.stem] = round(time.perf_counter() - began, 2)
    atomic_write_json(folder / DONE_FILE, {
        "id": task["id"], "values": task["values"], "params_digest": task["params_digest"],
        "sources_digest": task["sources_digest"], "seconds": seconds,
        "total_seconds": round(time.perf_counter() - started, 2),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
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
        process = subprocess.run([sys.executable, "-m", "helpers.book.sweep", "run-one", str(path)],
                                 cwd=task["cwd"], env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    outcome: dict[str, Any] = {"id": task["id"], "seconds": round(time.perf_counter() - began, 2),
                               "host": os.uname().nodename}
    if (path / DONE_FILE).is_file() and process.returncode == 0:
        return dict(outcome, status="done")
    if (path / ERROR_FILE).is_file():
        error = json.loads((path / ERROR_FILE).read_text())
        return dict(outcome, status="failed", chapter=error.get("chapter"), message=error.get("message"))
    tail = (path / LOG_FILE).read_text()[-1500:]
    message = f"the run-one process exited with code {process.returncode}; end of {path / LOG_FILE}:\n{tail}"
    atomic_write_json(path / ERROR_FILE, {"id": task["id"], "chapter": None, "message": message})
    return dict(outcome, status="failed", chapter=None, message=message)


# ------------------------------------------------------------------------------ executors
@contextmanager
def open_executor(max_workers: int = 2, scheduler: str | None = None) -> Iterator[cf.Executor]:
    """A ``concurrent.futures`` executor: local threads, or a Dask cluster's when ``scheduler`` is set."""
    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError as exc:  # pragma: no cover - dask is a project dependency
            raise SweepError("a scheduler address needs dask.distributed; pip install 'dask[distributed]'") from exc
        try:
            client = Client(scheduler, timeout=30)
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; check the address "
                             "(tcp://host:8786) and that the scheduler is running") from None
        try:
            with client.get_executor(pure=False) as executor:
                yield executor
        finally:
            client.close()
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
        lines = [(f"sweep in {self.out_dir}: {len(self.done)} run, {len(self.skipped)} already complete, "
                  f"{len(self.failed)} failed ({self.seconds:.1f} s)")]
        for cid, message in self.failed.items():
            lines.append(f"  FAILED {cid}: {message}")
        if self.table is not None:
            lines.append(f"  table: {self.table}")
        return "\n".join(lines)


def run_sweep(spec: SweepSpec, out_dir: str | Path, *, max_workers: int | None = None,
              scheduler: str | None = None, executor: cf.Executor | None = None, cwd: Path = ROOT,
              progress: bool = True) -> SweepReport:
    """Run every incomplete combination of ``spec`` into ``out_dir``, then gather the table.

    ``max_workers`` and ``scheduler`` default to the base parameters' ``sweep`` section. Pass an
    ``executor`` to use one you manage. Failures are collected in the report (and in each folder's
    ``error.json``), never raised, so one bad combination does not lose the others.
    """
    from helpers.progress import tqdm

    began = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    base_params = load_params(spec.base, spec.overrides)
    max_workers = max_workers or base_params.sweep.max_workers
    scheduler = scheduler if scheduler is not None else base_params.sweep.scheduler
    plan = spec.plan()
    sources_digest = spec.sources_digest()
    atomic_write_json(out_dir / "sweep.json", {
        "sweep_file": str(spec.path), "base": str(spec.base), "chapters": spec.chapters,
        "grid": spec.grid, "overrides": spec.overrides, "description": spec.description,
        "gather": {"chapter": spec.gather_chapter, "records": spec.gather_records},
        "combinations": [{"id": c.id, "values": c.values, "params_digest": c.params_digest} for c in plan],
    })
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
        _write_task(out_dir / combination.id, spec, combination, sources_digest, cwd, blas_threads)
    where = f"Dask scheduler {scheduler}" if scheduler else ("the given executor" if executor else
                                                           f"{max_workers} local worker(s)")
    if progress:
        print(f"[sweep] {len(plan)} combination(s): {len(report.skipped)} complete, {len(todo)} to run on {where}",
              flush=True)

    def submit_all(pool: cf.Executor) -> None:
        futures = {pool.submit(run_combination, str(out_dir / c.id)): c for c in todo}
        try:
            for future in tqdm(cf.as_completed(futures), total=len(futures), desc="sweep", disable=not progress):
                combination = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker or similar: record, keep going
                    outcome = {"status": "failed", "message": f"{type(exc).__name__}: {exc}"}
                if outcome["status"] == "done":
                    report.done.append(combination.id)
                else:
                    chapter = outcome.get("chapter")
                    report.failed[combination.id] = (f"{chapter}: " if chapter and chapter not in
                                                     str(outcome["message"]) else "") + str(outcome["message"])
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


# ------------------------------------------------------------------------------ gathering
def _swept_columns(values: Mapping[str, Any], record_fields: set[str]) -> dict[str, Any]:
    """Swept values as table columns named by their dotted key (``swept_<key>`` if a record has it)."""
    columns = {}
    for key, value in values.items():
        name = f"swept_{key}" if key in record_fields else key
        columns[name] = value if isinstance(value, (int, float, str, bool)) or value is None else _value_text(value)
    return columns


def gather(out_dir: str | Path, chapter: str | None = None, records: str | None = None,
           output: str | Path | None = None) -> pd.DataFrame:
    """One tidy table of every finished combination's result records, written as CSV.

    Each row is one record of ``<combination>/results/<chapter>.json`` under key ``records``
    (default: the sweep file's ``gather`` entry, e.g. the ``scores`` of ``04_regression``), with the
    combination id and the swept values as columns. Written to ``<out_dir>/results.csv`` unless
    ``output`` says otherwise. Unfinished and failed combinations are left out (``failures.json``
    lists the failures).
    """
    out_dir = Path(out_dir)
    manifest_path = out_dir / "sweep.json"
    if not manifest_path.is_file():
        raise SweepError(f"{out_dir} is not a sweep folder (no sweep.json); run `python -m helpers.book sweep run` first")
    manifest = json.loads(manifest_path.read_text())
    chapter = chapter or manifest["gather"]["chapter"]
    records = records or manifest["gather"]["records"]
    rows = []
    missing = []
    for combination in manifest["combinations"]:
        folder = out_dir / combination["id"]
        if not (folder / DONE_FILE).is_file():
            continue
        path = folder / "results" / f"{chapter}.json"
        if not path.is_file():
            missing.append(combination["id"])
            continue
        payload = json.loads(path.read_text())
        items = payload.get(records)
        if items is None:
            raise SweepError(f"{path} has no {records!r} entry (it has: {', '.join(payload)}); pick one with "
                             "--records")
        if isinstance(items, dict):
            items = [items]
        for item in items:
            row = {"combination": combination["id"]}
            row.update(_swept_columns(combination["values"], set(item)))
            row.update(item)
            rows.append(row)
    if missing:
        print(f"[sweep] no {chapter}.json in finished combination(s) {', '.join(missing)}: did the chapter "
              "call save_results?", file=sys.stderr)
    table = pd.DataFrame(rows)
    target = Path(output) if output is not None else out_dir / TABLE_FILE
    atomic_write_text(target, table.to_csv(index=False))
    return table


# ---------------------------------------------------------------------- direct sensitivity


# ------------------------------------------------------------------------------------ CLI
def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.book sweep {run,gather,list,run-one} ...``; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m helpers.book sweep",
                                     description="Run chapters over a grid of parameter sets.")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="run (or resume) a sweep and gather its table")
    run_parser.add_argument("sweep_file")
    run_parser.add_argument("--out", required=True, help="output folder (one sub-folder per combination)")
    run_parser.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    run_parser.add_argument("--max-workers", type=int, default=None, help="local parallel runs (default: sweep.max_workers)")
    run_parser.add_argument("--notebooks", default=None, help="folder of the chapter sources (default: notebooks/)")
    list_parser = sub.add_parser("list", help="print the combinations of a sweep file without running them")
    list_parser.add_argument("sweep_file")
    list_parser.add_argument("--notebooks", default=None)
    gather_parser = sub.add_parser("gather", help="(re)build the tidy table of a sweep folder")
    gather_parser.add_argument("out")
    gather_parser.add_argument("--chapter", default=None)
    gather_parser.add_argument("--records", default=None)
    gather_parser.add_argument("--output", default=None)
    one_parser = sub.add_parser("run-one", help=argparse.SUPPRESS)
    one_parser.add_argument("folder")
    args = parser.parse_args(argv)
    try:
        if args.command == "run-one":
            return execute_combination(args.folder)
        if args.command == "gather":
            table = gather(args.out, args.chapter, args.records, args.output)
            print(f"{len(table)} rows -> {args.output or Path(args.out) / TABLE_FILE}")
            return 0
        spec = load_sweep(args.sweep_file, args.notebooks)
        if args.command == "list":
            for combination in spec.plan():
                print(combination.id, _canonical(combination.values))
            return 0
        if args.max_workers is not None and args.max_workers < 1:
            raise SweepError(f"--max-workers must be at least 1, got {args.max_workers}")
        report = run_sweep(spec, args.out, max_workers=args.max_workers, scheduler=args.scheduler)
        print(report.summary())
        return 0 if report.ok else 1
    except (SweepError, ParameterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume (finished combinations are kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

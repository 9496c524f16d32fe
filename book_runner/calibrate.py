"""``python -m book_runner calibrate``: the calibration chapter's inference on as many datasets as asked.

Locally in worker processes, or on a Dask cluster when a scheduler address is given (the workers
need the project installed and the data mirror, as for sweeps). Each finished dataset is recorded
at once in a folder beside ``--out`` (``calibration.records/`` for ``calibration.json``), so a
killed run loses at most the datasets in flight and the same command resumes; the result file
(the per-test summary, every dataset's p-values, the interpretation chapter's verdict table on
null, locationist and constructionist worlds, the design and its provenance) is written
atomically at the end. ``--out`` is checked before anything is computed.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from book_runner.chapters import ROOT
from book_runner.process_pool import worker_pool
from book_runner.reproducibility import git_commit
from book_runner.sweep.runner import open_executor
from helpers.calibration import JobExecution, run_datasets, summarise
from helpers.calibration_records import (
    CalibrationRecordsError,
    DatasetRecords,
    Identity,
    calibration_document,
    check_out_path,
    records_folder,
)
from helpers.calibration_verdicts import WORLDS, run_worlds, verdicts
from helpers.config import ParameterError, load_params, parse_overrides
from helpers.data.fetch import DataUnavailableError
from helpers.data.storage import DataHomeError, atomic_write_json
from helpers.parameter_grid import SweepError
from helpers.preflight import check_fold_designs

USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m book_runner calibrate",
        description="False-positive rate and power of every test the book uses.",
    )
    parser.add_argument(
        "--params", default="params/default.yml", help="parameter file (its calibration section)"
    )
    parser.add_argument("--datasets", type=int, help="null datasets (and as many planted ones)")
    parser.add_argument(
        "--out",
        help="JSON file for the summary and the p-values (records go to a .records folder beside it)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        default=None,
        help='parameter overrides as JSON, e.g. \'{"calibration": {"pairing": "rotation"}}\'',
    )
    parser.add_argument("--workers", type=int, default=1, help="local worker processes")
    parser.add_argument(
        "--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786"
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the Dask scheduler (default 30)",
    )
    parser.add_argument(
        "--identity",
        action="store_true",
        help="print the design and code digests that key the records (e.g. for a CI cache), and stop",
    )
    return parser


def _error(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the calibration; returns the exit code (2 for a bad argument or --out, 130 on Ctrl-C)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.identity and (args.datasets is None or args.out is None):
        parser.error("the following arguments are required: --datasets, --out")
    if args.datasets is not None and args.datasets < 1:
        return _error(f"--datasets must be at least 1 (got {args.datasets})", USAGE_ERROR)
    if args.workers < 1:
        return _error(
            f"--workers must be at least 1 (got {args.workers}); 1 runs in this process",
            USAGE_ERROR,
        )
    try:
        params = load_params(
            args.params, parse_overrides(args.overrides, source="--set"), overrides_source="--set"
        )
        check_fold_designs(params, str(args.params))
    except ParameterError as error:
        return _error(str(error))
    identity = Identity.of(params)
    if args.identity:
        print(f"{identity.design_digest}-{identity.code_digest}")
        return 0
    out = Path(args.out)
    seeds = list(
        range(params.calibration.first_seed, params.calibration.first_seed + args.datasets)
    )
    folder = records_folder(out)
    commit = git_commit(ROOT)  # the code checked out when the computing starts
    recorded = 0
    try:
        check_out_path(out, identity)
        with DatasetRecords.open(folder, identity) as store:
            jobs = [(effect, seed) for effect in ("none", "connectivity") for seed in seeds]
            done = store.recorded(jobs)
            recorded = len(done)

            def record(effect: str, seed: int, records: list) -> None:
                nonlocal recorded
                store.save(effect, seed, records)
                recorded += 1

            where = (
                f"the Dask scheduler {args.scheduler}"
                if args.scheduler
                else f"{args.workers} local worker(s)"
            )
            print(
                f"[calibrate] {len(jobs)} datasets ({len(seeds)} null, {len(seeds)} planted): "
                f"{len(done)} already recorded in {folder}, "
                f"{len(jobs) - len(done)} to compute on {where}",
                file=sys.stderr,
                flush=True,
            )
            # the interpretation chapter on null, locationist and constructionist worlds,
            # recorded per dataset like the tests (a resumed run reuses them)
            world_jobs = [(f"{VERDICTS_PREFIX}{w}", seed) for w in WORLDS for seed in seeds]
            finished_worlds = {
                (name.removeprefix(VERDICTS_PREFIX), seed): found
                for (name, seed), found in store.recorded(world_jobs).items()
            }

            def record_world(world: str, seed: int, found: list) -> None:
                store.save(f"{VERDICTS_PREFIX}{world}", seed, found)

            print(
                f"[calibrate] {len(world_jobs)} verdict-table datasets (null, locationist and "
                f"constructionist worlds): {len(finished_worlds)} already recorded, "
                f"{len(world_jobs) - len(finished_worlds)} to compute",
                file=sys.stderr,
                flush=True,
            )

            began = time.perf_counter()
            todo = len(jobs) - len(done) + len(world_jobs) - len(finished_worlds)
            with _executor(args, todo=todo) as executor:
                datasets = JobExecution(executor, done=done, on_done=record)
                records = run_datasets(params, seeds, execution=datasets)
                worlds = JobExecution(executor, done=finished_worlds, on_done=record_world)
                table = verdicts(run_worlds(params, seeds, execution=worlds))
            document = calibration_document(
                records,
                params,
                seeds,
                identity,
                commit,
                run={
                    "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "seconds": round(time.perf_counter() - began, 1),
                    "computed": len(jobs) - len(done),
                    "reused": len(done),
                },
            )
            document["verdicts"] = table.to_dict("records")
            try:
                atomic_write_json(out, document)
            except OSError as exc:
                return _error(
                    f"cannot write --out {out} ({exc.strerror}); every dataset is recorded in "
                    f"{folder}: once {out.parent} can be written, the same command writes it "
                    "without computing again"
                )
    except CalibrationRecordsError as error:
        return _error(str(error), USAGE_ERROR)
    except (SweepError, DataUnavailableError, DataHomeError) as error:
        return _error(str(error))
    except cf.process.BrokenProcessPool:
        return _error(
            f"a worker process died (out of memory, or killed); {recorded} datasets are recorded "
            f"in {folder} and the same command resumes"
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: {recorded} datasets are recorded in {folder}; the same command resumes",
            file=sys.stderr,
        )
        return 130
    print(summarise(records).to_string(index=False))
    print(table.to_string(index=False))
    return 0


VERDICTS_PREFIX = "verdicts_"
"""Records of the verdict table's datasets sit beside the tests' as ``verdicts_<world>-<seed>.json``."""


def _executor(args: argparse.Namespace, todo: int) -> contextlib.AbstractContextManager:
    """Where datasets run: nowhere new when all are recorded, a Dask cluster, or local processes."""
    if todo and args.scheduler:
        return open_executor(scheduler=args.scheduler, timeout=args.connect_timeout)
    if todo and args.workers > 1:
        return worker_pool(min(args.workers, todo), environ={"TQDM_DISABLE": "1"})
    return contextlib.nullcontext(None)

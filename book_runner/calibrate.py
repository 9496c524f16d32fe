"""``python -m book_runner calibrate``: the calibration chapter's inference on as many datasets as asked.

Locally in worker processes, or on a Dask cluster when a scheduler address is given (the workers
need the project installed and the data mirror, as for sweeps). Writes the per-test summary (the
``tests`` records of ``08_calibration.json``) and every dataset's p-values to one JSON file.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import time
from pathlib import Path

from book_runner.sweep.runner import open_executor
from helpers.calibration import run_datasets, summarise
from helpers.config import ParameterError, load_params, parse_overrides
from helpers.data.storage import atomic_write_json
from helpers.preflight import check_fold_designs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m book_runner calibrate",
        description="False-positive rate and power of every test the book uses.",
    )
    parser.add_argument(
        "--params", default="params/default.yml", help="parameter file (its calibration section)"
    )
    parser.add_argument(
        "--datasets", type=int, required=True, help="null datasets (and as many planted ones)"
    )
    parser.add_argument("--out", required=True, help="JSON file for the summary and the p-values")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.datasets < 1:
        raise SystemExit("error: --datasets must be at least 1")
    try:
        params = load_params(
            args.params, parse_overrides(args.overrides, source="--set"), overrides_source="--set"
        )
        check_fold_designs(params, str(args.params))
    except ParameterError as error:
        raise SystemExit(f"error: {error}") from None
    seeds = range(params.calibration.first_seed, params.calibration.first_seed + args.datasets)
    began = time.perf_counter()
    if args.scheduler:
        pool = open_executor(scheduler=args.scheduler)
    elif args.workers > 1:
        pool = cf.ProcessPoolExecutor(max_workers=args.workers)
    else:
        pool = contextlib.nullcontext(None)
    with pool as executor:
        records = run_datasets(params, list(seeds), executor=executor)
    summary = summarise(records)
    atomic_write_json(
        Path(args.out),
        {
            "tests": summary.to_dict("records"),
            "p_values": records.to_dict("records"),
            "datasets": args.datasets,
            "design": params.calibration.model_dump(mode="json"),
            "seconds": round(time.perf_counter() - began, 1),
        },
    )
    print(summary.to_string(index=False))
    return 0

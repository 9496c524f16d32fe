"""``python -m book_runner sweep {run,gather,list,run-one}``: the sweep command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from book_runner.sweep.combination import execute_combination
from book_runner.sweep.gather import TABLE_FILE, gather
from book_runner.sweep.runner import run_sweep
from book_runner.sweep.spec import load_sweep
from helpers.config import ParameterError
from helpers.parameter_grid import SweepError, _canonical


def main(argv: list[str] | None = None) -> int:
    """``python -m book_runner sweep {run,gather,list,run-one} ...``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m book_runner sweep",
        description="Run chapters over a grid of parameter sets.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="run (or resume) a sweep and gather its table")
    run_parser.add_argument("sweep_file")
    run_parser.add_argument(
        "--out", required=True, help="output folder (one sub-folder per combination)"
    )
    run_parser.add_argument(
        "--scheduler", default=None, help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"
    )
    run_parser.add_argument(
        "--max-workers",
        type=int,
        default=None,
        help="local parallel runs (default: sweep.max_workers)",
    )
    run_parser.add_argument(
        "--notebooks", default=None, help="folder of the chapter sources (default: notebooks/)"
    )
    list_parser = sub.add_parser(
        "list", help="print the combinations of a sweep file without running them"
    )
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
        print(
            "interrupted; run the same command again to resume (finished combinations are kept)",
            file=sys.stderr,
        )
        return 130

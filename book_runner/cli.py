"""``python -m book_runner {run,html,prepare,sweep,calibrate,llm-server}`` (also installed as ``alice-book``).

``run --params FILE [--only 02 03] [--set JSON]`` executes chapters and records them in the run
manifest; ``html [--strict]`` builds the book (``--strict`` refuses unfinished chapters and treats
warnings as errors); ``prepare`` writes unexecuted chapter notebooks with their parameters (for
Binder and Colab); ``sweep ...`` runs chapters over parameter grids (see :mod:`book_runner.sweep`);
``calibrate`` measures the book's tests on simulated datasets; ``llm-server`` serves the packaged
small model with llama.cpp until interrupted. Every expected failure ends with one
``error:`` line and exit code 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from book_runner.calibrate import main as calibrate_main
from book_runner.chapters import EXECUTED_DIR, ROOT, BookError
from book_runner.html import build_html
from book_runner.llm_server import main as llm_server_main
from book_runner.runner import ChapterFailed, prepare_chapters, run
from book_runner.sweep.cli import main as sweep_main
from helpers.config import ParameterError, parse_overrides
from helpers.data.fetch import DataUnavailableError
from helpers.data.storage import DataHomeError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m book_runner", description="Run the chapters and build the book."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "sweep",
        help="parameter sweeps: sweep run FILE --out DIR [--scheduler ADDR] "
        "[--max-workers N] | sweep gather DIR | sweep list FILE",
    )
    sub.add_parser(
        "calibrate",
        help="false-positive rate and power of the book's tests: calibrate --datasets N --out FILE "
        "[--workers N] [--scheduler ADDR]",
    )
    sub.add_parser(
        "llm-server",
        help="serve the packaged SmolLM2 model with llama.cpp: llm-server [--port N] [--model FILE]",
    )
    run_parser = sub.add_parser("run", help="execute chapters with a parameter file")
    run_parser.add_argument("--params", default="params/default.yml")
    run_parser.add_argument(
        "--only", nargs="*", help="chapter names or numbers, e.g. 02 03_features"
    )
    run_parser.add_argument(
        "--set",
        dest="overrides",
        default=None,
        help='overrides as JSON or YAML, e.g. \'{"window": {"length": 20}}\'',
    )
    html_parser = sub.add_parser("html", help="build the HTML book")
    html_parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse unfinished chapters and treat warnings as errors",
    )
    prepare_parser = sub.add_parser(
        "prepare", help="write unexecuted chapter notebooks with parameters"
    )
    prepare_parser.add_argument("--params", default="params/default.yml")
    prepare_parser.add_argument("--output", default=str(EXECUTED_DIR.relative_to(ROOT)))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["sweep"]:
        return sweep_main(arguments[1:])
    if arguments[:1] == ["calibrate"]:
        return calibrate_main(arguments[1:])
    if arguments[:1] == ["llm-server"]:
        return llm_server_main(arguments[1:])
    args = _parser().parse_args(arguments)
    try:
        if args.command == "run":
            run(args.params, args.only, parse_overrides(args.overrides, source="--set"))
        elif args.command == "prepare":
            for path in prepare_chapters(args.params, ROOT / args.output):
                print(path)
        else:
            build_html(args.strict)
    except (ParameterError, ChapterFailed, BookError, DataUnavailableError, DataHomeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "interrupted: finished chapters and cached steps are kept; the same command resumes",
            file=sys.stderr,
        )
        return 130
    except subprocess.CalledProcessError as exc:
        print(
            f"error: the book build failed (exit {exc.returncode}); see the Sphinx messages above",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the chapters in order with one parameter file, then build the HTML book.

``python -m helpers.book run --params params/quick.yml [--only 02_preprocessing ...]`` converts each
jupytext source in ``notebooks/`` on the fly, executes it with papermill (cwd = the repository root),
writes the executed notebook where ``_toc.yml`` expects it (``book/chapters/``) and records a run
manifest. A failing chapter stops the run with its name and cell; earlier chapters' outputs and
results are kept. ``python -m helpers.book html`` builds ``_build/html`` with Jupyter Book.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from helpers.config import ParameterError, load_params
from helpers.storage import atomic_write_json, results_dir

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
EXECUTED_DIR = ROOT / "book" / "chapters"
KEY_PACKAGES = (
    "numpy", "scipy", "pandas", "scikit-learn", "nilearn", "nibabel", "networkx", "matplotlib",
    "openai", "papermill", "jupyter-book",
)


class ChapterFailed(RuntimeError):
    """A chapter raised an error while it was executed."""


def chapter_sources(only: list[str] | None = None) -> list[Path]:
    """The numbered jupytext sources (``NN_name.md``) in order, optionally a selection."""
    sources = sorted(p for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.md"))
    if only:
        wanted = set(only)
        chosen = [p for p in sources if p.stem in wanted or p.stem[:2] in wanted]
        missing = wanted - {p.stem for p in chosen} - {p.stem[:2] for p in chosen}
        if missing:
            raise SystemExit(
                f"unknown chapter(s) {', '.join(sorted(missing))}; available: "
                f"{', '.join(p.stem for p in sources)}"
            )
        return chosen
    return sources


def execute_chapter(source: Path, params_file: Path, overrides: dict | None = None,
                    output_dir: Path = EXECUTED_DIR) -> Path:
    """Execute one jupytext chapter with papermill; return the executed notebook's path."""
    import jupytext
    import nbformat
    import papermill as pm

    output_dir.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    staging = output_dir / f".{source.stem}.input.ipynb"
    nbformat.write(notebook, staging)
    target = output_dir / f"{source.stem}.ipynb"
    try:
        pm.execute_notebook(
            str(staging),
            str(target),
            parameters={"params_file": str(params_file), "overrides": overrides or {}},
            kernel_name="python3",
            cwd=str(ROOT),
            progress_bar=False,
            log_output=False,
        )
    except pm.PapermillExecutionError as exc:
        raise ChapterFailed(
            f"chapter {source.stem} failed in cell {exc.exec_count} (index {exc.cell_index}): "
            f"{exc.ename}: {exc.evalue}. The partly executed notebook is {target}."
        ) from None
    finally:
        staging.unlink(missing_ok=True)
    return target


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _data_sources() -> dict[str, str]:
    """Checksums of the external files present in the cache."""
    from helpers.data import REMOTE_FILES, sha256_of
    from helpers.storage import get_data_home

    found = {}
    for key in REMOTE_FILES:
        path = get_data_home() / "downloads" / key
        if path.is_file():
            found[key] = sha256_of(path)
    return found


def run(params_file: str | Path, only: list[str] | None = None, overrides: dict | None = None) -> dict:
    """Execute the chosen chapters in order and write ``_build/results/manifest.json``."""
    params_path = Path(params_file).resolve()
    params = load_params(params_path, overrides)  # fail fast, before any chapter runs
    manifest = {
        "params_file": str(params_path.relative_to(ROOT) if params_path.is_relative_to(ROOT) else params_path),
        "params": params.model_dump(mode="json"),
        "git_commit": _git_commit(),
        "versions": _versions(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "chapters": [],
    }
    for source in chapter_sources(only):
        started = time.perf_counter()
        print(f"[book] running {source.stem} ...", flush=True)
        execute_chapter(source, params_path, overrides)
        seconds = round(time.perf_counter() - started, 1)
        print(f"[book] {source.stem} done in {seconds} s", flush=True)
        manifest["chapters"].append({"notebook": source.stem, "seconds": seconds})
        manifest["data_sources"] = _data_sources()
        atomic_write_json(results_dir() / "manifest.json", manifest)
    return manifest


def build_html(warnings_as_errors: bool = False) -> None:
    """Build the HTML book into ``_build/html`` with Jupyter Book 1.x."""
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--path-output", str(ROOT)]
    if warnings_as_errors:
        command += ["-W", "--keep-going"]
    subprocess.run(command, check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.book", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="execute chapters with a parameter file")
    run_parser.add_argument("--params", default="params/default.yml")
    run_parser.add_argument("--only", nargs="*", help="chapter names or numbers, e.g. 02 03_features")
    run_parser.add_argument("--set", dest="overrides", default=None,
                            help='JSON overrides, e.g. \'{"window": {"length": 20}}\'')
    html_parser = sub.add_parser("html", help="build the HTML book")
    html_parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            overrides = json.loads(args.overrides) if args.overrides else None
            run(args.params, args.only, overrides)
        else:
            build_html(args.strict)
    except (ParameterError, ChapterFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"error: the book build failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the chapters in order with one parameter file, then build the HTML book.

``python -m helpers.book run --params params/quick.yml [--only 02_preprocessing ...]`` converts each
jupytext source in ``notebooks/`` that ``_toc.yml`` lists, executes it with papermill (cwd = the
repository root), writes the executed notebook where ``_toc.yml`` expects it (``book/chapters/``)
and records a run manifest (parameters, package versions, git commit, data sources with checksums,
time per chapter). A failing chapter stops the run with its name and cell; earlier chapters'
notebooks and results are kept. ``python -m helpers.book html [--strict]`` renders the generated
pages (findings on the landing page, the pipeline figure, the Reproducibility page) from
``_build/results`` and builds ``_build/html`` with Jupyter Book. ``python -m helpers.book prepare``
writes unexecuted chapter notebooks with their parameters (for Binder and Colab).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from helpers.config import ParameterError, load_params
from helpers.data.storage import (
    RESULTS_DIR_ENV,
    atomic_write_json,
    atomic_write_text,
    results_dir,
)

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
EXECUTED_DIR = ROOT / "book" / "chapters"
TOC_FILE = ROOT / "_toc.yml"
CHAPTER_PREFIX = "book/chapters/"
GENERATED_DIRNAME = "_generated"
SETUP_TAG = "launch-setup"


class ChapterFailed(RuntimeError):
    """A chapter raised an error while it was executed; ``cell`` says which one."""

    def __init__(self, message: str, cell: str = "") -> None:
        super().__init__(message)
        self.cell = cell


class BookError(RuntimeError):
    """The sources, the table of contents and the executed chapters do not fit together."""


def _toc_files(entry: Any) -> Iterator[str]:
    """Every ``file:`` named anywhere in a (nested) ``_toc.yml`` structure."""
    if isinstance(entry, dict):
        if isinstance(entry.get("file"), str):
            yield entry["file"]
        for value in entry.values():
            yield from _toc_files(value)
    elif isinstance(entry, list):
        for item in entry:
            yield from _toc_files(item)


def toc_chapters(toc_file: Path = TOC_FILE) -> list[str]:
    """The chapter names (``NN_name``) the table of contents lists, in its order."""
    if not toc_file.is_file():
        raise BookError(f"no table of contents at {toc_file}")
    toc = yaml.safe_load(toc_file.read_text()) or {}
    files = [f.removesuffix(".ipynb").removesuffix(".md") for f in _toc_files(toc)]
    return [f.removeprefix(CHAPTER_PREFIX) for f in files if f.startswith(CHAPTER_PREFIX)]


def chapter_sources(only: list[str] | None = None, notebook_dir: Path = NOTEBOOK_DIR,
                    toc_file: Path | None = TOC_FILE, quiet: bool = False) -> list[Path]:
    """The jupytext sources to run, in table-of-contents order, optionally a selection.

    Only chapters listed in ``toc_file`` run: a source the book does not show would produce numbers
    nobody reads. With ``toc_file=None`` every numbered source in ``notebook_dir`` is a chapter.
    """
    available = {p.stem: p for p in sorted(notebook_dir.glob("[0-9][0-9]_*.md"))}
    if toc_file is None:
        listed = sorted(available)
    else:
        listed = toc_chapters(toc_file)
        missing = [name for name in listed if name not in available]
        if missing:
            raise BookError(f"{toc_file.name} lists {', '.join(missing)} but {notebook_dir} has no such "
                            f"source (expected {', '.join(f'{m}.md' for m in missing)}); fix _toc.yml")
        for stem in sorted(set(available) - set(listed)) if not quiet else ():
            print(f"[book] skipping {stem}: not listed in {toc_file.name}", file=sys.stderr)
    sources = [available[name] for name in listed]
    if not only:
        return sources
    wanted = set(only)
    chosen = [p for p in sources if p.stem in wanted or p.stem[:2] in wanted]
    unknown = wanted - {p.stem for p in chosen} - {p.stem[:2] for p in chosen}
    if unknown:
        raise BookError(f"unknown chapter(s) {', '.join(sorted(unknown))}; the table of contents has: "
                        f"{', '.join(p.stem for p in sources) or 'none'}")
    return chosen


def _setup_cell(repository_url: str, branch: str) -> Any:
    """A hidden first cell so a chapter also runs on Binder and Colab.

    On Colab it installs this project first. Everywhere it moves to the repository root when the
    kernel started elsewhere (Jupyter starts kernels in the notebook's folder), because parameter
    files and results are addressed from the root. Under papermill the cwd is already the root and
    the cell does nothing.
    """
    import nbformat

    source = (
        "# Set-up for Binder and Colab; does nothing when the book is built.\n"
        "import os, pathlib, subprocess, sys\n"
        "if 'google.colab' in sys.modules and not os.path.isdir('/content/alice-emotions'):\n"
        f"    subprocess.run(['git', 'clone', '--depth', '1', '--branch', '{branch}', '{repository_url}',\n"
        "                    '/content/alice-emotions'], check=True)\n"
        "    subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '-c',\n"
        "                    '/content/alice-emotions/constraints.txt', '-e', '/content/alice-emotions'],\n"
        "                   check=True)\n"
        "    sys.path.insert(0, '/content/alice-emotions')\n"
        "    os.chdir('/content/alice-emotions')\n"
        "_here = pathlib.Path.cwd()\n"
        "for _folder in [_here, *_here.parents]:\n"
        "    if (_folder / 'params').is_dir() and (_folder / 'pyproject.toml').is_file():\n"
        "        os.chdir(_folder)\n"
        "        break"
    )
    return nbformat.v4.new_code_cell(source, metadata={"tags": [SETUP_TAG, "remove-cell"]})


def _repository(root: Path) -> tuple[str, str]:
    config = yaml.safe_load((root / "_config.yml").read_text()) if (root / "_config.yml").is_file() else {}
    repository = (config or {}).get("repository", {}) or {}
    return repository.get("url", ""), repository.get("branch", "main")


def source_notebook(source: Path, with_setup: bool = True) -> Any:
    """Read a jupytext chapter as a notebook with a Python kernel (and the launch set-up cell)."""
    import jupytext

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    url, branch = _repository(ROOT)
    if with_setup:
        notebook.cells.insert(0, _setup_cell(url, branch))
    return notebook


def _failed_cell_summary(notebook_path: Path) -> str:
    """The first source line of the cell that raised, so the message points at code, not a number.

    Found by its error output, because papermill adds a banner cell to a failed notebook and so
    shifts the indices.
    """
    if not notebook_path.is_file():
        return ""
    import nbformat

    for cell in nbformat.read(notebook_path, as_version=4).cells:
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            return f" [{first.strip()[:80]}]"
    return ""


@contextlib.contextmanager
def _kernel_environment():
    """Environment for chapter kernels: inline figures (whatever MPLBACKEND the caller uses, e.g.
    Agg in tests, would leave the book without figures) and no progress bars (noise on stderr)."""
    wanted = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "TQDM_DISABLE": "1"}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def execute_chapter(source: Path, params_file: Path, overrides: dict | None = None,
                    output_dir: Path = EXECUTED_DIR, cwd: Path = ROOT) -> Path:
    """Execute one jupytext chapter with papermill; return the executed notebook's path.

    The kernel starts in ``cwd`` (the repository root, so relative parameter files resolve). On
    failure the partly executed notebook stays in ``output_dir`` for inspection and
    :class:`ChapterFailed` names the chapter, the cell and the error.
    """
    import nbformat
    import papermill as pm

    source, output_dir = Path(source), Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = output_dir / f".{source.stem}.input.ipynb"
    nbformat.write(source_notebook(source), staging)
    target = output_dir / f"{source.stem}.ipynb"
    try:
        with _kernel_environment():
            pm.execute_notebook(
                str(staging),
                str(target),
                parameters={"params_file": str(params_file), "overrides": overrides or {}},
                kernel_name="python3",
                cwd=str(cwd),
                progress_bar=False,
                log_output=False,
            )
    except pm.PapermillExecutionError as exc:
        cell = f"cell {exc.exec_count}{_failed_cell_summary(target)}"
        raise ChapterFailed(
            f"chapter {source.stem} failed in {cell}: {exc.ename}: {exc.evalue}. "
            f"The partly executed notebook is {target}.",
            cell=cell,
        ) from None
    finally:
        staging.unlink(missing_ok=True)
    return target


def prepare_chapters(params_file: str | Path, output_dir: Path, only: list[str] | None = None,
                     overrides: dict | None = None, notebook_dir: Path = NOTEBOOK_DIR,
                     toc_file: Path | None = TOC_FILE) -> list[Path]:
    """Write unexecuted chapter notebooks with the parameters injected (papermill ``prepare_only``)."""
    import nbformat
    import papermill as pm

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    prepared = []
    for source in chapter_sources(only, notebook_dir, toc_file):
        staging = output_dir / f".{source.stem}.input.ipynb"
        nbformat.write(source_notebook(source), staging)
        target = output_dir / f"{source.stem}.ipynb"
        try:
            pm.execute_notebook(str(staging), str(target), prepare_only=True, kernel_name="python3",
                                parameters={"params_file": str(params_file), "overrides": overrides or {}})
        finally:
            staging.unlink(missing_ok=True)
        prepared.append(target)
    return prepared


@contextlib.contextmanager
def _results_in(folder: Path | None) -> Iterator[None]:
    """Point the chapters' ``save_results`` (via the kernel's environment) at ``folder``."""
    if folder is None:
        yield
        return
    previous = os.environ.get(RESULTS_DIR_ENV)
    os.environ[RESULTS_DIR_ENV] = str(Path(folder).resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(RESULTS_DIR_ENV, None)
        else:
            os.environ[RESULTS_DIR_ENV] = previous


def _read_manifest(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


def run(params_file: str | Path, only: list[str] | None = None, overrides: dict | None = None, *,
        notebook_dir: Path = NOTEBOOK_DIR, output_dir: Path = EXECUTED_DIR,
        toc_file: Path | None = TOC_FILE, results: Path | None = None, cwd: Path = ROOT) -> dict:
    """Execute the chosen chapters in order and write ``manifest.json`` next to their results.

    Chapters run earlier with the same output folder keep their manifest entries, each stamped with
    the digest of its parameters, so a partial re-run shows on the Reproducibility page whether
    the book still comes from one parameter set.
    """
    from helpers.book.reproducibility import (
        data_sources,
        environment_summary,
        git_commit,
        package_versions,
    )

    params_path = Path(params_file)
    if not params_path.is_absolute():
        params_path = (cwd / params_path).resolve()
    params = load_params(params_path, overrides)  # fail fast, before any chapter runs
    sources = chapter_sources(only, notebook_dir, toc_file)
    with _results_in(results):
        manifest_path = results_dir() / "manifest.json"
        previous = _read_manifest(manifest_path) or {}
        kept = {c["notebook"]: c for c in previous.get("chapters", [])}
        manifest = {
            "params_file": str(params_path.relative_to(cwd) if params_path.is_relative_to(cwd) else params_path),
            "params": params.model_dump(mode="json"),
            "params_digest": params.digest(),
            "git_commit": git_commit(cwd),
            "versions": package_versions(),
            "environment": environment_summary(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "chapters": [],
            "data_sources": [],
        }
        order = [p.stem for p in chapter_sources(None, notebook_dir, toc_file, quiet=True)]

        def write(entry: dict[str, Any]) -> None:
            kept[entry["notebook"]] = entry
            manifest["chapters"] = [kept[name] for name in order if name in kept]
            manifest["data_sources"] = data_sources()
            atomic_write_json(manifest_path, manifest)

        for source in sources:
            started = time.perf_counter()
            print(f"[book] running {source.stem} ...", flush=True)
            entry = {"notebook": source.stem, "params_digest": params.digest(), "status": "ok"}
            try:
                execute_chapter(source, Path(manifest["params_file"]), overrides, output_dir=output_dir, cwd=cwd)
            except ChapterFailed as err:
                entry.update(status="failed", seconds=round(time.perf_counter() - started, 1),
                             failed_cell=err.cell)
                write(entry)
                raise
            entry["seconds"] = round(time.perf_counter() - started, 1)
            print(f"[book] {source.stem} done in {entry['seconds']} s", flush=True)
            write(entry)
        manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        atomic_write_json(manifest_path, manifest)
    return manifest


def render_generated_pages(root: Path = ROOT, results: Path | None = None,
                           toc_file: Path | None = None) -> Path:
    """Write the build-time pages (findings, pipeline figure, reproducibility) into ``book/_generated``."""
    from helpers.book.front_matter import (
        draw_pipeline_figure,
        render_chapter_list,
        render_findings,
    )
    from helpers.book.reproducibility import render_reproducibility

    results = Path(results) if results is not None else root / "_build" / "results"
    generated = root / "book" / GENERATED_DIRNAME
    generated.mkdir(parents=True, exist_ok=True)
    chapters = toc_chapters(toc_file or root / "_toc.yml")
    manifest = _read_manifest(results / "manifest.json")
    atomic_write_text(generated / "findings.md", render_findings(results, chapters, manifest))
    atomic_write_text(generated / "chapters.md", render_chapter_list(chapters))
    atomic_write_text(generated / "reproducibility.md", render_reproducibility(manifest))
    draw_pipeline_figure(generated / "pipeline.svg")
    return generated


def build_html(warnings_as_errors: bool = False, root: Path = ROOT, results: Path | None = None) -> Path:
    """Render the generated pages and build ``<root>/_build/html`` with Jupyter Book 1.x."""
    chapters = toc_chapters(root / "_toc.yml")
    missing = [c for c in chapters if not (root / CHAPTER_PREFIX / f"{c}.ipynb").is_file()]
    if missing:
        raise BookError(f"chapter(s) {', '.join(missing)} have not been executed; run "
                        f"`python -m helpers.book run --only {' '.join(missing)}` first")
    render_generated_pages(root, results)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--path-output", str(root)]
    if warnings_as_errors:
        command += ["-W", "--keep-going"]
    subprocess.run(command, check=True, cwd=root)
    return root / "_build" / "html"


def copy_book_sources(destination: Path, root: Path = ROOT) -> Path:
    """Copy the book's hand-written parts (config, toc, pages, bibliography) into ``destination``.

    Lets a test or a parameter sweep build a complete book elsewhere without touching the
    executed chapters and results of the working tree.
    """
    import shutil

    destination = Path(destination)
    (destination / "book").mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, destination / name)
    for page in (root / "book").iterdir():
        if page.is_file() and page.suffix in {".md", ".bib", ".svg", ".png"}:
            shutil.copy2(page, destination / "book" / page.name)
    return destination


def build_copy(params_file: str | Path, destination: Path, warnings_as_errors: bool = True,
               only: list[str] | None = None) -> Path:
    """Execute the chapters and build the whole book in ``destination``; return its HTML folder."""
    destination = copy_book_sources(destination)
    results = destination / "_build" / "results"
    run(params_file, only, output_dir=destination / CHAPTER_PREFIX, toc_file=destination / "_toc.yml",
        results=results)
    return build_html(warnings_as_errors, root=destination, results=results)


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["sweep"]:
        from helpers.book.sweep import main as sweep_main

        return sweep_main(arguments[1:])
    parser = argparse.ArgumentParser(prog="python -m helpers.book", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "sweep",
        help="parameter sweeps: sweep run FILE --out DIR [--scheduler ADDR] [--max-workers N] | "
        "sweep gather DIR | sweep list FILE",
    )
    run_parser = sub.add_parser("run", help="execute chapters with a parameter file")
    run_parser.add_argument("--params", default="params/default.yml")
    run_parser.add_argument("--only", nargs="*", help="chapter names or numbers, e.g. 02 03_features")
    run_parser.add_argument("--set", dest="overrides", default=None,
                            help='JSON overrides, e.g. \'{"window": {"length": 20}}\'')
    html_parser = sub.add_parser("html", help="build the HTML book")
    html_parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    prepare_parser = sub.add_parser("prepare", help="write unexecuted chapter notebooks with parameters")
    prepare_parser.add_argument("--params", default="params/default.yml")
    prepare_parser.add_argument("--output", default=str(EXECUTED_DIR.relative_to(ROOT)))
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            overrides = json.loads(args.overrides) if args.overrides else None
            run(args.params, args.only, overrides)
        elif args.command == "prepare":
            for path in prepare_chapters(args.params, ROOT / args.output):
                print(path)
        else:
            build_html(args.strict)
    except (ParameterError, ChapterFailed, BookError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except json.JSONDecodeError as exc:
        print(f"error: --set is not valid JSON ({exc})", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"error: the book build failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

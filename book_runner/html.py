"""Build the HTML book from the executed chapters, and refuse to publish unfinished ones.

Before Jupyter Book runs, every chapter of the table of contents is checked against the run
manifest and its executed notebook (:func:`book_runner.manifest.chapter_problems`): a chapter
still running, interrupted, failed, or whose notebook has cells that never ran is not a finished
result. ``strict`` (``python -m book_runner html --strict``) then stops with one line naming
them; otherwise the book is built with a warning at the top of each such page and of the front
page (written to ``book/_generated/chapter_status.json`` and inserted by
:mod:`book_runner.sphinx_assets`). The generated pages (findings, chapter list, pipeline figure,
reproducibility) are written from the results files in the same step.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from book_runner.chapters import CHAPTER_PREFIX, ROOT, BookError, toc_chapters
from book_runner.front_matter import render_chapter_list, render_findings
from book_runner.manifest import (
    MANIFEST_NAME,
    chapter_problems,
    mixed_parameters_problem,
    read_manifest,
)
from book_runner.pipeline_figure import draw_pipeline_figure
from book_runner.reproducibility import render_reproducibility
from book_runner.runner import run
from book_runner.sphinx_assets import STATUS_FILE
from helpers.data.files import atomic_write_json, atomic_write_text

GENERATED_DIRNAME = "_generated"


def _chapter_warning(chapter: str, problem: str) -> str:
    return (
        f"This chapter is not a finished result: {problem}. Its figures and numbers may be "
        f"missing, partial or left from an earlier run. Re-run it with: python -m book_runner "
        f"run --only {chapter[:2]}"
    )


def _front_page_warning(problems: dict[str, str]) -> str:
    listed = "; ".join(f"{chapter}: {problem}" for chapter, problem in problems.items())
    return (
        f"Part of this book is not a finished result ({listed}). The findings below may be "
        "partial or stale; see the warning on each of these chapters."
    )


def _mixed_warning(problem: str) -> str:
    return (
        f"This book is not one run: {problem}. Its numbers cannot be compared across chapters. "
        "Re-run every chapter with one parameter file: python -m book_runner run --params FILE"
    )


def status_warnings(
    problems: dict[str, str], root_doc: str = "book/index", mixed: str | None = None
) -> dict[str, str]:
    """The warning text of each page that needs one (document name -> text)."""
    warnings = {
        f"{CHAPTER_PREFIX}{chapter}": _chapter_warning(chapter, problem)
        for chapter, problem in problems.items()
    }
    front = [_front_page_warning(problems)] if problems else []
    if mixed:
        front.append(_mixed_warning(mixed))
    if front:
        warnings[root_doc] = " ".join(front)
    return warnings


def render_generated_pages(
    root: Path = ROOT,
    results: Path | None = None,
    problems: dict[str, str] | None = None,
    mixed: str | None = None,
) -> Path:
    """Write the build-time pages into ``book/_generated``: findings, chapter list, pipeline figure,
    reproducibility, and the status warnings of unfinished chapters."""
    results = Path(results) if results is not None else root / "_build" / "results"
    generated = root / "book" / GENERATED_DIRNAME
    generated.mkdir(parents=True, exist_ok=True)
    chapters = toc_chapters(root / "_toc.yml")
    manifest = read_manifest(results / MANIFEST_NAME)
    atomic_write_text(generated / "findings.md", render_findings(results, chapters, manifest))
    atomic_write_text(generated / "chapters.md", render_chapter_list(chapters))
    atomic_write_text(generated / "reproducibility.md", render_reproducibility(manifest))
    atomic_write_json(root / STATUS_FILE, status_warnings(problems or {}, mixed=mixed))
    draw_pipeline_figure(generated / "pipeline.svg")
    return generated


def unfinished_chapters(root: Path = ROOT, results: Path | None = None) -> dict[str, str]:
    """Chapters of the table of contents that are not finished results, with the reason."""
    results = Path(results) if results is not None else root / "_build" / "results"
    chapters = toc_chapters(root / "_toc.yml")
    return chapter_problems(read_manifest(results / MANIFEST_NAME), chapters, root / CHAPTER_PREFIX)


def build_html(strict: bool = False, root: Path = ROOT, results: Path | None = None) -> Path:
    """Build ``<root>/_build/html`` with Jupyter Book 1.x; ``strict`` refuses unfinished chapters
    and treats Sphinx warnings as errors."""
    chapters = toc_chapters(root / "_toc.yml")
    missing = [c for c in chapters if not (root / CHAPTER_PREFIX / f"{c}.ipynb").is_file()]
    if missing:
        raise BookError(
            f"chapter(s) {', '.join(missing)} have not been executed; run "
            f"`python -m book_runner run --only {' '.join(missing)}` first"
        )
    problems = unfinished_chapters(root, results)
    results_folder = Path(results) if results is not None else root / "_build" / "results"
    mixed = mixed_parameters_problem(read_manifest(results_folder / MANIFEST_NAME), chapters)
    if strict and mixed:
        raise BookError(
            f"not publishing a book whose {mixed.removeprefix('its ')}; re-run every chapter "
            "with one parameter file (python -m book_runner run --params FILE)"
        )
    if strict and problems:
        listed = "; ".join(f"{chapter}: {problem}" for chapter, problem in problems.items())
        raise BookError(
            f"not publishing unfinished chapters ({listed}); re-run them with "
            f"`python -m book_runner run --only {' '.join(c[:2] for c in problems)}`"
        )
    for chapter, problem in problems.items():
        print(
            f"[book] warning: {chapter}: {problem}; its page says so", file=sys.stderr, flush=True
        )
    if mixed:
        print(f"[book] warning: this book is not one run: {mixed}", file=sys.stderr, flush=True)
    render_generated_pages(root, results, problems, mixed)
    command = [
        str(Path(sys.executable).parent / "jupyter-book"),
        "build",
        str(root),
        "--path-output",
        str(root),
    ]
    if strict:
        command += ["-W", "--keep-going"]
    subprocess.run(command, check=True, cwd=root)
    return root / "_build" / "html"


def copy_book_sources(destination: Path, root: Path = ROOT) -> Path:
    """Copy the book's hand-written parts (config, toc, pages, bibliography, style) into ``destination``.

    Lets a test or a parameter sweep build a complete book elsewhere without touching the
    executed chapters and results of the working tree.
    """
    destination = Path(destination)
    (destination / "book").mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, destination / name)
    for page in (root / "book").iterdir():
        if page.is_file() and page.suffix in {".md", ".bib", ".svg", ".png"}:
            shutil.copy2(page, destination / "book" / page.name)
    if (root / "_static").is_dir():  # the book's own style sheet
        shutil.copytree(root / "_static", destination / "_static", dirs_exist_ok=True)
    return destination


def build_copy(
    params_file: str | Path,
    destination: Path,
    strict: bool = True,
    only: list[str] | None = None,
    **run_options: Any,
) -> Path:
    """Execute the chapters and build the whole book in ``destination``; return its HTML folder."""
    destination = copy_book_sources(destination)
    results = destination / "_build" / "results"
    run(
        params_file,
        only,
        output_dir=destination / CHAPTER_PREFIX,
        toc_file=destination / "_toc.yml",
        results=results,
        **run_options,
    )
    return build_html(strict, root=destination, results=results)

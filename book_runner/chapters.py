"""Which chapters the book has: the table of contents, the jupytext sources, and their notebooks.

``_toc.yml`` decides what the book shows; a source in ``notebooks/`` that it does not list is
skipped (its numbers would be read by nobody). A chapter's notebook starts with a hidden set-up
cell so that it also runs on Binder and Colab.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
EXECUTED_DIR = ROOT / "book" / "chapters"
TOC_FILE = ROOT / "_toc.yml"
CHAPTER_PREFIX = "book/chapters/"
SETUP_TAG = "launch-setup"


class BookError(RuntimeError):
    """The sources, the table of contents and the executed chapters do not fit together."""


def toc_files(entry: Any) -> Iterator[str]:
    """Every ``file:`` named anywhere in a (nested) ``_toc.yml`` structure."""
    if isinstance(entry, dict):
        if isinstance(entry.get("file"), str):
            yield entry["file"]
        for value in entry.values():
            yield from toc_files(value)
    elif isinstance(entry, list):
        for item in entry:
            yield from toc_files(item)


def toc_chapters(toc_file: Path = TOC_FILE) -> list[str]:
    """The chapter names (``NN_name``) the table of contents lists, in its order."""
    if not toc_file.is_file():
        raise BookError(f"no table of contents at {toc_file}")
    toc = yaml.safe_load(toc_file.read_text()) or {}
    files = [f.removesuffix(".ipynb").removesuffix(".md") for f in toc_files(toc)]
    return [f.removeprefix(CHAPTER_PREFIX) for f in files if f.startswith(CHAPTER_PREFIX)]


def chapter_sources(
    only: list[str] | None = None,
    notebook_dir: Path = NOTEBOOK_DIR,
    toc_file: Path | None = TOC_FILE,
    quiet: bool = False,
) -> list[Path]:
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
            raise BookError(
                f"{toc_file.name} lists {', '.join(missing)} but {notebook_dir} has no such "
                f"source (expected {', '.join(f'{m}.md' for m in missing)}); fix _toc.yml"
            )
        for stem in sorted(set(available) - set(listed)) if not quiet else ():
            print(f"[book] skipping {stem}: not listed in {toc_file.name}", file=sys.stderr)
    sources = [available[name] for name in listed]
    if not only:
        return sources
    wanted = set(only)
    chosen = [p for p in sources if p.stem in wanted or p.stem[:2] in wanted]
    unknown = wanted - {p.stem for p in chosen} - {p.stem[:2] for p in chosen}
    if unknown:
        raise BookError(
            f"unknown chapter(s) {', '.join(sorted(unknown))}; the table of contents has: "
            f"{', '.join(p.stem for p in sources) or 'none'}"
        )
    return chosen


def _setup_cell(repository_url: str, branch: str) -> nbformat.NotebookNode:
    """A hidden first cell so a chapter also runs on Binder and Colab.

    On Colab it installs this project first. Everywhere it moves to the repository root when the
    kernel started elsewhere (Jupyter starts kernels in the notebook's folder), because parameter
    files and results are addressed from the root. Under papermill the cwd is already the root and
    the cell does nothing.
    """
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
    config = (
        yaml.safe_load((root / "_config.yml").read_text())
        if (root / "_config.yml").is_file()
        else {}
    )
    repository = (config or {}).get("repository", {}) or {}
    return repository.get("url", ""), repository.get("branch", "main")


def source_notebook(source: Path, with_setup: bool = True) -> nbformat.NotebookNode:
    """Read a jupytext chapter as a notebook with a Python kernel (and the launch set-up cell)."""
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    url, branch = _repository(ROOT)
    if with_setup:
        notebook.cells.insert(0, _setup_cell(url, branch))
    return notebook

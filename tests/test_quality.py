"""Code quality gates: the layered imports hold, and code and chapters are linted and formatted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHAPTERS = sorted((ROOT / "notebooks").glob("0*.md"))


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_layers_and_acyclic_subpackages_hold() -> None:
    """book_runner above the science above the data above the study constants, no cycles."""
    done = _run(str(BIN / "lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_python_sources_pass_ruff_lint_and_format() -> None:
    paths = ("helpers", "tests", "benchmarks")
    lint = _run(str(BIN / "ruff"), "check", *paths)
    assert lint.returncode == 0, lint.stdout[-4000:]
    formatted = _run(str(BIN / "ruff"), "format", "--check", *paths)
    assert formatted.returncode == 0, (
        "run `ruff format helpers tests benchmarks`:\n" + formatted.stdout[-2000:]
    )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_code_passes_ruff_lint_and_format(chapter: Path, tmp_path: Path) -> None:
    """Each chapter's code cells, through jupytext: no unused or undefined names, sorted imports,
    formatted at the 88 characters a rendered page shows without scrolling."""
    script = tmp_path / f"{chapter.stem}.py"
    converted = _run(
        str(BIN / "jupytext"), "--quiet", "--to", "py:percent", "-o", str(script), str(chapter)
    )
    assert converted.returncode == 0, converted.stderr
    config = ("--config", "lint.isort.known-first-party=['helpers']")
    lint = _run(str(BIN / "ruff"), "check", "--select", "F,I", *config, str(script))
    assert lint.returncode == 0, lint.stdout[-3000:]
    ruff = BIN / "ruff"
    formatted = _run(
        str(BIN / "jupytext"),
        "--check",
        f"{ruff} format --check --line-length 88 {{}}",
        str(chapter),
    )
    assert formatted.returncode == 0, (
        f"format {chapter.name}: jupytext --pipe 'ruff format --line-length 88 {{}}' {chapter.relative_to(ROOT)}"
    )

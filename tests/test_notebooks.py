"""Every chapter runs top to bottom on the small parameter set, checked by nbval (``--nbval-lax``).

Each chapter is prepared with papermill (``prepare_only``: the parameters of ``params/quick.yml``
injected, nothing executed) and then executed cell by cell by nbval in a separate pytest process,
so a failing cell is reported with its notebook and cell. Lax mode checks that every cell runs
without error; outputs are not compared, since figures and timings differ between machines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from book_runner import runner as book

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = book.toc_chapters(ROOT / "_toc.yml")

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("nbval")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_under_nbval(chapter: str, workspace: Path) -> None:
    [prepared] = book.prepare_chapters(
        ROOT / "params" / "quick.yml", workspace / "notebooks", only=[chapter]
    )
    # nbval starts the kernel in the notebook's folder; chapters expect the repository root (as
    # under papermill), so the first cell moves there.
    notebook = nbformat.read(prepared, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(f"import os\nos.chdir({str(ROOT)!r})"))
    nbformat.write(notebook, prepared)
    ini = workspace / "pytest.ini"
    ini.write_text("[pytest]\n")
    results = workspace / "results"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-cell-timeout=600",
            "-p",
            "no:cacheprovider",
            "-q",
            "-c",
            str(ini),
            "--rootdir",
            str(workspace),
            str(prepared),
        ],
        env={**os.environ, "ALICE_RESULTS_DIR": str(results), "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert completed.returncode == 0, (
        f"chapter {chapter} failed under nbval on params/quick.yml:\n{completed.stdout[-6000:]}\n"
        f"{completed.stderr[-2000:]}"
    )
    assert (results / f"{chapter}.json").is_file(), (
        f"chapter {chapter} did not save its results JSON"
    )

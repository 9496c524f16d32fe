"""The book under faults: a chapter killed with SIGKILL, two runs writing one manifest, credentials
in the parameters, and parameters passed the way papermill users pass them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from book_runner import html, runner
from book_runner.chapters import source_notebook
from book_runner.executed import unexecuted_code_cells
from book_runner.manifest import read_manifest
from book_runner.reproducibility import render_reproducibility

ROOT = Path(__file__).resolve().parent.parent
QUICK = ROOT / "params" / "quick.yml"
HEADER = (
    "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
    "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
)
PARAMETERS = (
    '```{code-cell} ipython3\n:tags: [parameters]\n\nparams_file = "params/default.yml"\n'
    "overrides = {}\n```\n\n"
)


def _chapter(folder: Path, name: str, *cells: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = "".join(f"```{{code-cell}} ipython3\n{cell}\n```\n\n" for cell in cells)
    (folder / f"{name}.md").write_text(f"{HEADER}# {name}\n\n{PARAMETERS}{body}")
    return folder / f"{name}.md"


def _small_book(tmp_path: Path, chapters: list[str]) -> Path:
    root = html.copy_book_sources(tmp_path / "book")
    entries = "".join(f"      - file: book/chapters/{c}\n" for c in chapters)
    (root / "_toc.yml").write_text(
        f"format: jb-book\nroot: book/index\nparts:\n  - caption: Chapters\n"
        f"    chapters:\n{entries}"
    )
    return root


def _run_options(root: Path, notebooks: Path) -> dict:
    return {
        "notebook_dir": notebooks,
        "output_dir": root / "book" / "chapters",
        "toc_file": root / "_toc.yml",
        "results": root / "_build" / "results",
    }


RUN_SCRIPT = """
import sys
from pathlib import Path
from book_runner import runner
notebooks, root = Path(sys.argv[2]), Path(sys.argv[3])
runner.run(sys.argv[1], notebook_dir=notebooks, output_dir=root / "book" / "chapters", toc_file=root / "_toc.yml",
           results=root / "_build" / "results")
"""

SLOW_CELLS = (
    "import os, pathlib, time\nprint('first cell')",
    (
        "pathlib.Path(os.environ['KILL_MARKER']).write_text(str(os.getpid()))\n"
        "time.sleep(float(os.environ.get('CHAPTER_SLEEP', '0')))"
    ),
    "print('last cell')",
)


def test_a_killed_chapter_is_never_published_as_finished(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    _chapter(notebooks, "01_slow", *SLOW_CELLS)
    root = _small_book(tmp_path, ["01_slow"])
    options = _run_options(root, notebooks)
    marker = tmp_path / "kernel.pid"
    monkeypatch.setenv("KILL_MARKER", str(marker))
    runner.run(QUICK, **options)  # a complete run first: the manifest says ok
    assert html.unfinished_chapters(root, options["results"]) == {}

    marker.unlink()
    killed = subprocess.Popen(
        [sys.executable, "-c", RUN_SCRIPT, str(QUICK), str(notebooks), str(root)],
        cwd=ROOT,
        start_new_session=True,
        env={**os.environ, "CHAPTER_SLEEP": "300", "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert killed.poll() is None and time.monotonic() < deadline, (
            "the chapter never reached its slow cell"
        )
        time.sleep(0.05)
    chapters = root / "book" / "chapters"
    staging = chapters / ".01_slow.input.ipynb"
    assert (
        staging.exists() and runner.remove_abandoned_staging(chapters) == []
    )  # in use by a live run
    os.killpg(killed.pid, signal.SIGKILL)  # the runner, exactly as `kill -9` would
    killed.wait()
    os.kill(
        int(marker.read_text()), signal.SIGKILL
    )  # and its kernel, which has a session of its own

    [entry] = read_manifest(options["results"] / "manifest.json")["chapters"]
    assert entry["status"] == "running"  # not the previous run's "ok"
    missing, total = unexecuted_code_cells(chapters / "01_slow.ipynb")
    assert 0 < missing < total
    problems = html.unfinished_chapters(root, options["results"])
    assert "interrupted" in problems["01_slow"]
    with pytest.raises(
        runner.BookError, match=r"not publishing unfinished chapters \(01_slow: .*interrupted"
    ):
        html.build_html(strict=True, root=root, results=options["results"])
    assert runner.remove_abandoned_staging(chapters) == [staging]  # its run is dead now

    html.build_html(strict=False, root=root, results=options["results"])
    page = (root / "_build" / "html" / "book" / "chapters" / "01_slow.html").read_text()
    assert (
        "chapter-status admonition warning" in page
        and "This chapter is not a finished result" in page
    )
    front = (root / "_build" / "html" / "book" / "index.html").read_text()
    assert "Part of this book is not a finished result (01_slow:" in front


def test_two_runs_writing_one_manifest_keep_every_entry(tmp_path):
    manifest = tmp_path / "manifest.json"
    script = (
        "import sys\nfrom pathlib import Path\nfrom book_runner.manifest import record_chapter\n"
        "for i in range(30):\n"
        "    record_chapter(Path(sys.argv[1]), {'notebook': f'{sys.argv[2]}_{i:02d}', 'status': 'ok'}, [])\n"
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(manifest), name],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for name in ("a", "b")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    names = {entry["notebook"] for entry in read_manifest(manifest)["chapters"]}
    assert names == {f"{name}_{i:02d}" for name in "ab" for i in range(30)}


def test_published_chapter_has_one_parameter_cell_and_no_secret_or_machine_path(
    tmp_path, monkeypatch
):
    key = "sk-test-" + "k" * 24
    monkeypatch.setenv("OPENAI_API_KEY", key)
    notebooks = tmp_path / "notebooks"
    _chapter(
        notebooks,
        "01_first",
        "from helpers.config import load_params\n"
        "params = load_params(params_file, overrides)\nprint(params.llm.base_url)",
    )
    root = _small_book(tmp_path, ["01_first"])
    secret_url = "http://alice:PASSWORD@127.0.0.1:9/v1?api_key=SECRET-TOKEN&model=m"
    manifest = runner.run(
        QUICK,
        overrides={"llm": {"base_url": secret_url}, "seed": 3},
        **_run_options(root, notebooks),
    )
    executed = root / "book" / "chapters" / "01_first.ipynb"
    texts = {
        "notebook": executed.read_text(),
        "manifest": json.dumps(manifest),
        "manifest file": (root / "_build" / "results" / "manifest.json").read_text(),
        "reproducibility page": render_reproducibility(manifest),
    }
    for where, text in texts.items():
        for secret in ("PASSWORD", "SECRET-TOKEN", key):
            assert secret not in text, f"{secret} reached the {where}"
    assert "127.0.0.1:9/v1" in texts["reproducibility page"]  # the endpoint itself is kept
    assert str(tmp_path) not in texts["notebook"] and str(ROOT) not in texts["notebook"]
    notebook = nbformat.read(executed, as_version=4)
    parameter_cells = [c for c in notebook.cells if "params_file =" in c.source]
    assert len(parameter_cells) == 1
    assert set(parameter_cells[0].metadata["tags"]) == {"parameters", "injected-parameters"}
    assert '"seed": 3' in parameter_cells[0].source
    assert notebook.metadata["papermill"]["input_path"] == "01_first.md"
    assert notebook.metadata["papermill"]["output_path"] == "01_first.ipynb"


def test_papermill_users_can_pass_overrides_as_text(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    source = _chapter(
        notebooks,
        "01_first",
        "from helpers.config import load_params\n"
        "from helpers.data.storage import save_results\n"
        "save_results('01_first', {'length': load_params(params_file, overrides).window.length})",
    )
    staged = tmp_path / "input.ipynb"
    nbformat.write(source_notebook(source), staged)
    results = tmp_path / "results"
    monkeypatch.setenv("ALICE_RESULTS_DIR", str(results))
    # exactly what `papermill in.ipynb out.ipynb -p overrides '{"window": {"length": 20}}'` passes
    pm.execute_notebook(
        str(staged),
        str(tmp_path / "out.ipynb"),
        kernel_name="python3",
        cwd=str(ROOT),
        progress_bar=False,
        parameters={"params_file": str(QUICK), "overrides": '{"window": {"length": 20}}'},
    )
    assert json.loads((results / "01_first.json").read_text()) == {"length": 20}


def test_a_kernel_slow_to_start_is_given_a_second_try_then_named(tmp_path, monkeypatch):
    """papermill raises RuntimeError("Kernel didn't respond in N seconds") on a loaded machine."""
    chapter = _chapter(tmp_path / "notebooks", "01_first", "x = 1")
    calls = []
    real = pm.execute_notebook

    def slow_once(*args, **kwargs):
        calls.append(kwargs["start_timeout"])
        if len(calls) == 1:
            raise RuntimeError("Kernel didn't respond in 180 seconds")
        return real(*args, **kwargs)

    monkeypatch.setattr(runner.pm, "execute_notebook", slow_once)
    executed = runner.execute_chapter(chapter, QUICK, output_dir=tmp_path / "out")
    assert executed.is_file() and calls == [runner.KERNEL_START_TIMEOUT_S] * 2

    def never(*args, **kwargs):
        raise RuntimeError("Kernel didn't respond in 180 seconds")

    monkeypatch.setattr(runner.pm, "execute_notebook", never)
    with pytest.raises(runner.ChapterFailed, match="did not answer within 180 s, twice"):
        runner.execute_chapter(chapter, QUICK, output_dir=tmp_path / "out")


def test_ctrl_c_on_run_prints_one_line_and_keeps_finished_chapters(monkeypatch, capsys):
    from book_runner import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run", interrupted)
    assert cli.main(["run", "--params", str(QUICK)]) == 130
    error = capsys.readouterr().err.strip()
    assert error.startswith("interrupted:") and "\n" not in error and "Traceback" not in error

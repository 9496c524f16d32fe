"""What a published book may carry: no machine paths, one parameter set, no partial numbers."""

from __future__ import annotations

import json

import nbformat
import pytest
from test_book import ROOT, _chapter, _toc

from book_runner import html
from book_runner import runner as book
from book_runner.chapters import BookError
from book_runner.executed import OUTSIDE_LABEL, machine_path_labels, replace_paths


def test_replace_paths_keeps_other_folders_and_embedded_figures():
    labels = {"/home/ann/data": "$ALICE_DATA_HOME", "/home/ann": "~"}
    assert replace_paths("cache /home/ann/data/x.npz", labels) == "cache $ALICE_DATA_HOME/x.npz"
    assert replace_paths("see /home/ann.", labels) == "see ~."
    assert replace_paths("/home/anna/x", labels) == "/home/anna/x"
    figure = "iVBORw0KGgo/home/ann/data+AAA"  # base64 may spell a path by chance
    assert replace_paths({"image/png": figure}, labels) == {"image/png": figure}


def test_machine_path_labels_name_the_parameter_folder_only_outside_the_repository(tmp_path):
    inside = machine_path_labels(ROOT, ROOT / "params" / "quick.yml")
    assert OUTSIDE_LABEL not in inside.values()
    outside = machine_path_labels(ROOT, tmp_path / "mine.yml")
    assert outside[str(tmp_path)] == OUTSIDE_LABEL


def test_pages_of_a_run_with_outside_parameters_and_data_home_show_no_machine_path(
    tmp_path, monkeypatch
):
    home = tmp_path / "somewhere" / "data_home"
    monkeypatch.setenv("ALICE_DATA_HOME", str(home))
    params = tmp_path / "elsewhere" / "my_params.yml"
    params.parent.mkdir()
    params.write_text(f"base: {ROOT / 'params' / 'quick.yml'}\n")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _chapter(
        notebooks,
        "01_paths",
        "import os, sys\nfrom pathlib import Path\n"
        "print('cache in', os.environ['ALICE_DATA_HOME'] + '/cache/x.npz')\n"
        "print('warning: checksum of', Path(os.environ['ALICE_DATA_HOME']), file=sys.stderr)\n"
        "print('parameters from', Path(params_file).resolve())",
    )
    toc = _toc(tmp_path / "_toc.yml", ["01_paths"])
    output, results = tmp_path / "book" / "chapters", tmp_path / "results"
    manifest = book.run(
        params, notebook_dir=notebooks, output_dir=output, toc_file=toc, results=results
    )
    page = (output / "01_paths.ipynb").read_text()
    for private in (str(home), str(params.parent), str(tmp_path)):
        assert private not in page, f"{private} is published in the chapter"
    assert "$ALICE_DATA_HOME/cache/x.npz" in page
    assert f"{OUTSIDE_LABEL}/my_params.yml" in page
    assert manifest["params_file"] == f"{OUTSIDE_LABEL}/my_params.yml"


def test_a_failed_chapter_keeps_the_previous_numbers(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    save = "from helpers.data.storage import save_results\n"
    _chapter(notebooks, "01_numbers", save + "save_results('01_numbers', {'r': 0.5})")
    toc = _toc(tmp_path / "_toc.yml", ["01_numbers"])
    options = dict(notebook_dir=notebooks, output_dir=tmp_path / "out", toc_file=toc)
    results = tmp_path / "results"
    book.run(ROOT / "params" / "quick.yml", results=results, **options)
    _chapter(
        notebooks,
        "01_numbers",
        save + "save_results('01_numbers', {'r': 0.1})\nraise RuntimeError('half way')",
    )
    with pytest.raises(book.ChapterFailed, match="half way"):
        book.run(ROOT / "params" / "quick.yml", results=results, **options)
    assert json.loads((results / "01_numbers.json").read_text()) == {"r": 0.5}
    assert json.loads((results / "01_numbers.failed.json").read_text()) == {"r": 0.1}


def test_strict_html_refuses_a_book_of_two_parameter_sets(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("01_first", "02_second"):
        _chapter(notebooks, name, "x = 1")
    toc = _toc(tmp_path / "_toc.yml", ["01_first", "02_second"])
    results = tmp_path / "_build" / "results"
    options = dict(
        notebook_dir=notebooks,
        output_dir=tmp_path / "book" / "chapters",
        toc_file=toc,
        results=results,
    )
    book.run(ROOT / "params" / "quick.yml", **options)
    book.run(ROOT / "params" / "quick.yml", ["02"], {"seed": 7}, **options)
    with pytest.raises(BookError, match=r"2 different parameter sets \(01_first with .*02_second"):
        html.build_html(strict=True, root=tmp_path, results=results)
    executed = nbformat.read(tmp_path / "book" / "chapters" / "02_second.ipynb", as_version=4)
    assert executed.cells  # the chapters themselves are kept
    warnings = html.status_warnings({}, mixed="its chapters were executed with 2 sets")
    assert "not one run" in warnings["book/index"]

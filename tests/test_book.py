"""The orchestrator, the generated front matter and the book's configuration files."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from book_runner import chapters, cli, html
from book_runner import runner as book
from book_runner.front_matter import (
    CLAIMS,
    render_chapter_list,
    render_findings,
)
from book_runner.manifest import chapter_problems
from book_runner.pipeline_figure import draw_pipeline_figure
from book_runner.reproducibility import render_reproducibility
from book_runner.sphinx_assets import remove_duplicate_scripts

ROOT = Path(__file__).resolve().parent.parent

PARAMETERS_CELL = """```{code-cell} ipython3
:tags: [parameters]

params_file = "params/default.yml"
overrides = {}
```
"""


def _chapter(folder: Path, name: str, body: str) -> Path:
    """A tiny jupytext chapter with the parameters cell every chapter has."""
    source = folder / f"{name}.md"
    source.write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
        f"# {name}\n\n{PARAMETERS_CELL}\n```{{code-cell}} ipython3\n{body}\n```\n"
    )
    return source


def _toc(path: Path, chapters: list[str]) -> Path:
    entries = "\n".join(f"      - file: book/chapters/{c}" for c in chapters)
    path.write_text(
        f"format: jb-book\nroot: book/index\nparts:\n  - caption: Chapters\n    chapters:\n{entries}\n"
    )
    return path


# --- the table of contents and the sources agree -------------------------------------------------


def test_toc_lists_exactly_the_chapters_in_notebooks():
    sources = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.md"))
    listed = book.toc_chapters(ROOT / "_toc.yml")
    assert listed == sources, (
        f"_toc.yml lists {listed} but notebooks/ has {sources}: add or remove "
        "`- file: book/chapters/<name>` entries so they match"
    )


def test_toc_pages_exist():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for entry in chapters.toc_files(toc):
        if entry.startswith(book.CHAPTER_PREFIX):
            continue
        assert (ROOT / f"{entry}.md").is_file(), (
            f"_toc.yml names {entry} but {entry}.md does not exist"
        )


def test_run_executes_only_toc_chapters(tmp_path, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("01_first", "02_second", "03_draft"):
        _chapter(notebooks, name, "x = 1")
    toc = _toc(tmp_path / "_toc.yml", ["01_first", "02_second"])
    chosen = book.chapter_sources(None, notebooks, toc)
    assert [p.stem for p in chosen] == ["01_first", "02_second"]
    assert "skipping 03_draft" in capsys.readouterr().err
    assert [p.stem for p in book.chapter_sources(["02"], notebooks, toc)] == ["02_second"]
    with pytest.raises(book.BookError, match="unknown chapter.*03_draft"):
        book.chapter_sources(["03_draft"], notebooks, toc)


def test_toc_naming_a_missing_source_is_an_error(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _chapter(notebooks, "01_first", "x = 1")
    toc = _toc(tmp_path / "_toc.yml", ["01_first", "02_missing"])
    with pytest.raises(book.BookError, match="02_missing.*02_missing.md"):
        book.chapter_sources(None, notebooks, toc)


# --- a failing chapter stops the run, names notebook and cell, keeps what ran before --------------


def test_failing_chapter_is_named_and_earlier_results_are_kept(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _chapter(
        notebooks,
        "01_good",
        "from helpers.data.storage import save_results\nsave_results('01_good', {'answer': 42})",
    )
    _chapter(notebooks, "02_bad", "value = 1\nraise ValueError('the planted failure')")
    _chapter(notebooks, "03_never", "x = 1")
    toc = _toc(tmp_path / "_toc.yml", ["01_good", "02_bad", "03_never"])
    output, results = tmp_path / "executed", tmp_path / "results"

    with pytest.raises(book.ChapterFailed) as failure:
        book.run(
            ROOT / "params" / "quick.yml",
            notebook_dir=notebooks,
            output_dir=output,
            toc_file=toc,
            results=results,
        )
    message = str(failure.value)
    assert "chapter 02_bad failed in cell" in message
    assert "[value = 1]" in message  # the failing cell's first line
    assert "ValueError: the planted failure" in message

    assert json.loads((results / "01_good.json").read_text()) == {"answer": 42}
    assert (output / "01_good.ipynb").is_file()
    assert (output / "02_bad.ipynb").is_file()  # kept for inspection
    assert not (output / "03_never.ipynb").exists()
    manifest = json.loads((results / "manifest.json").read_text())
    statuses = {c["notebook"]: c["status"] for c in manifest["chapters"]}
    assert statuses == {"01_good": "ok", "02_bad": "failed"}
    assert manifest["chapters"][1]["failed_cell"].endswith("[value = 1]")
    assert manifest["params_file"] == "params/quick.yml"
    assert manifest["versions"]["numpy"] != "not installed"
    assert "finished" not in manifest
    problems = chapter_problems(manifest, ["01_good", "02_bad", "03_never"], output)
    assert (
        problems["02_bad"].startswith("it failed in cell") and "[value = 1]" in problems["02_bad"]
    )
    assert problems["03_never"] == "it has not been executed" and "01_good" not in problems

    # a later partial run keeps the other chapters' entries, in table-of-contents order
    _chapter(notebooks, "02_bad", "value = 2")
    manifest = book.run(
        ROOT / "params" / "quick.yml",
        ["02"],
        notebook_dir=notebooks,
        output_dir=output,
        toc_file=toc,
        results=results,
    )
    assert [(c["notebook"], c["status"]) for c in manifest["chapters"]] == [
        ("01_good", "ok"),
        ("02_bad", "ok"),
    ]
    assert all(c["seconds"] >= 0 for c in manifest["chapters"])


def test_cli_reports_bad_parameters_in_one_line(capsys):
    assert cli.main(["run", "--params", "params/quick.yml", "--set", '{"atlas": "nowhere"}']) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "atlas" in error and "\n" not in error


def test_cli_rejects_invalid_override_json(capsys):
    assert cli.main(["run", "--params", "params/quick.yml", "--set", "{window: 3"]) == 1
    assert "--set is not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["--set", "[1,2]"], "--set must be a mapping of parameter keys to values"),
        (["--set", '{"window": {"length": 371}}'], "window.length = 371 TR"),
        (["--set", '{"subjects": ["sub-40"]}'], "sub-40 is not in ds002322"),
        (["--set", '{"features": []}'], "give at least one feature set"),
    ],
)
def test_cli_reports_each_bad_setting_in_one_line(capsys, arguments, expected):
    assert cli.main(["run", "--params", "params/quick.yml", *arguments]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and expected in error and "\n" not in error


def test_cli_stops_before_any_chapter_when_the_mirror_folder_is_missing(
    capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("ALICE_MIRROR", str(tmp_path / "not-there"))
    monkeypatch.setattr(
        book, "chapter_sources", lambda *a, **k: pytest.fail("a chapter was about to run")
    )
    assert cli.main(["run", "--params", "params/quick.yml"]) == 1
    error = capsys.readouterr().err.strip()
    assert "ALICE_MIRROR=" in error and "not-there" in error and "\n" not in error


def test_cli_refuses_an_empty_parameter_file(capsys, tmp_path):
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    assert cli.main(["run", "--params", str(empty)]) == 1
    assert "empty.yml is empty" in capsys.readouterr().err


def test_html_refuses_unexecuted_chapters(tmp_path):
    html.copy_book_sources(tmp_path)
    assert (tmp_path / "_static" / "book.css").is_file()  # the copy is styled like the book
    with pytest.raises(book.BookError, match="have not been executed"):
        html.build_html(root=tmp_path)


def test_prepare_injects_parameters_and_setup_cell(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _chapter(notebooks, "01_first", "x = 1")
    [prepared] = book.prepare_chapters(
        "params/quick.yml",
        tmp_path / "out",
        notebook_dir=notebooks,
        toc_file=None,
        overrides={"subjects": 2},
    )
    import nbformat

    cells = nbformat.read(prepared, as_version=4).cells
    assert (
        book.SETUP_TAG in cells[0].metadata["tags"] and "remove-cell" in cells[0].metadata["tags"]
    )
    injected = [c for c in cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert 'params_file = "params/quick.yml"' in injected[0].source
    assert 'overrides = {"subjects": 2}' in injected[0].source
    assert all(not c.get("outputs") for c in cells if c.cell_type == "code")


# --- the landing page's numbers come from the results files -----------------------------------


def _write(folder: Path, name: str, payload: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(payload))


def test_findings_show_the_numbers_of_the_results_files(tmp_path):
    results = tmp_path / "results"
    _write(
        results,
        "02_preprocessing",
        {
            "dataset": "simulated",
            "n_subjects": 7,
            "atlas": "seitzman300",
            "n_rois": 300,
            "fc_within_networks": 0.3456,
            "fc_between_networks": 0.0123,
        },
    )
    _write(
        results,
        "04_regression",
        {
            "scores": [
                {
                    "model": "ridge",
                    "features": "dfc",
                    "cv": "random",
                    "emotion": "mean",
                    "r2": 0.612,
                    "r": 0.8,
                },
                {
                    "model": "ridge",
                    "features": "roi",
                    "cv": "random",
                    "emotion": "mean",
                    "r2": 0.301,
                    "r": 0.55,
                },
                {
                    "model": "ridge",
                    "features": "dfc",
                    "cv": "loso_blocked",
                    "emotion": "mean",
                    "r2": 0.071,
                    "r": 0.3,
                },
                {
                    "model": "ridge",
                    "features": "dfc",
                    "cv": "loso_blocked",
                    "emotion": "joy",
                    "r2": 0.1,
                    "r": 0.3,
                    "p_fdr": 0.01,
                },
                {
                    "model": "ridge",
                    "features": "dfc",
                    "cv": "loso_blocked",
                    "emotion": "fear",
                    "r2": 0.0,
                    "r": 0.1,
                    "p_fdr": 0.4,
                },
            ],
            "dfc_vs_roi": {
                "model": "ridge",
                "cv": "loso_blocked",
                "delta_r": 0.0456,
                "p_value": 0.0123,
            },
        },
    )
    _write(results, "05_explanations", {"dataset": "simulated"})
    chapters = ["01_annotation", "02_preprocessing", "04_regression", "05_explanations"]
    text = render_findings(
        results,
        chapters,
        {
            "params_file": "params/quick.yml",
            "git_commit": "abc123",
            "params": {"dataset": "simulated"},
        },
    )
    rows = {
        line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| {doc}")
    }
    assert "*not run yet*" in rows["{doc}`Emotion labels <chapters/01_annotation>`"]
    brain = rows["{doc}`Brain data <chapters/02_preprocessing>`"]
    assert "7 subjects" in brain and "0.35 within" in brain and "0.01 between" in brain
    random_split = rows["{doc}`Decoding, paper's split <chapters/04_regression>`"]
    assert "DFC: R² 0.61" in random_split and "ROI amplitude: R² 0.30" in random_split
    honest = rows["{doc}`Decoding, held-out listeners and story <chapters/04_regression>`"]
    assert "`loso_blocked`" in honest and "R² 0.07" in honest and "1 of 8 emotions" in honest
    assert (
        "Δr (DFC − ROI) = +0.046, joint permutation p = 0.0123"
        in rows["{doc}`DFC against ROI <chapters/04_regression>`"]
    )
    assert "`recovery_auroc`" in rows["{doc}`Explanations <chapters/05_explanations>`"]
    assert not any(
        "03_features" in line or "06_interpretation" in line for line in rows
    )  # not in toc
    assert "commit `abc123`" in text and "say nothing about real brains" in text


def test_every_claim_belongs_to_a_chapter_with_a_question():
    from book_runner.front_matter import CHAPTER_QUESTIONS

    assert {claim.chapter for claim in CLAIMS} <= set(CHAPTER_QUESTIONS)
    listing = render_chapter_list(["01_annotation", "02_preprocessing"])
    assert listing.count("{doc}") == 2 and "annotators" in listing


def test_recovery_auroc_is_averaged(tmp_path):
    results = tmp_path / "results"
    _write(results, "05_explanations", {"recovery_auroc": {"joy": 0.9, "fear": 0.7}})
    text = render_findings(results, ["05_explanations"])
    assert "mean AUROC 0.80 (range 0.70–0.90" in text


# --- the reproducibility page ------------------------------------------------------------------


def test_reproducibility_page_shows_commit_checksums_and_mixed_parameters():
    manifest = {
        "params_file": "params/quick.yml",
        "git_commit": "0123abcd",
        "started": "t0",
        "finished": "t1",
        "params": {"atlas": "seitzman300"},
        "versions": {"numpy": "2.4.6"},
        "chapters": [
            {"notebook": "01_annotation", "status": "ok", "seconds": 3.5, "params_digest": "aaa"},
            {
                "notebook": "02_preprocessing",
                "status": "failed",
                "seconds": 1.0,
                "params_digest": "bbb",
                "failed_cell": "cell 4 (index 5)",
            },
        ],
        "data_sources": [
            {
                "file": "ds002322/code/annotations.tsv",
                "sha256": "ff" * 32,
                "pinned": True,
                "matches_pin": False,
                "origin": "mirror",
            }
        ],
    }
    page = render_reproducibility(manifest)
    assert "`0123abcd`" in page and "4.5 s" in page and "cell 4 (index 5)" in page
    assert "ff" * 32 in page and "**MISMATCH**" in page
    assert "different parameter sets" in page
    assert "atlas: seitzman300" in page
    assert "not been executed" in render_reproducibility(None)


# --- static pieces of the product ---------------------------------------------------------------


def test_pipeline_figure_is_a_sized_svg(tmp_path):
    path = draw_pipeline_figure(tmp_path / "pipeline.svg")
    head = path.read_text()[:2000]
    assert re.search(r'<svg[^>]+width="[\d.]+pt"', head)
    assert "Regression" in path.read_text()


def test_duplicate_inline_scripts_are_removed():
    from sphinx.builders.html._assets import _JavaScript

    scripts = [
        _JavaScript("a.js"),
        _JavaScript(None, body="const X = 1"),
        _JavaScript("", body="const X = 1"),
        _JavaScript("a.js"),
        _JavaScript("b.js"),
    ]
    context = {"script_files": scripts}
    remove_duplicate_scripts(None, "index", "page.html", context, None)
    assert [str(s.filename or "") for s in context["script_files"]] == ["a.js", "", "b.js"]


def test_launch_buttons_and_repository_are_configured():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"].startswith("https://github.com/")
    assert config["repository"]["branch"]
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert config["execute"]["execute_notebooks"] == "off"
    assert "book_runner.sphinx_assets" in config["sphinx"]["extra_extensions"]
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "-c constraints.txt" in post_build and "book_runner prepare" in post_build


def test_conda_environment_matches_the_pip_install():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    dependencies = environment["dependencies"]
    assert "python=3.11" in dependencies
    pip_section = next(d["pip"] for d in dependencies if isinstance(d, dict))
    assert "-c constraints.txt" in pip_section and any(
        line.startswith("-e .") for line in pip_section
    )


def test_citation_file_is_complete_and_versioned():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    for key in ("cff-version", "message", "title", "authors", "version", "license"):
        assert citation.get(key), f"CITATION.cff lacks {key}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert citation["version"] == project["version"]
    assert any("2606.07707" in str(ref) for ref in citation["references"])


def test_bibliography_has_the_works_the_book_relies_on():
    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    for key in (
        "alice2026decoding",
        "bhattasali2020alice",
        "plutchik1980emotion",
        "haufe2014interpretation",
        "leonardi2015spurious",
        "seitzman2020functional",
        "schaefer2018local",
        "lindquist2012brain",
    ):
        assert key in keys
    cited = set()
    for page in [*(ROOT / "book").glob("*.md"), *(ROOT / "notebooks").glob("*.md")]:
        cited |= {
            k.strip()
            for group in re.findall(r"\{cite[:a-z]*\}`([^`]+)`", page.read_text())
            for k in group.split(",")
        }
    assert cited <= keys, f"cited but not in references.bib: {sorted(cited - keys)}"


def test_features_row_reads_the_feature_sets(tmp_path):
    results = tmp_path / "results"
    _write(
        results,
        "03_features",
        {
            "window_length": 12,
            "window_shape": "rectangular",
            "n_rois": 300,
            "feature_sets": {"dfc": {"n_samples": 100, "n_features": 44850}},
            "fluctuation_ratio_at_window": 1.234,
            "fluctuation_p_at_window": 0.04,
        },
    )
    text = render_findings(results, ["03_features"])
    assert (
        "12-TR rectangular windows: 44,850 edges" in text and "1.23x" in text and "p = 0.04" in text
    )


def test_interpretation_row_gives_the_conclusion_beside_the_planted_account(tmp_path):
    results = tmp_path / "results"
    table = [
        {"role": "in the conclusion", "favours": "locationist"},
        {"role": "in the conclusion", "favours": "inconclusive"},
        {"role": "descriptive", "favours": "constructionist"},  # shown, never counted
    ]
    _write(
        results,
        "06_interpretation",
        {"conclusion": "locationist", "planted_account": "locationist", "table": table},
    )
    text = render_findings(results, ["06_interpretation"])
    assert "concludes locationist (1 of 2 kept indices name it)" in text
    assert "the planted account is locationist" in text
    by_decoder = [
        {"index": "roi_specificity (dfc)", "role": "in the conclusion", "favours": "locationist"},
        {"index": "cross_share (dfc)", "role": "in the conclusion", "favours": "inconclusive"},
        {
            "index": "cross_share (roi_window)",
            "role": "in the conclusion",
            "favours": "locationist",
        },
    ]
    document = {"conclusion": "locationist", "explained_features": "dfc", "table": by_decoder}
    _write(results, "06_interpretation", document)
    text = render_findings(results, ["06_interpretation"])
    assert "concludes locationist (1 of 2 kept indices of the dfc decoder name it)" in text
    _write(results, "06_interpretation", {"conclusion": "inconclusive", "table": table})
    text = render_findings(results, ["06_interpretation"])
    assert "concludes inconclusive" in text and "chapter 08's verdict table" in text

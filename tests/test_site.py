"""The built book as a reader sees it: a strict build, then every page in headless Chromium.

The chapters are executed once on ``params/quick.yml`` into ``_build/quick-book`` (a copy of the
book's pages, so the working tree's own build is untouched), built with warnings as errors, served
on 127.0.0.1 and opened page by page. Screenshots of every page go to ``_build/screenshots``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from helpers.book import html
from helpers.book import runner as book
from helpers.book.front_matter import render_findings
from helpers.book.site_check import CHROMIUM, check_site

ROOT = Path(__file__).resolve().parent.parent
QUICK_BOOK = ROOT / "_build" / "quick-book"
SCREENSHOTS = ROOT / "_build" / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).is_file():
        setup = subprocess.run(
            ["bash", str(ROOT / "tests" / "setup_browser.sh")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert setup.returncode == 0 and Path(CHROMIUM).is_file(), (
            f"could not install chromium with tests/setup_browser.sh:\n{setup.stdout}\n{setup.stderr}"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def built_book() -> Path:
    """Execute the chapters on quick parameters and build the book strictly (-W --keep-going)."""
    shutil.rmtree(QUICK_BOOK, ignore_errors=True)
    return html.build_copy(ROOT / "params" / "quick.yml", QUICK_BOOK, strict=True)


@pytest.fixture(scope="module")
def reports(built_book: Path, chromium: str):
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    return {report.page: report for report in check_site(built_book, SCREENSHOTS, chromium)}


def test_every_chapter_page_was_built(built_book: Path) -> None:
    for chapter in book.toc_chapters(ROOT / "_toc.yml"):
        assert (built_book / "book" / "chapters" / f"{chapter}.html").is_file()
    for page in ("index", "reproducibility", "instructors", "references"):
        assert (built_book / "book" / f"{page}.html").is_file()


def test_no_machine_path_or_unfinished_chapter_in_the_published_book(built_book: Path) -> None:
    from helpers.data.storage import get_data_home

    machine = [str(ROOT), str(QUICK_BOOK), str(get_data_home()), "PosixPath("]
    for path in built_book.rglob("*"):
        if path.suffix in {".html", ".ipynb", ".md", ".txt"}:
            text = path.read_text(errors="ignore")
            found = [m for m in machine if m in text]
            assert not found, f"{path.relative_to(built_book)} shows {found}"
            assert "chapter-status" not in text, (
                f"{path.relative_to(built_book)} is marked unfinished"
            )


def test_every_page_renders_cleanly_in_a_browser(reports) -> None:
    problems = [problem for report in reports.values() for problem in report.problems]
    assert not problems, "\n".join(problems)
    for name, report in reports.items():
        assert report.screenshot is not None and report.screenshot.stat().st_size > 10_000, name
        if name.startswith("book/chapters/"):
            assert report.n_figures > 0, f"{name} shows no figure"


def test_interactive_connectome_renders_when_present(reports) -> None:
    pages = [r for r in reports.values() if r.n_connectomes]
    if "05_explanations" in book.toc_chapters(ROOT / "_toc.yml"):
        assert any(r.page.endswith("05_explanations.html") for r in pages), (
            "chapter 05 should embed nilearn's interactive connectome view"
        )
    for report in pages:
        assert not report.broken_connectomes, report.broken_connectomes


def test_landing_page_numbers_equal_the_results_files(built_book: Path) -> None:
    results = QUICK_BOOK / "_build" / "results"
    chapters = book.toc_chapters(ROOT / "_toc.yml")
    manifest = json.loads((results / "manifest.json").read_text())
    expected = render_findings(results, chapters, manifest)
    assert "not run yet" not in expected and "not reported" not in expected, expected
    page = unescape(re.sub(r"<[^>]+>", " ", (built_book / "book" / "index.html").read_text()))
    page = re.sub(r"\s+", " ", page)
    numbers = re.findall(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?", re.sub(r"`[^`]*`", "", expected))
    assert numbers, "the findings table shows no number"
    missing = [n for n in numbers if n not in page]
    assert not missing, f"numbers of the results files absent from the landing page: {missing}"
    for chapter in chapters:
        assert (results / f"{chapter}.json").is_file()


def test_checker_catches_a_broken_page(tmp_path: Path, chromium: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "bad.html").write_text(
        "<html><head><title>bad</title></head><body><p>text</p>"
        '<img src="missing.png"><div class="output stderr">Traceback (most recent call last):\n'
        "ValueError: boom</div><script>notDefinedAnywhere()</script>"
        "<p>sk-" + "a1B2c3D4" * 4 + "</p></body></html>"
    )
    (site / "good.html").write_text(
        "<html><head><title>ok</title></head><body><p>fine</p></body></html>"
    )
    found = {r.page: r for r in check_site(site, None, chromium)}
    assert found["good.html"].problems == []
    bad = found["bad.html"]
    assert any("notDefinedAnywhere" in e for e in bad.javascript_errors)
    assert any(src.endswith("missing.png") for src in bad.broken_images)
    assert bad.error_outputs and "Traceback" in bad.error_outputs[0]
    assert bad.api_keys


def test_a_chapter_page_without_figures_is_a_problem() -> None:
    from helpers.book.site_check import PageReport

    logos_only = PageReport(page="book/chapters/02_preprocessing.html", n_images=2, n_figures=0)
    assert any("no figure" in problem for problem in logos_only.problems)
    assert not PageReport(
        page="book/chapters/02_preprocessing.html", n_images=5, n_figures=3
    ).problems
    assert not PageReport(page="book/instructors.html", n_images=2, n_figures=0).problems

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
from site_check import CHROMIUM, check_site

from book_runner import html
from book_runner import runner as book
from book_runner.front_matter import render_findings

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


def test_formulas_are_typeset_from_the_site_itself(built_book: Path, reports) -> None:
    """MathJax ships inside the built site and typesets every formula (no request left the site)."""
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").is_file()
    fonts = list(
        (built_book / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff")
    )
    assert fonts, "MathJax's fonts were not copied into the site"
    with_math = {name: r for name, r in reports.items() if r.n_formulas}
    assert any(name.startswith("book/chapters/") for name in with_math), (
        "no chapter page has a formula: the math check would prove nothing"
    )
    for name, report in with_math.items():
        assert report.n_typeset >= report.n_formulas, name
        assert not report.foreign_requests and not report.math_problems, name


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


def test_a_chapter_page_without_figures_or_sections_is_a_problem() -> None:
    from anatomy_check import REQUIRED_SECTIONS
    from site_check import PageReport

    chapter = "book/chapters/02_preprocessing.html"
    sections = ["The data", *REQUIRED_SECTIONS]
    logos_only = PageReport(page=chapter, n_images=2, n_figures=0, sections=sections)
    assert any("no figure" in problem for problem in logos_only.problems)
    assert not PageReport(page=chapter, n_images=5, n_figures=3, sections=sections).problems
    assert not PageReport(page="book/instructors.html", n_images=2, n_figures=0).problems
    no_summary = [name for name in sections if name != "Summary"]
    found = PageReport(page=chapter, n_figures=3, sections=no_summary).problems
    assert found == [f"{chapter}: chapter section missing: Summary"]
    swapped = PageReport(
        page=chapter, n_figures=3, sections=[*sections[:-2], "Exercises", "What's next"]
    )
    assert any("(order)" in problem for problem in swapped.problems)


# A chapter page as Jupyter Book and sphinx-exercise render it (trimmed): numbered sections with
# header links, code cells, exercises whose solutions are dropdowns collapsed by the real
# sphinx-togglebutton script, and glossary links.
_TOGGLE = (
    '<link rel="stylesheet" href="../../_static/togglebutton.css">'
    "<script>let toggleHintShow = 'Click to show'; let toggleHintHide = 'Click to hide';"
    "let toggleOpenOnPrint = 'true';</script>"
    '<script src="../../_static/togglebutton.js"></script>'
    "<script>var togglebuttonSelector = '.toggle, .admonition.dropdown';</script>"
    "<style>pre { overflow-x: auto; white-space: pre; } main { width: 900px; }</style>"
)
_FIGURE = (
    '<div class="cell_output"><img alt="figure" src="data:image/png;base64,'
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=">'
    "</div>"
)


def _section(title: str, number: int, body: str = "<p>Text.</p>") -> str:
    slug = title.lower().replace("'", "-").replace(" ", "-")
    return (
        f'<section id="{slug}"><h2><span class="section-number">1.{number}. </span>{title}'
        f'<a class="headerlink" href="#{slug}">#</a></h2>{body}</section>'
    )


def _code(text: str) -> str:
    return (
        '<div class="cell docutils container"><div class="cell_input docutils container">'
        f'<div class="highlight"><pre>{text}</pre></div></div></div>'
    )


def _exercise(label: str) -> str:
    return (
        f'<div class="exercise admonition" id="{label}"><p class="admonition-title">'
        f'<span class="caption-number">Exercise </span> ({label})</p>'
        "<section><p>Question.</p></section></div>"
    )


def _solution(label: str, dropdown: bool = True) -> str:
    classes = "solution dropdown admonition" if dropdown else "solution admonition"
    return (
        f'<div class="{classes}" id="sol-{label}"><p class="admonition-title">Solution to'
        f'<a class="reference internal" href="#{label}"> Exercise ({label})</a></p>'
        f'<section id="solution-content"><p>The answer to {label}.</p></section></div>'
    )


def _chapter_page(sections: str) -> str:
    return (
        f'<html><head><meta charset="utf-8"><title>chapter</title>{_TOGGLE}</head>'
        "<body><main><article>"
        f'<section id="chapter"><h1>Chapter</h1>{sections}</section>'
        "</article></main></body></html>"
    )


def test_checker_catches_what_a_student_would_trip_over(tmp_path: Path, chromium: str) -> None:
    from importlib.resources import files

    site = tmp_path / "site"
    (site / "book" / "chapters").mkdir(parents=True)
    (site / "_static").mkdir()
    for name in ("togglebutton.js", "togglebutton.css"):
        (site / "_static" / name).write_bytes(
            (files("sphinx_togglebutton") / "_static" / name).read_bytes()
        )
    (site / "book" / "glossary.html").write_text(
        '<html><head><title>Glossary</title></head><body><dl class="glossary">'
        '<dt id="term-DFC">DFC</dt><dd>Dynamic functional connectivity.</dd></dl></body></html>'
    )
    term = (
        '<a class="reference internal" href="../glossary.html#term-DFC">'
        '<span class="xref std std-term">DFC</span></a>'
    )
    exercises = "".join(
        _exercise(label) + _solution(label) for label in ("ex-01-a", "ex-01-b", "ex-01-c")
    )
    good = [
        _section("Overview", 1, f"<p>About {term}.</p>"),
        _section("Prerequisites", 2),
        _section("The work", 3, _code("x = 1  # " + "a" * 78) + _FIGURE),
        _section("Summary", 4),
        _section("What\u2019s next", 5),  # Sphinx's smart quotes
        _section("Exercises", 6, exercises),
    ]
    (site / "book" / "chapters" / "01_good.html").write_text(_chapter_page("".join(good)))
    broken_term = '<a class="reference internal" href="../glossary.html#term-Nothing">nothing</a>'
    unlinked = '<span class="xref std std-term">Wonderland index</span>'
    bad_exercises = (
        _exercise("ex-01-a")
        + _solution("ex-01-a")
        + _exercise("ex-01-unsolved")
        + _exercise("ex-01-open")
        + _solution("ex-01-open", dropdown=False)
    )
    bad = [
        _section("Overview", 1, f"<p>About {term}, {broken_term} and {unlinked}.</p>"),
        _section("Prerequisites", 2),
        _section("The work", 3, _code("x = 1  # " + "a" * 200) + _FIGURE),
        _section("What's next", 4),
        _section("Exercises", 5, bad_exercises),
    ]
    (site / "book" / "chapters" / "01_bad.html").write_text(_chapter_page("".join(bad)))

    found = {r.page: r for r in check_site(site, None, chromium)}
    good_report = found["book/chapters/01_good.html"]
    assert good_report.problems == []
    assert good_report.exercises == ["ex-01-a", "ex-01-b", "ex-01-c"]
    assert good_report.sections == [
        "Overview",
        "Prerequisites",
        "The work",
        "Summary",
        "What's next",
        "Exercises",
    ]
    bad_report = found["book/chapters/01_bad.html"]
    assert bad_report.missing_sections == ["Summary"]
    assert len(bad_report.wide_code) == 1 and "aaaa" in bad_report.wide_code[0]
    assert bad_report.unsolved_exercises == ["ex-01-unsolved (Exercise (ex-01-unsolved))"]
    assert bad_report.visible_solutions == ["Solution to Exercise (ex-01-open)"]
    assert bad_report.broken_glossary_links == ["../glossary.html#term-Nothing (nothing)"]
    assert bad_report.unlinked_terms == ["Wonderland index"]
    assert not bad_report.javascript_errors and not bad_report.orphan_solutions


def _mathjax_site(site: Path) -> None:
    """The MathJax copy the book ships (scripts and fonts), as the build places it."""
    from importlib.util import find_spec

    spec = find_spec("sphinx-mathjax-offline")
    assert spec is not None and spec.origin, "sphinx-mathjax-offline is not installed"
    shutil.copytree(Path(spec.origin).parent / "static" / "mathjax", site / "_static" / "mathjax")


def test_checker_fails_a_page_that_needs_the_network_or_leaves_raw_tex(
    tmp_path: Path, chromium: str
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _mathjax_site(site)
    local_mathjax = '<script defer src="_static/mathjax/tex-chtml.js"></script>'
    formula = (
        '<p>The correlation <span class="math notranslate nohighlight">\\(\\rho_{xy}\\)</span>.</p>'
    )
    (site / "typeset.html").write_text(
        f"<html><head><title>ok</title>{local_mathjax}</head><body>{formula}</body></html>"
    )
    (site / "cdn.html").write_text(
        "<html><head><title>cdn</title>"
        '<script defer src="https://cdn.example.org/mathjax/tex-chtml.js"></script>'
        '<link rel="stylesheet" href="https://fonts.example.org/css?family=Lato">'
        f"</head><body>{formula}</body></html>"
    )
    (site / "raw.html").write_text(
        f"<html><head><title>raw</title>{local_mathjax}</head><body>"
        "<p>Fisher's $z = \\operatorname{artanh}(r)$ was never parsed.</p>"
        "<pre>echo $HOME and $PATH</pre></body></html>"
    )
    found = {r.page: r for r in check_site(site, None, chromium)}
    typeset = found["typeset.html"]
    assert typeset.problems == [] and typeset.n_formulas == 1 and typeset.n_typeset == 1
    cdn = found["cdn.html"]
    assert cdn.foreign_requests == [
        "https://cdn.example.org/mathjax/tex-chtml.js",
        "https://fonts.example.org/css?family=Lato",
    ]
    assert any("MathJax did not load" in p for p in cdn.problems)
    assert any("formula not typeset" in p and "rho" in p for p in cdn.problems)
    assert any("request to another host" in p for p in cdn.problems)
    raw = found["raw.html"].math_problems
    assert raw == ["raw TeX left in the text: '$z = \\\\operatorname{artanh}(r)$'"]

"""Every chapter source follows the chapter anatomy; the checker itself on small synthetic chapters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from anatomy_check import check_chapter, check_chapters, exercise_labels, glossary_terms

from book_runner.chapters import toc_chapters

ROOT = Path(__file__).resolve().parent.parent
TERMS = {"dfc", "purge gap", "roi"}

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

CODE_CELL = "```{code-cell} ipython3\n%s\n```\n"


def exercise(label: str, title: str = "A question", solution_class: str = "dropdown") -> str:
    return (
        f"```{{exercise}} {title}\n:label: {label}\n\nWhy does this happen? Predict, then "
        f"explain.\n```\n\n```{{solution}} {label}\n:class: {solution_class}\n\n"
        "Because of the reasons given in the chapter, at some length.\n```\n"
    )


def coding_exercise(label: str = "ex-03-mean", assertion: str = "assert check_mean(answer)") -> str:
    return (
        f"```{{exercise}} Compute the mean\n:label: {label}\n\nWrite the mean of `x`.\n```\n\n"
        + CODE_CELL % "answer = ..."
        + "\n"
        + CODE_CELL % "check_mean(answer)"
        + f"\n+++\n\n```{{solution-start}} {label}\n:class: dropdown\n```\n\n"
        + CODE_CELL % f"answer = x.mean()\n{assertion}"
        + "\n+++\n\n```{solution-end}\n```\n"
    )


PROSE = (
    "This paragraph explains what the code does and why it matters for the decoding of "
    "emotions, with enough words to outweigh the short code cells of the chapter. " * 6
)


def chapter(
    *,
    objectives: int = 4,
    time_to_run: bool = True,
    summary: str = "The mean is {glue:text}`mean:.3f`, as computed above.",
    sections: tuple[str, ...] = ("Overview", "Prerequisites", "Summary", "What's next"),
    exercises: str | None = None,
    body_code: str = "x = np.arange(10)",
    extra_prose: str = "",
) -> str:
    """A small chapter that follows the anatomy unless told otherwise."""
    bullets = "\n".join(f"- Compute thing number {i}." for i in range(objectives))
    text = {
        "Overview": f"The question of the chapter, about {{term}}`DFC`.\n\n"
        f"**Learning objectives**\n\n{bullets}\n",
        "Prerequisites": "Chapter {doc}`02_preprocessing` and the {term}`purge gap <Purge gap>`."
        + (
            "\n\n**Time to run**: 3 s on params/quick.yml, 9 s on params/default.yml (2 cores)."
            if time_to_run
            else ""
        )
        + "\n",
        "Summary": CODE_CELL % 'glue("mean", float(x.mean()), display=False)' + f"\n{summary}\n",
        "What's next": "The next chapter decodes the emotions.\n",
    }
    if exercises is None:
        exercises = exercise("ex-03-one") + "\n" + exercise("ex-03-two") + "\n" + coding_exercise()
    parts = [HEADER, "\n# A title\n\nOne short paragraph.\n"]
    for name in sections:
        parts.append(f"\n## {name}\n\n{text[name]}")
        if name == "Prerequisites":
            parts.append("\n## The work\n\n" + PROSE + extra_prose + "\n\n" + CODE_CELL % body_code)
    parts.append("\n## Exercises\n\n" + exercises)
    return "".join(parts)


def problems_of(text: str) -> list[str]:
    return check_chapter(text, TERMS, number="03")


def test_a_chapter_that_follows_the_anatomy_has_no_problem() -> None:
    assert problems_of(chapter()) == []


def test_missing_and_misordered_sections_are_named() -> None:
    assert problems_of(chapter().replace("## What's next", "## What\u2019s next")) == []
    found = problems_of(chapter(sections=("Overview", "Summary", "Prerequisites")))
    assert any("missing the section `## What's next`" in p for p in found)
    assert any("out of order" in p for p in found)
    assert not any("missing the section `## Overview`" in p for p in found)


def test_learning_objectives_must_be_three_to_five() -> None:
    assert any("lists 2 learning objectives" in p for p in problems_of(chapter(objectives=2)))
    assert any("lists 6 learning objectives" in p for p in problems_of(chapter(objectives=6)))
    assert not any("objectives" in p for p in problems_of(chapter(objectives=5)))


def test_prerequisites_need_a_time_to_run() -> None:
    assert any("Time to run" in p for p in problems_of(chapter(time_to_run=False)))
    unmeasured = chapter().replace("3 s on", "TIME_QUICK s on")
    assert any("fewer than two measured times" in p for p in problems_of(unmeasured))


def test_summary_numbers_must_be_glued() -> None:
    found = problems_of(chapter(summary="The mean is 4.5."))
    assert any("`## Summary` inserts no computed number" in p for p in found)


def test_exercises_need_labels_hidden_solutions_and_three_of_them() -> None:
    two = exercise("ex-03-one") + coding_exercise()
    assert any("2 {exercise} directive(s)" in p for p in problems_of(chapter(exercises=two)))
    shown = exercise("ex-03-one", solution_class="tip") + exercise("ex-03-two") + coding_exercise()
    assert any(
        "solution of 'ex-03-one' is not hidden" in p for p in problems_of(chapter(exercises=shown))
    )
    unsolved = (
        "```{exercise} Lonely\n:label: ex-03-lonely\n\nNo answer.\n```\n"
        + exercise("ex-03-two")
        + coding_exercise()
    )
    assert any(
        "'ex-03-lonely' has no {solution}" in p for p in problems_of(chapter(exercises=unsolved))
    )
    unlabelled = "```{exercise} No label\n\nQ.\n```\n" + exercise("ex-03-two") + coding_exercise()
    assert any("has no :label:" in p for p in problems_of(chapter(exercises=unlabelled)))
    wrong_number = exercise("ex-04-one") + exercise("ex-03-two") + coding_exercise()
    found = problems_of(chapter(exercises=wrong_number))
    assert any("'ex-04-one' should start with `ex-03-`" in p for p in found)


def test_a_coding_exercise_needs_a_gated_solution_that_asserts_its_check() -> None:
    plain = exercise("ex-03-one") + exercise("ex-03-two") + exercise("ex-03-three")
    assert any("no coding exercise" in p for p in problems_of(chapter(exercises=plain)))
    untested = exercise("ex-03-one") + exercise("ex-03-two") + coding_exercise(assertion="pass")
    assert any("no gated solution asserts" in p for p in problems_of(chapter(exercises=untested)))
    unclosed = (
        exercise("ex-03-one")
        + exercise("ex-03-two")
        + coding_exercise().replace("```{solution-end}\n```\n", "")
    )
    assert any("has no {solution-end}" in p for p in problems_of(chapter(exercises=unclosed)))
    written = (
        exercise("ex-03-one")
        + exercise("ex-03-two")
        + coding_exercise().replace("answer = x.mean()\nassert check_mean(answer)", "")
    )
    found = problems_of(chapter(exercises=written.replace("```{code-cell} ipython3\n\n```\n", "")))
    assert any("has no code cell between" in p for p in found)
    no_cell = exercise("ex-03-one") + exercise("ex-03-two") + coding_exercise()
    no_cell = no_cell.replace("answer = ...", "answer = None")
    found = problems_of(chapter(exercises=no_cell))
    assert any("leaves no cell for the student" in p for p in found)


def test_long_cells_long_lines_and_too_little_prose_are_reported() -> None:
    long_cell = "\n".join(f"x{i} = {i}" for i in range(13))
    assert any("has 13 lines (at most 12)" in p for p in problems_of(chapter(body_code=long_cell)))
    long_line = "x = np.arange(10)  # " + "a" * 80
    assert any(
        "has 101 characters (at most 88)" in p for p in problems_of(chapter(body_code=long_line))
    )
    heavy = "\n".join(["y = np.linspace(0.0, 1.0, 1000) ** 2 + np.sqrt(np.arange(1000.0))"] * 12)
    text = chapter(body_code=heavy)
    for _ in range(12):
        text = text.replace("## Exercises", CODE_CELL % heavy + "\n## Exercises", 1)
    assert any("less prose than code" in p for p in problems_of(text))


def test_glossary_terms_are_case_insensitive_and_unknown_ones_are_named() -> None:
    ok = chapter(extra_prose=" See {term}`dfc`, {term}`ROI` and {term}`purge\n  gap`.")
    assert problems_of(ok) == []
    found = problems_of(chapter(extra_prose=" See {term}`Wonderland index`."))
    assert found == [
        "{term}`Wonderland index` is not in book/glossary.md: use an existing term "
        "(`{term}`text <Term>`` for another wording) or ask for the term to be added"
    ]


def test_the_book_glossary_is_read() -> None:
    terms = glossary_terms(ROOT / "book" / "glossary.md")
    assert {"dfc", "purge gap", "fisher z", "constructionist account"} <= terms
    assert not any(term.startswith(("```", ":")) or term != term.strip() for term in terms)


def test_every_chapter_follows_the_anatomy() -> None:
    """Fails, listing every problem of every chapter, until the chapters follow the anatomy."""
    report = check_chapters(ROOT / "notebooks", ROOT / "book" / "glossary.md")
    assert report, "no chapter sources found"
    failing = {name: problems for name, problems in report.items() if problems}
    message = "\n".join(
        f"{name} ({len(problems)} problem(s)):\n" + "\n".join(f"  - {p}" for p in problems)
        for name, problems in failing.items()
    )
    if failing:
        pytest.fail("chapters that do not follow the anatomy:\n" + message, pytrace=False)


def test_a_folder_without_chapters_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no chapter sources"):
        check_chapters(tmp_path, ROOT / "book" / "glossary.md")


INSTRUCTORS = ROOT / "book" / "instructors.md"
LABEL = re.compile(r"`(ex-(\d\d)-[a-z0-9-]+)`")


def _plans() -> dict[str, str]:
    """The instructors' page, split into its ``### Chapter N`` sections (keyed by "NN")."""
    text = INSTRUCTORS.read_text()
    parts = re.split(r"^### Chapter (\d+)\b.*$", text, flags=re.MULTILINE)
    return {f"{int(number):02d}": body for number, body in zip(parts[1::2], parts[2::2])}


def test_instructors_page_plans_every_chapter() -> None:
    plans = _plans()
    text = INSTRUCTORS.read_text()
    chapters = toc_chapters(ROOT / "_toc.yml")
    times = {}
    for name in chapters:
        number = name[:2]
        assert number in plans, f"book/instructors.md has no `### Chapter {int(number)}` plan"
        labels = {label for label, owner in LABEL.findall(plans[number]) if owner == number}
        assert len(labels) >= 3, f"the plan of chapter {number} names {sorted(labels)}"
        assert "| learning objective | exercise |" in plans[number]
        assert "Before class" in plans[number]
        row = re.search(rf"^\| {int(number)}\. .*\| (\d+) s \|$", text, flags=re.MULTILINE)
        assert row, f"the run-time table has no row for chapter {number}"
        times[number] = int(row[1])
    whole = re.search(r"^\| whole book \|.*\| (\d+) s \|$", text, flags=re.MULTILINE)
    assert whole and abs(int(whole[1]) - sum(times.values())) <= len(times), (
        f"the whole-book time should be the sum of the chapters' {sum(times.values())} s"
    )


def test_instructors_page_names_only_existing_exercises() -> None:
    """Fails, naming each label, while the page refers to exercises the chapters do not have."""
    sources = {path.stem[:2]: path for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.md")}
    labels = {number: set(exercise_labels(path.read_text())) for number, path in sources.items()}
    named = sorted(set(LABEL.findall(INSTRUCTORS.read_text())))
    assert named, "book/instructors.md names no exercise"
    missing = [
        f"{label} (not an exercise of notebooks/{sources[number].name})"
        if number in sources
        else f"{label} (no chapter {number})"
        for label, number in named
        if label not in labels.get(number, set())
    ]
    if missing:
        pytest.fail(
            "book/instructors.md names exercises the chapters do not have:\n  "
            + "\n  ".join(missing),
            pytrace=False,
        )

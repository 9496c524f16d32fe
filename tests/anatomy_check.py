"""Check every chapter source against the book's chapter anatomy, before anything is executed.

Every chapter has the same shape, so a reader (and an instructor) finds the same things in the
same places: a title, ``## Overview`` with 3-5 learning objectives, ``## Prerequisites`` with the
time to run, the chapter's own sections, ``## Summary`` whose numbers are glued from code,
``## What's next`` and ``## Exercises`` (at least three, each with a hidden solution, one of them a
coding exercise whose gated solution runs during the build). Short cells and lines keep the code
readable on a page, and prose at least as long as the code keeps it a book. :func:`check_chapter`
returns what to fix in one chapter, one readable line per problem; :func:`check_chapters` does it
for every source in ``notebooks/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext

from book_runner.chapters import ROOT

REQUIRED_SECTIONS = ("Overview", "Prerequisites", "Summary", "What's next", "Exercises")
MIN_OBJECTIVES, MAX_OBJECTIVES = 3, 5
MIN_EXERCISES = 3
MAX_CELL_LINES = 12
MAX_LINE_LENGTH = 88
GLOSSARY = ROOT / "book" / "glossary.md"
NOTEBOOKS = ROOT / "notebooks"

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\s*(?P<rest>.*)$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w-]+)\}\s*(?P<argument>.*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+\S")
_TERM = re.compile(r"\{term\}`(?P<text>[^`]+)`")
_GLUE = re.compile(r"\{glue(?::\w+)?\}`")
_PLACEHOLDER = re.compile(r"^\s*\w+\s*=\s*\.\.\.\s*(?:#.*)?$", re.MULTILINE)
_SECONDS = re.compile(r"\b\d+(?:\.\d+)?\s*(?:s|sec|seconds|min|minutes)\b")
_ASSERT = re.compile(r"^\s*assert\b", re.MULTILINE)
_FSTRING_PRINT = re.compile(r"\bprint\(\s*f[\"']")


@dataclass
class Directive:
    """A MyST directive found in a markdown cell (only its name, argument and options)."""

    name: str
    argument: str
    options: dict[str, str]
    cell: int


@dataclass
class _Chapter:
    """A chapter source split into what the checks need."""

    cells: list  # jupytext cells
    headings: list[tuple[int, str, int]] = field(default_factory=list)  # level, title, cell
    directives: list[Directive] = field(default_factory=list)
    sections: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def glossary_terms(glossary: Path = GLOSSARY) -> set[str]:
    """The terms of the ``{glossary}`` block of ``glossary`` in lower case (Sphinx matches
    ``{term}`` references case-insensitively)."""
    text = Path(glossary).read_text(encoding="utf-8")
    terms: set[str] = set()
    inside = False
    for line in text.splitlines():
        fence = _FENCE.match(line.strip())
        if fence and not inside and fence.group("rest").startswith("{glossary}"):
            inside = True
            continue
        if inside and fence and not fence.group("rest"):
            inside = False
            continue
        if inside and line.strip() and not line[0].isspace() and not line.startswith(":"):
            terms.add(line.strip().lower())
    if not terms:
        raise ValueError(f"{glossary} has no ```{{glossary}} block with terms")
    return terms


def _markdown_lines_outside_fences(source: str) -> list[str]:
    """The lines of a markdown cell that are not inside a fenced block or directive."""
    lines, fence = [], None
    for line in source.splitlines():
        match = _FENCE.match(line.strip())
        if fence is None and match:
            fence = match.group("fence")
            continue
        if fence is not None:
            if match and match.group("fence") == fence and not match.group("rest"):
                fence = None
            continue
        lines.append(line)
    return lines


def _directives(source: str, cell: int) -> list[Directive]:
    """Every directive opened in a markdown cell, nested ones included."""
    found = []
    lines = source.splitlines()
    for index, line in enumerate(lines):
        match = _FENCE.match(line.strip())
        if not match:
            continue
        directive = _DIRECTIVE.match(match.group("rest"))
        if not directive:
            continue
        options = {}
        for option_line in lines[index + 1 :]:
            option = _OPTION.match(option_line.strip())
            if not option:
                break
            options[option.group("key")] = option.group("value").strip()
        found.append(
            Directive(
                name=directive.group("name"),
                argument=directive.group("argument").strip(),
                options=options,
                cell=cell,
            )
        )
    return found


def _parse(text: str) -> _Chapter:
    notebook = jupytext.reads(text, fmt="md:myst")
    chapter = _Chapter(cells=list(notebook.cells))
    section = ""
    chapter.sections[section] = {"prose": [], "code": []}
    for index, cell in enumerate(chapter.cells):
        if cell.cell_type == "code":
            chapter.sections[section]["code"].append(cell.source)
            continue
        if cell.cell_type != "markdown":
            continue
        chapter.directives += _directives(cell.source, index)
        outside = set(_markdown_lines_outside_fences(cell.source))
        for line in cell.source.splitlines():
            heading = _HEADING.match(line) if line in outside else None
            if heading:
                level = len(heading.group("hashes"))
                title = heading.group("title").replace("\u2019", "'")
                chapter.headings.append((level, title, index))
                if level == 2:
                    section = title
                    chapter.sections.setdefault(section, {"prose": [], "code": []})
                    continue
            chapter.sections[section]["prose"].append(line)
    return chapter


def _check_headings(chapter: _Chapter) -> list[str]:
    problems = []
    first_markdown = next((c for c in chapter.cells if c.cell_type == "markdown"), None)
    if first_markdown is None or not first_markdown.source.lstrip().startswith("# "):
        problems.append("the chapter should open with its `# Title` and one short paragraph")
    level_two = [title for level, title, _ in chapter.headings if level == 2]
    present = [name for name in REQUIRED_SECTIONS if name in level_two]
    for name in REQUIRED_SECTIONS:
        if name not in level_two:
            problems.append(f"missing the section `## {name}`")
    positions = [level_two.index(name) for name in present]
    if positions != sorted(positions):
        order = " < ".join(f"`## {name}`" for name in REQUIRED_SECTIONS)
        found = ", ".join(f"`## {name}`" for _, name in sorted(zip(positions, present)))
        problems.append(f"sections out of order: found {found}; the anatomy is {order}")
    for name in REQUIRED_SECTIONS:
        if level_two.count(name) > 1:
            problems.append(f"`## {name}` appears {level_two.count(name)} times; keep one")
    return problems


def _objectives(prose: list[str]) -> int | None:
    """How many top-level list items follow "Learning objectives" (None if it is absent)."""
    start = next((i for i, line in enumerate(prose) if "learning objectives" in line.lower()), None)
    if start is None:
        return None
    count, started = 0, False
    for line in prose[start + 1 :]:
        if _LIST_ITEM.match(line):
            count, started = count + 1, True
        elif started and line.strip() and not line[0].isspace():
            break
    return count


def _check_sections(chapter: _Chapter) -> list[str]:
    problems = []
    overview = chapter.sections.get("Overview")
    if overview is not None:
        count = _objectives(overview["prose"])
        if count is None:
            problems.append(
                "`## Overview` has no **Learning objectives** list "
                f"({MIN_OBJECTIVES}-{MAX_OBJECTIVES} bullets, each starting with a verb)"
            )
        elif not MIN_OBJECTIVES <= count <= MAX_OBJECTIVES:
            problems.append(
                f"`## Overview` lists {count} learning objectives; write "
                f"{MIN_OBJECTIVES}-{MAX_OBJECTIVES} bullets right after **Learning objectives**"
            )
    prerequisites = chapter.sections.get("Prerequisites")
    if prerequisites is not None:
        text = "\n".join(prerequisites["prose"])
        start = text.lower().find("time to run")
        if start < 0:
            problems.append(
                "`## Prerequisites` has no **Time to run** (seconds on params/quick.yml and "
                "params/default.yml, measured with the book runner on a 2-core machine)"
            )
        elif len(_SECONDS.findall(text[start:])) < 2:
            problems.append(
                "**Time to run** gives fewer than two measured times: write the seconds printed "
                "by the book runner for params/quick.yml and params/default.yml"
            )
    summary = chapter.sections.get("Summary")
    if summary is not None:
        if not _GLUE.search("\n".join(summary["prose"])):
            problems.append(
                "`## Summary` inserts no computed number with {glue:text}`name:.3f` "
                "(glue the values with myst_nb.glue in a code cell of the section)"
            )
        printed = [code for code in summary["code"] if _FSTRING_PRINT.search(code)]
        if printed:
            problems.append(
                f"`## Summary` prints {len(printed)} cell(s) of f-strings; write the conclusions "
                "as prose and insert the numbers with {glue:text}"
            )
    return problems


def _check_exercises(chapter: _Chapter, number: str | None) -> list[str]:
    problems = []
    exercises = [d for d in chapter.directives if d.name in ("exercise", "exercise-start")]
    solutions = [d for d in chapter.directives if d.name in ("solution", "solution-start")]
    if len(exercises) < MIN_EXERCISES:
        problems.append(
            f"{len(exercises)} {{exercise}} directive(s); write at least {MIN_EXERCISES}, "
            "each with a :label: and a hidden {solution}"
        )
    labels = []
    for position, exercise in enumerate(exercises, 1):
        label = exercise.options.get("label")
        title = exercise.argument or f"number {position}"
        if not label:
            problems.append(f"exercise {title!r} has no :label: (e.g. `:label: ex-NN-short-name`)")
            continue
        if number is not None and not label.startswith(f"ex-{number}-"):
            problems.append(f"exercise label {label!r} should start with `ex-{number}-`")
        labels.append(label)
    for label in sorted({label for label in labels if labels.count(label) > 1}):
        problems.append(f"exercise label {label!r} is used {labels.count(label)} times")
    solved: dict[str, list[Directive]] = {}
    for solution in solutions:
        solved.setdefault(solution.argument, []).append(solution)
        if solution.argument not in labels:
            problems.append(
                f"{{{solution.name}}} {solution.argument!r} names no exercise label of this chapter"
            )
        if "dropdown" not in solution.options.get("class", "").split():
            problems.append(
                f"the solution of {solution.argument!r} is not hidden: add `:class: dropdown`"
            )
    for label in labels:
        if label not in solved:
            problems.append(f"exercise {label!r} has no {{solution}} (hidden, `:class: dropdown`)")
    problems += _check_gated_solutions(chapter)
    return problems


def _check_gated_solutions(chapter: _Chapter) -> list[str]:
    """A coding exercise: a gated solution whose code cell asserts the exercise's check."""
    problems = []
    starts = [d for d in chapter.directives if d.name == "solution-start"]
    ends = [d.cell for d in chapter.directives if d.name == "solution-end"]
    tested = False
    for start in starts:
        end = next((cell for cell in ends if cell > start.cell), None)
        if end is None:
            problems.append(
                f"{{solution-start}} {start.argument!r} has no {{solution-end}} after it"
            )
            continue
        code = [c.source for c in chapter.cells[start.cell + 1 : end] if c.cell_type == "code"]
        if not code:
            problems.append(
                f"the gated solution of {start.argument!r} has no code cell between "
                "{solution-start} and {solution-end} (use {solution} for a written answer)"
            )
        tested = tested or any(_ASSERT.search(source) for source in code)
    if not starts:
        problems.append(
            "no coding exercise: one exercise needs a gated solution ({solution-start} ... "
            "{solution-end}, `:class: dropdown`) whose code cell asserts the exercise's check"
        )
    elif not tested:
        problems.append(
            "no gated solution asserts its check (`assert check_xxx(answer)`), so building the "
            "book tests no solution"
        )
    if tested and not any(
        _PLACEHOLDER.search(c.source) for c in chapter.cells if c.cell_type == "code"
    ):
        problems.append(
            "the coding exercise leaves no cell for the student (`answer = ...`) before its check"
        )
    return problems


def _check_code(chapter: _Chapter) -> list[str]:
    problems = []
    code_cells = [c.source for c in chapter.cells if c.cell_type == "code"]
    for index, source in enumerate(code_cells):
        first = next((line for line in source.splitlines() if line.strip()), "")[:50]
        n_lines = source.count("\n") + 1
        if n_lines > MAX_CELL_LINES:
            problems.append(
                f"code cell #{index + 1} ({first!r}...) has {n_lines} lines (at most "
                f"{MAX_CELL_LINES}): split it or move the logic into helpers"
            )
        for number, line in enumerate(source.splitlines(), 1):
            if len(line) > MAX_LINE_LENGTH:
                problems.append(
                    f"code cell #{index + 1}, line {number} has {len(line)} characters (at most "
                    f"{MAX_LINE_LENGTH}): {line.strip()[:50]!r}..."
                )
    code = sum(len(source) for source in code_cells)
    prose = sum(len(c.source) for c in chapter.cells if c.cell_type == "markdown")
    if prose < code:
        problems.append(
            f"less prose than code ({prose} against {code} characters): explain more, or move "
            "code into helpers"
        )
    return problems


def _check_terms(chapter: _Chapter, terms: set[str]) -> list[str]:
    problems, seen = [], set()
    for cell in chapter.cells:
        if cell.cell_type != "markdown":
            continue
        for match in _TERM.finditer(cell.source):
            text = match.group("text")
            target = re.search(r"<([^>]+)>\s*$", text)
            # Sphinx joins a reference broken over lines with single spaces.
            name = " ".join((target.group(1) if target else text).split())
            if name.lower() not in terms and name not in seen:
                seen.add(name)
                problems.append(
                    f"{{term}}`{text}` is not in book/glossary.md: use an existing term "
                    "(`{term}`text <Term>`` for another wording) or ask for the term to be added"
                )
    return problems


def exercise_labels(text: str) -> list[str]:
    """The ``:label:`` of every exercise of a chapter source, in order."""
    return [
        d.options["label"]
        for d in _parse(text).directives
        if d.name in ("exercise", "exercise-start") and d.options.get("label")
    ]


def check_chapter(text: str, terms: set[str] | None = None, number: str | None = None) -> list[str]:
    """What to fix in one chapter source (jupytext MyST text) to match the anatomy; empty if it does.

    ``terms`` are the glossary's terms in lower case (default: ``book/glossary.md``); ``number``
    (e.g. ``"03"``) also checks that exercise labels start with ``ex-03-``.
    """
    chapter = _parse(text)
    terms = glossary_terms() if terms is None else {t.lower() for t in terms}
    return (
        _check_headings(chapter)
        + _check_sections(chapter)
        + _check_exercises(chapter, number)
        + _check_code(chapter)
        + _check_terms(chapter, terms)
    )


def check_chapters(notebooks: Path = NOTEBOOKS, glossary: Path = GLOSSARY) -> dict[str, list[str]]:
    """The anatomy problems of every chapter source ``NN_name.md`` in ``notebooks`` (by stem)."""
    sources = sorted(Path(notebooks).glob("[0-9][0-9]_*.md"))
    if not sources:
        raise FileNotFoundError(f"no chapter sources (NN_name.md) in {notebooks}")
    terms = glossary_terms(glossary)
    return {
        source.stem: check_chapter(source.read_text(encoding="utf-8"), terms, source.stem[:2])
        for source in sources
    }

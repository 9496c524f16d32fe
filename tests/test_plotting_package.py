"""The plotting package's surface: what the chapters call is exported, documented and kept small."""

from __future__ import annotations

import inspect
import re

import pytest
from conftest import ROOT

from helpers import plotting

CHAPTERS = sorted((ROOT / "notebooks").glob("0*.md"))
MODULES = sorted((ROOT / "helpers" / "plotting").glob("*.py"))


def _called_by_chapters() -> set[str]:
    names = set()
    for chapter in CHAPTERS:
        names |= set(re.findall(r"(?<![\w.])plotting\.(\w+)\(", chapter.read_text()))
    return names


def test_every_figure_a_chapter_calls_is_exported() -> None:
    called = _called_by_chapters()
    assert len(called) > 40  # the eight chapters draw through this package
    assert called <= set(plotting.__all__), sorted(called - set(plotting.__all__))
    assert all(callable(getattr(plotting, name)) for name in plotting.__all__)


@pytest.mark.parametrize("name", sorted(_called_by_chapters()))
def test_chapter_figures_have_numpydoc_parameters_and_returns(name: str) -> None:
    function = getattr(plotting, name)
    doc = inspect.getdoc(function) or ""
    documented = set(re.findall(r"^(\w+(?:, \w+)*) :", doc, flags=re.MULTILINE))
    documented = {part for entry in documented for part in entry.split(", ")}
    arguments = set(inspect.signature(function).parameters)
    assert arguments <= documented, f"{name} leaves {sorted(arguments - documented)} undocumented"
    if arguments:
        assert "Parameters\n----------" in doc
    if name != "use_book_theme":
        assert "Returns\n-------" in doc


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.stem)
def test_plotting_modules_stay_small_and_declare_their_names(module) -> None:
    text = module.read_text()
    assert len(text.splitlines()) <= 400
    assert "__all__ = [" in text

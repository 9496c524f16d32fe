"""A lean install: the package's core dependencies are the science, the book and tests are extras.

A researcher who only wants the pipeline runs ``pip install .`` and must not receive a documentation
stack or a test runner; ``make install`` still sets up everything with ``.[book,test]``. The core
requirements are read from pyproject.toml and followed through the metadata of the installed
distributions (offline, markers evaluated without extras), so a core dependency that drags in
Sphinx through its own requirements is caught too.
"""

from __future__ import annotations

import ast
import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

# Distributions that build or test the book, never needed by the science.
BOOK_OR_TEST = re.compile(r"^(sphinx.*|jupyter-book|myst-.*|pytest.*|nbval|papermill|jupytext)$")
# Modules of those distributions (and the kernel) that the science must not import.
BOOK_OR_TEST_MODULES = {
    "sphinx",
    "jupyter_book",
    "myst_nb",
    "myst_parser",
    "docutils",
    "pytest",
    "nbval",
    "papermill",
    "jupytext",
    "nbformat",
    "nbclient",
    "ipykernel",
}


def _core_closure(requirements: list[str]) -> dict[str, str]:
    """Every distribution the core requirements pull in (name -> the requirement that brought it)."""
    environment = {**default_environment(), "extra": ""}
    seen: dict[str, str] = {}
    pending = [(Requirement(text), "pyproject.toml") for text in requirements]
    while pending:
        requirement, parent = pending.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        wanted = set(requirement.extras)
        if name in seen and not wanted:
            continue
        seen.setdefault(name, parent)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here: its own requirements cannot be read offline
        for text in requires:
            child = Requirement(text)
            if child.marker is not None:
                extras = [""] + sorted(wanted)
                if not any(
                    child.marker.evaluate({**default_environment(), "extra": e}) for e in extras
                ):
                    continue
            pending.append((child, name))
    return seen


def test_core_dependencies_hold_no_book_builder_or_test_tool() -> None:
    names = [canonicalize_name(Requirement(text).name) for text in PROJECT["dependencies"]]
    found = [name for name in names if BOOK_OR_TEST.match(name)]
    assert not found, f"move {found} from [project] dependencies to the book or test extra"
    extras = PROJECT["optional-dependencies"]
    assert {"book", "test", "local-llm"} <= set(extras)
    book = {canonicalize_name(Requirement(text).name) for text in extras["book"]}
    assert {"jupyter-book", "papermill", "sphinx-mathjax-offline"} <= book
    test = {canonicalize_name(Requirement(text).name) for text in extras["test"]}
    assert {"pytest", "nbval"} <= test


def test_pip_install_without_extras_brings_no_sphinx_or_pytest() -> None:
    closure = _core_closure(PROJECT["dependencies"])
    assert "numpy" in closure and "nilearn" in closure  # the walk did follow the requirements
    dragged = {name: parent for name, parent in closure.items() if BOOK_OR_TEST.match(name)}
    assert not dragged, f"a plain `pip install .` would install {dragged} (package: required by)"


def test_the_closure_walk_sees_what_an_extra_brings() -> None:
    """Negative control: the same walk over the book extra does reach Sphinx and pytest's kin."""
    closure = _core_closure(PROJECT["optional-dependencies"]["book"])
    assert "sphinx" in closure and "nbformat" in closure
    assert BOOK_OR_TEST.match("sphinxcontrib-bibtex") and BOOK_OR_TEST.match("pytest-httpserver")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_science_imports_no_book_or_test_machinery() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_modules(path) & BOOK_OR_TEST_MODULES)
        for path in sorted((ROOT / "helpers").rglob("*.py"))
    }
    offenders = {path: names for path, names in offenders.items() if names}
    assert not offenders, f"helpers imports book or test tools: {offenders}"


def test_every_install_command_names_extras_that_exist() -> None:
    """make, the local-LLM set-up, Binder and conda install the extras they need, spelled right;
    CI and the workflow go through ``make install`` and the local-LLM set-up."""
    extras = set(PROJECT["optional-dependencies"])
    needs = {
        "Makefile": {"book", "test"},
        "tests/setup_local_llm.sh": {"local-llm"},
        "binder/postBuild": {"book"},
        "environment.yml": {"book", "test"},
    }
    for name, needed in needs.items():
        text = (ROOT / name).read_text()
        installs = [set(group.split(",")) for group in re.findall(r"-e \"?\.\[([^\]]+)\]", text)]
        assert installs, f"{name} installs the project without extras"
        named = set().union(*installs)
        assert named <= extras, f"{name} names unknown extras {sorted(named - extras)}"
        assert needed <= named, f"{name} must install the extras {sorted(needed - named)}"
    for name in (".ci/run", ".github/workflows/book.yml"):  # everything, through make
        text = (ROOT / name).read_text()
        assert "make install" in text and "tests/setup_local_llm.sh" in text, name

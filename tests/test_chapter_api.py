"""Every `helpers` function a chapter calls has a numpydoc docstring: a Parameters section that
names each parameter, and a Returns (or Yields) section.

The chapters' code cells are parsed with `ast`. A call is followed to its object when its callee
is a name imported from `helpers` (``from helpers.x import f`` then ``f(...)``, with aliases and
parenthesised lists), an attribute of a `helpers` module or class bound in the chapter
(``from helpers.explain import heldout`` then ``heldout.heldout_patterns(...)``), or a method of
an instance the chapter assigned from a call of a `helpers` class or of a function annotated to
return one (``run = RegressionRun(...)`` then ``run.summary(...)``; ``inputs =
explanation_inputs(...)`` then ``inputs.splitter(...)``). Constructors are not checked: a class
documents its fields its own way.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import textwrap
import types
import typing
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("0*.md"))

# Functions the chapters call whose modules are being rewritten elsewhere; their docstrings get
# their sections when that work lands, and this set is then emptied. Qualified names are
# ``module.qualname`` of the object's definition (not the name it is re-exported under).
PENDING: set[str] = set()

_SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]+)\n-{3,}$", re.M)
_PARAMETER = re.compile(r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")


# --- reading the chapters -------------------------------------------------------------------


def code_cells(text: str) -> list[str]:
    """The sources of the code cells of a MyST notebook, in order."""
    notebook = jupytext.reads(text, fmt="md:myst")
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def _is_helpers(name: str) -> bool:
    return name == "helpers" or name.startswith("helpers.")


class _Instance:
    """An object a chapter built by calling a `helpers` class: its methods are looked up there."""

    def __init__(self, cls: type) -> None:
        self.cls = cls


def _resolve(node: ast.expr, bound: dict[str, object]) -> object | None:
    """The object an expression names, if it is a `helpers` name or an attribute of one."""
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, bound)
        if isinstance(owner, _Instance):
            owner = owner.cls
        if isinstance(owner, types.ModuleType) and _is_helpers(owner.__name__):
            found = getattr(owner, node.attr, None)
            if found is None:  # a submodule not yet imported by its package
                try:
                    found = importlib.import_module(f"{owner.__name__}.{node.attr}")
                except ImportError:
                    return None
            return found
        if inspect.isclass(owner):
            return getattr(owner, node.attr, None)
    return None


def _made_class(callee: object) -> type | None:
    """The `helpers` class a call returns an instance of: the class called, or the class a
    function's return annotation names (``explanation_inputs(...) -> ExplanationInputs``)."""
    if inspect.isclass(callee):
        return callee if _is_helpers(callee.__module__) else None
    function = inspect.unwrap(getattr(callee, "__func__", callee)) if callee else None
    if not inspect.isfunction(function):
        return None
    try:
        returned = typing.get_type_hints(function).get("return")
    except Exception:  # noqa: BLE001 - an annotation that does not resolve names no class
        return None
    if inspect.isclass(returned) and _is_helpers(returned.__module__):
        return returned
    return None


def _bind_import(node: ast.Import | ast.ImportFrom, bound: dict[str, object]) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if not _is_helpers(alias.name):
                continue
            if alias.asname:
                bound[alias.asname] = importlib.import_module(alias.name)
            else:
                importlib.import_module(alias.name)
                bound[alias.name.split(".")[0]] = importlib.import_module("helpers")
        return
    if node.level or not node.module or not _is_helpers(node.module):
        return
    module = importlib.import_module(node.module)
    for alias in node.names:
        if alias.name == "*":
            continue
        try:
            value = getattr(module, alias.name)
        except AttributeError:
            value = importlib.import_module(f"{node.module}.{alias.name}")
        bound[alias.asname or alias.name] = value


def called_objects(cells: list[str]) -> dict[str, object]:
    """The `helpers` callables the cells call, by the qualified name of their definition.

    The cells are read in order, so a name is resolved through the imports and assignments made
    before it, as the kernel would."""
    bound: dict[str, object] = {}
    called: dict[str, object] = {}
    for source in cells:
        tree = ast.parse(re.sub(r"^\s*[%!].*$", "", source, flags=re.M))  # IPython magics
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                _bind_import(node, bound)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                cls = _made_class(_resolve(node.value.func, bound))
                if cls is not None:
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            bound[target.id] = _Instance(cls)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                target = _resolve(node.func, bound)
                if target is not None and not isinstance(target, (types.ModuleType, _Instance)):
                    called.setdefault(qualified_name(target), target)
    return called


def qualified_name(obj: object) -> str:
    obj = inspect.unwrap(getattr(obj, "__func__", obj))
    module = getattr(obj, "__module__", None) or "?"
    return f"{module}.{getattr(obj, '__qualname__', repr(obj))}"


# --- reading the docstrings -----------------------------------------------------------------


def docstring_sections(doc: str) -> dict[str, str]:
    """The numpydoc sections of a (cleaned) docstring, title to body."""
    heads = list(_SECTION.finditer(doc))
    sections = {}
    for head, following in zip(heads, [*heads[1:], None], strict=False):
        end = following.start() if following else len(doc)
        sections[head.group("title").strip()] = doc[head.end() : end]
    return sections


def documented_parameters(body: str) -> set[str]:
    """The parameter names a Parameters section lists (its unindented lines)."""
    names = set()
    for line in textwrap.dedent(body.strip("\n")).splitlines():
        if not line or line[0].isspace():
            continue
        match = _PARAMETER.match(line.strip())
        if match:
            names.update(name.strip().lstrip("*") for name in match.group("names").split(","))
    return names


def docstring_problems(obj: object) -> list[str]:
    """What the numpydoc docstring of a function or method lacks (empty when it is complete)."""
    function = inspect.unwrap(getattr(obj, "__func__", obj))
    doc = inspect.getdoc(function)
    if not doc:
        return ["no docstring"]
    sections = docstring_sections(doc)
    problems = []
    signature = inspect.signature(function)
    wanted = [name for name in signature.parameters if name not in ("self", "cls")]
    listed = documented_parameters(
        sections.get("Parameters", "") + "\n" + sections.get("Other Parameters", "")
    )
    if wanted and "Parameters" not in sections:
        problems.append("no Parameters section")
    elif missing := [name for name in wanted if name not in listed]:
        problems.append(f"Parameters does not name {', '.join(missing)}")
    # A function annotated to return None has nothing to describe.
    returns_nothing = signature.return_annotation in (None, "None")
    if not returns_nothing and not {"Returns", "Yields"} & sections.keys():
        problems.append("no Returns section")
    return problems


def _checked(obj: object) -> bool:
    """Functions and methods defined in `helpers` (classes, constants and foreign code are not)."""
    function = inspect.unwrap(getattr(obj, "__func__", obj))
    return inspect.isfunction(function) and _is_helpers(getattr(function, "__module__", ""))


def chapter_functions(chapter: Path) -> dict[str, object]:
    called = called_objects(code_cells(chapter.read_text(encoding="utf-8")))
    return {name: obj for name, obj in called.items() if _checked(obj)}


# --- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_every_function_a_chapter_calls_has_a_numpydoc_docstring(chapter: Path) -> None:
    functions = chapter_functions(chapter)
    assert functions, f"no helpers function found in {chapter.name}: is the resolver broken?"
    problems = {
        name: docstring_problems(obj)
        for name, obj in sorted(functions.items())
        if name not in PENDING
    }
    problems = {name: found for name, found in problems.items() if found}
    assert not problems, "\n".join(
        f"{name}: {'; '.join(found)}" for name, found in problems.items()
    )


def test_pending_names_are_still_called_and_still_undocumented() -> None:
    """PENDING only lists real gaps: each name is called by a chapter and still lacks a section."""
    called = {}
    for chapter in CHAPTERS:
        called.update(chapter_functions(chapter))
    assert PENDING <= called.keys(), f"not called by any chapter: {sorted(PENDING - called.keys())}"
    done = sorted(name for name in PENDING if not docstring_problems(called[name]))
    assert not done, f"documented now, remove from PENDING: {done}"


_SYNTHETIC = '''
"""A synthetic helpers module for the self-check."""


def undocumented(x, y=1):
    return x + y


def documented(x, *, scale=1.0):
    """Scale a number.

    Parameters
    ----------
    x : float
        The number.
    scale : float, optional
        The factor.

    Returns
    -------
    float
        ``x * scale``.
    """
    return x * scale


def half_documented(x, y):
    """Add two numbers.

    Parameters
    ----------
    x : float
        The first.
    """
    return x + y


class Thing:
    def method(self, z):
        """A method with no sections."""
        return z

    def other(self):
        return None

    @classmethod
    def make(cls, size):
        """Make a thing.

        Parameters
        ----------
        size : int
            Its size.

        Returns
        -------
        Thing
        """
        return cls()


def make_thing() -> Thing:
    """A thing.

    Returns
    -------
    Thing
    """
    return Thing()
'''


@pytest.fixture
def synthetic(monkeypatch) -> types.ModuleType:
    module = types.ModuleType("helpers._synthetic_api")
    exec(compile(_SYNTHETIC, "<synthetic>", "exec"), module.__dict__)  # noqa: S102
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


def test_the_check_flags_a_chapter_calling_an_undocumented_function(synthetic) -> None:
    cells = [
        "from helpers._synthetic_api import (\n    documented,\n    undocumented as und,\n)",
        "und(1)\ndocumented(2, scale=3.0)",
    ]
    called = called_objects(cells)
    assert set(called) == {
        "helpers._synthetic_api.undocumented",
        "helpers._synthetic_api.documented",
    }
    assert docstring_problems(called["helpers._synthetic_api.undocumented"]) == ["no docstring"]
    assert docstring_problems(called["helpers._synthetic_api.documented"]) == []


def test_the_check_follows_modules_aliases_and_instances(synthetic) -> None:
    cells = [
        "import helpers._synthetic_api as api\nfrom helpers import _synthetic_api",
        "api.half_documented(1, 2)\nthing = _synthetic_api.Thing()",
        "%matplotlib inline\nthing.method(3)\napi.Thing.make(4)\nprint(len([1]))",
        "made = api.make_thing()\nmade.other()",
    ]
    called = called_objects(cells)
    prefix = "helpers._synthetic_api."
    assert set(called) == {
        prefix + "half_documented",
        prefix + "Thing",
        prefix + "Thing.method",
        prefix + "Thing.make",
        prefix + "make_thing",
        prefix + "Thing.other",
    }
    assert docstring_problems(called[prefix + "half_documented"]) == [
        "Parameters does not name y",
        "no Returns section",
    ]
    assert docstring_problems(called[prefix + "Thing.method"]) == [
        "no Parameters section",
        "no Returns section",
    ]
    assert docstring_problems(called[prefix + "Thing.make"]) == []
    assert docstring_problems(called[prefix + "make_thing"]) == []
    assert docstring_problems(called[prefix + "Thing.other"]) == ["no docstring"]
    assert not _checked(called[prefix + "Thing"])

"""What an executed chapter notebook may keep before it is published, and whether it is complete.

Papermill leaves things in a notebook that a reader of the book must not see: the machine's
absolute paths (``metadata.papermill.input_path``/``output_path``), a second parameter cell (the
source's ``parameters`` cell followed by papermill's ``injected-parameters`` cell) and, if a user
put them into ``--set``, credentials inside an endpoint URL. :func:`finalize_notebook` removes all
three. :func:`unexecuted_code_cells` tells whether a notebook was executed to the end, which a run
killed half-way leaves undone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from helpers.data.files import atomic_write_text
from helpers.data.storage import DATA_HOME_ENV, get_data_home
from helpers.privacy import MASK, map_strings, replace_exact

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _display_path(path: str | Path | None, cwd: Path) -> str | None:
    """``path`` relative to ``cwd`` when inside it, else only its name: never a machine's folders."""
    if not path:
        return None
    path = Path(path)
    try:
        return path.resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return path.name


OUTSIDE_LABEL = "<outside the repository>"


def machine_path_labels(cwd: Path, params_file: str | Path | None = None) -> dict[str, str]:
    """This machine's folders that may appear in a chapter's outputs, each with what the page shows.

    The data home becomes ``$ALICE_DATA_HOME`` (cache and checksum warnings name files in it), the
    folder of a parameter file outside the repository ``<outside the repository>``, the repository
    itself ``.`` and the user's home ``~``. Both the written and the resolved form of each folder
    are listed, since a symbolic link may give either.
    """
    cwd = Path(cwd)
    folders: list[tuple[Path, str]] = [
        (Path.home(), "~"),
        (cwd, "."),
        (get_data_home(create=False), f"${DATA_HOME_ENV}"),
    ]
    if params_file is not None:
        parent = Path(params_file).parent
        parent = parent if parent.is_absolute() else cwd / parent
        if not parent.resolve().is_relative_to(cwd.resolve()):
            folders.append((parent, OUTSIDE_LABEL))
    labels: dict[str, str] = {}
    for folder, label in folders:
        for form in {str(folder.absolute()), str(folder.resolve())}:
            if form != "/":  # the root folder is in every path: nothing to hide
                labels[form] = label
    return labels


def replace_paths(value: Any, labels: Mapping[str, str]) -> Any:
    """A copy of a JSON-like value with each folder of ``labels`` replaced by its label.

    A folder is replaced only as a whole path component (``/home/ann`` in ``/home/ann/x`` but not
    in ``/home/anna``) and not inside base64 text (an embedded figure), whose alphabet includes
    ``/`` and letters.
    """
    if not labels:
        return value
    ordered = sorted(labels, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![A-Za-z0-9+/=])(" + "|".join(map(re.escape, ordered)) + r")(?=[/\\\s'\":;,.`)\]]|$)"
    )
    return map_strings(value, lambda text: pattern.sub(lambda m: labels[m.group(1)], text))


def one_parameter_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop the source's ``parameters`` cell when papermill injected the values after it.

    The injected cell keeps both tags, so papermill can parameterize the notebook again (it
    replaces an ``injected-parameters`` cell in place) and readers see one parameter cell.
    """
    injected = [c for c in notebook.cells if INJECTED_TAG in _tags(c)]
    if not injected:
        return notebook
    notebook.cells = [
        c
        for c in notebook.cells
        if not (PARAMETERS_TAG in _tags(c) and INJECTED_TAG not in _tags(c))
    ]
    for cell in injected:
        if PARAMETERS_TAG not in _tags(cell):
            cell.metadata["tags"] = [PARAMETERS_TAG, *_tags(cell)]
    return notebook


def finalize_notebook(
    path: Path,
    source: Path,
    cwd: Path,
    secrets: set[str] | frozenset[str] = frozenset(),
    paths: Mapping[str, str] | None = None,
) -> Path:
    """Rewrite an executed (or prepared) notebook so that it is fit to publish.

    One parameter cell; papermill's paths relative to ``cwd`` (the repository root); the run's
    ``secrets`` (see :func:`helpers.privacy.credentials_in`) masked and the machine's folders
    (``paths``, default :func:`machine_path_labels` of ``cwd``) replaced by their labels
    everywhere: sources, outputs, metadata. Only these exact strings are replaced, so outputs such
    as embedded JavaScript stay intact.
    """
    notebook = one_parameter_cell(nbformat.read(path, as_version=4))
    papermill = notebook.metadata.get("papermill")
    if papermill is not None:
        papermill["input_path"] = _display_path(source, cwd)
        papermill["output_path"] = _display_path(path, cwd)
    labels = machine_path_labels(cwd) if paths is None else paths
    masked = replace_exact(notebook, dict.fromkeys(secrets, MASK))
    clean = nbformat.from_dict(replace_paths(masked, labels))
    atomic_write_text(path, nbformat.writes(clean))
    return path


def unexecuted_code_cells(path: Path) -> tuple[int, int]:
    """(code cells never executed, code cells) of a notebook; (0, n) for a complete one.

    Papermill writes the output notebook as it goes, so a run killed in the middle leaves cells
    without an execution count.
    """
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable notebook counts as not executed at all
        return 1, 1
    code = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
    return sum(1 for c in code if c.get("execution_count") is None), len(code)


def failed_cell_summary(notebook_path: Path) -> str:
    """The first source line of the cell that raised, so a message points at code, not a number.

    Found by its error output, because papermill adds a banner cell to a failed notebook and so
    shifts the indices.
    """
    if not notebook_path.is_file():
        return ""
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            return f" [{first.strip()[:80]}]"
    return ""

"""What an executed chapter notebook may keep before it is published, and whether it is complete.

Papermill leaves things in a notebook that a reader of the book must not see: the machine's
absolute paths (``metadata.papermill.input_path``/``output_path``), a second parameter cell (the
source's ``parameters`` cell followed by papermill's ``injected-parameters`` cell) and, if a user
put them into ``--set``, credentials inside an endpoint URL. :func:`finalize_notebook` removes all
three. :func:`unexecuted_code_cells` tells whether a notebook was executed to the end, which a run
killed half-way leaves undone.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from helpers.data.files import atomic_write_text
from helpers.privacy import mask_credentials

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
    path: Path, source: Path, cwd: Path, secrets: set[str] | frozenset[str] = frozenset()
) -> Path:
    """Rewrite an executed (or prepared) notebook so that it is fit to publish.

    One parameter cell; papermill's paths relative to ``cwd`` (the repository root); the run's
    ``secrets`` (see :func:`helpers.privacy.credentials_in`) masked everywhere: sources, outputs,
    metadata. Only these exact strings are replaced, so outputs such as embedded JavaScript stay
    intact.
    """
    notebook = one_parameter_cell(nbformat.read(path, as_version=4))
    papermill = notebook.metadata.get("papermill")
    if papermill is not None:
        papermill["input_path"] = _display_path(source, cwd)
        papermill["output_path"] = _display_path(path, cwd)
    clean = nbformat.from_dict(mask_credentials(notebook, set(secrets)))
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

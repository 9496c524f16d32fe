"""The run manifest: what produced the book, and whether every chapter in it finished.

``<results>/manifest.json`` records the parameters, versions, commit and data sources of a run and
one entry per chapter. A chapter is recorded as ``running`` (with the process running it) before it
starts, and as ``ok`` or ``failed`` when it ends, so a run killed in the middle leaves a
``running`` entry behind instead of the previous run's ``ok``. Every change is a read-modify-write
under a file lock, so two runs writing the same manifest never lose each other's entries, and
credentials are redacted before anything is written.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from book_runner.executed import unexecuted_code_cells
from helpers.data.files import atomic_write_json, file_lock
from helpers.privacy import redact

MANIFEST_NAME = "manifest.json"
RUNNING, OK, FAILED = "running", "ok", "failed"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest at ``path``, or None when there is none (or it is not valid JSON)."""
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def update_manifest(path: Path, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Apply ``change`` to the manifest at ``path`` under its lock and write it back, redacted."""
    with file_lock(path, what="the run manifest"):
        manifest = read_manifest(path) or {}
        change(manifest)
        manifest = redact(manifest)
        atomic_write_json(path, manifest)
    return manifest


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), to tell it from a later one."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def running_entry(notebook: str, params_digest: str) -> dict[str, Any]:
    """The entry of a chapter that is about to run in this process."""
    return {
        "notebook": notebook,
        "status": RUNNING,
        "params_digest": params_digest,
        "started": now(),
        "pid": os.getpid(),
        "process_start": _process_start(os.getpid()),
        "host": socket.gethostname(),
    }


def record_chapter(
    path: Path,
    entry: dict[str, Any],
    order: list[str],
    extra: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Put one chapter's entry into the manifest (in table-of-contents ``order``)."""

    def change(manifest: dict[str, Any]) -> None:
        chapters = {c["notebook"]: c for c in manifest.get("chapters", []) if isinstance(c, dict)}
        chapters[entry["notebook"]] = entry
        known = [name for name in order if name in chapters]
        manifest["chapters"] = [
            chapters[name] for name in known + sorted(set(chapters) - set(order))
        ]
        if extra is not None:
            extra(manifest)

    return update_manifest(path, change)


def _still_running(entry: dict[str, Any]) -> bool:
    """Whether the process recorded in a ``running`` entry is alive (on this machine)."""
    pid = entry.get("pid")
    if not isinstance(pid, int) or entry.get("host") != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    recorded = entry.get("process_start")
    return recorded is None or recorded == _process_start(pid)


def chapter_problem(entry: dict[str, Any] | None, notebook: Path) -> str | None:
    """Why a chapter's page is not a finished result, or None when it is."""
    if not notebook.is_file():
        return "it has not been executed"
    if entry is None:
        return "the run manifest has no record of it"
    status = entry.get("status")
    if status == RUNNING:
        if _still_running(entry):
            return f"it is still being executed (process {entry.get('pid')}, started {entry.get('started')})"
        return (
            f"its run (started {entry.get('started')}) was interrupted before the chapter finished"
        )
    if status == FAILED:
        return f"it failed in {entry.get('failed_cell') or 'a cell'}"
    if status != OK:
        return f"its recorded status is {status!r}"
    missing, total = unexecuted_code_cells(notebook)
    if missing:
        return f"its executed notebook is incomplete ({missing} of {total} code cells did not run)"
    return None


def chapter_problems(
    manifest: dict[str, Any] | None, chapters: list[str], executed_dir: Path
) -> dict[str, str]:
    """Every chapter of ``chapters`` that is not a finished result, with the reason."""
    entries = {
        c.get("notebook"): c for c in (manifest or {}).get("chapters", []) if isinstance(c, dict)
    }
    problems = {}
    for chapter in chapters:
        problem = chapter_problem(entries.get(chapter), executed_dir / f"{chapter}.ipynb")
        if problem is not None:
            problems[chapter] = problem
    return problems


def parameter_sets(manifest: dict[str, Any] | None, chapters: list[str]) -> dict[str, list[str]]:
    """The chapters of ``chapters`` grouped by the digest of the parameters they ran with.

    More than one group means the book's numbers do not come from one run.
    """
    groups: dict[str, list[str]] = {}
    for entry in (manifest or {}).get("chapters", []):
        if isinstance(entry, dict) and entry.get("notebook") in chapters:
            digest = entry.get("params_digest")
            if digest:
                groups.setdefault(str(digest), []).append(str(entry["notebook"]))
    return groups


def mixed_parameters_problem(manifest: dict[str, Any] | None, chapters: list[str]) -> str | None:
    """Why a book mixes parameter sets (naming the chapters of each), or None when it does not."""
    groups = parameter_sets(manifest, chapters)
    if len(groups) < 2:
        return None
    listed = "; ".join(
        f"{', '.join(names)} with parameters {digest[:8]}" for digest, names in groups.items()
    )
    return f"its chapters were executed with {len(groups)} different parameter sets ({listed})"

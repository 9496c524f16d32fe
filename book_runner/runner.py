"""Execute the chapters in order with one parameter file, recording each one in the run manifest.

:func:`run` converts each jupytext source that ``_toc.yml`` lists, executes it with papermill (the
kernel starts in the repository root), writes the executed notebook where ``_toc.yml`` expects it
(``book/chapters/``) and records the chapter in the manifest: ``running`` before it starts, ``ok``
or ``failed`` after. A failing chapter stops the run with its name and cell; earlier chapters'
notebooks and results are kept. :func:`prepare_chapters` writes unexecuted notebooks with their
parameters (for Binder and Colab).

Each chapter runs under a lock in its output folder, so two runs never execute the same chapter
into the same place at once, and staging files (``.NN_name.input.ipynb``) that a killed run left
behind are removed by the next run, never while a live run uses them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm

from book_runner.chapters import (
    CHAPTER_PREFIX,
    EXECUTED_DIR,
    NOTEBOOK_DIR,
    ROOT,
    SETUP_TAG,
    TOC_FILE,
    BookError,
    chapter_sources,
    source_notebook,
    toc_chapters,
)
from book_runner.executed import (
    OUTSIDE_LABEL,
    failed_cell_summary,
    finalize_notebook,
    machine_path_labels,
)
from book_runner.manifest import (
    FAILED,
    MANIFEST_NAME,
    OK,
    now,
    record_chapter,
    running_entry,
    update_manifest,
)
from book_runner.reproducibility import (
    data_sources,
    environment_summary,
    git_commit,
    package_versions,
)
from helpers.config import ParameterError, load_params, parse_overrides
from helpers.data.fetch import get_mirror
from helpers.data.files import atomic_write_bytes, file_lock, file_lock_if_free
from helpers.data.storage import RESULTS_DIR_ENV, results_dir
from helpers.preflight import check_fold_designs
from helpers.privacy import credentials_in

__all__ = [
    "CHAPTER_PREFIX",
    "SETUP_TAG",
    "BookError",
    "ChapterFailed",
    "chapter_sources",
    "execute_chapter",
    "prepare_chapters",
    "remove_abandoned_staging",
    "run",
    "toc_chapters",
]

STAGING_SUFFIX = ".input.ipynb"


class ChapterFailed(RuntimeError):
    """A chapter raised an error while it was executed; ``cell`` says which one."""

    def __init__(self, message: str, cell: str = "") -> None:
        super().__init__(message)
        self.cell = cell


@contextlib.contextmanager
def _environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the duration of the block."""
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _kernel_environment() -> contextlib.AbstractContextManager[None]:
    """Environment for chapter kernels: inline figures (whatever MPLBACKEND the caller uses, e.g.
    Agg in tests, would leave the book without figures) and no progress bars (noise on stderr)."""
    return _environment(
        {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "TQDM_DISABLE": "1"}
    )


def _staging_path(output_dir: Path, stem: str) -> Path:
    return output_dir / f".{stem}{STAGING_SUFFIX}"


def remove_abandoned_staging(output_dir: Path) -> list[Path]:
    """Delete the staging notebooks of chapters nobody is executing (left by a killed run)."""
    removed = []
    for staging in sorted(Path(output_dir).glob(f".*{STAGING_SUFFIX}")):
        stem = staging.name[1:].removesuffix(STAGING_SUFFIX)
        with file_lock_if_free(output_dir / stem, remove=True) as free:
            if free and staging.exists():
                staging.unlink()
                removed.append(staging)
    return removed


def _parameters(params_file: str | Path, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"params_file": str(params_file), "overrides": dict(overrides or {})}


def run_secrets(
    params_file: str | Path, overrides: Mapping[str, Any] | None, cwd: Path
) -> set[str]:
    """Credentials that the parameters of a run carry (and the API key), to mask in its notebooks."""
    path = Path(params_file) if Path(params_file).is_absolute() else Path(cwd) / params_file
    try:
        params = load_params(path, overrides).model_dump(mode="json")
    except ParameterError:  # the chapter will fail on them itself; mask what the overrides hold
        params = dict(overrides or {})
    return credentials_in(params)


def execute_chapter(
    source: Path,
    params_file: str | Path,
    overrides: Mapping[str, Any] | None = None,
    output_dir: Path = EXECUTED_DIR,
    cwd: Path = ROOT,
) -> Path:
    """Execute one jupytext chapter with papermill; return the executed notebook's path.

    The kernel starts in ``cwd`` (the repository root, so relative parameter files resolve). The
    executed notebook is made fit to publish (:func:`book_runner.executed.finalize_notebook`). On
    failure the partly executed notebook stays in ``output_dir`` for inspection and
    :class:`ChapterFailed` names the chapter, the cell and the error.
    """
    source, output_dir = Path(source), Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{source.stem}.ipynb"
    staging = _staging_path(output_dir, source.stem)
    secrets = run_secrets(params_file, overrides, cwd)
    paths = machine_path_labels(cwd, params_file)
    with file_lock(
        output_dir / source.stem, what=f"chapter {source.stem} in {output_dir}", remove=True
    ):
        nbformat.write(source_notebook(source), staging)
        try:
            with _kernel_environment():
                _execute_with_kernel_retry(
                    staging, target, _parameters(params_file, overrides), cwd, source.stem
                )
        except pm.PapermillExecutionError as exc:
            cell = f"cell {exc.exec_count}{failed_cell_summary(target)}"
            finalize_notebook(target, source, cwd, secrets, paths)
            raise ChapterFailed(
                f"chapter {source.stem} failed in {cell}: {exc.ename}: {exc.evalue}. "
                f"The partly executed notebook is {target}.",
                cell=cell,
            ) from None
        finally:
            staging.unlink(missing_ok=True)
        finalize_notebook(target, source, cwd, secrets, paths)
    return target


KERNEL_START_TIMEOUT_S = 180
"""How long a kernel may take to answer its first request: minutes, not papermill's 60 s, because a
busy 2-core machine (a sweep, a calibration beside the book) can be that slow to start Python."""


def _execute_with_kernel_retry(
    staging: Path, target: Path, parameters: dict[str, Any], cwd: Path, stem: str
) -> None:
    """Run papermill once, and once more if the kernel did not start; then say so in one line."""
    for attempt in (1, 2):
        try:
            pm.execute_notebook(
                str(staging),
                str(target),
                parameters=parameters,
                kernel_name="python3",
                cwd=str(cwd),
                progress_bar=False,
                log_output=False,
                start_timeout=KERNEL_START_TIMEOUT_S,
            )
            return
        except RuntimeError as exc:
            if "didn't respond" not in str(exc) or isinstance(exc, pm.PapermillExecutionError):
                raise
            if attempt == 2:
                raise ChapterFailed(
                    f"chapter {stem} did not start: its Python kernel did not answer within "
                    f"{KERNEL_START_TIMEOUT_S} s, twice; the machine is probably overloaded "
                    "(close other runs and try again)"
                ) from None
            print(
                f"[alice] the kernel of chapter {stem} did not answer within "
                f"{KERNEL_START_TIMEOUT_S} s; starting it once more",
                file=sys.stderr,
                flush=True,
            )


def prepare_chapters(
    params_file: str | Path,
    output_dir: Path,
    only: list[str] | None = None,
    overrides: Mapping[str, Any] | str | None = None,
    notebook_dir: Path = NOTEBOOK_DIR,
    toc_file: Path | None = TOC_FILE,
) -> list[Path]:
    """Write unexecuted chapter notebooks with the parameters injected (papermill ``prepare_only``)."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    changes = parse_overrides(overrides)
    secrets = run_secrets(params_file, changes, ROOT)
    remove_abandoned_staging(output_dir)
    prepared = []
    for source in chapter_sources(only, notebook_dir, toc_file):
        staging = _staging_path(output_dir, source.stem)
        target = output_dir / f"{source.stem}.ipynb"
        with file_lock(output_dir / source.stem, what=f"chapter {source.stem}", remove=True):
            nbformat.write(source_notebook(source), staging)
            try:
                pm.execute_notebook(
                    str(staging),
                    str(target),
                    prepare_only=True,
                    kernel_name="python3",
                    parameters=_parameters(params_file, changes),
                )
            finally:
                staging.unlink(missing_ok=True)
            finalize_notebook(target, source, ROOT, secrets, machine_path_labels(ROOT, params_file))
        prepared.append(target)
    return prepared


def _relative(path: Path, cwd: Path) -> Path:
    return path.relative_to(cwd) if path.is_relative_to(cwd) else path


def _shown(path: Path, cwd: Path) -> str:
    """How the book names a parameter file: relative to the repository, or by its name alone."""
    relative = _relative(path, cwd)
    return str(relative) if not relative.is_absolute() else f"{OUTSIDE_LABEL}/{path.name}"


class _ResultsGuard:
    """A chapter's results file as it was before the chapter ran, to put back if the chapter fails.

    A chapter that fails after writing some numbers must not replace a finished run's numbers
    with partial ones; what it wrote is kept beside them as ``<chapter>.failed.json``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.before = path.read_bytes() if path.is_file() else None

    def restore(self) -> None:
        now_there = self.path.read_bytes() if self.path.is_file() else None
        if now_there == self.before:
            return
        failed = self.path.with_suffix(".failed.json")
        if now_there is not None:
            os.replace(self.path, failed)
        if self.before is not None:
            atomic_write_bytes(self.path, self.before)


def run(
    params_file: str | Path,
    only: list[str] | None = None,
    overrides: Mapping[str, Any] | str | None = None,
    *,
    notebook_dir: Path = NOTEBOOK_DIR,
    output_dir: Path = EXECUTED_DIR,
    toc_file: Path | None = TOC_FILE,
    results: Path | None = None,
    cwd: Path = ROOT,
) -> dict[str, Any]:
    """Execute the chosen chapters in order, recording each one in ``manifest.json``.

    Chapters run earlier with the same results folder keep their manifest entries, each stamped
    with the digest of its parameters, so a partial re-run shows on the Reproducibility page whether
    the book still comes from one parameter set. Parameters, the table of contents and the mirror
    setting are checked before any chapter runs.
    """
    params_path = Path(params_file)
    if not params_path.is_absolute():
        params_path = (cwd / params_path).resolve()
    changes = parse_overrides(overrides)
    params = load_params(params_path, changes, overrides_source="--set")
    check_fold_designs(params, _shown(params_path, cwd) + (" with --set" if changes else ""))
    get_mirror()  # a mirror setting naming no folder stops here, in one line
    sources = chapter_sources(only, notebook_dir, toc_file)
    order = [p.stem for p in chapter_sources(None, notebook_dir, toc_file, quiet=True)]
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    remove_abandoned_staging(output_dir)
    shown_params_file = _relative(params_path, cwd)
    folder = {RESULTS_DIR_ENV: str(Path(results).resolve())} if results is not None else {}
    with _environment(folder):
        manifest_path = results_dir() / MANIFEST_NAME

        def start(manifest: dict[str, Any]) -> None:
            manifest.pop("finished", None)
            manifest.update(
                params_file=_shown(params_path, cwd),
                params=params.model_dump(mode="json"),
                params_digest=params.digest(),
                git_commit=git_commit(cwd),
                versions=package_versions(),
                environment=environment_summary(),
                started=now(),
                data_sources=data_sources(),
            )
            manifest.setdefault("chapters", [])

        def refresh_sources(manifest: dict[str, Any]) -> None:
            manifest["data_sources"] = data_sources()

        update_manifest(manifest_path, start)
        for source in sources:
            began = time.perf_counter()
            print(f"[book] running {source.stem} ...", flush=True)
            entry = running_entry(source.stem, params.digest())
            record_chapter(manifest_path, entry, order)
            finished = {
                "notebook": source.stem,
                "params_digest": params.digest(),
                "started": entry["started"],
            }
            kept = _ResultsGuard(results_dir() / f"{source.stem}.json")
            try:
                execute_chapter(source, shown_params_file, changes, output_dir=output_dir, cwd=cwd)
            except Exception as err:  # recorded whatever it is (a dead kernel too), then raised
                kept.restore()
                cell = (
                    err.cell
                    if isinstance(err, ChapterFailed)
                    else f"{type(err).__name__}: {err}"[:200]
                )
                record_chapter(
                    manifest_path,
                    dict(
                        finished,
                        status=FAILED,
                        failed_cell=cell,
                        seconds=round(time.perf_counter() - began, 1),
                    ),
                    order,
                    refresh_sources,
                )
                raise
            seconds = round(time.perf_counter() - began, 1)
            record_chapter(
                manifest_path, dict(finished, status=OK, seconds=seconds), order, refresh_sources
            )
            print(f"[book] {source.stem} done in {seconds} s", flush=True)
        return update_manifest(manifest_path, lambda manifest: manifest.update(finished=now()))

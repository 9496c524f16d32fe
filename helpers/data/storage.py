"""Where results live: the data home, cache folders keyed by parameters, and chapter results.

Intermediate results go under a data home (``ALICE_DATA_HOME``, default ``~/alice_data``) in
folders keyed by the parameters that produced them, so a run with new parameters never reads stale
results and an unchanged step is not recomputed. Files are written atomically
(:mod:`helpers.data.files`) and cached artefacts carry checksums (:mod:`helpers.data.integrity`);
both are re-exported here because this is where the chapters and the pipeline steps look for them.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from helpers.data.files import (
    _jsonable,
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    file_lock,
)
from helpers.data.integrity import (
    CorruptCacheError,
    cached_arrays,
    cached_json,
    discard_corrupt,
    load_array,
    load_arrays,
    load_json,
    save_array,
    save_arrays,
    save_json,
)
from helpers.privacy import redact

__all__ = [
    "DATA_HOME_ENV",
    "RESULTS_DIR_ENV",
    "CorruptCacheError",
    "DataHomeError",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "cached_arrays",
    "cached_json",
    "digest_of",
    "discard_corrupt",
    "file_lock",
    "get_data_home",
    "load_array",
    "load_arrays",
    "load_json",
    "results_dir",
    "save_array",
    "save_arrays",
    "save_json",
    "save_results",
    "step_dir",
]

DATA_HOME_ENV = "ALICE_DATA_HOME"
RESULTS_DIR_ENV = "ALICE_RESULTS_DIR"


class DataHomeError(RuntimeError):
    """The data home cannot be used: it names a file, or a folder that cannot be written."""


def get_data_home(create: bool = True) -> Path:
    """The folder holding downloads, the simulated dataset and cached intermediate results."""
    home = Path(os.environ.get(DATA_HOME_ENV) or Path.home() / "alice_data").expanduser()
    if home.exists() and not home.is_dir():
        raise DataHomeError(
            f"{DATA_HOME_ENV}={home} names a file, not a folder; point {DATA_HOME_ENV} at a "
            "folder (it is created if missing)"
        )
    if create:
        with _writable(home, home):
            home.mkdir(parents=True, exist_ok=True)
    return home


@contextmanager
def _writable(folder: Path, home: Path) -> Iterator[None]:
    """Turn a failed write under the data home into one line naming the folder and the fix."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        raise DataHomeError(
            f"cannot write {folder}: the data home {home} is not writable ({exc.strerror}); "
            f"set {DATA_HOME_ENV} to a writable folder (a read-only data home works only for "
            "results it already holds)"
        ) from None


def digest_of(payload: Any) -> str:
    """A short, stable hash of any JSON-able payload."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def step_dir(step: str, key: dict[str, Any]) -> Path:
    """The cache folder of one pipeline step for one set of parameters.

    The parameters are written next to the results (``key.json``) so a folder explains itself.
    Credentials (a password or token inside ``llm.base_url``, the API key) never change a result,
    so they are redacted before the key is hashed or written: they reach neither the folder name
    nor ``key.json``.
    """
    key = redact(key)
    home = get_data_home(create=False)
    folder = home / "cache" / step / digest_of(key)
    key_file = folder / "key.json"
    if not key_file.exists():
        with _writable(folder, home):
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_json(key_file, key)
    return folder


def results_dir() -> Path:
    """Where chapters write their key numbers (``_build/results`` of the book being built).

    Returns
    -------
    pathlib.Path
        The folder (created if needed): ``$ALICE_RESULTS_DIR`` if set, else ``_build/results``
        under the current folder.
    """
    folder = Path(os.environ.get(RESULTS_DIR_ENV) or Path.cwd() / "_build" / "results")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _finite_or_none(value: Any) -> Any:
    """NaN and infinities become null, so results files are strict JSON that any reader accepts."""
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    if isinstance(value, np.ndarray):
        return _finite_or_none(value.tolist())
    return value


def save_results(notebook: str, numbers: dict[str, Any]) -> None:
    """Write a chapter's key numbers to ``<results dir>/<notebook>.json`` (NaN written as null).

    Returns nothing: it is the last line of most chapters, and a returned path would be shown
    in the rendered page with the machine's absolute folder names. Credentials are redacted.

    Parameters
    ----------
    notebook : str
        The chapter's name, which names the file.
    numbers : dict
        JSON-serialisable key numbers (nested dicts and lists allowed).
    """
    atomic_write_json(results_dir() / f"{notebook}.json", redact(_finite_or_none(numbers)))

"""Where results live, and how they are written without ever leaving a half-written file.

Intermediate results go under a data home (``ALICE_DATA_HOME``, default ``~/alice_data``) in
folders keyed by the parameters that produced them, so a run with new parameters never reads stale
results and an unchanged step is not recomputed. Every write goes to a temporary name in the same
folder and is renamed into place, so an interrupted run cannot corrupt what is cached.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

DATA_HOME_ENV = "ALICE_DATA_HOME"
RESULTS_DIR_ENV = "ALICE_RESULTS_DIR"


def get_data_home(create: bool = True) -> Path:
    """The folder holding downloads, the simulated dataset and cached intermediate results."""
    home = Path(os.environ.get(DATA_HOME_ENV) or Path.home() / "alice_data").expanduser()
    if create:
        home.mkdir(parents=True, exist_ok=True)
    return home


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(target: str | Path, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | Path, text: str) -> Path:
    return atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_json(target: str | Path, payload: Any) -> Path:
    return atomic_write_text(target, json.dumps(payload, indent=2, sort_keys=True, default=_jsonable) + "\n")


def save_arrays(target: str | Path, **arrays: np.ndarray) -> Path:
    """Write arrays to an ``.npz`` file atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return atomic_write_bytes(target, buffer.getvalue())


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def digest_of(payload: Any) -> str:
    """A short, stable hash of any JSON-able payload."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def step_dir(step: str, key: dict[str, Any]) -> Path:
    """The cache folder of one pipeline step for one set of parameters.

    The parameters are written next to the results (``key.json``) so a folder explains itself.
    """
    folder = get_data_home() / "cache" / step / digest_of(key)
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "key.json"
    if not key_file.exists():
        atomic_write_json(key_file, key)
    return folder


def cached_arrays(path: Path, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Load ``path`` if it exists, else compute, save atomically and return."""
    if path.exists():
        return load_arrays(path)
    arrays = compute()
    save_arrays(path, **arrays)
    return arrays


def results_dir() -> Path:
    """Where chapters write their key numbers (``_build/results`` of the book being built)."""
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


def save_results(notebook: str, numbers: dict[str, Any]) -> Path:
    """Write a chapter's key numbers to ``_build/results/<notebook>.json`` (NaN written as null)."""
    return atomic_write_json(results_dir() / f"{notebook}.json", _finite_or_none(numbers))


def load_results(notebook: str) -> dict[str, Any]:
    path = results_dir() / f"{notebook}.json"
    if not path.exists():
        raise FileNotFoundError(f"no results for {notebook} at {path}: run that chapter first")
    return json.loads(path.read_text())

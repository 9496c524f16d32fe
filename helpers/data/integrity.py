"""Cached artefacts that prove they are intact: every file is saved with a sha256 beside it.

A cache file can be damaged after it was written (a full disk, a copy cut short, a stray editor):
numpy and json then fail deep inside (``BadZipFile``, ``EOFError``, ``JSONDecodeError``) or, worse,
read changed numbers without complaint. Here every artefact ``name`` gets a sidecar
``name.sha256`` holding its size and checksum; a loader verifies both and raises
:class:`CorruptCacheError` naming the file, and :func:`cached_arrays` / :func:`cached_json`
turn that into a one-line warning and a rebuild.

Use in a cache step::

    try:
        arrays = load_arrays(path)          # or load_array / load_json
    except CorruptCacheError as error:
        discard_corrupt(error)              # one-line warning, file and sidecar removed
        arrays = None                       # ... then recompute and save_arrays(path, ...)

Writers hold the artefact's lock (:func:`helpers.data.files.file_lock`) while they write the file
and its sidecar, and a reader that sees a mismatch re-checks under that lock before calling the
file corrupt, so a file being replaced by another process is never mistaken for a damaged one.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from helpers.data.files import atomic_path, atomic_write_text, file_lock, json_text

CHECKSUM_SUFFIX = ".sha256"
_CHUNK = 1 << 22
_verified: dict[tuple[str, int, int, int], str] = {}
"""Files verified in this process, by (path, inode, size, mtime): a second load is free."""


class CorruptCacheError(RuntimeError):
    """A cached file is damaged or unverifiable; ``path`` names it and ``reason`` says how."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"corrupt cache file {self.path} ({reason})")


def checksum_path(path: str | Path) -> Path:
    """The sidecar ``<name>.sha256`` that records ``path``'s size and checksum."""
    path = Path(path)
    return path.with_name(path.name + CHECKSUM_SUFFIX)


class _HashingWriter:
    """A binary file wrapper that hashes what passes through it, so nothing is read twice."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def _file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _write_checksum(path: Path, digest: str, size: int) -> None:
    atomic_write_text(checksum_path(path), f"{digest} {size}\n")


def _memo_key(path: Path) -> tuple[str, int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns


def _mismatch(path: Path) -> str | None:
    """Why ``path`` does not match its sidecar, or None when it does."""
    sidecar = checksum_path(path)
    if not path.is_file():
        return "missing"
    try:
        recorded = sidecar.read_text().split()
        expected, expected_size = recorded[0], int(recorded[1])
    except FileNotFoundError:
        # Written by an older version, or the run was killed between the file and its sidecar.
        # The file itself was renamed into place whole, so it is checked by parsing it instead.
        return None
    except (OSError, ValueError, IndexError):
        return f"unreadable checksum record {sidecar.name}"
    key = _memo_key(path)
    if key is not None and _verified.get(key) == expected:
        return None
    size = path.stat().st_size
    if size != expected_size:
        return f"{size} bytes, expected {expected_size}: truncated or overwritten"
    actual, _ = _file_digest(path)
    if actual != expected:
        return "content differs from its recorded sha256: the file was changed after it was written"
    if key is not None:
        _verified[key] = expected
    return None


def verify(path: str | Path) -> None:
    """Raise :class:`CorruptCacheError` unless ``path`` matches its recorded size and checksum.

    A file without a sidecar passes (its loader still parses it and fails on a damaged file).

    A mismatch is re-checked under the file's lock, so a file another process is replacing at this
    moment (file renamed, sidecar not yet) is not reported as corrupt.
    """
    path = Path(path)
    reason = _mismatch(path)
    if reason is None:
        return
    try:
        with file_lock(path):
            reason = _mismatch(path)
    except OSError:  # a read-only data home has no writer to wait for
        pass
    if reason is not None:
        raise CorruptCacheError(path, reason)


def discard_corrupt(error: CorruptCacheError) -> None:
    """Say in one line which cache file is damaged and remove it (and its sidecar) for a rebuild."""
    print(f"[alice] warning: {error}; rebuilding it", file=sys.stderr, flush=True)
    with file_lock(error.path):
        error.path.unlink(missing_ok=True)
        checksum_path(error.path).unlink(missing_ok=True)


# --------------------------------------------------------------------------------- writers
def save_bytes(target: str | Path, data: bytes) -> Path:
    """Write ``data`` atomically with its checksum sidecar."""
    target = Path(target)
    with file_lock(target):
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        _write_checksum(target, hashlib.sha256(data).hexdigest(), len(data))
    return target


def save_arrays(target: str | Path, **arrays: np.ndarray) -> Path:
    """Write arrays to an ``.npz`` file atomically, with its checksum."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return save_bytes(target, buffer.getvalue())


def save_array(target: str | Path, array: np.ndarray) -> Path:
    """Write one array to a ``.npy`` file atomically, with its checksum.

    The array is streamed to disk and hashed on the way, so a multi-GB matrix is neither copied in
    memory nor read back.
    """
    target = Path(target)
    with file_lock(target):
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            writer = _HashingWriter(handle)
            np.save(writer, np.asanyarray(array), allow_pickle=False)
        _write_checksum(target, writer.digest.hexdigest(), writer.size)
    return target


def save_json(target: str | Path, payload: Any) -> Path:
    """Write ``payload`` as JSON atomically, with its checksum."""
    return save_bytes(target, json_text(payload).encode("utf-8"))


# --------------------------------------------------------------------------------- readers
def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Arrays of an ``.npz`` file, verified first; :class:`CorruptCacheError` if damaged."""
    path = Path(path)
    verify(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except Exception as exc:  # noqa: BLE001 - zipfile, EOFError, ValueError...: all mean an unusable file
        raise CorruptCacheError(path, f"unreadable as .npz: {type(exc).__name__}") from None


def load_array(path: str | Path, mmap_mode: str | None = None) -> np.ndarray:
    """The array of a ``.npy`` file, verified first (``mmap_mode`` as in :func:`numpy.load`)."""
    path = Path(path)
    verify(path)
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - a bad header raises ValueError, a short file EOFError
        raise CorruptCacheError(path, f"unreadable as .npy: {type(exc).__name__}") from None


def load_json(path: str | Path) -> Any:
    """The content of a JSON file, verified first; :class:`CorruptCacheError` if damaged."""
    path = Path(path)
    verify(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptCacheError(path, f"unreadable as JSON: {type(exc).__name__}") from None


def _cached(
    path: Path,
    load: Callable[[Path], Any],
    compute: Callable[[], Any],
    save: Callable[[Path, Any], Any],
) -> Any:
    if path.exists():
        try:
            return load(path)
        except CorruptCacheError as error:
            discard_corrupt(error)
    with file_lock(path, what=str(path)):
        if path.exists():  # another process may have built it while this one waited
            try:
                return load(path)
            except CorruptCacheError as error:
                print(f"[alice] warning: {error}; rebuilding it", file=sys.stderr, flush=True)
        value = compute()
        save(path, value)
        return value


def cached_arrays(
    path: str | Path, compute: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Load ``path`` if it is intact, else compute, save (with checksum) and return.

    A damaged file is named in one warning line and rebuilt; two processes asking for the same
    file compute it once (the second waits for the first and reads its result).
    """
    return _cached(Path(path), load_arrays, compute, lambda p, arrays: save_arrays(p, **arrays))


def cached_json(path: str | Path, compute: Callable[[], Any]) -> Any:
    """:func:`cached_arrays` for a JSON-able value."""
    return _cached(Path(path), load_json, compute, save_json)

"""Writing files so that no reader ever sees half of one, and so that two runs do not collide.

Every write goes to a temporary name in the target's folder and is renamed into place only when
complete, so an interrupted run leaves either the old file or the new one. Files and folders are
created with the permissions the user's umask allows (like any other program), so a data home can
be shared by a lab group. :func:`file_lock` serialises work that two processes must not do at the
same time (writing one simulated dataset, one cache entry, the run manifest).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

PART_SUFFIX = ".part"
LOCK_SUFFIX = ".lock"


def current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would race with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    previous = os.umask(0o022)  # no /proc (macOS): the only portable way to read it
    os.umask(previous)
    return previous


def file_mode() -> int:
    """Permissions of a new regular file under the current umask (0644 with the usual umask 022)."""
    return 0o666 & ~current_umask()


def apply_umask_permissions(path: Path, directory: bool = False) -> None:
    """Give ``path`` the permissions a normal ``open``/``mkdir`` would have given it.

    Used on files created by libraries that use ``tempfile`` (mode 0600, folders 0700), which
    would make a data home unreadable to the rest of a lab group.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


def _temporary_sibling(target: Path) -> Path:
    """Create an empty, uniquely named file next to ``target`` with umask permissions."""
    while True:
        candidate = target.parent / f".{target.name}.{secrets.token_hex(6)}{PART_SUFFIX}"
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return candidate


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_sibling(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(target: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    return atomic_write_bytes(target, text.encode("utf-8"))


def json_text(payload: Any) -> str:
    """The project's JSON layout: indented, sorted keys, numpy values as plain numbers."""
    return json.dumps(payload, indent=2, sort_keys=True, default=_jsonable) + "\n"


def atomic_write_json(target: str | Path, payload: Any) -> Path:
    """Write ``payload`` as JSON to ``target`` atomically."""
    return atomic_write_text(target, json_text(payload))


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def lock_path(path: str | Path) -> Path:
    """The hidden lock file that guards ``path`` (``folder/.name.lock``)."""
    path = Path(path)
    return path.parent / f".{path.name}{LOCK_SUFFIX}"


@contextmanager
def file_lock(
    path: str | Path, what: str | None = None, notice_after_s: float = 0.5, remove: bool = False
) -> Iterator[None]:
    """Hold an inter-process lock on ``path`` (through ``.name.lock`` beside it).

    Blocks until the lock is free, saying once on stderr which lock it waits for, so a run that
    waits for another one is not mistaken for a hung run. The operating system releases the lock
    when its holder dies, even by ``kill -9``. Re-entrant within a thread: code holding the lock
    may call functions that take it again. ``remove=True`` deletes the lock file before releasing
    it (for one-off work such as creating a dataset; waiting peers notice and take a fresh one).
    """
    guard = lock_path(path)
    guard.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(guard), mode=file_mode(), is_singleton=True)
    try:
        lock.acquire(timeout=notice_after_s)
    except Timeout:
        began = time.perf_counter()
        print(
            f"[alice] waiting for another process that is writing {what or path} (lock {guard})",
            file=sys.stderr,
            flush=True,
        )
        lock.acquire()
        print(
            f"[alice] lock {guard.name} acquired after {time.perf_counter() - began:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    try:
        yield
    finally:
        if remove and lock.lock_counter == 1:
            guard.unlink(missing_ok=True)
        lock.release()


@contextmanager
def file_lock_if_free(path: str | Path, remove: bool = False) -> Iterator[bool]:
    """Take the lock of ``path`` only if nobody holds it; yield whether it was taken.

    Lets a run clean up what a killed run left behind without touching what a live run uses.
    ``remove`` as in :func:`file_lock`.
    """
    guard = lock_path(path)
    guard.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(guard), mode=file_mode(), is_singleton=True)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        if remove and lock.lock_counter == 1:
            guard.unlink(missing_ok=True)
        lock.release()

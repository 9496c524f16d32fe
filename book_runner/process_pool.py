"""Local worker processes that never outlive the command that started them.

A ``ProcessPoolExecutor`` alone leaves its workers computing when its parent is killed (``kill -9``,
a CI step timeout, a closed terminal): nothing tells them. Each worker here watches its parent: on
Linux the kernel sends it SIGKILL when the parent dies (``PR_SET_PDEATHSIG``), and everywhere a
watchdog thread exits the worker as soon as its parent process changes. Workers ignore Ctrl-C,
which the parent handles once (cancelling queued work and stopping the workers), so an interrupt
prints one line instead of a traceback per process.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.5


def kill_when_parent_dies() -> None:
    """In a child process (``preexec_fn``): have the kernel send it SIGKILL when its parent dies.

    Linux only (``PR_SET_PDEATHSIG``); elsewhere a no-op.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:  # pragma: no cover - no libc
            pass


def _die_with_parent(parent: int, environ: dict[str, str]) -> None:
    """Worker initializer: ignore Ctrl-C, exit when ``parent`` is gone, set ``environ``."""
    os.environ.update(environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    kill_when_parent_dies()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_INTERVAL_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


@contextmanager
def worker_pool(
    workers: int, environ: dict[str, str] | None = None
) -> Iterator[cf.ProcessPoolExecutor]:
    """A process pool whose workers die with this process; on any error, stopped at once.

    ``environ``: variables set in each worker (e.g. ``TQDM_DISABLE=1``: one progress bar, the
    parent's, instead of every worker's drawn over it). A normal exit waits for the submitted
    work; an exception (Ctrl-C included) cancels what has not started and terminates the workers
    instead of waiting for the datasets in flight.
    """
    pool = cf.ProcessPoolExecutor(
        max_workers=workers,
        initializer=_die_with_parent,
        initargs=(os.getpid(), dict(environ or {})),
    )
    try:
        yield pool
    except BaseException:
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
        raise
    else:
        pool.shutdown(wait=True)

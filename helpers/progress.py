"""Progress bars that stay out of the rendered book, and progress lines for the person running it.

Long steps show tqdm bars to a person running them; the chapters executed for the book run with
``TQDM_DISABLE=1``, which here wins over a caller's explicit ``disable=False`` so no half-drawn bar
lands in a page. In such a run, :func:`fold_progress` writes a plain line to the terminal instead
(every ``every_s`` seconds at most), and :func:`announce` repeats a chapter's cost estimate there:
both go to the kernel's original standard error, which the notebook never records.
"""

from __future__ import annotations

import io
import os
import sys
import time
from typing import Any

from tqdm.auto import tqdm as _tqdm


def in_book_run() -> bool:
    """True inside a chapter executed by the book runner (progress bars are off there)."""
    return os.environ.get("TQDM_DISABLE") == "1"


def tqdm(*args: Any, **kwargs: Any) -> _tqdm:
    """``tqdm.auto.tqdm``, silenced when the environment says ``TQDM_DISABLE=1``."""
    if in_book_run():
        kwargs["disable"] = True
    return _tqdm(*args, **kwargs)


def terminal_line(text: str) -> bool:
    """Write ``text`` to the terminal that started the run, never into a notebook's output.

    Inside a Jupyter kernel ``sys.stderr.fileno()`` is the kernel's original standard error (the
    book runner's terminal); elsewhere it is the process's own. Returns False when there is no
    such terminal (a captured stream, as under pytest).
    """
    try:
        descriptor = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
    try:
        os.write(descriptor, (text.rstrip("\n") + "\n").encode())
    except OSError:
        return False
    return True


def announce(text: str) -> None:
    """Print ``text`` (into the notebook) and, in a book run, on the runner's terminal too.

    Parameters
    ----------
    text : str
        One line to show.
    """
    print(text)
    if in_book_run():
        terminal_line(f"[alice] {text}")


class FoldLines:
    """Fold-by-fold progress as terminal lines: ``<what>: fold 3/25, 41 s, about 5.8 min left``."""

    def __init__(self, total: int, desc: str, every_s: float = 15.0) -> None:
        self.total, self.desc, self.every_s = total, desc, every_s
        self.done = 0
        self.started = self.last = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every_s or (
            self.done == self.total and now - self.started >= self.every_s
        ):
            self.last = now
            terminal_line(f"[alice] {self.line(now - self.started)}")

    def line(self, elapsed: float) -> str:
        left = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        rest = f", about {_seconds_text(left)} left" if self.done < self.total else ", done"
        return f"{self.desc}: fold {self.done}/{self.total}, {_seconds_text(elapsed)}{rest}"

    def close(self) -> None:
        """Nothing to tear down (the same interface as a tqdm bar)."""


def _seconds_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def fold_progress(total: int, desc: str, enabled: bool = True) -> Any:
    """Progress over ``total`` folds: a tqdm bar, terminal lines in a book run, or nothing.

    Parameters
    ----------
    total : int
        Number of folds.
    desc : str
        What is being cross-validated (model, features, split).
    enabled : bool
        False shows nothing.
    """
    if enabled and in_book_run():
        return FoldLines(total, desc)
    return _tqdm(total=total, desc=desc, disable=not enabled, leave=False)

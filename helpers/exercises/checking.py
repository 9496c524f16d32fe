"""Comparing a student's answer with the reference computation, with messages that help."""

from __future__ import annotations

from typing import Any

import numpy as np


def not_answered(answer: Any) -> bool:
    """True while the answer is still the ``...`` placeholder the exercise left in the cell."""
    return answer is Ellipsis


def check_array(name: str, answer: Any, expected: np.ndarray, *, atol: float = 1e-6) -> bool:
    """Print whether ``answer`` equals ``expected`` (shape, then values within ``atol``).

    Returns True when it does. Wrong answers are described, not raised, so the rest of the
    chapter still runs; solutions use ``assert check_array(...)``.
    """
    if not_answered(answer):
        print(f"{name}: not answered yet - replace the ... with your code and run the cell again.")
        return False
    expected = np.asarray(expected)
    try:
        values = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        print(f"{name}: expected an array of numbers, got {type(answer).__name__}.")
        return False
    if values.shape != expected.shape:
        print(f"{name}: shape {values.shape}, expected {expected.shape}.")
        return False
    if not np.all(np.isfinite(values) == np.isfinite(expected)):
        print(f"{name}: NaN or infinite values where the reference has none (or the reverse).")
        return False
    error = np.abs(np.nan_to_num(values - expected))
    if error.max(initial=0.0) > atol:
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(error)), error.shape))
        print(
            f"{name}: {int((error > atol).sum())} of {error.size} values differ by more than "
            f"{atol:g}; the largest difference, {error.max():.3g}, is at index {worst}."
        )
        return False
    print(f"{name}: correct.")
    return True

"""Numbers as the chapters' prose shows them, with a word where a number is missing.

A chapter glues its key numbers into the text. A number can be missing for a good reason (no
oracle on real data, no DFC-against-ROI test when only one feature set runs), and a missing value
glued as text cannot take a number format: the page would fail to build. :func:`number_text`
formats in the notebook instead, so the prose reads "n/a" and the book still builds strictly.
"""

from __future__ import annotations

import math
from numbers import Real

__all__ = ["MISSING", "number_text"]

MISSING = "n/a"


def number_text(value: object, spec: str = ".2f", missing: str = MISSING) -> str:
    """``value`` formatted with ``spec`` (e.g. ``".3f"``), or ``missing`` for None, NaN or a non-number.

    Parameters
    ----------
    value : number, None or anything else
        The number to show; None, NaN and values that are not real numbers count as missing.
    spec : str
        A format specification, as in ``format(value, spec)``.
    missing : str
        What the text shows in place of a missing number.

    Returns
    -------
    str
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        return missing
    number = float(value)
    return missing if math.isnan(number) else format(number, spec)

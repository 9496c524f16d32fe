"""Progress bars that stay out of the rendered book.

Long steps show tqdm bars to a person running them; the chapters executed for the book run with
``TQDM_DISABLE=1``, which here wins over a caller's explicit ``disable=False`` so no half-drawn bar
lands in a page.
"""

from __future__ import annotations

import os
from typing import Any

from tqdm.auto import tqdm as _tqdm


def tqdm(*args: Any, **kwargs: Any) -> _tqdm:
    """``tqdm.auto.tqdm``, silenced when the environment says ``TQDM_DISABLE=1``."""
    if os.environ.get("TQDM_DISABLE") == "1":
        kwargs["disable"] = True
    return _tqdm(*args, **kwargs)

"""Grids of parameter sets written with dotted keys (``window.length: [6, 12]``).

Sweeps and the sensitivity chapter describe the parameter sets they try as dotted keys;
these functions expand them into nested overrides, in a stable order, with stable names.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from helpers.parameter_files import nest_dotted_keys


class SweepError(ValueError):
    """A sweep file or a sweep folder is not usable; the message says what to fix."""


def expand_dotted(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"window.length": 6, "atlas": "x"}`` -> ``{"window": {"length": 6}, "atlas": "x"}``.

    A key that is both set whole and through a dotted child (``window`` and ``window.length``) is
    ambiguous and rejected with :class:`SweepError`.
    """
    return nest_dotted_keys(values, error=SweepError)


def expand_grid(
    grid: Mapping[str, Sequence[Any]] | None,
    combinations: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Every parameter set of a sweep, as dicts of dotted keys, in a stable order.

    The cartesian product of ``grid`` (keys in the given order, the last varying fastest), followed
    by the explicit ``combinations``; repeats are dropped. An empty grid and no combinations give
    one empty combination (the base parameters).

    Parameters
    ----------
    grid : mapping of str to sequence, optional
        Dotted key to the values to try.
    combinations : sequence of mapping, optional
        Extra parameter sets (dotted key to value) appended after the product.

    Returns
    -------
    list of dict
        The parameter sets, dotted key to value, without repeats.

    Raises
    ------
    SweepError
        When a grid value is not a non-empty list or a combination not a mapping.
    """
    grid = dict(grid or {})
    for key, options in grid.items():
        if isinstance(options, (str, bytes)) or not isinstance(options, Sequence):
            raise SweepError(
                f"grid value of {key!r} must be a list of values to try, got {options!r}; "
                f"write e.g. {key}: [{options!r}]"
            )
        if len(options) == 0:
            raise SweepError(f"grid value of {key!r} is an empty list; give at least one value")
    expanded = (
        [dict(zip(grid, values)) for values in itertools.product(*grid.values())] if grid else []
    )
    for index, extra in enumerate(combinations or []):
        if not isinstance(extra, Mapping):
            raise SweepError(
                f"combination {index} must be a mapping of dotted keys to values, got {extra!r}"
            )
        expanded.append(dict(extra))
    if not expanded:
        expanded = [{}]
    unique, seen = [], set()
    for values in expanded:
        expand_dotted(values)  # reject ambiguous keys early
        token = _canonical(values)
        if token not in seen:
            seen.add(token)
            unique.append(values)
    return unique


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def _value_text(value: Any) -> str:
    """A swept value as it appears in names and table cells: lists joined with '+'."""
    if isinstance(value, (list, tuple)):
        return "+".join(_value_text(v) for v in value)
    if isinstance(value, dict):
        return _canonical(value)
    return str(value)


def combination_id(values: Mapping[str, Any], max_length: int = 64) -> str:
    """A readable, stable folder name: the swept values plus a hash of all of them.

    The hash makes the name depend on the values only (not on their position in the grid), so
    a resumed sweep with a reordered or extended grid still recognises finished combinations.
    """
    digest = hashlib.sha256(_canonical(values).encode()).hexdigest()[:8]
    parts = []
    for key, value in values.items():
        text = "".join(c if c.isalnum() or c in "+-." else "-" for c in _value_text(value))
        parts.append(f"{key.split('.')[-1]}-{text}")
    slug = "_".join(parts)[:max_length].rstrip("_-")
    return f"{slug}_{digest}" if slug else f"base_{digest}"

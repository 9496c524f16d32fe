"""Checks for the sensitivity chapter's exercises: reading the power curve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from helpers.exercises.checking import check_array, not_answered


def check_smallest_snr(answer: Any, power: pd.DataFrame, threshold: float = 0.5) -> bool:
    """Print whether ``answer`` gives, per model, the smallest SNR detecting most emotions.

    ``answer`` maps every model of ``power`` (a Series or a dict) to the smallest simulated SNR
    whose ``share_detected`` exceeds ``threshold``, or NaN for a model that never gets there.

    Parameters
    ----------
    answer : pandas.Series, dict or Ellipsis
        Model to its smallest SNR (NaN when never reached).
    power : pandas.DataFrame
        The power table: one row per (model, SNR), with columns ``model``, ``snr`` and
        ``share_detected``.
    threshold : float, optional
        The share of emotions detected that counts as most.

    Returns
    -------
    bool
        True when the answer matches the reference.
    """
    if not_answered(answer):
        print(
            "smallest SNR: not answered yet - replace the ... with your code and run the cell again."
        )
        return False
    if not isinstance(answer, (Mapping, pd.Series)):
        print(
            f"smallest SNR: expected a Series or dict keyed by model, got {type(answer).__name__}."
        )
        return False
    given = pd.Series(answer, dtype=object)
    models = sorted(power["model"].unique())
    missing = sorted(set(models) - set(given.index))
    extra = sorted(set(given.index) - set(models))
    if missing or extra:
        print(f"smallest SNR: models missing {missing}, not in the table {extra}.")
        return False
    values = pd.to_numeric(given.reindex(models), errors="coerce").to_numpy(dtype=float)
    return check_array("smallest SNR", values, _smallest_snr(power, threshold, models))


def _smallest_snr(power: pd.DataFrame, threshold: float, models: list[str]) -> np.ndarray:
    """Reference: the smallest SNR per model whose detected share exceeds ``threshold``."""
    shares = pd.to_numeric(power["share_detected"], errors="coerce")
    above = power[shares > threshold]
    return above.groupby("model")["snr"].min().reindex(models).to_numpy(dtype=float)

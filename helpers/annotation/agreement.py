"""How far emotion ratings agree: between annotators, and between repeated runs of one annotator.

Ratings are arranged with **units in rows and raters in columns** (a unit is a story segment, a
rater an annotator or one sampled run of the LLM); missing ratings are NaN.

- :func:`krippendorff_alpha`: agreement among any number of raters, tolerant of missing ratings,
  for interval (default) or nominal values.
- :func:`intraclass_correlation`: Shrout & Fleiss ICC(1,1), ICC(2,1) and ICC(3,1) for complete data.
- :func:`per_emotion_spearman`: rank correlation of two annotators per emotion, with a p-value
  from circular shifts, because consecutive segments are not independent and a textbook p-value
  would overstate the evidence.
- :func:`summarise_agreement`: median, best and worst emotion of such a table.

An annotator whose ratings of an emotion never vary (all 0.5, or all clamped to 1) carries no
ranking, so any correlation with it is undefined: it is reported as NaN with a note, not as 0.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import rankdata


def _as_matrix(ratings: np.ndarray | pd.DataFrame) -> np.ndarray:
    matrix = np.asarray(ratings, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(
            f"ratings must be a 2-D table (units in rows, raters in columns), got shape {matrix.shape}"
        )
    return matrix


def krippendorff_alpha(
    ratings: np.ndarray | pd.DataFrame, level: Literal["interval", "nominal"] = "interval"
) -> float:
    """Krippendorff's alpha, ``1 - observed / expected disagreement``.

    Only units rated by at least two raters count ("pairable" values). Interval data use the
    squared difference as disagreement; nominal data count any difference as 1. Returns NaN when
    there is no variation at all among the pairable values (agreement is then undefined).
    """
    matrix = _as_matrix(ratings)
    if level not in ("interval", "nominal"):
        raise ValueError(f"unknown level {level!r}; allowed: interval, nominal")
    present = ~np.isnan(matrix)
    per_unit = present.sum(axis=1)
    pairable = per_unit >= 2
    if pairable.sum() == 0:
        raise ValueError("no unit has ratings from two raters; alpha needs at least one such unit")
    matrix, present, per_unit = matrix[pairable], present[pairable], per_unit[pairable]
    n_values = per_unit.sum()
    values = np.where(present, matrix, 0.0)

    if level == "interval":
        unit_sum = values.sum(axis=1)
        unit_sq = (values**2).sum(axis=1)
        # sum over ordered pairs i != j of (v_i - v_j)^2 equals 2 (m sum v^2 - (sum v)^2)
        within = 2.0 * (per_unit * unit_sq - unit_sum**2) / (per_unit - 1)
        all_values = matrix[present]
        total = 2.0 * (n_values * (all_values**2).sum() - all_values.sum() ** 2)
    else:
        categories = np.unique(matrix[present])
        # counts[u, c]: how many raters gave unit u category c
        counts = np.stack([(present & (matrix == c)).sum(axis=1) for c in categories], axis=1)
        # ordered pairs of different categories within a unit: m^2 - sum_c n_c^2
        within = (per_unit**2 - (counts**2).sum(axis=1)) / (per_unit - 1)
        totals = counts.sum(axis=0)
        total = n_values**2 - (totals**2).sum()
    observed = within.sum() / n_values
    expected = total / (n_values * (n_values - 1))
    if expected == 0:
        return float("nan")
    return float(1.0 - observed / expected)


def intraclass_correlation(
    ratings: np.ndarray | pd.DataFrame, kind: Literal["1,1", "2,1", "3,1"] = "2,1"
) -> float:
    """Shrout & Fleiss (1979) intraclass correlation for complete ratings.

    ``1,1``: one-way random (raters interchangeable, e.g. repeated LLM samples); ``2,1``:
    two-way random, absolute agreement; ``3,1``: two-way mixed, consistency.
    """
    matrix = _as_matrix(ratings)
    if np.isnan(matrix).any():
        raise ValueError(
            "the ICC needs complete ratings; use krippendorff_alpha for missing values"
        )
    n, k = matrix.shape
    if n < 2 or k < 2:
        raise ValueError(f"the ICC needs at least 2 units and 2 raters, got {n} units x {k} raters")
    grand = matrix.mean()
    ss_rows = k * ((matrix.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((matrix.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((matrix - grand) ** 2).sum()
    ss_error = ss_total - ss_rows - ss_cols
    ms_rows = ss_rows / (n - 1)
    ms_within = (ss_cols + ss_error) / (n * (k - 1))
    ms_cols = ss_cols / (k - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    if kind == "1,1":
        denominator = ms_rows + (k - 1) * ms_within
        numerator = ms_rows - ms_within
    elif kind == "2,1":
        denominator = ms_rows + (k - 1) * ms_error + k * (ms_cols - ms_error) / n
        numerator = ms_rows - ms_error
    elif kind == "3,1":
        denominator = ms_rows + (k - 1) * ms_error
        numerator = ms_rows - ms_error
    else:
        raise ValueError(f"unknown ICC kind {kind!r}; allowed: 1,1  2,1  3,1")
    return float(numerator / denominator) if denominator != 0 else float("nan")


def _spearman_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of matching columns of ``a`` and ``b`` (NaN for constant columns)."""
    ra = rankdata(a, axis=0)
    rb = rankdata(b, axis=0)
    ra -= ra.mean(axis=0)
    rb -= rb.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(axis=0) / np.sqrt((ra**2).sum(axis=0) * (rb**2).sum(axis=0))


def _constant_note(first: np.ndarray, second: np.ndarray) -> str:
    """Why a correlation is undefined ("" when it is not): which ratings never vary, at what."""
    parts = [
        f"{label} ratings all {values[0]:.3g}"
        for label, values in (("first", first), ("second", second))
        if np.all(values == values[0])
    ]
    return f"undefined ({' and '.join(parts)})" if parts else ""


def per_emotion_spearman(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Spearman's rho between two annotators per shared column, with a circular-shift p-value.

    The null distribution shifts one series circularly by every lag from 1 to n - 1 (an exact
    enumeration), which keeps each series' autocorrelation; the two-sided p-value is the share of
    shifts (counting the observed one) whose ``|rho|`` is at least the observed ``|rho|``.
    Columns ``rho``, ``p_circular`` and ``note``: where either annotator's ratings are constant,
    rho and p are NaN and the note says which ratings never vary.

    Parameters
    ----------
    a, b : pandas.DataFrame
        Two annotations, (n_segments, n_columns) each, on the same rows; only the columns both
        have are compared.

    Returns
    -------
    pandas.DataFrame
        One row per shared column (index ``emotion``), columns ``rho``, ``p_circular`` and ``note``.
    """
    if len(a) != len(b):
        raise ValueError(
            f"the two annotations have {len(a)} and {len(b)} rows; compare them on the same "
            "segments (e.g. both on the 'paper' segmentation) or on the same TR grid"
        )
    columns = [c for c in a.columns if c in b.columns]
    if not columns:
        raise ValueError("the two annotations share no emotion column")
    x = a[columns].to_numpy(dtype=float)
    y = b[columns].to_numpy(dtype=float)
    n = len(x)
    if n < 3:
        raise ValueError(f"need at least 3 segments to correlate, got {n}")
    observed = _spearman_columns(x, y)
    exceed = np.ones(len(columns))
    for lag in range(1, n):
        shifted = _spearman_columns(x, np.roll(y, lag, axis=0))
        exceed += np.abs(np.nan_to_num(shifted)) >= np.abs(observed) - 1e-12
    p_values = np.where(np.isnan(observed), np.nan, exceed / n)
    notes = [_constant_note(x[:, j], y[:, j]) for j in range(len(columns))]
    return pd.DataFrame(
        {"rho": observed, "p_circular": p_values, "note": notes},
        index=pd.Index(columns, name="emotion"),
    )


def summarise_agreement(table: pd.DataFrame, alpha: float = 0.05) -> dict[str, object]:
    """Median rho, best and worst emotion, and how many reach ``p_circular < alpha``.

    Emotions whose rho is undefined (NaN) are left out of the median and the ranking and listed
    under ``undefined``; when none is defined, median is NaN and best and worst are None.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`per_emotion_spearman`, with columns ``rho`` and ``p_circular``.
    alpha : float, optional
        The significance level the count of ``n_significant`` uses.

    Returns
    -------
    dict
        ``median_rho`` (float), ``best`` and ``worst`` (``(emotion, rho)`` or None),
        ``n_significant`` and ``n_emotions`` (int) and ``undefined`` (list of emotions).
    """
    defined = table["rho"].dropna()
    summary: dict[str, object] = {
        "median_rho": float(defined.median()) if len(defined) else float("nan"),
        "best": None,
        "worst": None,
        "n_significant": int((table["p_circular"] < alpha).sum()),
        "n_emotions": len(table),
        "undefined": [str(e) for e in table.index[table["rho"].isna()]],
    }
    if len(defined):
        summary["best"] = (str(defined.idxmax()), float(defined.max()))
        summary["worst"] = (str(defined.idxmin()), float(defined.min()))
    return summary

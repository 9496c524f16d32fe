"""Figures of the calibration chapter: false-positive rates and power, null p-values."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

__all__ = ["plot_calibration", "plot_null_p_values"]


def plot_calibration(summary, alpha: float = 0.05):
    """False-positive rate of each test on null data (with its interval) beside its power.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per test: ``test``, ``false_positive_rate``, ``ci_low``, ``ci_high``, ``power``
        (as :func:`helpers.calibration.summarise` returns).
    alpha : float
        The level marked on the rates.

    Returns
    -------
    matplotlib.figure.Figure
    """
    order = summary.sort_values("test")
    y = np.arange(len(order))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.35 * len(order) + 1.5), sharey=True)
    rate = order["false_positive_rate"].to_numpy()
    errors = [rate - order["ci_low"].to_numpy(), order["ci_high"].to_numpy() - rate]
    left.errorbar(rate, y, xerr=errors, fmt="o", color="k", capsize=3)
    left.axvline(alpha, color="tab:red", lw=1)
    left.set_yticks(y, order["test"], fontsize=8)
    left.set_xlabel(f"false-positive rate at alpha {alpha} (null datasets)")
    right.barh(y, order["power"], color="tab:blue")
    right.set_xlim(0, 1)
    right.set_xlabel("power (planted datasets)")
    fig.tight_layout()
    return fig


def plot_null_p_values(p_values, alpha: float = 0.05, title: str = ""):
    """Null p-values against the uniform distribution: histogram and empirical CDF.

    A calibrated test's null p-values are uniform: a flat histogram at density 1 and a CDF on the
    diagonal. A CDF above the diagonal near ``alpha`` means too many small p-values.

    Parameters
    ----------
    p_values : array_like, shape (n,)
        p-values on null datasets.
    alpha : float
        The level marked.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    p = np.asarray(p_values, dtype=float)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    sns.histplot(p, bins=10, binrange=(0, 1), stat="density", color="lightgrey", ax=left)
    left.axhline(1, color="tab:red", lw=1, label="uniform")
    left.set(xlabel="null p-value", ylabel="density")
    left.legend(fontsize=8)
    sns.ecdfplot(p, ax=right, color="k")
    right.plot([0, 1], [0, 1], color="tab:red", lw=1)
    right.axvline(alpha, color="0.5", ls=":", lw=1)
    right.set(xlabel="null p-value", ylabel="share of p-values below", xlim=(0, 1), ylim=(0, 1))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig

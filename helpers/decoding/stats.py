"""Permutation p-values, false discovery rate, binomial intervals and paired tests."""

from __future__ import annotations

from itertools import product
from typing import NamedTuple

import numpy as np
from scipy import stats as scipy_stats


def permutation_p_value(observed: np.ndarray, null: np.ndarray) -> np.ndarray:
    """``(1 + #(null >= observed)) / (1 + n_null)`` per column; ``null`` is ``(n_null, ...)``."""
    null = np.asarray(null, dtype=float)
    if null.shape[0] == 0:
        return np.full(np.shape(observed), np.nan)
    exceed = np.sum(null >= np.asarray(observed, dtype=float)[None, ...] - 1e-12, axis=0)
    return (1.0 + exceed) / (1.0 + null.shape[0])


def fdr_bh(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (monotone, capped at 1); NaNs stay NaN.

    scipy's adjustment on the finite entries only, so a missing test neither counts in the family
    nor receives a value.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = ~np.isnan(p)
    if valid.any():
        out[valid] = scipy_stats.false_discovery_control(p[valid], method="bh")
    return out


def clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial rate; NaNs when there are no trials."""
    if trials == 0:
        return float("nan"), float("nan")
    interval = scipy_stats.binomtest(int(successes), int(trials)).proportion_ci(
        confidence_level=level, method="exact"
    )
    return float(interval.low), float(interval.high)


def paired_sign_flip(differences: np.ndarray, n_flips: int = 10_000, seed: int = 0) -> float:
    """Two-sided sign-flip p-value of the mean paired difference (exact for up to 16 pairs)."""
    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d)]
    if len(d) < 2:
        raise ValueError(f"a paired test needs at least 2 subjects, got {len(d)}")
    observed = abs(d.mean())
    if len(d) <= 16:
        signs = np.array(list(product((1.0, -1.0), repeat=len(d))))
        null = np.abs(signs @ d / len(d))
        return float(np.mean(null >= observed - 1e-12))
    rng = np.random.default_rng(seed)
    signs = rng.choice((1.0, -1.0), size=(n_flips, len(d)))
    null = np.abs(signs @ d / len(d))
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + n_flips))


def paired_subject_test(
    scores_a: np.ndarray, scores_b: np.ndarray, method: str = "sign_flip", seed: int = 0
) -> dict[str, float]:
    """Compare two models on the same held-out subjects: mean difference and a two-sided p-value."""
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(
            f"paired scores need one value per subject in both arrays; got {a.shape} and {b.shape}"
        )
    differences = a - b
    if method == "sign_flip":
        p = paired_sign_flip(differences, seed=seed)
    elif method == "wilcoxon":
        p = float(scipy_stats.wilcoxon(differences).pvalue)
    else:
        raise ValueError(f"unknown paired test {method!r}; allowed: sign_flip, wilcoxon")
    return {
        "delta_r": float(np.nanmean(differences)),
        "p_value": p,
        "n_subjects": int(np.sum(~np.isnan(differences))),
    }


def joint_permutation_test(
    observed_a: np.ndarray, observed_b: np.ndarray, null_a: np.ndarray, null_b: np.ndarray
) -> dict[str, float]:
    """Compare two pipelines (e.g. DFC against ROI features) through the same null target draws.

    ``observed_*`` are per-emotion scores (within-fold r) and ``null_*`` (n_draws, n_emotions) the
    scores of the same pipelines on the same null draws, row ``k`` of both from draw ``k``. The
    statistic is the difference in mean r over emotions; its null is the same difference on each
    draw, so subjects never count as independent units and the folds' dependence is kept. Two-sided
    p-value with the +1 correction, so it is never below ``1 / (n_draws + 1)``.
    """
    null_a, null_b = np.atleast_2d(null_a), np.atleast_2d(null_b)
    if null_a.shape != null_b.shape:
        raise ValueError(
            f"the two pipelines saw different null draws: {null_a.shape} and {null_b.shape}; "
            "run both with the same n_permutations, null_method and seed"
        )
    delta = float(np.nanmean(observed_a) - np.nanmean(observed_b))
    null_delta = np.nanmean(null_a, axis=1) - np.nanmean(null_b, axis=1)
    exceed = np.sum(np.abs(null_delta) >= abs(delta) - 1e-12)
    return {
        "delta_r": delta,
        "p_value": float((1 + exceed) / (1 + len(null_delta))),
        "n_draws": int(len(null_delta)),
        "null_sd": float(np.std(null_delta)),
    }


class VerdictLabels(NamedTuple):
    """What a verdict says when the effect is above zero, below zero, or neither."""

    positive: str
    negative: str
    neither: str = "inconclusive"


def verdict(
    effect: float,
    p_value: float | None,
    labels: VerdictLabels,
    *,
    interval: tuple[float, float] | None = None,
    alpha: float = 0.05,
) -> str:
    """Which way an effect points, or ``labels.neither`` when the data cannot say.

    The one rule behind every verdict of the book: ``positive`` (``negative``) when the two-sided
    test rejects at ``alpha`` and the effect is above (below) zero and, when an interval is given,
    the interval excludes zero; otherwise ``neither``. A test that cannot reach ``alpha`` (too few
    null draws), a missing p-value or an interval covering zero all give ``neither``: absence of
    evidence is never read as support.

    Parameters
    ----------
    effect : float
        The signed effect (e.g. DFC minus ROI mean r).
    p_value : float or None
        Its two-sided p-value; ``None`` when there was no test.
    labels : VerdictLabels
        The words for above zero, below zero and neither.
    interval : (float, float), optional
        A confidence interval of the effect; one that covers zero gives ``neither``.
    alpha : float
        The test's level.

    Returns
    -------
    str
        One of ``labels``.
    """
    positive, negative, neither = labels
    if p_value is None or not np.isfinite(p_value) or not np.isfinite(effect) or p_value >= alpha:
        return neither
    if interval is not None and interval[0] <= 0 <= interval[1]:
        return neither
    if effect > 0:
        return positive
    return negative if effect < 0 else neither

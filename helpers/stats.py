"""Null targets that keep autocorrelation, permutation p-values, FDR and the paired subject test.

Targets are a property of the story, not of a subject: every subject heard the same audio, so a null
target series is made once at the TR level (a circular shift or a phase randomisation of the eight
emotion time series, the same for all emotions so their co-occurrence is kept) and then aggregated
into windows exactly as the real targets were. Each null therefore has the real series' spectrum and
cross-emotion structure but no alignment with the brain.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import product

import numpy as np
from scipy import stats as scipy_stats


def circular_shift_nulls(tr_targets: np.ndarray, n_permutations: int, seed: int = 0, min_shift: int = 1) -> np.ndarray:
    """``(n_permutations, n_trs, n_targets)`` circular shifts by a random lag in ``[min_shift, n - min_shift]``.

    ``min_shift`` keeps the null away from the unshifted series (use at least the purge gap).
    """
    series = np.asarray(tr_targets, dtype=float)
    n = series.shape[0]
    if not 1 <= min_shift <= n // 2:
        raise ValueError(f"min_shift = {min_shift} must be between 1 and half the series length ({n // 2})")
    rng = np.random.default_rng(seed)
    shifts = rng.integers(min_shift, n - min_shift + 1, size=n_permutations)
    index = (np.arange(n)[None, :] - shifts[:, None]) % n
    return series[index]


def phase_randomised_nulls(tr_targets: np.ndarray, n_permutations: int, seed: int = 0) -> np.ndarray:
    """``(n_permutations, n_trs, n_targets)`` surrogates with the same amplitude spectrum per target.

    The same random phases are added to every target (multivariate surrogate), keeping cross-target
    correlations; the mean and the Nyquist term are left untouched so the series stay real.
    """
    series = np.asarray(tr_targets, dtype=float)
    n = series.shape[0]
    spectrum = np.fft.rfft(series, axis=0)
    rng = np.random.default_rng(seed)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(n_permutations, spectrum.shape[0]))
    phases[:, 0] = 0.0
    if n % 2 == 0:
        phases[:, -1] = 0.0
    rotated = spectrum[None, :, :] * np.exp(1j * phases)[:, :, None]
    return np.fft.irfft(rotated, n=n, axis=1)


def null_tr_targets(
    tr_targets: np.ndarray, n_permutations: int, method: str = "circular_shift", seed: int = 0, min_shift: int = 1
) -> np.ndarray:
    """Null TR-level target series by ``method`` (``circular_shift`` or ``phase_randomization``)."""
    if method == "circular_shift":
        return circular_shift_nulls(tr_targets, n_permutations, seed, min_shift)
    if method == "phase_randomization":
        return phase_randomised_nulls(tr_targets, n_permutations, seed)
    raise ValueError(f"unknown null method {method!r}; allowed: circular_shift, phase_randomization")


def window_means(tr_series: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Mean over TRs ``start..stop-1`` of each window; works on ``(..., n_trs, n_targets)`` stacks."""
    series = np.asarray(tr_series, dtype=float)
    windows = np.asarray(windows)
    if windows.max() > series.shape[-2]:
        raise ValueError(
            f"a window ends at TR {windows.max()} but the target series has {series.shape[-2]} TRs"
        )
    zero = np.zeros(series.shape[:-2] + (1, series.shape[-1]))
    cumulative = np.concatenate([zero, np.cumsum(series, axis=-2)], axis=-2)
    lengths = (windows[:, 1] - windows[:, 0])[:, None]
    return (cumulative[..., windows[:, 1], :] - cumulative[..., windows[:, 0], :]) / lengths


def null_window_targets(
    tr_targets: np.ndarray,
    windows: np.ndarray,
    window_of_sample: np.ndarray,
    n_permutations: int,
    method: str = "circular_shift",
    seed: int = 0,
    min_shift: int = 1,
    make_window_targets: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Null targets per unique window, ``(n_windows, n_permutations * n_targets)``; column = perm * n_targets + target.

    By default a window's target is the mean of its TRs; ``make_window_targets(tr_series) -> y``
    (per-sample targets) replaces that aggregation, and must give equal targets to samples that share a
    window (the story is shared by all subjects).
    """
    nulls = null_tr_targets(tr_targets, n_permutations, method, seed, min_shift)
    n_targets = nulls.shape[-1]
    if make_window_targets is None:
        per_window = window_means(nulls, windows)  # (perm, n_win, n_targets)
    else:
        first = np.full(len(windows), -1)
        for sample in range(len(window_of_sample) - 1, -1, -1):
            first[window_of_sample[sample]] = sample
        per_window = np.empty((n_permutations, len(windows), n_targets))
        for k in range(n_permutations):
            y = np.asarray(make_window_targets(nulls[k]), dtype=float)
            if k == 0 and not np.allclose(y, y[first][window_of_sample]):
                raise ValueError(
                    "make_window_targets gave different targets to samples of the same window; null "
                    "targets must be a function of the story window only"
                )
            per_window[k] = y[first]
    return np.transpose(per_window, (1, 0, 2)).reshape(len(windows), n_permutations * n_targets)


def permutation_p_value(observed: np.ndarray, null: np.ndarray) -> np.ndarray:
    """``(1 + #(null >= observed)) / (1 + n_null)`` per column; ``null`` is ``(n_null, ...)``."""
    null = np.asarray(null, dtype=float)
    if null.shape[0] == 0:
        return np.full(np.shape(observed), np.nan)
    exceed = np.sum(null >= np.asarray(observed, dtype=float)[None, ...] - 1e-12, axis=0)
    return (1.0 + exceed) / (1.0 + null.shape[0])


def fdr_bh(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (monotone, capped at 1); NaNs stay NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = ~np.isnan(p)
    m = int(valid.sum())
    if m == 0:
        return out
    pv = p[valid]
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    out[valid] = result
    return out


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
        raise ValueError(f"paired scores need one value per subject in both arrays; got {a.shape} and {b.shape}")
    differences = a - b
    if method == "sign_flip":
        p = paired_sign_flip(differences, seed=seed)
    elif method == "wilcoxon":
        p = float(scipy_stats.wilcoxon(differences).pvalue)
    else:
        raise ValueError(f"unknown paired test {method!r}; allowed: sign_flip, wilcoxon")
    return {"delta_r": float(np.nanmean(differences)), "p_value": p, "n_subjects": int(np.sum(~np.isnan(differences)))}


"""Null targets that keep autocorrelation, shared by all subjects.

Targets are a property of the story, not of a subject: every subject heard the same audio, so a
null target series is made once at the TR level (a circular shift or a phase randomisation of the
eight emotion time series, the same for all emotions so their co-occurrence is kept) and then
aggregated into windows exactly as the real targets were. Each null therefore has the real
series' spectrum and cross-emotion structure but no alignment with the brain.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


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

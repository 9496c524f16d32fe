"""Null targets that keep autocorrelation, shared by all subjects.

Targets are a property of the story, not of a subject: every subject heard the same audio, so a
null target series is made once at the TR level (a circular shift or a phase randomisation of the
eight emotion time series, the same for all emotions so their co-occurrence is kept) and then
aggregated into windows exactly as the real targets were. Each null therefore has the real
series' spectrum and cross-emotion structure but no alignment with the brain.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.features.surrogates import phase_randomize


def circular_shift_nulls(
    tr_targets: np.ndarray, n_permutations: int, seed: int = 0, min_shift: int = 1
) -> np.ndarray:
    """``(n_permutations, n_trs, n_targets)`` circular shifts by a random lag in ``[min_shift, n - min_shift]``.

    ``min_shift`` keeps the null away from the unshifted series (use at least the purge gap).
    """
    series = np.asarray(tr_targets, dtype=float)
    n = series.shape[0]
    if not 1 <= min_shift <= n // 2:
        raise ValueError(
            f"min_shift = {min_shift} must be between 1 and half the series length ({n // 2})"
        )
    rng = np.random.default_rng(seed)
    shifts = rng.integers(min_shift, n - min_shift + 1, size=n_permutations)
    index = (np.arange(n)[None, :] - shifts[:, None]) % n
    return series[index]


def null_tr_targets(
    tr_targets: np.ndarray,
    n_permutations: int,
    method: str = "phase_randomization",
    seed: int = 0,
    min_shift: int = 1,
) -> np.ndarray:
    """Null TR-level target series by ``method`` (``circular_shift`` or ``phase_randomization``)."""
    if method == "circular_shift":
        return circular_shift_nulls(tr_targets, n_permutations, seed, min_shift)
    if method == "phase_randomization":
        return phase_randomize(np.asarray(tr_targets, dtype=float), seed, n_draws=n_permutations)
    raise ValueError(
        f"unknown null method {method!r}; allowed: circular_shift, phase_randomization"
    )


def null_window_table(
    features: Any,
    n_permutations: int,
    method: str = "phase_randomization",
    seed: int = 0,
    min_shift: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Null targets of a feature set per unique window: ``(table, window_of_sample)``.

    ``table`` is ``(n_windows, n_permutations * n_targets)`` with column ``perm * n_targets + target``;
    ``window_of_sample`` maps each sample to its row. The TR-level null series go through
    ``features.window_targets_from`` - the same aggregation (window weights, mean or centre) that
    made the real targets - so a null differs from the truth only in its alignment with the brain.
    The same ``seed`` gives the same draws for every feature set, so two feature sets can be
    compared on identical null targets.
    """
    if features.tr_targets is None:
        raise ValueError(
            f"feature set {features.name!r} does not carry the TR-level targets it was made from; "
            "build it with build_feature_sets (or pass tr_targets) to draw null targets"
        )
    series = null_tr_targets(features.tr_targets, n_permutations, method, seed, min_shift)
    per_window, window_of_sample = features.window_targets_from(series)  # (perm, n_windows, K)
    n_windows, n_targets = per_window.shape[1], per_window.shape[2]
    table = np.transpose(per_window, (1, 0, 2)).reshape(n_windows, n_permutations * n_targets)
    return table, window_of_sample

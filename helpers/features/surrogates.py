"""How much sliding-window correlations fluctuate in data with no dynamics at all.

Phase-randomised surrogates keep every ROI's spectrum and the static correlations but destroy
any change of coupling over time (Prichard & Theiler 1994); short windows make such stationary
signals fluctuate as much as real ones (Leonardi & Van De Ville 2015).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from helpers.config import WindowParams
from helpers.features.connectivity import sliding_window_connectivity
from helpers.features.windows import DEFAULT_TAPER_SIGMA, effective_length, window_weights


def phase_randomize(
    timeseries: np.ndarray,
    seed: int | np.random.Generator | None = None,
    n_draws: int | None = None,
) -> np.ndarray:
    """Surrogate signals with the same power spectra and the same cross-correlations.

    Every frequency's phase is shifted by one random angle shared by all columns (Prichard & Theiler
    1994): each column keeps its power spectrum, and all cross-spectra, hence the static correlation
    matrix, are unchanged, while any change of coupling over time, and any alignment with another
    series, is destroyed. The mean and, for an even length, the Nyquist component are kept so the
    surrogate stays real. This is the null of Leonardi & Van De Ville (2015) for fluctuations of
    sliding-window correlations, and one of the null-target methods of the regression chapter.

    ``timeseries`` is (T, K); one surrogate (T, K) is returned, or ``n_draws`` of them stacked
    (n_draws, T, K), each with its own phases.

    Parameters
    ----------
    timeseries : numpy.ndarray
        (T, K) signals, volumes in rows.
    seed : int or numpy.random.Generator, optional
        Seed or generator of the random phases.
    n_draws : int, optional
        Number of surrogates; one, without a leading axis, if omitted.

    Returns
    -------
    numpy.ndarray
        (T, K), or (n_draws, T, K): floating like ``timeseries`` (float64 for integer input).
    """
    data = np.asarray(timeseries)
    if data.ndim != 2:
        raise ValueError(f"timeseries must be 2-D (volumes x columns); got shape {data.shape}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n_volumes = data.shape[0]
    spectrum = np.fft.rfft(np.asarray(data, dtype=np.float64), axis=0)
    phases = rng.uniform(
        0.0, 2.0 * np.pi, size=(1 if n_draws is None else n_draws, spectrum.shape[0])
    )
    phases[:, 0] = 0.0
    if n_volumes % 2 == 0:
        phases[:, -1] = 0.0
    rotated = spectrum[None, :, :] * np.exp(1j * phases)[:, :, None]
    surrogate = np.fft.irfft(rotated, n=n_volumes, axis=1)
    surrogate = surrogate.astype(
        data.dtype if np.issubdtype(data.dtype, np.floating) else np.float64
    )
    return surrogate[0] if n_draws is None else surrogate


def dfc_temporal_std(
    timeseries: np.ndarray,
    length: int,
    shape: str = "rectangular",
    taper_sigma: float = DEFAULT_TAPER_SIGMA,
) -> float:
    """Mean over edges of the standard deviation over windows of Fisher z (step 1).

    Parameters
    ----------
    timeseries : numpy.ndarray
        (T, P) ROI time series.
    length : int
        Window length in TRs.
    shape : {"rectangular", "tapered"}, optional
        Window shape.
    taper_sigma : float, optional
        Standard deviation of the taper in TRs (tapered windows only).

    Returns
    -------
    float
        The mean temporal standard deviation of Fisher z; 0 with a single window.
    """
    weights = window_weights(length, shape, taper_sigma)
    z = sliding_window_connectivity(timeseries, length, 1, weights, True)
    return float(z.std(axis=0, dtype=np.float64).mean()) if len(z) > 1 else 0.0


def spurious_fluctuation(
    timeseries: Mapping[str, np.ndarray] | Sequence[np.ndarray],
    lengths: Sequence[int],
    n_surrogates: int = 20,
    seed: int = 0,
    n_rois: int | None = 40,
    window: WindowParams | None = None,
) -> pd.DataFrame:
    """How much DFC fluctuates over time in real data and in phase-randomised surrogates.

    For each window length: the temporal standard deviation of Fisher z, averaged over edges and
    subjects, in the real signals and in ``n_surrogates`` surrogates per subject
    (:func:`phase_randomize`, which keeps each subject's static connectivity). Short windows make
    stationary signals fluctuate as much as real ones (Leonardi & Van De Ville 2015); a ratio
    real / null near 1 means the window cannot tell dynamics from sampling noise.

    ``n_rois`` ROIs drawn at random (the same for every subject) keep this cheap; ``None`` uses all.
    ``window`` gives the window shape and taper width (its length and step are not used: every
    length of ``lengths`` is tried at step 1); the default is rectangular.

    Returns one row per length: ``length``, ``effective_length``, ``real_std``, ``null_std`` (mean
    over surrogates), ``null_low``/``null_high`` (2.5 and 97.5 percentiles), ``ratio`` and ``p_value``
    (share of surrogates fluctuating at least as much as the real data, with the +1 correction).

    Parameters
    ----------
    timeseries : mapping of str to numpy.ndarray, or sequence of numpy.ndarray
        (T, P) ROI time series of each subject.
    lengths : sequence of int
        Window lengths to try, in TRs.
    n_surrogates : int, optional
        Surrogates per subject.
    seed : int, optional
        Seed of the ROI draw and the surrogates.
    n_rois : int, optional
        ROIs drawn at random; None uses all P.
    window : WindowParams, optional
        Window shape and taper width.

    Returns
    -------
    pandas.DataFrame
        One row per length, with the columns listed above.
    """
    shape = window.shape if window is not None else "rectangular"
    taper_sigma = window.taper_sigma if window is not None else DEFAULT_TAPER_SIGMA
    series = list(timeseries.values()) if isinstance(timeseries, Mapping) else list(timeseries)
    if not series:
        raise ValueError("no time series given")
    if n_surrogates < 1:
        raise ValueError(f"n_surrogates must be at least 1; got {n_surrogates}")
    rng = np.random.default_rng(seed)
    n_total = np.shape(series[0])[1]
    if n_rois is not None and n_rois < n_total:
        if n_rois < 2:
            raise ValueError(f"n_rois must be at least 2; got {n_rois}")
        chosen = np.sort(rng.choice(n_total, size=n_rois, replace=False))
        series = [np.asarray(s)[:, chosen] for s in series]
    surrogates = [[phase_randomize(s, rng) for _ in range(n_surrogates)] for s in series]
    rows = []
    for length in lengths:
        real = np.mean([dfc_temporal_std(s, length, shape, taper_sigma) for s in series])
        null = np.array(
            [
                np.mean(
                    [
                        dfc_temporal_std(surrogates[i][k], length, shape, taper_sigma)
                        for i in range(len(series))
                    ]
                )
                for k in range(n_surrogates)
            ]
        )
        rows.append(
            {
                "length": int(length),
                "effective_length": effective_length(window_weights(length, shape, taper_sigma)),
                "real_std": float(real),
                "null_std": float(null.mean()),
                "null_low": float(np.percentile(null, 2.5)),
                "null_high": float(np.percentile(null, 97.5)),
                "ratio": float(real / null.mean()) if null.mean() > 0 else math.nan,
                "p_value": float((1 + np.sum(null >= real)) / (1 + n_surrogates)),
            }
        )
    return pd.DataFrame(rows)

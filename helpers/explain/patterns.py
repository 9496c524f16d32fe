"""Activation patterns (Haufe et al. 2014): how each feature co-varies with the decoded emotion.

The weights of a linear decoder mix signal with noise suppression: a feature that carries no
emotion but cancels noise in another gets a large weight. The pattern ``A = cov(X) W cov(y_hat)^-1``
says instead how each feature co-varies with the decoded emotion. Since ``cov(X) W = cov(X, y_hat)``
for a linear model it is computed from the model's outputs without ever forming the
``n_features x n_features`` covariance. For non-linear models the same quantity is the covariance
of each feature with the model's output (its best linear summary), reported as
``"output_covariance"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg
from threadpoolctl import threadpool_limits

from helpers.decoding.results import CVResult
from helpers.registry import model_spec

"""Models whose prediction is a linear function of the features: their pattern is Haufe's."""


_CHUNK_FEATURES = 8192


def _small_blas() -> threadpool_limits:
    """One BLAS thread for the many small decompositions of nested tuning.

    Eigendecompositions of a few hundred samples gain nothing from threads, and on a shared machine
    OpenBLAS threads that wait for each other make them several times slower.
    """
    return threadpool_limits(limits=1, user_api="blas")


def activation_pattern(
    X: np.ndarray, y_hat: np.ndarray, joint: bool = False, chunk_features: int = _CHUNK_FEATURES
) -> np.ndarray:
    """Haufe activation pattern ``cov(X, y_hat) cov(y_hat)^-1``: (n_features, n_targets) float64.

    Parameters
    ----------
    X
        Features the model saw (n_samples, n_features); may be float32 or a memory map.
    y_hat
        The model's outputs for the same samples (n_samples,) or (n_samples, n_targets).
    joint
        ``False`` (default): each target is its own decoder, ``a_k = cov(X, y_hat_k) / var(y_hat_k)``.
        ``True``: the targets form one multi-output decoder and ``cov(y_hat)`` is the full
        ``n_targets x n_targets`` matrix (pseudo-inverted).
    chunk_features
        Columns of ``X`` read at a time.

    Returns
    -------
    numpy.ndarray
        (n_features, n_targets) float64 pattern, or (n_features,) for a 1-D ``y_hat``.

    Notes
    -----
    ``X^T y_c = X_c^T y_c`` because the centred outputs sum to zero, so ``X`` is never centred or
    copied whole; it is read in chunks of ``chunk_features`` columns. A constant output gives a zero
    pattern (the model says nothing).
    """
    X = _as_2d_features(X)
    outputs = np.asarray(y_hat, dtype=np.float64)
    squeeze = outputs.ndim == 1
    if squeeze:
        outputs = outputs[:, None]
    if outputs.ndim != 2 or len(outputs) != len(X):
        raise ValueError(
            f"y_hat must have one row per sample of X ({len(X)}); got shape {np.shape(y_hat)}"
        )
    if len(X) < 2:
        raise ValueError("an activation pattern needs at least 2 samples")
    centred = outputs - outputs.mean(axis=0)
    cross = _cross_covariance(X, centred, chunk_features)
    if joint:
        output_cov = centred.T @ centred / (len(X) - 1)
        pattern = cross @ linalg.pinv(output_cov)
    else:
        variance = (centred**2).sum(axis=0) / (len(X) - 1)
        safe = np.where(variance > 1e-12 * max(float(variance.max()), 1e-300), variance, np.inf)
        pattern = cross / safe
    return pattern[:, 0] if squeeze else pattern


def _cross_covariance(X: np.ndarray, centred: np.ndarray, chunk_features: int) -> np.ndarray:
    """``X^T centred / (n - 1)`` in float64, chunk by chunk over features."""
    out = np.empty((X.shape[1], centred.shape[1]))
    for first in range(0, X.shape[1], chunk_features):
        block = np.asarray(X[:, first : first + chunk_features], dtype=np.float64)
        out[first : first + block.shape[1]] = block.T @ centred
    return out / (len(X) - 1)


def _as_2d_features(X: Any) -> np.ndarray:
    if not hasattr(X, "shape"):
        X = np.asarray(X)
    if len(X.shape) != 2:
        raise ValueError(f"X must be 2-D (samples x features); got shape {X.shape}")
    return X


def pattern_kind(model: str) -> str:
    """``"haufe"`` for linear models, ``"output_covariance"`` for the others."""
    return model_spec(model).pattern


@dataclass
class FeatureImportance:
    """Importance of every feature for every emotion, averaged over outer folds."""

    values: np.ndarray  # (n_features, n_targets)
    spread: np.ndarray  # standard deviation over folds, same shape
    model: str
    method: str
    emotions: list[str]
    n_folds: int
    cv: CVResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def frame(self, feature_names: Sequence[str] | None = None) -> pd.DataFrame:
        index = list(feature_names) if feature_names is not None else None
        return pd.DataFrame(self.values, columns=self.emotions, index=index)

"""Kernels between samples: everything the kernel models need from 44,850 edges.

Per outer fold the linear Gram of the fold-scaled features is formed once (rows: training then
test samples) and shared by every target, hyperparameter, inner fold and null draw; RBF kernels
come from it through squared distances, and kernel ridge for every penalty and target from one
eigendecomposition. ``feature_scaling='center'`` centres features on the training samples (every
fold kernel is then cut from one Gram over all samples); ``'standard'`` also divides by the
training standard deviation (one Gram per fold). No statistic of a test sample enters training.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg


def linear_gram(X: np.ndarray) -> np.ndarray:
    """``X @ X.T`` in float32 arithmetic, returned as float64 (computed once per feature set)."""
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    return (X32 @ X32.T).astype(np.float64)


def centre_kernel(K: np.ndarray, n_train: int) -> np.ndarray:
    """Linear kernel of features centred on the first ``n_train`` rows' mean (exact for linear kernels)."""
    row_means = K[:, :n_train].mean(axis=1)
    grand = row_means[:n_train].mean()
    return K - row_means[:, None] - row_means[None, :] + grand


def fold_linear_kernel(
    X: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    feature_scaling: str = "standard",
    gram: np.ndarray | None = None,
) -> np.ndarray:
    """Linear kernel over ``[train, test]`` rows of features scaled on ``train`` only.

    Returns a float64 ``(n_train + n_test)`` square matrix, training rows first.
    """
    rows = np.concatenate([train, test])
    if feature_scaling == "center":
        if gram is None:
            gram = linear_gram(X[rows])
            return centre_kernel(gram, len(train))
        return centre_kernel(gram[np.ix_(rows, rows)], len(train))
    if feature_scaling != "standard":
        raise ValueError(f"feature_scaling must be 'standard' or 'center', got {feature_scaling!r}")
    train_block = np.asarray(X[train], dtype=np.float64)
    mean = train_block.mean(axis=0)
    scale = train_block.std(axis=0)
    del train_block
    scale[scale < 1e-12] = 1.0
    Z = (np.asarray(X[rows], dtype=np.float32) - mean.astype(np.float32)) / scale.astype(np.float32)
    return (Z @ Z.T).astype(np.float64)


def squared_distances(K: np.ndarray) -> np.ndarray:
    diag = np.diag(K)
    return np.maximum(diag[:, None] + diag[None, :] - 2.0 * K, 0.0)


def median_heuristic_gamma(sq_dist_train: np.ndarray, max_rows: int = 600) -> float:
    """``1 / median`` of the off-diagonal squared distances among (at most ``max_rows``) training rows."""
    n = sq_dist_train.shape[0]
    take = np.linspace(0, n - 1, min(n, max_rows)).astype(int)
    block = sq_dist_train[np.ix_(take, take)]
    values = block[np.triu_indices(len(take), k=1)]
    median = float(np.median(values)) if values.size else 1.0
    return 1.0 / median if median > 0 else 1.0


class KernelSpectrum:
    """Eigendecomposition of a training kernel: kernel ridge for every penalty and target at once."""

    def __init__(self, K_train: np.ndarray) -> None:
        eigvals, eigvecs = linalg.eigh(K_train, driver="evd", check_finite=False)
        self.eigvals = np.maximum(eigvals, 0.0)
        self.eigvecs = eigvecs
        self._left: tuple[np.ndarray, np.ndarray] | None = None  # (K_eval, K_eval @ eigvecs)

    def predict(self, K_eval: np.ndarray, Y_centered: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """Predictions ``(n_alphas, n_eval, n_targets)`` of ``K_eval (K + a I)^-1 Y`` for each ``a``.

        ``K_eval @ eigvecs`` is kept for the next call with the same ``K_eval`` (a refit calls once
        per chosen penalty).
        """
        projected = self.eigvecs.T @ Y_centered
        if self._left is None or self._left[0] is not K_eval:
            self._left = (K_eval, K_eval @ self.eigvecs)
        left = self._left[1]
        return np.stack([left @ (projected / (self.eigvals + a)[:, None]) for a in alphas])


CHOLESKY_MAX_PENALTIES = 10
"""Up to this many penalties, one Cholesky factorisation of ``K + a I`` per penalty is cheaper than
one eigendecomposition of ``K`` (measured on this 2-core machine: at n = 4,000 the
eigendecomposition costs as much as about 18 factorisations)."""


class PenaltyFactors:
    """Kernel ridge for a few penalties: one Cholesky factorisation of ``K + a I`` per penalty.

    Same answers as :class:`KernelSpectrum` (to rounding) at a fraction of its cost when the grid of
    penalties is short, as the book's is (six): a factorisation is ``n^3 / 3`` operations, an
    eigendecomposition with its vectors several ``n^3``.
    """

    def __init__(self, K_train: np.ndarray) -> None:
        self.K_train = K_train

    def predict(self, K_eval: np.ndarray, Y_centered: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """Predictions ``(n_alphas, n_eval, n_targets)`` of ``K_eval (K + a I)^-1 Y`` for each ``a``."""
        n = self.K_train.shape[0]
        out = []
        for a in np.atleast_1d(alphas):
            # a C-ordered copy, handed to LAPACK as its transpose: the same symmetric matrix in
            # Fortran order, without the slow transposing copy LAPACK would otherwise make
            shifted = np.array(self.K_train, dtype=np.float64, order="C")
            shifted.flat[:: n + 1] += a
            factor = linalg.cho_factor(shifted.T, lower=True, overwrite_a=True, check_finite=False)
            out.append(K_eval @ linalg.cho_solve(factor, Y_centered, check_finite=False))
            del shifted, factor
        return np.stack(out)


def penalised_solver(K_train: np.ndarray, n_penalties: int) -> KernelSpectrum | PenaltyFactors:
    """The cheaper way to solve ``(K + a I) x = y`` for ``n_penalties`` penalties ``a``."""
    if n_penalties <= CHOLESKY_MAX_PENALTIES:
        return PenaltyFactors(K_train)
    return KernelSpectrum(K_train)


def kernel_ridge_predict(
    K_train: np.ndarray, K_eval: np.ndarray, Y: np.ndarray, alpha: float
) -> np.ndarray:
    """Kernel ridge through the eigendecomposition (no intercept), for checks against scikit-learn."""
    Y = np.asarray(Y, dtype=float)
    squeeze = Y.ndim == 1
    Y2 = Y[:, None] if squeeze else Y
    out = KernelSpectrum(K_train).predict(K_eval, Y2, np.array([alpha]))[0]
    return out[:, 0] if squeeze else out


class FoldKernels:
    """Each outer fold's linear kernel over ``[train, test]`` rows, computed once and shared.

    The kernels of a block of columns are additive: the kernel without block ``B`` is
    ``full - kernel(B)`` in both scaling modes (centring and standardisation act per feature).
    """

    def __init__(
        self,
        X: np.ndarray,
        folds: list[tuple[np.ndarray, np.ndarray]],
        feature_scaling: str,
        gram: np.ndarray | None = None,
    ) -> None:
        """``gram`` (``X @ X.T``, for ``center`` scaling) may be shared by several fold designs."""
        if feature_scaling not in ("standard", "center"):
            raise ValueError(
                f"feature_scaling must be 'standard' or 'center', got {feature_scaling!r}"
            )
        self.X = X
        self.folds = list(folds)
        self.feature_scaling = feature_scaling
        self._full: dict[int, np.ndarray] = {}
        self._gram = gram

    def _fold_kernel(self, X: np.ndarray, k: int, gram: np.ndarray | None) -> np.ndarray:
        train, test = self.folds[k]
        return fold_linear_kernel(X, train, test, self.feature_scaling, gram)

    def full(self, k: int) -> np.ndarray:
        """Fold ``k``'s kernel; with ``center`` scaling every fold is cut from one Gram matrix.

        Cut kernels are not kept (cutting and centring is ``n^2``, and 30 folds of 5,500 samples
        would hold 7 GB); kernels built from standardised features are, since each costs ``n^2 p``.
        """
        if k in self._full:
            return self._full[k]
        if self.feature_scaling == "center":
            return self._fold_kernel(self.X, k, self.gram())
        self._full[k] = self._fold_kernel(self.X, k, None)
        return self._full[k]

    def gram(self) -> np.ndarray:
        """The Gram matrix over all samples that every fold's kernel is cut from (``center`` only)."""
        if self.feature_scaling != "center":
            raise ValueError("only centred features share one Gram matrix; this has 'standard'")
        if self._gram is None:
            self._gram = linear_gram(self.X)
        return self._gram

    def block(self, k: int, columns: np.ndarray) -> np.ndarray:
        return self._fold_kernel(self.X[:, columns], k, None)

    def without(self, columns: np.ndarray) -> FoldKernels:
        """The fold kernels of the features outside ``columns`` (exact: kernels add over features)."""
        columns = np.asarray(columns)
        keep = np.setdiff1d(np.arange(self.X.shape[1]), columns)
        lesioned = FoldKernels(self.X[:, keep], self.folds, self.feature_scaling)
        if self.feature_scaling == "center":
            gram = linear_gram(self.X[:, columns])
            lesioned._full = {
                k: self.full(k) - self._fold_kernel(None, k, gram) for k in range(len(self.folds))
            }
        else:
            lesioned._full = {
                k: self.full(k) - self.block(k, columns) for k in range(len(self.folds))
            }
        return lesioned

    def cache(self) -> dict[int, np.ndarray]:
        """Every fold's kernel, computed now and kept (for callers that read each fold many times)."""
        for k in range(len(self.folds)):
            self._full[k] = self.full(k)
        return dict(self._full)


def _fold_scaling(
    X: np.ndarray, train: np.ndarray, feature_scaling: str
) -> tuple[np.ndarray, np.ndarray]:
    """Training mean and scale per feature, as :func:`helpers.decoding.kernels.fold_linear_kernel` uses them."""
    block = np.asarray(X[train], dtype=np.float64)
    mean = block.mean(axis=0)
    if feature_scaling == "center":
        return mean, np.ones_like(mean)
    scale = block.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return mean, scale


def _extended_kernel(K: np.ndarray, n_train: int) -> np.ndarray:
    """Kernel over rows ``[train, test, train]`` from one over ``[train, test]`` (no recomputation)."""
    index = np.concatenate([np.arange(K.shape[0]), np.arange(n_train)])
    return K[np.ix_(index, index)]

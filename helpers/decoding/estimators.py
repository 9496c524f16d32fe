"""Scikit-learn regressors for the models the fold engine runs fast.

The fold engine (:mod:`helpers.decoding.folds`) never builds these objects: it shares one kernel and
one eigendecomposition across targets, penalties, inner folds and null draws. These classes are the
same models written the plain way, so that a reader can put them in a ``Pipeline``,
``GridSearchCV`` or ``cross_val_predict`` with the honest splitters, and so that the tests can hold
the fast engine to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from helpers.decoding.kernels import median_heuristic_gamma, squared_distances


class FastKernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression with an intercept, solved through one eigendecomposition.

    Features are centred on the training samples and targets on their training mean (added back to
    the predictions), so an RBF model does not shrink towards zero and a linear model equals
    ``Ridge`` on centred features.

    Parameters
    ----------
    alpha : float
        The penalty. With ``alpha_scale="relative"`` (default) it is in units of the mean diagonal of
        the training kernel, so one value means the same for 300 ROIs and 44,850 edges.
    kernel : {"linear", "rbf"}
    gamma_factor : float
        RBF width as a multiple of the median heuristic ``1 / median squared distance`` between
        training samples (ignored for the linear kernel).
    alpha_scale : {"relative", "absolute"}
    """

    def __init__(self, alpha: float = 1.0, kernel: str = "linear", gamma_factor: float = 1.0,
                 alpha_scale: str = "relative") -> None:
        self.alpha = alpha
        self.kernel = kernel
        self.gamma_factor = gamma_factor
        self.alpha_scale = alpha_scale

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any) -> FastKernelRidge:
        if self.kernel not in ("linear", "rbf"):
            raise ValueError(f"kernel must be 'linear' or 'rbf', got {self.kernel!r}")
        if self.alpha_scale not in ("relative", "absolute"):
            raise ValueError(f"alpha_scale must be 'relative' or 'absolute', got {self.alpha_scale!r}")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be positive, got {self.alpha}")
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        Y = y[:, None] if y.ndim == 1 else y
        self.X_mean_ = X.mean(axis=0)
        self.X_train_ = X - self.X_mean_
        linear = self.X_train_ @ self.X_train_.T
        if self.kernel == "rbf":
            self.gamma_ = self.gamma_factor * median_heuristic_gamma(squared_distances(linear))
            K = np.exp(-self.gamma_ * squared_distances(linear))
        else:
            self.gamma_ = None
            K = linear
        scale = float(np.mean(np.diag(K))) if self.alpha_scale == "relative" else 1.0
        self.alpha_ = self.alpha * (scale if scale > 0 else 1.0)
        self.y_mean_ = Y.mean(axis=0)
        eigvals, eigvecs = linalg.eigh(K, check_finite=False)
        eigvals = np.maximum(eigvals, 0.0)
        self.dual_coef_ = eigvecs @ ((eigvecs.T @ (Y - self.y_mean_)) / (eigvals + self.alpha_)[:, None])
        self._single_target = y.ndim == 1
        return self

    def _kernel_to_train(self, X: np.ndarray) -> np.ndarray:
        centred = X - self.X_mean_
        cross = centred @ self.X_train_.T
        if self.kernel == "linear":
            return cross
        sq_test = np.einsum("ij,ij->i", centred, centred)
        sq_train = np.einsum("ij,ij->i", self.X_train_, self.X_train_)
        return np.exp(-self.gamma_ * np.maximum(sq_test[:, None] + sq_train[None, :] - 2.0 * cross, 0.0))

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "dual_coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        out = self._kernel_to_train(X) @ self.dual_coef_ + self.y_mean_
        return out[:, 0] if self._single_target else out

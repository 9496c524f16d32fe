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
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import Ridge
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

    def __init__(
        self,
        alpha: float = 1.0,
        kernel: str = "linear",
        gamma_factor: float = 1.0,
        alpha_scale: str = "relative",
    ) -> None:
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
            raise ValueError(
                f"alpha_scale must be 'relative' or 'absolute', got {self.alpha_scale!r}"
            )
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
        self.dual_coef_ = eigvecs @ (
            (eigvecs.T @ (Y - self.y_mean_)) / (eigvals + self.alpha_)[:, None]
        )
        self._single_target = y.ndim == 1
        return self

    def _kernel_to_train(self, X: np.ndarray) -> np.ndarray:
        centred = X - self.X_mean_
        cross = centred @ self.X_train_.T
        if self.kernel == "linear":
            return cross
        sq_test = np.einsum("ij,ij->i", centred, centred)
        sq_train = np.einsum("ij,ij->i", self.X_train_, self.X_train_)
        return np.exp(
            -self.gamma_ * np.maximum(sq_test[:, None] + sq_train[None, :] - 2.0 * cross, 0.0)
        )

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "dual_coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        out = self._kernel_to_train(X) @ self.dual_coef_ + self.y_mean_
        return out[:, 0] if self._single_target else out


class CPMRegressor(RegressorMixin, BaseEstimator):
    """Connectome-based predictive modelling (Shen et al. 2017) for one or several targets.

    Per target: the ``n_edges`` features most correlated with it on the training samples are split
    by the sign of their correlation and summed into a positive and a negative strength; a least
    squares line on those two numbers (plus an intercept) predicts the target.
    """

    def __init__(self, n_edges: int = 20) -> None:
        self.n_edges = n_edges

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        # two summed strengths cannot fit an arbitrary dense regression problem well, by design
        tags.regressor_tags.poor_score = True
        return tags

    def fit(self, X: Any, y: Any) -> CPMRegressor:
        if int(self.n_edges) < 1:
            raise ValueError(f"n_edges must be at least 1, got {self.n_edges}")
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        Y = y[:, None] if y.ndim == 1 else y
        k = min(int(self.n_edges), X.shape[1])
        r = _pearson(X, Y)  # (n_features, n_targets)
        self.edges_ = np.argsort(-np.abs(r), axis=0, kind="stable")[:k].T  # (n_targets, k)
        self.signs_ = np.sign(np.take_along_axis(r.T, self.edges_, axis=1))
        strengths = self._strengths(X)
        self.coef_ = np.zeros((Y.shape[1], 2))
        self.intercept_ = np.zeros(Y.shape[1])
        for t in range(Y.shape[1]):
            S = strengths[:, t]
            centred = S - S.mean(axis=0)
            coef, *_ = np.linalg.lstsq(centred, Y[:, t] - Y[:, t].mean(), rcond=None)
            self.coef_[t] = coef
            self.intercept_[t] = Y[:, t].mean() - S.mean(axis=0) @ coef
        self._single_target = y.ndim == 1
        return self

    def _strengths(self, X: np.ndarray) -> np.ndarray:
        """(n_samples, n_targets, 2): summed edges of positive and of negative correlation."""
        values = X[:, self.edges_]  # (n, n_targets, k)
        return np.stack(
            [(values * (self.signs_ > 0)).sum(axis=2), (values * (self.signs_ < 0)).sum(axis=2)],
            axis=-1,
        )

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        out = np.einsum("nti,ti->nt", self._strengths(X), self.coef_) + self.intercept_
        return out[:, 0] if self._single_target else out


class ScreenedRegressor(RegressorMixin, BaseEstimator):
    """Univariate screening per target, then a regressor on the ``k`` features kept for that target.

    For each target the ``k`` features with the largest |Pearson r| on the training samples are
    kept (``k=None``: all) and a clone of ``estimator`` (default ``Ridge``) is fitted on them. The
    same as ``MultiOutputRegressor(Pipeline([SelectKBest(f_regression, k=k), estimator]))``.
    """

    def __init__(self, estimator: Any = None, k: int | None = 10) -> None:
        self.estimator = estimator
        self.k = k

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any) -> ScreenedRegressor:
        if self.k is not None and int(self.k) < 1:
            raise ValueError(f"k must be at least 1 (or None for all features), got {self.k}")
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        Y = y[:, None] if y.ndim == 1 else y
        k = X.shape[1] if self.k is None else min(int(self.k), X.shape[1])
        r = _pearson(X, Y)
        self.features_ = np.argsort(-np.abs(r), axis=0, kind="stable")[:k].T  # (n_targets, k)
        base = Ridge() if self.estimator is None else self.estimator
        self.estimators_ = [
            clone(base).fit(X[:, self.features_[t]], Y[:, t]) for t in range(Y.shape[1])
        ]
        self._single_target = y.ndim == 1
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        out = np.stack(
            [m.predict(X[:, f]) for m, f in zip(self.estimators_, self.features_)], axis=1
        )
        return out[:, 0] if self._single_target else out


def _pearson(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Pearson r of every column of X with every column of Y (0 where either is constant)."""
    Xc = X - X.mean(axis=0)
    Yc = Y - Y.mean(axis=0)
    norm = np.sqrt((Xc**2).sum(axis=0))[:, None] * np.sqrt((Yc**2).sum(axis=0))[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (Xc.T @ Yc) / norm, 0.0)

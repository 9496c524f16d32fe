"""The models a parameter file can name, their hyperparameter grids, and plain scikit-learn versions.

Kernel models (``ridge``, ``kernel_ridge_linear``, ``kernel_ridge_rbf``, ``svr_rbf``, ``svr_linear``)
run on the fast fold engine (:mod:`helpers.decoding.folds`); the others (``linear``, ``lasso``,
``elastic_net``, ``random_forest``) are scikit-learn pipelines tuned with ``GridSearchCV``.
``ridge`` and ``kernel_ridge_linear`` are the same estimator (ridge with an intercept, solved in
the dual); both names are kept because the paper lists both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sklearn.ensemble import RandomForestRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from helpers.config import MODELS

KERNEL_RIDGE_MODELS = ("ridge", "kernel_ridge_linear", "kernel_ridge_rbf")


SVR_MODELS = ("svr_rbf", "svr_linear")


KERNEL_MODELS = KERNEL_RIDGE_MODELS + SVR_MODELS


ESTIMATOR_MODELS = ("linear", "lasso", "elastic_net", "random_forest")


SELECTION_MODELS = ("cpm", "ridge_screened")
"""Models that select features inside each training fold (:mod:`helpers.decoding.selection`)."""


ORACLE = "oracle"
"""The planted signal's own summary fitted on the training folds (simulated data only)."""


@dataclass(frozen=True)
class ModelGrid:
    """Hyperparameter grids (kernel penalties are relative to the mean kernel diagonal).

    ``screening_k``: numbers of features kept by screening (``None`` = all, so screening can never do
    worse than the dense model by construction of the search); ``cpm_edges``: numbers of strongest
    edges CPM sums.
    """

    relative_alphas: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
    gamma_factors: tuple[float, ...] = (0.25, 1.0, 4.0)
    svr_C: tuple[float, ...] = (0.1, 1.0, 10.0)
    svr_epsilon: float = 0.1
    lasso_alphas: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    l1_ratios: tuple[float, ...] = (0.2, 0.8)
    forest_max_features: tuple[Any, ...] = ("sqrt", 0.1)
    forest_trees: int = 100
    screening_k: tuple[int | None, ...] = (10, 30, 100, 300, None)
    cpm_edges: tuple[int, ...] = (5, 10, 20, 40, 80)
    seed: int = 0


def check_model_name(name: str) -> str:
    if name not in MODELS and name != ORACLE:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}")
    return name


def is_linear_smoother(name: str) -> bool:
    """Predictions are a fixed linear map of the training targets (hat-matrix permutations apply)."""
    return check_model_name(name) in KERNEL_RIDGE_MODELS


def make_estimator(name: str, grid: ModelGrid | None = None) -> Any:
    """A plain scikit-learn estimator for ``name`` with scaling in the pipeline and default settings.

    Used by the estimator route (wrapped in a grid search) and as an independent reference.
    """
    grid = grid or ModelGrid()
    check_model_name(name)
    regressors = {
        "linear": LinearRegression(),
        "ridge": Ridge(alpha=1.0),
        "lasso": Lasso(alpha=grid.lasso_alphas[1], max_iter=5000),
        "elastic_net": ElasticNet(alpha=grid.lasso_alphas[1], l1_ratio=0.5, max_iter=5000),
        "kernel_ridge_linear": KernelRidge(kernel="linear", alpha=1.0),
        "kernel_ridge_rbf": KernelRidge(kernel="rbf", alpha=1.0),
        "svr_rbf": MultiOutputRegressor(SVR(kernel="rbf")),
        "svr_linear": MultiOutputRegressor(SVR(kernel="linear")),
        "random_forest": RandomForestRegressor(
            n_estimators=grid.forest_trees, random_state=grid.seed, n_jobs=1
        ),
    }
    return Pipeline([("scale", StandardScaler()), ("model", regressors[name])])


def _estimator_param_grid(name: str, grid: ModelGrid) -> dict[str, list[Any]]:
    if name == "lasso":
        return {"model__alpha": list(grid.lasso_alphas)}
    if name == "elastic_net":
        return {"model__alpha": list(grid.lasso_alphas), "model__l1_ratio": list(grid.l1_ratios)}
    if name == "random_forest":
        return {"model__max_features": list(grid.forest_max_features)}
    return {}

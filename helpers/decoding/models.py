"""Hyperparameter grids, and the scikit-learn pipelines of the models the registry declares.

Which models exist and how each is fitted is declared once in :mod:`helpers.registry`; this module
holds the grids they search (:class:`ModelGrid`) and turns a registry entry into a scaled
scikit-learn pipeline (:func:`make_estimator`) with its search space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from helpers.registry import model_names, model_spec


def _names(test: Any) -> tuple[str, ...]:
    return tuple(name for name in model_names() if test(model_spec(name)))


KERNEL_MODELS = _names(lambda spec: spec.kernel_model)
"""The kernel models declared when this module was imported (what the chapters list)."""


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

    def __post_init__(self) -> None:
        if not self.relative_alphas or min(self.relative_alphas) <= 0:
            raise ValueError(
                f"ModelGrid.relative_alphas must be positive penalties (kernel ridge factorises "
                f"K + aI), got {self.relative_alphas}; e.g. (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)"
            )


def check_model_name(name: str) -> str:
    """``name`` if the registry knows it (the oracle included), else a ValueError listing the models."""
    model_spec(name)
    return name


def is_linear_smoother(name: str) -> bool:
    """Predictions are a fixed linear map of the training targets (hat-matrix permutations apply)."""
    return model_spec(name).linear_smoother


def make_estimator(name: str, grid: ModelGrid | None = None) -> Any:
    """A plain scikit-learn estimator for ``name`` with scaling in the pipeline and default settings.

    Used by the estimator engine (wrapped in a grid search) and as an independent reference.
    """
    spec = model_spec(name)
    if spec.estimator is None:
        raise ValueError(f"model {name!r} has no scikit-learn estimator in the registry")
    return Pipeline([("scale", StandardScaler()), ("model", spec.estimator(grid or ModelGrid()))])


def estimator_param_grid(name: str, grid: ModelGrid) -> dict[str, list[Any]]:
    """The search space of ``name``'s pipeline over the inner folds (empty: nothing to tune)."""
    spec = model_spec(name)
    space = spec.param_grid(grid) if spec.param_grid is not None else {}
    return {f"model__{key}": values for key, values in space.items()}

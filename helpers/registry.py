"""One registry of models: each model is declared once, and every stage reads its entry.

A :class:`ModelSpec` says which fold engine fits the model, whether its predictions are linear in
the features (held-out patterns by Haufe's transform) and, for the scikit-learn engine, how to
build the estimator and its search grid. Everything else is derived from the engine: whether the
model uses the fold's linear kernel, whether every null draw goes through one fit (the hat matrix
of kernel ridge, the column pass of CPM and the oracle) or each draw is refitted up to
``max_refit_permutations``, and whether null columns are predicted alongside the real targets.
Parameter validation, fold dispatch, null counts, explanations and the README's model table read
these properties; adding a model is one :func:`register` call (plus its estimator class if it
needs one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sklearn.ensemble import RandomForestRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.multioutput import MultiOutputRegressor
from sklearn.svm import SVR

__all__ = [
    "ENGINES",
    "ORACLE",
    "ModelSpec",
    "model_names",
    "model_spec",
    "models_table",
    "register",
    "registered",
]

Engine = Literal["kernel_ridge", "svr", "estimator", "cpm", "screened_ridge", "oracle"]
ENGINES: tuple[str, ...] = ("kernel_ridge", "svr", "estimator", "cpm", "screened_ridge", "oracle")
"""The fold engines of :mod:`helpers.decoding.folds`, one per way of fitting a fold."""

ORACLE = "oracle"
"""The planted signal's own summary fitted on the training folds (simulated data only)."""


@dataclass(frozen=True)
class ModelSpec:
    """A model as every stage sees it.

    ``estimator(grid)`` builds the unscaled scikit-learn regressor (the ``estimator`` engine fits
    it inside a scaling pipeline; for the other engines it is the independent reference the tests
    compare with) and ``param_grid(grid)`` its search space over the inner folds; ``grid`` is a
    :class:`helpers.decoding.models.ModelGrid`.
    """

    name: str
    engine: Engine
    summary: str
    linear: bool = False
    kernel: Literal["linear", "rbf"] | None = None  # the kernel engines' kernel
    estimator: Callable[[Any], Any] | None = None
    param_grid: Callable[[Any], dict[str, list[Any]]] | None = None
    selectable: bool = True  # may be named in a parameter file (the oracle is not)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; allowed: {', '.join(ENGINES)}")
        if self.engine == "estimator" and self.estimator is None:
            raise ValueError(f"model {self.name!r}: the estimator engine needs an estimator")
        if (self.engine in ("kernel_ridge", "svr")) != (self.kernel is not None):
            raise ValueError(
                f"model {self.name!r}: a kernel (linear or rbf) is given for the kernel_ridge and "
                "svr engines, and only for them"
            )

    @property
    def kernel_model(self) -> bool:
        """Fitted in the dual from the fold's linear kernel (kernel ridge, SVR)."""
        return self.engine in ("kernel_ridge", "svr")

    @property
    def uses_fold_kernel(self) -> bool:
        """Needs the fold's linear kernel (the kernel models, and ridge after screening)."""
        return self.kernel_model or self.engine == "screened_ridge"

    @property
    def linear_smoother(self) -> bool:
        """Predictions are a fixed linear map of the training targets: nulls through the hat matrix."""
        return self.engine == "kernel_ridge"

    @property
    def column_model(self) -> bool:
        """Fits null target columns alongside the real ones, in one pass per fold."""
        return self.engine in ("cpm", "screened_ridge", "oracle")

    @property
    def selection(self) -> bool:
        """Selects features inside each training fold (reads a feature-major copy of X)."""
        return self.engine in ("cpm", "screened_ridge")

    @property
    def every_null_draw(self) -> bool:
        """Takes every null draw; the others refit at most ``max_refit_permutations`` of them."""
        return self.engine in ("kernel_ridge", "cpm", "oracle")

    @property
    def joint_nulls(self) -> bool:
        """Null draws are predicted with the real targets instead of refitted one by one."""
        return self.linear_smoother or self.column_model

    @property
    def pattern(self) -> str:
        """How its held-out pattern is computed: ``haufe`` (linear) or ``output_covariance``."""
        return "haufe" if self.linear else "output_covariance"


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the registry; a name can be declared once."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


@contextmanager
def registered(spec: ModelSpec) -> Iterator[ModelSpec]:
    """A model registered for the duration of a block (a toy model in a test, a user's trial)."""
    register(spec)
    try:
        yield spec
    finally:
        _REGISTRY.pop(spec.name, None)


def model_spec(name: str) -> ModelSpec:
    """The entry of ``name``, or a ValueError listing the models a parameter file may name."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(model_names())}") from None


def model_names(selectable_only: bool = True) -> tuple[str, ...]:
    """The registered models in declaration order (without the oracle unless asked)."""
    return tuple(n for n, s in _REGISTRY.items() if s.selectable or not selectable_only)


def models_table() -> str:
    """The README's table of models, written from the registry."""
    rows = [
        "| model | engine | null draws | held-out pattern | what it is |",
        "| --- | --- | --- | --- | --- |",
    ]
    for spec in _REGISTRY.values():
        if spec.selectable:
            nulls = "every draw" if spec.every_null_draw else "refitted, capped"
            rows.append(
                f"| `{spec.name}` | {spec.engine} | {nulls} | {spec.pattern} | {spec.summary} |"
            )
    return "\n".join(rows)


def _alphas(grid: Any) -> dict[str, list[Any]]:
    return {"alpha": list(grid.lasso_alphas)}


for _spec in (
    ModelSpec(
        "linear",
        "estimator",
        "ordinary least squares (the paper's linear regression)",
        linear=True,
        estimator=lambda grid: LinearRegression(),
    ),
    ModelSpec(
        "ridge",
        "kernel_ridge",
        "ridge regression with an intercept, solved in the dual; penalty tuned",
        linear=True,
        kernel="linear",
        estimator=lambda grid: Ridge(alpha=1.0),
    ),
    ModelSpec(
        "lasso",
        "estimator",
        "L1-penalised regression; penalty tuned",
        linear=True,
        estimator=lambda grid: Lasso(alpha=grid.lasso_alphas[1], max_iter=5000),
        param_grid=_alphas,
    ),
    ModelSpec(
        "elastic_net",
        "estimator",
        "L1 + L2 penalties; penalty and mix tuned",
        linear=True,
        estimator=lambda grid: ElasticNet(alpha=grid.lasso_alphas[1], l1_ratio=0.5, max_iter=5000),
        param_grid=lambda grid: {**_alphas(grid), "l1_ratio": list(grid.l1_ratios)},
    ),
    ModelSpec(
        "kernel_ridge_linear",
        "kernel_ridge",
        "kernel ridge with a linear kernel (the same estimator as `ridge`; the paper lists both)",
        linear=True,
        kernel="linear",
        estimator=lambda grid: KernelRidge(kernel="linear", alpha=1.0),
    ),
    ModelSpec(
        "kernel_ridge_rbf",
        "kernel_ridge",
        "kernel ridge with an RBF kernel; penalty and width tuned",
        kernel="rbf",
        estimator=lambda grid: KernelRidge(kernel="rbf", alpha=1.0),
    ),
    ModelSpec(
        "svr_rbf",
        "svr",
        "support vector regression, RBF kernel, one per emotion; C tuned",
        kernel="rbf",
        estimator=lambda grid: MultiOutputRegressor(SVR(kernel="rbf")),
    ),
    ModelSpec(
        "svr_linear",
        "svr",
        "support vector regression, linear kernel, one per emotion; C tuned",
        linear=True,
        kernel="linear",
        estimator=lambda grid: MultiOutputRegressor(SVR(kernel="linear")),
    ),
    ModelSpec(
        "random_forest",
        "estimator",
        "random forest; features per split tuned",
        estimator=lambda grid: RandomForestRegressor(
            n_estimators=grid.forest_trees, random_state=grid.seed, n_jobs=1
        ),
        param_grid=lambda grid: {"max_features": list(grid.forest_max_features)},
    ),
    ModelSpec(
        "cpm",
        "cpm",
        "connectome-based predictive modelling: the strongest edges (their number tuned) summed by sign",
    ),
    ModelSpec(
        "ridge_screened",
        "screened_ridge",
        "ridge on the k features most correlated with each emotion, k tuned over a grid that includes all",
    ),
    ModelSpec(
        ORACLE,
        "oracle",
        "least squares on the planted signal's own summary (simulated data only)",
        selectable=False,
    ),
):
    register(_spec)

"""Importance from held-out data, for the real targets and for every null target draw at once.

A pattern computed on the training windows says what the fitted model co-varies with on data it
has already seen. The held-out pattern of an outer fold is the covariance of the fold's *test*
features with the model's predictions for them (Haufe et al. 2014 on new data), per standard
deviation of those predictions; the patterns of all outer folds are averaged.

The same quantity for null targets (phase randomisations of the emotion series by default, or
circular shifts: ``null_method``) costs almost nothing for the models with a shortcut: kernel
ridge predicts every null column through its hat matrix and CPM fits every null column in one
pass over the same training correlations (see
:func:`helpers.decoding.folds.fit_predict_fold`), so each fold yields the held-out predictions of
all null draws at once and their patterns are one product ``X_test^T P_null``. Other models refit
per draw.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from helpers.decoding.folds import FoldContext, FoldInput, fit_predict_fold
from helpers.decoding.kernels import FoldKernels, _fold_scaling
from helpers.decoding.models import ModelGrid, check_model_name
from helpers.decoding.nulls import null_window_table
from helpers.decoding.results import CVResult
from helpers.decoding.splits import purge_gap_trs
from helpers.explain.patterns import FeatureImportance, _small_blas, pattern_kind
from helpers.features import FeatureSet
from helpers.progress import tqdm
from helpers.registry import model_spec


@dataclass(frozen=True)
class ExplainOptions:
    """How an explained model is cross-validated: tuning, scaling, shared kernels.

    ``kernels`` (each outer fold's linear kernel) may be shared with other explanations of the same
    features and folds; ``grid`` holds the hyperparameters tuned in the inner folds; ``seed`` draws
    the explanation's own randomness (the shuffles of permutation importance).
    """

    inner_splits: int = 3
    feature_scaling: str = "center"
    grid: ModelGrid = field(default_factory=ModelGrid)
    kernels: FoldKernels | None = None
    progress: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.feature_scaling not in ("standard", "center"):
            raise ValueError(
                f"feature_scaling must be 'standard' or 'center', got {self.feature_scaling!r}"
            )
        if self.inner_splits < 2:
            raise ValueError(f"inner_splits must be at least 2, got {self.inner_splits}")


@dataclass(frozen=True)
class NullDraws:
    """Null target draws an explanation is tested against.

    ``n`` draws by ``method`` (``phase_randomization`` or ``circular_shift``, see
    :mod:`helpers.decoding.nulls`), shared by every subject and emotion, from ``seed``; circular
    shifts stay at least ``min_shift`` TRs away from the truth. For random lesions, ``n`` random
    ROI sets are drawn from ``seed``.
    """

    n: int = 0
    method: str = "phase_randomization"
    seed: int = 0
    min_shift: int = 1

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError(f"the number of null draws must be >= 0, got {self.n}")

    @classmethod
    def from_params(cls, params: Any, seed_offset: int = 0) -> "NullDraws":
        """A parameter set's explanation nulls: ``explain.n_null_draws`` draws of ``null_method``.

        Circular shifts keep at least the cross-validation's purge gap from the truth, so a null
        draw is never a copy of the real targets a few TRs away.

        Parameters
        ----------
        params : Params
            The run's parameters (``explain.n_null_draws``, ``null_method``, ``seed``, the window
            length and ``cv_options.hrf_span_s``).
        seed_offset : int, optional
            Added to ``params.seed``, so that two explanations draw different nulls.

        Returns
        -------
        NullDraws
            ``n``, ``method``, ``seed`` and ``min_shift`` (the purge gap, in TRs).
        """
        return cls(
            n=params.explain.n_null_draws,
            method=params.null_method,
            seed=params.seed + seed_offset,
            min_shift=purge_gap_trs(params.window.length, params.cv_options.hrf_span_s),
        )


def has_null_shortcut(model: str) -> bool:
    """True when every null draw comes from the real fit (hat matrix or one pass over columns)."""
    return model_spec(model).joint_nulls


def explained_model(models: list[str]) -> str:
    """The model whose importance is explained: declared in the parameters, never picked by score.

    The first of ``models`` whose null draws come from its real fits (kernel ridge through the hat
    matrix, CPM and the other column models in one pass), so hundreds of null draws cost one
    cross-validation; the first model when none has that shortcut. The order of ``models`` is the
    declaration: put the model meant for interpretation first.

    Parameters
    ----------
    models : list of str
        The run's models, in the order the parameters declare them.

    Returns
    -------
    str
        The model to explain.
    """
    if not models:
        raise ValueError("no model to explain: params.models is empty")
    found = [m for m in models if has_null_shortcut(check_model_name(m))]
    return found[0] if found else models[0]


def fold_pattern(X_test: np.ndarray, predictions: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``cov(X_test, y_hat) / sd(y_hat)`` per column of ``predictions``: (n_features, n_columns).

    Float32 products (the null draws have thousands of columns); a constant prediction (the model
    says nothing on this fold) gives a zero pattern. ``scale`` divides each feature (the training
    standard deviation for standardised models, ones otherwise).
    """
    P = np.asarray(predictions, dtype=np.float64)
    if P.ndim == 1:
        P = P[:, None]
    if len(P) < 3:
        raise ValueError(f"a held-out pattern needs at least 3 test samples, got {len(P)}")
    centred = P - P.mean(axis=0)
    sd = centred.std(axis=0, ddof=1)
    usable = sd > 1e-12 * max(float(sd.max()), 1e-300)
    unit = np.where(usable, centred / np.where(usable, sd, 1.0), 0.0).astype(np.float32)
    cross = np.asarray(X_test, dtype=np.float32).T @ unit
    return cross.astype(np.float64) / (len(P) - 1) / scale[:, None]


@dataclass
class HeldOutPatterns:
    """Held-out patterns of one model: the observed ones and a generator over null draws."""

    importance: FeatureImportance
    X: Any
    folds: list[tuple[np.ndarray, np.ndarray]]
    scales: list[np.ndarray]
    null_predictions: list[np.ndarray] | None  # per fold, (n_test, n_null * n_targets)
    n_null: int
    n_targets: int

    @property
    def values(self) -> np.ndarray:
        return self.importance.values

    def null_draws(self, chunk: int = 25) -> Iterator[np.ndarray]:
        """Each null draw's fold-averaged held-out pattern (n_features, n_targets), one at a time.

        Draws are computed ``chunk`` at a time, so memory stays at ``chunk * n_targets`` columns of
        patterns whatever the number of draws.

        Parameters
        ----------
        chunk : int, optional
            Null draws computed together.

        Yields
        ------
        numpy.ndarray
            (n_features, n_targets) pattern of one null draw, ``n_null`` in all (none without null
            predictions).
        """
        if self.null_predictions is None:
            return
        K = self.n_targets
        for first in range(0, self.n_null, chunk):
            last = min(self.n_null, first + chunk)
            columns = slice(first * K, last * K)
            total = None
            for (_, test), scale, pred in zip(self.folds, self.scales, self.null_predictions):
                pattern = fold_pattern(self.X[test], pred[:, columns], scale)
                total = pattern if total is None else total + pattern
            total /= len(self.folds)
            for d in range(last - first):
                yield total[:, d * K : (d + 1) * K]


def heldout_patterns(
    model: str,
    data: FeatureSet,
    splitter: Any,
    *,
    nulls: NullDraws | None = None,
    options: ExplainOptions | None = None,
) -> HeldOutPatterns:
    """Held-out activation patterns of ``model``, per outer fold then averaged, with null draws.

    Each outer fold is tuned on inner folds of its training windows and fitted on them; only then
    are its test windows predicted, and the pattern is the covariance of the test features with
    those predictions. The ``nulls`` draws go through the same folds and tuning.

    Parameters
    ----------
    model : a registered model.
    data : the feature set (n_samples windows).
    splitter : the outer folds (their inner folds tune the model).
    nulls : null target draws (none by default).
    options : tuning, scaling and shared kernels.

    Returns
    -------
    HeldOutPatterns; ``importance.values`` is (n_features, n_targets) and ``importance.cv`` holds
    the held-out predictions of the real targets.
    """
    check_model_name(model)
    options = options or ExplainOptions()
    nulls = nulls or NullDraws()
    n_null = nulls.n
    X = data.X
    Y = np.asarray(data.y, dtype=float)
    folds = list(splitter.split(X))
    kernels = options.kernels
    if kernels is None and model_spec(model).kernel_model:
        kernels = FoldKernels(X, folds, options.feature_scaling)
    if kernels is not None and len(kernels.folds) != len(folds):
        raise ValueError("the kernels were computed for other folds; build them from this splitter")
    window_of_sample = np.unique(data.start, return_inverse=True)[1].ravel()
    null_windows = None
    if n_null:
        null_windows, window_of_sample = null_window_table(
            data, n_null, nulls.method, nulls.seed, nulls.min_shift
        )
    shortcut = has_null_shortcut(model)
    K = Y.shape[1]
    total = np.zeros((X.shape[1], K))
    total_sq = np.zeros_like(total)
    predictions = np.full(Y.shape, np.nan)
    chosen, scales, null_predictions = [], [], [] if n_null else None
    for k, (train, test) in enumerate(
        tqdm(folds, desc=f"held-out patterns {model}", disable=not options.progress, leave=False)
    ):
        inner = list(splitter.inner(train, options.inner_splits).split())
        fold = FoldInput(train, test, inner, window_of_sample)
        K_lin = kernels.full(k) if model_spec(model).kernel_model else None
        with _small_blas():
            context = FoldContext(
                K_lin, options.feature_scaling, null_windows if shortcut else None
            )
            out = fit_predict_fold(model, X, Y, fold, options.grid, context)
            null_pred = out.null_predictions
            if n_null and not shortcut:
                null_pred = _refit_nulls(
                    model, X, null_windows[window_of_sample], fold, K, options, K_lin
                )
        predictions[test] = out.predictions
        chosen.append(out.chosen)
        _, scale = _fold_scaling(X, train, options.feature_scaling)
        scales.append(scale)
        pattern = fold_pattern(X[test], out.predictions, scale)
        total += pattern
        total_sq += pattern**2
        if n_null:
            null_predictions.append(np.asarray(null_pred, dtype=np.float32))
    n = len(folds)
    mean = total / n
    spread = np.sqrt(np.maximum(total_sq / n - mean**2, 0.0))
    emotions = list(data.target_names)[:K]
    kind = "dfc" if data.is_edges else "roi"
    result = CVResult(
        model, kind, "", emotions, Y, predictions, data.subject, data.start, folds, chosen
    )
    importance = FeatureImportance(
        mean, spread, model, f"held-out {pattern_kind(model)}", emotions, n, result
    )
    return HeldOutPatterns(importance, X, folds, scales, null_predictions, n_null, K)


def _refit_nulls(
    model: str,
    X: Any,
    Y_null: np.ndarray,
    fold: FoldInput,
    n_targets: int,
    options: ExplainOptions,
    K_lin: np.ndarray | None,
) -> np.ndarray:
    """Held-out predictions of every null draw for a model without a shortcut: one refit per draw."""
    if model_spec(model).kernel_model:
        context = FoldContext(K_lin, options.feature_scaling)
        return fit_predict_fold(model, X, Y_null, fold, options.grid, context).predictions
    blocks = [
        fit_predict_fold(
            model,
            X,
            Y_null[:, j : j + n_targets],
            fold,
            options.grid,
            FoldContext(feature_scaling=options.feature_scaling),
        ).predictions  # fmt: skip
        for j in range(0, Y_null.shape[1], n_targets)
    ]
    return np.concatenate(blocks, axis=1)


__all__ = [
    "explained_model",
    "ExplainOptions",
    "HeldOutPatterns",
    "NullDraws",
    "fold_pattern",
    "has_null_shortcut",
    "heldout_patterns",
]

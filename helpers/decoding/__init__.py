"""Decoding the emotions: honest splits, models, nested cross-validation, nulls and tests.

* :mod:`~helpers.decoding.splits`: splitters over (subject, window) samples, usable as ``cv=``,
  and :mod:`~helpers.decoding.schemes` to build the one a parameter set names;
* :mod:`~helpers.decoding.models`, :mod:`~helpers.decoding.kernels`, :mod:`~helpers.decoding.folds`:
  the models and the fast fold engine that tunes them inside training folds;
  :mod:`~helpers.decoding.selection` (CPM) and :mod:`~helpers.decoding.screening` on
  :mod:`~helpers.decoding.correlations`;
* :mod:`~helpers.decoding.crossval`: :func:`cross_validate_model`, its outer folds run here or on a
  Dask cluster by :mod:`~helpers.decoding.outer_folds`, scored in
  :mod:`~helpers.decoding.metrics` and kept in :class:`~helpers.decoding.results.CVResult`;
* :mod:`~helpers.decoding.nulls`, :mod:`~helpers.decoding.stats`: null targets, p-values, FDR;
* :mod:`~helpers.decoding.sensitivity`: the same comparison over a grid of parameter sets;
* :mod:`~helpers.decoding.estimators`: the same models as scikit-learn regressors
  (:class:`FastKernelRidge`, :class:`CPMRegressor`, :class:`ScreenedRegressor`) for pipelines of
  one's own.
"""

from helpers.decoding.crossval import CVOptions, cross_validate_model
from helpers.decoding.estimators import CPMRegressor, FastKernelRidge, ScreenedRegressor
from helpers.decoding.results import CVResult
from helpers.decoding.schemes import make_splitter
from helpers.decoding.splits import (
    LeaveOneSubjectOut,
    LeaveOneSubjectOutBlocked,
    RandomWindowSplit,
    WindowMeta,
)

__all__ = [
    "CPMRegressor",
    "CVOptions",
    "FastKernelRidge",
    "ScreenedRegressor",
    "CVResult",
    "LeaveOneSubjectOut",
    "LeaveOneSubjectOutBlocked",
    "RandomWindowSplit",
    "WindowMeta",
    "cross_validate_model",
    "make_splitter",
]

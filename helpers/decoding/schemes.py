"""The splitter a parameter set names (``cv``), built with its fold options (``cv_options``)."""

from __future__ import annotations

from typing import Any

from helpers.decoding.splits import (
    LeaveOneSubjectOut,
    LeaveOneSubjectOutBlocked,
    RandomWindowSplit,
    WindowMeta,
)
from helpers.study import TR_SECONDS

__all__ = ["Splitter", "make_splitter"]


Splitter = RandomWindowSplit | LeaveOneSubjectOut | LeaveOneSubjectOutBlocked


def make_splitter(settings: Any, meta: WindowMeta | Any = None, cv: str | None = None) -> Splitter:
    """The splitter named by ``cv`` (default ``settings.cv``), with the fold options of ``settings``.

    Parameters
    ----------
    settings : Params or CVOptions
        A parameter set (``params.cv_options``, ``params.window.length``, ``params.seed``) or a
        :class:`helpers.decoding.crossval.CVOptions`.
    meta : WindowMeta, FeatureSet or None
        The samples (anything with ``subject``/``start``/``stop``), or ``None`` to pass them
        later as ``groups`` (``WindowMeta.as_groups()``).
    cv : {"random", "loso", "loso_blocked"}, optional
        The scheme; ``settings.cv`` when None.

    Returns
    -------
    RandomWindowSplit, LeaveOneSubjectOut or LeaveOneSubjectOutBlocked
        A scikit-learn splitter (``split``, ``get_n_splits``), usable as ``cv=``.
    """
    if hasattr(settings, "cv_options"):
        options, length = settings.cv_options, settings.window.length
    else:
        options, length = settings, getattr(settings, "window_length", None)
    meta = None if meta is None else WindowMeta.from_features(meta)
    scheme = cv or settings.cv
    per_fold = getattr(options, "subjects_per_fold", 1)
    if scheme == "random":
        return RandomWindowSplit(
            meta,
            test_fraction=options.test_fraction,
            n_splits=getattr(options, "random_splits", 1),
            seed=settings.seed,
        )
    if scheme == "loso":
        return LeaveOneSubjectOut(meta, subjects_per_fold=per_fold)
    if scheme == "loso_blocked":
        return LeaveOneSubjectOutBlocked(
            meta,
            n_blocks=options.n_blocks,
            hrf_span_s=options.hrf_span_s,
            tr=TR_SECONDS,
            window_length=length,
            subjects_per_fold=per_fold,
            pairing=getattr(options, "pairing", "all"),
            seed=settings.seed,
        )
    raise ValueError(f"unknown cv scheme {scheme!r}; allowed: random, loso, loso_blocked")

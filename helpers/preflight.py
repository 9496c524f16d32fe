"""Every cross-validation design a run will build, built once when its parameters load.

Fold geometry fails late and far from its cause: a window too long for its story blocks, an outer
training set with one subject left to tune on, explanations thinned to fewer windows than blocks,
a calibration design with other subjects and steps. Each chapter builds its splitters from the
parameters; :func:`check_fold_designs` builds the same splitters (outer folds and every inner
split) on the sample layout the parameters imply, before any chapter runs, and turns the first
failure into a :class:`~helpers.config.ParameterError` that names the design and the keys to change.
The book runner, the calibration and the sweeps call it after loading their parameters.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from helpers.calibration import design_params
from helpers.config import ParameterError, Params
from helpers.cv_limits import PAPER_FIRST_ANCHOR_TR
from helpers.decoding.samples import WindowMeta
from helpers.decoding.schemes import make_splitter
from helpers.explain.inputs import explanation_splitter, thinned_rows
from helpers.study import N_VOLUMES

__all__ = ["check_fold_designs", "fold_designs"]

BOOK_SCHEMES = ("random", "loso_blocked")
"""Schemes chapter 04 always evaluates, besides the run's own ``cv``."""


def _window_starts(params: Params) -> np.ndarray:
    window = params.window
    first, stride = (PAPER_FIRST_ANCHOR_TR, 1) if window.anchors == "paper" else (0, window.step)
    return np.arange(first, N_VOLUMES - window.length + 1, stride)


def _layout(params: Params, stride: int) -> WindowMeta:
    """Each subject's windows (every ``stride``-th one), as the feature sets lay them out."""
    subjects, starts = params.subject_ids(), _window_starts(params)
    subject = np.repeat(subjects, len(starts))
    start = np.tile(starts, len(subjects))
    keep = thinned_rows(subject, start, stride)
    return WindowMeta(subject[keep], start[keep], start[keep] + params.window.length)


def fold_designs(params: Params) -> list[tuple[str, str, Params, int]]:
    """(name, scheme, parameters, window stride) of every design a book run cross-validates."""
    schemes = dict.fromkeys((params.cv, *BOOK_SCHEMES))
    designs = [(f"chapter 04's {cv} folds", cv, params, 1) for cv in schemes]
    stride = params.explain.window_stride
    designs.append(
        (f"the explanations' folds (explain.window_stride = {stride})", "explain", params, stride)
    )
    calibration = design_params(params, "none", 0)
    designs.append(("the calibration's folds (calibration.*)", "loso_blocked", calibration, 1))
    designs.append(("the calibration's explanation folds", "explain", calibration, stride))
    return designs


def _build(params: Params, scheme: str, stride: int) -> None:
    """Build the outer folds and every inner split of one design; raise what a chapter would."""
    meta = _layout(params, stride)
    if scheme == "explain":
        splitter = explanation_splitter(params, meta)
    else:
        splitter = make_splitter(params, meta, cv=scheme)
    folds = list(splitter.split())
    if not folds:
        raise ValueError("it has no fold")
    for train, test in folds:
        if len(train) == 0 or len(test) == 0:
            raise ValueError("a fold has no training or no test window")
        inner = list(splitter.inner(train, params.cv_options.inner_splits).split())
        if not inner or any(len(a) == 0 or len(b) == 0 for a, b in inner):
            raise ValueError("an inner (tuning) split has no training or no test window")


@lru_cache(maxsize=256)
def _check_cached(text: str, source: str) -> None:
    params = Params.model_validate_json(text)
    for name, scheme, design, stride in fold_designs(params):
        try:
            _build(design, scheme, stride)
        except ValueError as error:
            raise ParameterError(
                f"{source}: {name} cannot be built: {error}. Change subjects, window.length/step, "
                "cv_options (n_blocks, subjects_per_fold, inner_splits, hrf_span_s) or "
                "explain.window_stride"
            ) from None


def check_fold_designs(params: Params, source: str = "parameters") -> None:
    """Raise :class:`ParameterError` when a design of :func:`fold_designs` cannot be built.

    Parameters
    ----------
    params : Params
        A loaded parameter set.
    source : str
        What the error message blames (a file, ``--set``).
    """
    _check_cached(params.model_dump_json(), source)

"""No parameter value that passes the load-time checks makes a chapter's folds fail later.

A property test over the documented ranges of the keys that shape cross-validation: random
combinations (seeded, so a failure is reproducible) either stop at load with a ParameterError, or
every design the book builds - chapter 04's schemes, the thinned explanation folds, the
calibration's - gives outer folds and inner tuning splits with windows on both sides.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_book import ROOT

from helpers.config import ParameterError, load_params
from helpers.decoding.schemes import make_splitter
from helpers.decoding.sensitivity import combination_params
from helpers.explain.inputs import explanation_splitter
from helpers.preflight import _layout, check_fold_designs

QUICK = ROOT / "params" / "quick.yml"
RANGES = {
    "subjects": [2, 3, 4, 5, 8, 13, 26],
    "window.length": [3, 4, 6, 12, 30, 60, 120, 200],
    "window.step": [1, 2, 4, 12, 30],
    "window.anchors": ["tr", "paper"],
    "cv_options.n_blocks": [2, 3, 5, 10, 20, 50],
    "cv_options.subjects_per_fold": [1, 2, 4, 13, 26],
    "cv_options.inner_splits": [2, 3, 5, 10],
    "cv_options.hrf_span_s": [0.0, 16.0, 60.0],
    "cv_options.pairing": ["all", "rotation"],
    "explain.window_stride": [1, 4, 10, 50],
    "calibration.subjects": [2, 3, 6, 26],
    "calibration.window_step": [1, 4, 24],
}


def _combination(rng: np.random.Generator) -> dict:
    nested: dict = {}
    for dotted, values in RANGES.items():
        *parents, key = dotted.split(".")
        target = nested
        for parent in parents:
            target = target.setdefault(parent, {})
        value = values[int(rng.integers(len(values)))]
        target[key] = value.item() if hasattr(value, "item") else value
    return nested


def _every_fold_has_windows(splitter, inner_splits: int) -> None:
    folds = list(splitter.split())
    assert folds
    for train, test in folds:
        assert len(train) and len(test)
        for inner_train, inner_test in splitter.inner(train, inner_splits).split():
            assert len(inner_train) and len(inner_test)


def test_parameters_that_load_give_folds_in_every_design():
    rng = np.random.default_rng(20261203)
    accepted = refused = 0
    for _ in range(150):
        overrides = _combination(rng)
        try:
            params = load_params(QUICK, overrides)
            check_fold_designs(params)
        except ParameterError as error:
            assert "\n" not in str(error)  # one line, naming what to change
            refused += 1
            continue
        accepted += 1
        inner = params.cv_options.inner_splits
        meta = _layout(params, 1)
        for cv in {params.cv, "random", "loso_blocked"}:
            _every_fold_has_windows(make_splitter(params, meta, cv=cv), inner)
        thinned = _layout(params, params.explain.window_stride)
        _every_fold_has_windows(explanation_splitter(params, thinned), inner)
    assert accepted >= 10 and refused >= 10  # the ranges reach both sides of the boundary


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"subjects": 2, "cv_options": {"subjects_per_fold": 1}}, "split by subject for tuning"),
        ({"explain": {"window_stride": 50}, "window": {"step": 4}}, "explain.window_stride = 50"),
        ({"calibration": {"subjects": 2}, "cv_options": {"subjects_per_fold": 1}}, "calibration"),
    ],
)
def test_designs_that_cannot_be_built_are_named_at_load(overrides, named):
    params = load_params(QUICK, overrides)
    with pytest.raises(ParameterError, match=named):
        check_fold_designs(params, "params/quick.yml")


def test_the_shipped_parameter_files_pass():
    for path in sorted((ROOT / "params").glob("*.yml")):
        check_fold_designs(load_params(path), path.name)


SWEPT = {
    "window.length": [2, 3, 6, 12, 60, 200, 400],
    "window.step": [0, 1, 4, 30],
    "window.shape": ["rectangular", "tapered", "gaussian"],
    "cv_options.subjects_per_fold": [1, 2, 4, 26],
    "atlas": ["dosenbach160", "seitzman300", "nowhere"],
}


def test_every_combination_of_a_sweep_grid_that_loads_can_be_built():
    """Chapter 07's grid: refused at load in one line, or every combination has its parameters."""
    rng = np.random.default_rng(20261204)
    accepted = refused = 0
    for _ in range(60):
        keys = rng.choice(list(SWEPT), size=int(rng.integers(1, 3)), replace=False)
        grid = {
            key: [SWEPT[key][int(i)] for i in rng.choice(len(SWEPT[key]), 2, replace=False)]
            for key in keys
        }
        try:
            params = load_params(QUICK, {"sweep": {"grid": grid, "combinations": []}})
        except ParameterError as error:
            assert "\n" not in str(error) and "sweep.grid" in str(error)
            refused += 1
            continue
        accepted += 1
        combos = combination_params(params, params.sweep)
        assert len(combos) == np.prod([len(v) for v in params.sweep.grid.values()])
        assert all(set(grid) <= set(values) for values, _ in combos)
    assert accepted >= 10 and refused >= 10

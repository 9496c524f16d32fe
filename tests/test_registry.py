"""One registry of models: a new model is one entry, and every stage reads it."""

from __future__ import annotations

import re

import pytest
from sklearn.cross_decomposition import PLSRegression
from test_book import ROOT
from test_importance import _toy_data, _with_tr_targets

from helpers.config import ParameterError, load_params
from helpers.decoding.crossval import CVOptions, cross_validate_model, n_null_draws
from helpers.decoding.splits import LeaveOneSubjectOut
from helpers.explain.heldout import NullDraws, explained_model, heldout_patterns
from helpers.registry import ModelSpec, model_names, model_spec, models_table, registered

TOY = ModelSpec(
    "pls",
    "estimator",
    "partial least squares; components tuned",
    linear=True,
    estimator=lambda grid: PLSRegression(n_components=1),
    param_grid=lambda grid: {"n_components": [1, 2]},
)


def test_a_new_model_is_one_entry_through_validation_folds_nulls_and_patterns():
    with registered(TOY):
        assert "pls" in model_names()
        params = load_params(ROOT / "params" / "quick.yml", {"models": ["pls"]})
        assert params.models == ["pls"]

        data = _with_tr_targets(_toy_data(3))
        options = CVOptions(
            cv="loso",
            subjects_per_fold=1,
            n_permutations=5,
            max_refit_permutations=3,
            null_method="circular_shift",
        )
        result = cross_validate_model(data, "pls", options)
        assert result.scores()["r"].iloc[-1] > 0.8  # the planted edges are found
        assert n_null_draws("pls", options) == 3 and result.null_r.shape[0] == 3
        assert {c["model__n_components"] for c in result.chosen} <= {1, 2}

        nulls = NullDraws(2, seed=1, min_shift=5)
        held = heldout_patterns("pls", data, LeaveOneSubjectOut(data), nulls=nulls)
        assert held.importance.method == "held-out haufe"  # linear: Haufe's transform
        assert len(list(held.null_draws())) == 2
        assert (
            explained_model(["pls", "ridge"]) == "ridge"
        )  # refit nulls are not the explained kind
    assert "pls" not in model_names()
    with pytest.raises(ParameterError, match="unknown model 'pls'"):
        load_params(ROOT / "params" / "quick.yml", {"models": ["pls"]})


def test_entries_are_checked_when_declared():
    with pytest.raises(ValueError, match="needs an estimator"):
        ModelSpec("bare", "estimator", "no estimator")
    with pytest.raises(ValueError, match="kernel"):
        ModelSpec("svr_poly", "svr", "an SVR without its kernel")
    with pytest.raises(ValueError, match="already registered"), registered(TOY), registered(TOY):
        pass


def test_capabilities_follow_the_engines():
    assert model_spec("ridge").linear_smoother and model_spec("ridge").every_null_draw
    assert model_spec("cpm").column_model and model_spec("cpm").every_null_draw
    screened = model_spec("ridge_screened")
    assert screened.column_model and screened.uses_fold_kernel and not screened.every_null_draw
    assert model_spec("svr_rbf").kernel_model and not model_spec("svr_rbf").joint_nulls
    assert model_spec("random_forest").pattern == "output_covariance"
    assert "oracle" not in model_names() and "oracle" in model_names(selectable_only=False)


def test_the_readme_table_of_models_is_the_registry():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"\| model \| engine \|.*?\n\n", readme, re.S)
    assert match, "README.md has no table of models (see helpers.registry.models_table)"
    assert match.group(0).strip() == models_table(), (
        "README's table of models differs from the registry; paste "
        "`python -c 'from helpers.registry import models_table; print(models_table())'`"
    )

"""The oracle recovers planted connectivity, and stays within its null when nothing was planted."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import ROOT

from helpers.annotation.targets import emotion_targets
from helpers.config import load_params
from helpers.data.atlases import load_atlas
from helpers.decoding.crossval import CVOptions, cross_validate_model
from helpers.decoding.oracle import planted_summary
from helpers.features import build_feature_sets
from helpers.simulate import SIMULATED_STIMULUS_ONSET_S, simulate_roi_level
from helpers.study import EMOTIONS


def _oracle_scores(effect: str, seed: int):
    params = load_params(
        ROOT / "params" / "quick.yml",
        {
            "simulation": {"effect": effect, "seed": seed},
            "features": ["roi_window", "dfc"],
            "window": {"step": 4},
        },
    )
    targets = emotion_targets(params, stimulus_onset=SIMULATED_STIMULUS_ONSET_S)
    data = simulate_roi_level(
        targets.to_numpy(), load_atlas(params.atlas), params.simulation, params.subject_ids()
    )
    sets = build_feature_sets(params, data, targets, use_cache=False)
    planted = planted_summary(data.truth, sets, EMOTIONS)
    options = CVOptions.from_params(params, n_permutations=200)
    return cross_validate_model(planted, "oracle", options).scores().set_index("emotion")


def test_oracle_decodes_planted_connectivity(mirror) -> None:
    scores = _oracle_scores("connectivity", seed=0)
    assert scores.loc["mean", "r"] > 0.3
    assert scores.loc["mean", "p_value"] < 0.01


def test_oracle_of_a_null_dataset_stays_within_its_null(mirror) -> None:
    scores = _oracle_scores("none", seed=1)
    assert scores.loc["mean", "p_value"] > 0.05
    assert abs(scores.loc["mean", "r"]) < 0.15


def test_oracle_needs_the_feature_sets_it_summarises(mirror) -> None:
    truth = {"effect": "connectivity", "emotions": {}, "would_plant": {}}
    with pytest.raises(ValueError, match="dfc"):
        planted_summary(truth, {}, EMOTIONS)


def test_a_run_without_the_planted_features_has_no_oracle_and_says_why(mirror) -> None:
    from helpers.decoding.runs import RegressionRun

    params = load_params(
        ROOT / "params" / "quick.yml", {"features": ["roi_window"], "window": {"step": 4}}
    )
    targets = emotion_targets(params, stimulus_onset=SIMULATED_STIMULUS_ONSET_S)
    data = simulate_roi_level(
        targets.to_numpy(), load_atlas(params.atlas), params.simulation, params.subject_ids()
    )
    run = RegressionRun(
        params, build_feature_sets(params, data, targets, use_cache=False), data.truth
    )
    assert run.oracle("loso_blocked") is None and "dfc" in run.oracle_missing


@pytest.mark.parametrize("refits", [0, 3])
def test_models_without_a_shortcut_are_descriptive_unless_refitted_nulls_are_asked(
    mirror, refits
) -> None:
    from helpers.decoding.runs import RegressionRun

    params = load_params(
        ROOT / "params" / "quick.yml",
        {
            "features": ["roi_window"],
            "window": {"step": 8},
            "models": ["ridge", "lasso"],
            "n_permutations": 20,
            "cv_options": {"refit_null_draws": refits},
        },
    )
    targets = emotion_targets(params, stimulus_onset=SIMULATED_STIMULUS_ONSET_S)
    data = simulate_roi_level(
        targets.to_numpy(), load_atlas(params.atlas), params.simulation, params.subject_ids()
    )
    run = RegressionRun(params, build_feature_sets(params, data, targets, use_cache=False))
    for model in params.models:
        run.evaluate(model, "roi_window", params.cv)
    rows = run.summary(params.cv).set_index("model")
    assert rows.loc["ridge", "inference"] == "every null draw"
    assert rows.loc["ridge", "p_floor"] == pytest.approx(1 / 21)
    if refits:
        assert rows.loc["lasso", "inference"] == "3 refitted null draws"
        assert rows.loc["lasso", "p_floor"] == pytest.approx(1 / 4)
        assert 0 < rows.loc["lasso", "p_mean"] <= 1
    else:
        assert rows.loc["lasso", "inference"] == "descriptive"
        assert rows.loc["lasso", "p_floor"] is None or pd.isna(rows.loc["lasso", "p_floor"])

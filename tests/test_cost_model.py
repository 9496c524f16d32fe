"""The cost model counts the design the chapter will run and grows with its size."""

from __future__ import annotations

import numpy as np
import pytest
from test_book import ROOT

from helpers import progress
from helpers.config import load_params
from helpers.decoding import CVOptions
from helpers.decoding import cost as cost_model
from helpers.decoding.cost import (
    CVDesign,
    cv_design,
    duration_text,
    estimate_seconds,
    operation_counts,
    regression_chapter_cost,
)
from helpers.decoding.models import ModelGrid
from helpers.features import FeatureSet

N_TRS, LENGTH = 120, 6
MEASURED = sorted(cost_model.SECONDS_PER_OPERATION)


def _features(n_subjects: int = 6, n_features: int = 30, name: str = "dfc") -> FeatureSet:
    rng = np.random.default_rng(0)
    tr_targets = rng.standard_normal((N_TRS, 8))
    starts = np.arange(0, N_TRS - LENGTH + 1, 2)
    subjects = [f"sub-{k:02d}" for k in range(1, n_subjects + 1)]
    y = np.tile(np.stack([tr_targets[s : s + LENGTH].mean(0) for s in starts]), (n_subjects, 1))
    features = FeatureSet.from_arrays(
        rng.standard_normal((len(y), n_features)).astype(np.float32),
        y,
        np.repeat(subjects, len(starts)),
        np.tile(starts, n_subjects),
        tr_targets=tr_targets,
        window={"length": LENGTH},
    )
    features.name = name
    return features


def _options(**changes) -> CVOptions:
    base = CVOptions(cv="loso_blocked", n_blocks=3, subjects_per_fold=2, inner_splits=2)
    return base.replace(**changes)


def test_constants_were_measured_for_the_models_the_book_offers():
    from helpers.registry import ORACLE, model_names

    for model in (*model_names(), ORACLE):
        assert model in cost_model.SECONDS_PER_OPERATION, model
    assert {"gram", "gram_call", "dfc", "dfc_call", "fixed"} <= set(cost_model.PER_CHAPTER)


def test_folds_and_null_draws_are_counted_as_the_chapter_runs_them():
    features = _features()
    options = _options(n_permutations=50, max_refit_permutations=5)
    ridge = cv_design(features, "ridge", options)
    # 6 subjects in groups of 2, each group tested in each of 3 blocks
    assert ridge.n_folds == 3 * 3 == len(list(options.splitter_for(features).split()))
    assert ridge.n_null == 50 and ridge.inner_splits == 2 and ridge.n_targets == 8
    assert cv_design(features, "cpm", options).n_null == 50  # one pass over every draw
    assert cv_design(features, "svr_rbf", options).n_null == 5  # refitted: the cap
    assert cv_design(features, "svr_rbf", options.replace(max_refit_permutations=0)).n_null == 0
    assert cv_design(features, "ridge", options.replace(n_permutations=0)).n_null == 0
    assert ridge.n_samples == features.n_samples and ridge.n_features == 30
    assert 0 < ridge.n_train < features.n_samples


def test_refitted_nulls_multiply_the_fits():
    design = CVDesign("svr_rbf", 400, 100, 300.0, 10, 3, 8, 0)
    with_draws = CVDesign("svr_rbf", 400, 100, 300.0, 10, 3, 8, 9)
    assert operation_counts(with_draws)["fits"] == 10 * operation_counts(design)["fits"]
    kernel = operation_counts(CVDesign("ridge", 400, 100, 300.0, 10, 3, 8, 9))
    assert (
        kernel["fits"] == operation_counts(CVDesign("ridge", 400, 100, 300.0, 10, 3, 8, 0))["fits"]
    )


@pytest.mark.parametrize("model", MEASURED)
def test_the_estimate_grows_with_samples_features_and_draws(model):
    small = CVDesign(model, 400, 200, 300.0, 10, 3, 8, 10)
    assert estimate_seconds(small) > 0
    more_samples = CVDesign(model, 1600, 200, 1200.0, 10, 3, 8, 10)
    assert estimate_seconds(more_samples) > estimate_seconds(small)
    assert estimate_seconds(CVDesign(model, 400, 200, 300.0, 20, 3, 8, 10)) > estimate_seconds(
        small
    )
    more_draws = CVDesign(model, 400, 200, 300.0, 10, 3, 8, 1000)
    assert estimate_seconds(more_draws) > estimate_seconds(small)


def test_kernel_models_scale_with_the_cube_of_the_training_set():
    small = operation_counts(CVDesign("kernel_ridge_rbf", 400, 50, 300.0, 10, 3, 8, 0))
    large = operation_counts(CVDesign("kernel_ridge_rbf", 800, 50, 600.0, 10, 3, 8, 0))
    assert large["factor"] / small["factor"] == pytest.approx(8.0)
    assert large["apply"] / small["apply"] == pytest.approx(4.0)


def test_a_long_grid_of_penalties_is_counted_as_one_eigendecomposition():
    design = CVDesign("ridge", 400, 50, 300.0, 10, 3, 8, 0)
    short = operation_counts(design, ModelGrid(relative_alphas=(0.1, 1.0)))
    long = operation_counts(design, ModelGrid(relative_alphas=tuple(np.logspace(-3, 3, 12))))
    assert "eig" not in short and "factor" not in long
    assert long["eig"] == pytest.approx(short["factor"] / 2)


def test_unknown_and_unmeasured_models_are_clear_errors(monkeypatch):
    with pytest.raises(ValueError, match="unknown model 'ridgee'"):
        estimate_seconds(CVDesign("ridgee", 10, 10, 8.0, 2))
    with pytest.raises(ValueError, match="unknown model"):
        cv_design(_features(), "ridgee", _options())
    monkeypatch.delitem(cost_model.SECONDS_PER_OPERATION, "ridge")
    with pytest.raises(
        ValueError, match="no measured cost constants for model 'ridge'.*bench_cost"
    ):
        estimate_seconds(CVDesign("ridge", 10, 10, 8.0, 2))


def test_the_chapter_estimate_lists_every_model_on_every_feature_set():
    params = load_params(ROOT / "params" / "quick.yml", {"subjects": 6, "models": ["cpm", "ridge"]})
    sets = {"dfc": _features(), "roi_window": _features(n_features=10, name="roi_window")}
    estimate = regression_chapter_cost(params, sets)
    labels = [label for label, _ in estimate.parts]
    for model in ("cpm", "ridge"):
        for name in sets:
            assert f"{model} {name} loso_blocked" in labels
    assert "ridge dfc random" in labels and "figures and demonstrations" in labels
    assert estimate.seconds == pytest.approx(sum(s for _, s in estimate.parts))
    text = estimate.text()
    assert text.startswith("estimated") and f"{params.n_permutations:,} null draws" in text
    bigger = regression_chapter_cost(params.model_copy(update={"n_permutations": 2000}), sets)
    assert bigger.seconds > estimate.seconds


def test_durations_read_in_the_right_unit():
    assert duration_text(42) == "42 s"
    assert duration_text(210) == "3.5 min"
    assert duration_text(3 * 3600) == "3.0 h"


def test_fold_lines_go_to_the_terminal_only_in_a_book_run(monkeypatch):
    lines = []
    monkeypatch.setattr(progress, "terminal_line", lambda text: lines.append(text) or True)
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    bar = progress.fold_progress(3, "ridge dfc loso_blocked")
    assert not isinstance(bar, progress.FoldLines)
    bar.close()
    monkeypatch.setenv("TQDM_DISABLE", "1")
    folds = progress.fold_progress(3, "ridge dfc loso_blocked")
    assert isinstance(folds, progress.FoldLines)
    folds.every_s = 0.0
    for _ in range(3):
        folds.update()
    assert lines[0].startswith("[alice] ridge dfc loso_blocked: fold 1/3")
    assert "left" in lines[0] and lines[-1].endswith("done")
    progress.announce("estimated 3 s")
    assert lines[-1] == "[alice] estimated 3 s"


def test_factorisations_are_counted_on_the_designs_own_inner_training_sets():
    assumed = operation_counts(CVDesign("ridge", 400, 50, 300.0, 10, 3, 8, 0))
    blocked = operation_counts(CVDesign("ridge", 400, 50, 300.0, 10, 3, 8, 0, inner_fraction=0.3))
    ratio = (1 + 3 * 0.3**3) / (1 + 3 * (2 / 3) ** 3)
    assert blocked["factor"] / assumed["factor"] == pytest.approx(ratio)
    assert blocked["apply"] == assumed["apply"]  # fitted terms keep the law they were fitted with


def test_blas_threads_speed_up_the_dense_terms_only():
    from helpers.decoding.blas import (
        PARALLEL_FRACTION,
        blas_threads,
        fraction_from_speedup,
        thread_speedup,
    )

    assert thread_speedup("factor", 1) == 1.0
    share = PARALLEL_FRACTION["factor"]
    assert thread_speedup("factor", 2) == pytest.approx(1 / ((1 - share) + share / 2))
    assert fraction_from_speedup(thread_speedup("eig", 2)) == pytest.approx(
        PARALLEL_FRACTION["eig"]
    )
    assert thread_speedup("fits", 2) == 1.0  # Python overheads run on one thread
    assert 1 <= blas_threads()
    with pytest.raises(ValueError, match="at least 1"):
        thread_speedup("factor", 0)
    kernel = CVDesign("kernel_ridge_rbf", 4000, 50, 3000.0, 10, 3, 8, 100)
    one, two = estimate_seconds(kernel, threads=1), estimate_seconds(kernel, threads=2)
    assert one / 2 < two < one
    column = CVDesign("cpm", 4000, 5000, 3000.0, 10, 3, 8, 100)
    assert estimate_seconds(column, threads=2) == estimate_seconds(column, threads=1)

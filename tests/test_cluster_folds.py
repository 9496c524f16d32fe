"""Outer folds sent to a Dask cluster give the same results as folds run in this process."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d
from test_book import ROOT

from helpers.config import ParameterError, load_params
from helpers.decoding import CVOptions, cross_validate_model, distributed
from helpers.decoding.distributed import ClusterError, map_on_cluster
from helpers.features import FeatureSet

pytest.importorskip("dask.distributed")

N_TRS, LENGTH = 120, 6


def _planted_features() -> FeatureSet:
    rng = np.random.default_rng(4)
    tr_targets = gaussian_filter1d(rng.standard_normal((N_TRS, 2)), 3.0, axis=0)
    starts = np.arange(0, N_TRS - LENGTH + 1, 2)
    subjects = [f"sub-{k:02d}" for k in range(1, 5)]
    y_window = np.stack([tr_targets[s : s + LENGTH].mean(axis=0) for s in starts])
    y = np.tile(y_window, (len(subjects), 1))
    X = rng.standard_normal((len(y), 12)).astype(np.float32)
    X[:, :2] += 2.0 * y  # two features carry the targets
    return FeatureSet.from_arrays(
        X,
        y,
        np.repeat(subjects, len(starts)),
        np.tile(starts, len(subjects)),
        tr_targets=tr_targets,
        window={"length": LENGTH},
    )


def _square(task: int, offset: int) -> int:
    return task * task + offset


def test_map_on_cluster_keeps_the_order_of_the_tasks():
    done = []
    assert map_on_cluster(_square, [3, 1, 2], [10], "local", 2, lambda: done.append(1)) == [
        19,
        11,
        14,
    ]
    assert len(done) == 3


@pytest.fixture(scope="module")
def scheduler_address():
    """A running two-process cluster, reached by its address as an HPC scheduler would be."""
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


@pytest.mark.parametrize("model", ["ridge", "cpm", "lasso"])
def test_folds_on_a_cluster_match_folds_here(model, scheduler_address):
    features = _planted_features()
    options = CVOptions(
        n_blocks=2,
        subjects_per_fold=2,
        hrf_span_s=0.0,
        inner_splits=2,
        n_permutations=6,
        max_refit_permutations=3,
        null_method="circular_shift",
    )
    here = cross_validate_model(features, model, options)
    there = cross_validate_model(features, model, options.replace(scheduler=scheduler_address))
    np.testing.assert_allclose(there.predictions, here.predictions, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(there.null_r, here.null_r, rtol=1e-6, atol=1e-9)
    assert there.chosen == here.chosen


def test_an_unreachable_scheduler_is_named_in_one_line(monkeypatch):
    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT_S", 2.0)
    with pytest.raises(ClusterError, match=r"tcp://127\.0\.0\.1:9.*cv_options\.scheduler"):
        map_on_cluster(_square, [1], [0], "tcp://127.0.0.1:9")


def test_the_scheduler_is_validated_and_left_out_of_the_digest():
    quick = ROOT / "params" / "quick.yml"
    with pytest.raises(ParameterError, match="scheduler"):
        load_params(quick, {"cv_options": {"scheduler": "my-cluster"}})
    on_cluster = load_params(quick, {"cv_options": {"scheduler": "tcp://10.0.0.5:8786"}})
    assert on_cluster.digest() == load_params(quick).digest()
    assert CVOptions.from_params(on_cluster).scheduler == "tcp://10.0.0.5:8786"


def test_a_kernel_model_sends_the_gram_matrix_and_no_feature_columns(monkeypatch):
    from helpers.decoding import outer_folds

    sent = {}
    original = outer_folds.map_on_cluster

    def spy(function, tasks, shared, scheduler, workers=2, on_done=None):
        sent["X"], sent["gram"] = shared[0], shared[3]
        return original(function, tasks, shared, scheduler, workers, on_done)

    monkeypatch.setattr(outer_folds, "map_on_cluster", spy)
    features = _planted_features()
    options = CVOptions(n_blocks=2, subjects_per_fold=2, hrf_span_s=0.0, inner_splits=2)
    here = cross_validate_model(features, "kernel_ridge_rbf", options)
    there = cross_validate_model(features, "kernel_ridge_rbf", options.replace(scheduler="local"))
    assert sent["X"].shape == (features.n_samples, 0)
    assert sent["gram"].shape == (features.n_samples, features.n_samples)
    np.testing.assert_allclose(there.predictions, here.predictions, rtol=1e-6, atol=1e-9)

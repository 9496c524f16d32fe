"""Whether the explained decoder decodes: held-out r against the r of its null draws."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from helpers.explain.account_indices import decoding_test
from helpers.explain.heldout import NullDraws
from helpers.features import FeatureSet

N, K, N_NULL = 200, 8, 60


def _data(rng: np.random.Generator) -> FeatureSet:
    targets = np.cumsum(rng.standard_normal((N, K)), axis=0)  # smooth, like ratings
    return FeatureSet(
        name="roi",
        X=rng.standard_normal((N, 3)).astype(np.float32),
        y=targets,
        subject=np.repeat(["a", "b"], N // 2),
        start=np.tile(np.arange(N // 2), 2),
        stop=np.tile(np.arange(N // 2), 2) + 1,
        roi_labels=np.array(["r0", "r1", "r2"]),
        roi_networks=np.array(["n0", "n0", "n1"]),
        tr_targets=targets[: N // 2],
    )


def _held(data: FeatureSet, predictions: np.ndarray, rng: np.random.Generator):
    folds = [(np.arange(N // 2, N), np.arange(N // 2)), (np.arange(N // 2), np.arange(N // 2, N))]
    null = [rng.standard_normal((len(test), N_NULL * K)) for _, test in folds]
    cv = SimpleNamespace(y_true=data.y, predictions=predictions)
    return SimpleNamespace(
        importance=SimpleNamespace(cv=cv), folds=folds, null_predictions=null, n_targets=K
    )


def test_a_decoder_that_predicts_its_targets_decodes_and_one_of_noise_does_not():
    rng = np.random.default_rng(0)
    data = _data(rng)
    draws = NullDraws(N_NULL, seed=1, min_shift=5)
    good = decoding_test(_held(data, data.y + rng.standard_normal((N, K)), rng), data, draws)
    assert good["decodes"] and good["r"] > 0.5 and good["p_value"] < 0.05
    assert good["null_r"].shape == (N_NULL,) and np.abs(good["null_r"]).max() < 0.5
    noise = decoding_test(_held(data, rng.standard_normal((N, K)), rng), data, draws)
    assert not noise["decodes"] and abs(noise["r"]) < 0.2 and noise["p_value"] > 0.05


def test_without_null_draws_nothing_counts_as_decoding():
    rng = np.random.default_rng(0)
    data = _data(rng)
    held = _held(data, data.y, rng)
    result = decoding_test(held, data, NullDraws(0))
    assert result["p_value"] is None and not result["decodes"] and result["r"] > 0.99

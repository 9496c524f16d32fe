"""Virtual lesions and leave-one-network-out: retrain without a block of features, measure the drop.

Each lesioned model goes through the same nested cross-validation as the intact one; because
kernels are additive over features, each fold's lesioned kernel is the full kernel minus the
block's, so a lesion pays only for its block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from helpers.decoding.crossval import CVOptions, cross_validate_model
from helpers.decoding.kernels import FoldKernels
from helpers.decoding.models import KERNEL_MODELS, ModelGrid, check_model_name
from helpers.decoding.results import CVResult
from helpers.explain.patterns import _small_blas
from helpers.features import FeatureSet
from helpers.progress import tqdm


def lesion_drops(
    model: str,
    data: FeatureSet,
    splitter: Any,
    lesions: Mapping[str, np.ndarray],
    *,
    inner_splits: int = 3,
    feature_scaling: str = "standard",
    kernels: FoldKernels | None = None,
    grid: ModelGrid | None = None,
    baseline: CVResult | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Retrain without each block of features and report the drop in held-out r per emotion.

    ``lesions`` maps a name to the feature indices removed (e.g. :func:`network_blocks` for
    leave-one-network-out, :func:`roi_set_block` for a virtual lesion of the amygdala). Each lesioned
    model goes through the regression module's :func:`cross_validate_model` with the same folds and
    nested tuning as the intact one; for kernel models the lesioned fold kernels are the intact ones
    minus the block's (exact, since kernels are sums over features). Returns one row per (lesion,
    emotion) plus an emotion ``"mean"`` row: ``r_full``, ``r_lesioned``, ``drop``.
    """

    check_model_name(model)
    X = data.X
    folds = list(splitter.split(X))
    if kernels is None and model in KERNEL_MODELS:
        kernels = FoldKernels(X, folds, feature_scaling)
    options = CVOptions(
        splitter=splitter,
        inner_splits=inner_splits,
        feature_scaling=feature_scaling,
        grid=grid or ModelGrid(),
    )
    if baseline is None:
        with _small_blas():
            baseline = cross_validate_model(data, model, options, kernels=kernels)
    full = baseline.scores().set_index("emotion")["r"]
    rows = []
    for name, columns in tqdm(
        list(lesions.items()), desc=f"lesions {model}", disable=not progress, leave=False
    ):
        columns = np.unique(np.asarray(columns, dtype=int))
        if columns.size == 0:
            raise ValueError(f"lesion {name!r} removes no feature")
        if columns.size >= X.shape[1]:
            raise ValueError(
                f"lesion {name!r} removes every feature; nothing is left to decode from"
            )
        keep = np.setdiff1d(np.arange(X.shape[1]), columns)
        lesioned_kernels = kernels.without(columns) if model in KERNEL_MODELS else None
        with _small_blas():
            lesioned = cross_validate_model(
                data.with_features(X[:, keep]), model, options, kernels=lesioned_kernels
            )
        scores = lesioned.scores().set_index("emotion")["r"]
        for emotion in scores.index:
            rows.append(
                {
                    "lesion": name,
                    "emotion": emotion,
                    "r_full": float(full[emotion]),
                    "r_lesioned": float(scores[emotion]),
                    "drop": float(full[emotion] - scores[emotion]),
                    "n_features": int(columns.size),
                }
            )
    return pd.DataFrame(rows)

"""Every model on every feature set of a run: shared kernels, the oracle, tables and the feature-set test.

What the regression chapter reports, computed here so that the chapter only narrates and plots:
held-out scores per (model, features, split) with their nulls, the oracle on simulated data, each
model's share of the oracle, the hyperparameters chosen in each outer fold, FDR families and the
joint permutation test of two feature sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from helpers.decoding.crossval import CVOptions, cross_validate_model, n_null_draws
from helpers.decoding.kernels import FoldKernels, linear_gram
from helpers.decoding.oracle import planted_summary
from helpers.decoding.results import CVResult
from helpers.decoding.stats import joint_permutation_test
from helpers.features import FeatureSet
from helpers.registry import ORACLE, model_spec

Key = tuple[str, str, str]  # (model, features, cv)


def _inference(model: str, draws: int) -> str:
    if not draws:
        return "descriptive"
    return (
        "every null draw" if model_spec(model).every_null_draw else f"{draws} refitted null draws"
    )


class RegressionRun:
    """Cross-validates models on the feature sets of one parameter set, sharing fold kernels."""

    def __init__(
        self,
        params: Any,
        feature_sets: Mapping[str, FeatureSet],
        truth: dict | None = None,
        max_refit_permutations: int | None = None,
    ) -> None:
        self.params = params
        self.sets = dict(feature_sets)
        self.truth = truth
        self.max_refit_permutations = (
            params.cv_options.refit_null_draws
            if max_refit_permutations is None
            else max_refit_permutations
        )
        self.results: dict[Key, CVResult] = {}
        self.oracle_missing = (
            ""  # why there is no oracle, when the truth exists but its features do not
        )
        self._grams: dict[str, np.ndarray] = {}
        self._kernels: dict[tuple[str, str], FoldKernels] = {}

    def options(self, cv: str, n_permutations: int | None = None) -> CVOptions:
        n = self.params.n_permutations if n_permutations is None else n_permutations
        return CVOptions.from_params(
            self.params, cv=cv, n_permutations=n, max_refit_permutations=self.max_refit_permutations
        )

    def _fold_kernels(self, name: str, options: CVOptions) -> FoldKernels:
        key = (name, options.cv)
        if key not in self._kernels:
            features = self.sets[name]
            if options.feature_scaling == "center" and name not in self._grams:
                self._grams[name] = linear_gram(features.X)
            folds = list(options.splitter_for(features).split(features.X))
            self._kernels[key] = FoldKernels(
                features.X, folds, options.feature_scaling, gram=self._grams.get(name)
            )
        return self._kernels[key]

    def evaluate(
        self, model: str, name: str, cv: str, n_permutations: int | None = None
    ) -> CVResult:
        """Cross-validate ``model`` on feature set ``name`` under ``cv`` (cached by key).

        Parameters
        ----------
        model : str
            A registered model (see :func:`helpers.registry.model_names`).
        name : str
            One of the run's feature sets.
        cv : str
            The cross-validation scheme.
        n_permutations : int, optional
            Null draws; the parameters' ``n_permutations`` if omitted.

        Returns
        -------
        CVResult
            The held-out ``predictions`` (n_samples, n_emotions), the ``folds``, the hyperparameters
            ``chosen`` per fold and the null scores ``null_r`` (n_draws, n_emotions).
        """
        key = (model, name, cv)
        if key not in self.results:
            options = self.options(cv, n_permutations)
            uses_kernel = model_spec(model).uses_fold_kernel
            kernels = self._fold_kernels(name, options) if uses_kernel else None
            self.results[key] = cross_validate_model(
                self.sets[name], model, options, kernels=kernels
            )
        return self.results[key]

    def evaluate_all(self, models: Iterable[str], cv: str) -> list[CVResult]:
        return [self.evaluate(m, n, cv) for m in models for n in self.sets]

    def oracle(self, cv: str) -> CVResult | None:
        """The planted summary fitted on the training folds (simulated data only).

        Parameters
        ----------
        cv : str
            The cross-validation scheme.

        Returns
        -------
        CVResult or None
            The oracle's result; None on real data, or when the run's feature sets lack what was
            planted (the reason is then in ``oracle_missing``).
        """
        if self.truth is None:
            return None
        key = (ORACLE, "planted", cv)
        if key not in self.results:
            emotions = next(iter(self.sets.values())).target_names
            try:
                planted = planted_summary(self.truth, self.sets, emotions)
            except ValueError as missing:  # the run's features do not include what was planted
                self.oracle_missing = str(missing)
                return None
            self.results[key] = cross_validate_model(planted, ORACLE, self.options(cv))
        return self.results[key]

    # ----------------------------------------------------------------------------- tables
    def scores(self, cv: str | None = None) -> pd.DataFrame:
        """Per-emotion and mean scores of every result (of one split if ``cv`` is given).

        Parameters
        ----------
        cv : str, optional
            Keep only the results of this cross-validation scheme.

        Returns
        -------
        pandas.DataFrame
            One row per (result, emotion) and one ``emotion == "mean"`` row per result: ``model``,
            ``features``, ``cv``, ``r``, ``r_pooled``, ``r2``, ``mse``, ``p_value``, ``p_fdr`` and
            ``n_null_draws``.
        """
        frames = [r.scores() for (m, n, c), r in self.results.items() if cv is None or c == cv]
        table = pd.concat(frames, ignore_index=True)
        table["n_null_draws"] = [self._draws(row.model, row.cv) for row in table.itertuples()]
        return table

    def _draws(self, model: str, cv: str) -> int:
        return n_null_draws(model, self.options(cv))

    def summary(self, cv: str) -> pd.DataFrame:
        """Mean scores per (model, features) with the share of the oracle and FDR survivors per family.

        An FDR family is one model on one feature set over the emotions; ``p floor`` is the smallest
        p-value its null draws allow (``1 / (draws + 1)``, empty without nulls); ``inference`` says
        how it is tested: ``every null draw``, ``N refitted null draws`` (``cv_options.
        refit_null_draws``) or ``descriptive`` (no null draws: a score, never a finding).

        Parameters
        ----------
        cv : str
            The cross-validation scheme.

        Returns
        -------
        pandas.DataFrame
            One row per (model, features): ``r``, ``r2``, ``r_pooled``, ``share_of_oracle``,
            ``p_mean``, ``fdr_survivors``, ``family_size``, ``p_floor`` and ``inference``.
        """
        table = self.scores(cv)
        per_emotion = table[table.emotion != "mean"]
        means = table[table.emotion == "mean"].set_index(["model", "features"])
        oracle = means["r"].get((ORACLE, "planted"), np.nan)
        rows = []
        for (model, features), row in means.iterrows():
            family = per_emotion[(per_emotion.model == model) & (per_emotion.features == features)]
            draws = int(row["n_null_draws"])
            rows.append(
                {
                    "model": model,
                    "features": features,
                    "r": row["r"],
                    "r2": row["r2"],
                    "r_pooled": row["r_pooled"],
                    "share_of_oracle": row["r"] / oracle
                    if np.isfinite(oracle) and oracle > 0
                    else np.nan,
                    "p_mean": row["p_value"],
                    "fdr_survivors": int((family.p_fdr < 0.05).sum()) if draws else None,
                    "family_size": len(family),
                    "p_floor": 1.0 / (draws + 1) if draws else None,
                    "inference": _inference(model, draws),
                }
            )
        return pd.DataFrame(rows)

    def compare(
        self, model: str, a: str, b: str, cv: str, n_permutations: int | None = None
    ) -> dict[str, Any]:
        """Joint permutation test of feature set ``a`` against ``b`` for one model (same null draws).

        Parameters
        ----------
        model : str
            A registered model (see :func:`helpers.registry.model_names`).
        a, b : str
            The two feature sets (names of the run's feature sets).
        cv : str
            The cross-validation scheme.
        n_permutations : int, optional
            Null draws; the parameters' ``n_permutations`` if omitted.

        Returns
        -------
        dict
            ``model``, ``cv``, ``features`` (``"a - b"``), ``delta_r`` (difference of the mean
            within-fold r), ``p_value`` and ``n_draws`` (None, None and 0 without null draws), and with
            draws ``null_sd``, the spread of the null difference.
        """
        first = self.evaluate(model, a, cv, n_permutations)
        second = self.evaluate(model, b, cv, n_permutations)
        if first.null_r is None or second.null_r is None:
            return {
                "model": model,
                "cv": cv,
                "features": f"{a} - {b}",
                "delta_r": None,
                "p_value": None,
                "n_draws": 0,
            }
        test = joint_permutation_test(
            first.within_fold_r(), second.within_fold_r(), first.null_r, second.null_r
        )
        return {"model": model, "cv": cv, "features": f"{a} - {b}", **test}


def chosen_table(result: CVResult) -> pd.DataFrame:
    """The hyperparameters tuned in each outer fold, one row per (fold, emotion).

    Parameters
    ----------
    result : CVResult
        A cross-validation result.

    Returns
    -------
    pandas.DataFrame
        (n_folds * n_emotions) rows: ``fold``, ``emotion`` and one column per tuned
        hyperparameter.
    """
    rows = []
    for fold, chosen in enumerate(result.chosen):
        for e, emotion in enumerate(result.emotions):
            row = {"fold": fold, "emotion": emotion}
            for name, values in chosen.items():
                value = values[e] if isinstance(values, (list, tuple, np.ndarray)) else values
                row[name] = value.item() if isinstance(value, np.generic) else value
            rows.append(row)
    return pd.DataFrame(rows)

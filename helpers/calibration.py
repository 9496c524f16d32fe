"""Do the book's p-values mean what they say? The whole inference on many simulated datasets.

Each dataset is simulated at the ROI level (no images, seconds per dataset) with its own seed,
either with nothing planted (``effect: none``) or with connectivity coding, and goes through the
same inference as the regression chapter: cross-validated decoders with null targets, permutation
p-values per emotion and for the mean, Benjamini-Hochberg within each model x feature-set family,
the oracle, and the joint permutation test of DFC against windowed ROI amplitude; and the
interpretation chapter's indices against their null-target draws. On null datasets the share of
rejections at alpha 0.05 is each test's false-positive rate, with a Clopper-Pearson interval; on
planted datasets it is its power.

The verdict table (:mod:`helpers.calibration_verdicts`): on null, locationist and constructionist
worlds, how often each interpretation index, and the chapter's conclusion, names which account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from helpers.annotation.targets import emotion_targets
from helpers.calibration_jobs import JobExecution, run_jobs
from helpers.config import Params, params_from_dict
from helpers.data.atlases import load_atlas
from helpers.decoding.runs import RegressionRun
from helpers.decoding.splits import WindowMeta
from helpers.decoding.stats import clopper_pearson, fdr_bh
from helpers.explain.account_indices import account_tests, decoding_test, target_correlation
from helpers.explain.accounts import conclusion, explained_features
from helpers.explain.heldout import ExplainOptions, NullDraws, explained_model, heldout_patterns
from helpers.explain.indices import (
    INDEX_DIRECTIONS,
    index_test,
    null_pattern_indices,
    pattern_indices,
)
from helpers.explain.inputs import explanation_data, explanation_splitter, network_blocks
from helpers.explain.lesion_indices import lono_concentration
from helpers.explain.lesions import lesion_null_drops
from helpers.features import FeatureSet, build_feature_sets
from helpers.simulate import SIMULATED_STIMULUS_ONSET_S, simulate_roi_level

ALPHA = 0.05


DESIGN_CHANGES = ("snr", "models", "features", "n_permutations")
"""What a caller may change in one dataset's calibration design (:func:`design_params`)."""


def design_params(
    params: Params, effect: str, seed: int, changes: Mapping[str, Any] | None = None
) -> Params:
    """The calibration design of ``params`` for one simulated dataset.

    Parameters
    ----------
    params : Params
        The parameter set; its ``calibration`` section names the design.
    effect : str
        The simulated effect (``none``, ``connectivity``, ``amplitude``, ``both``).
    seed : int
        The dataset's simulation seed.
    changes : mapping, optional
        Departures from the design, among :data:`DESIGN_CHANGES`: ``snr``, ``models``,
        ``features`` (default ROI windows and DFC) and ``n_permutations``.

    Returns
    -------
    Params
        The design's parameters, validated.
    """
    changes = dict(changes or {})
    unknown = sorted(set(changes) - set(DESIGN_CHANGES))
    if unknown:
        raise ValueError(
            f"unknown design change(s) {unknown}; allowed: {', '.join(DESIGN_CHANGES)}"
        )
    snr, models = changes.get("snr"), changes.get("models")
    features = changes.get("features", ("roi_window", "dfc"))
    n_permutations = changes.get("n_permutations")
    design = params.calibration
    raw = params.model_dump(mode="json")
    raw.update(
        atlas=design.atlas,
        subjects=design.subjects,
        models=list(models or design.models),
        features=list(features),
        cv="loso_blocked",
        n_permutations=design.n_permutations if n_permutations is None else n_permutations,
        dataset="simulated",
    )
    raw["window"] = dict(raw["window"], step=design.window_step)
    raw["cv_options"] = dict(raw["cv_options"], pairing=design.pairing)
    raw["simulation"] = dict(
        raw["simulation"],
        effect=effect,
        seed=int(seed),
        snr=design.snr if snr is None else float(snr),
    )
    return params_from_dict(raw, source="calibration design")


def simulated_run(params: Params) -> RegressionRun:
    """Simulate one ROI-level dataset of ``params`` and cross-validate its models (with nulls)."""
    drive = emotion_targets(params, stimulus_onset=SIMULATED_STIMULUS_ONSET_S)
    data = simulate_roi_level(
        drive.to_numpy(), load_atlas(params.atlas), params.simulation, params.subject_ids()
    )
    sets = build_feature_sets(params, data, drive, use_cache=False)
    run = RegressionRun(params, sets, data.truth)
    run.evaluate_all(params.models, params.cv)
    run.oracle(params.cv)
    return run


def dataset_tests(params: Params, effect: str, seed: int) -> list[dict[str, Any]]:
    """Every test of one simulated dataset: one record per (test, unit) with its p-value."""
    run = simulated_run(design_params(params, effect, seed))
    records = []
    base = {"effect": effect, "seed": int(seed)}
    for (model, features, _cv), result in run.results.items():
        if result.null_r is None:
            continue
        scores = result.scores().set_index("emotion")
        per_emotion = scores.drop(index="mean")["p_value"].to_numpy(dtype=float)
        name = f"{model} on {features}"
        records += [
            dict(base, test=f"per-emotion p ({name})", unit=e, p_value=p)
            for e, p in zip(scores.index[:-1], per_emotion)
        ]
        records.append(
            dict(
                base, test=f"mean-r p ({name})", unit="mean", p_value=scores.loc["mean", "p_value"]
            )
        )
        smallest = float(np.nanmin(fdr_bh(per_emotion)))
        records.append(dict(base, test=f"FDR family ({name})", unit="family", p_value=smallest))
    records += interpretation_tests(run, base)
    for model in params.calibration.models:
        test = run.compare(model, "dfc", "roi_window", "loso_blocked")
        if test["p_value"] is not None:
            records.append(
                dict(
                    base,
                    test=f"DFC vs ROI joint test ({model})",
                    unit="mean",
                    p_value=test["p_value"],
                )
            )
    return records


def interpretation_tests(run: RegressionRun, base: dict[str, Any]) -> list[dict[str, Any]]:
    """The interpretation chapter's indices on one dataset: p-value and verdict of each.

    The explained model, window thinning, folds and null draws are the chapter's
    (``explain.*``), on the calibration design's DFC; every null draw comes from one fit.
    Random-lesion tests are left out: 200 refits per lesion would dominate the calibration's cost.
    """
    model = explained_model(run.params.calibration.models)
    sets = {name: run.sets[name] for name in ("dfc", "roi_window") if name in run.sets}
    tests = interpretation_verdicts(run.params, sets, int(base["seed"]), model)
    return [
        dict(
            base,
            test=f"interpretation: {name} ({model})",
            unit="index",
            p_value=test.get("p_value"),
            favours=test["favours"],
        )
        for name, test in tests.items()
        if test.get("p_value") is not None  # the conclusion is a rule, not a test
    ]


def interpretation_verdicts(
    params: Params, sets: dict[str, FeatureSet], seed: int, model: str
) -> dict[str, dict[str, Any]]:
    """Every index of the interpretation chapter on one dataset, and the conclusion.

    The account indices (:data:`helpers.explain.accounts.ACCOUNT_DIRECTIONS`) of the decoder of
    each feature set of ``sets`` (``dfc``, and ``roi_window`` when given), the descriptive pattern
    indices and leave-one-network-out of the DFC decoder, each against the same null-target draws,
    and the chapter's rule (:func:`helpers.explain.accounts.conclusion`) over the
    kept indices of the decoder that decodes best (:func:`helpers.explain.accounts.explained_features`;
    the conclusion's record carries each decoder's held-out r and its p-value against the null).
    """
    dfc = sets["dfc"]
    data = explanation_data(dfc, params.explain.window_stride)
    atlas = load_atlas(params.atlas)
    splitter = explanation_splitter(params, WindowMeta.from_features(data))
    scaling = params.explain.feature_scaling
    options = ExplainOptions(
        feature_scaling=params.cv_options.feature_scaling if scaling == "cv" else scaling
    )
    draws = dict(nulls=NullDraws.from_params(params, seed_offset=seed), options=options)
    held = heldout_patterns(model, data, splitter, **draws)
    fraction = params.explain.top_edge_fraction
    where = (data.edges, atlas.n_rois, atlas.networks, fraction)
    observed = pattern_indices(held.values, *where)
    null = null_pattern_indices(held.null_draws(), *where)
    blocks = network_blocks(data.edges, atlas.networks)
    lono, lono_null = lesion_null_drops(model, data, splitter, blocks, **draws)
    observed["lono_concentration"] = float(lono_concentration(lono.to_numpy()))
    null["lono_concentration"] = lono_concentration(lono_null.to_numpy())
    correlation = target_correlation(data.y)
    tests, decoding = {}, {}
    for features, feature_set in sets.items():
        if feature_set is dfc:
            patterns, explained = held, data
        else:  # the ROI decoder, explained the same way
            explained = explanation_data(feature_set, params.explain.window_stride)
            roi_splitter = explanation_splitter(params, WindowMeta.from_features(explained))
            patterns = heldout_patterns(model, explained, roi_splitter, **draws)
        decoding[features] = decoding_test(patterns, explained, draws["nulls"])
        found = account_tests(
            patterns.values, patterns.null_draws(), explained.edges, atlas.networks, correlation
        )
        for name, test in found.items():
            tests[f"{name} ({features})"] = {k: v for k, v in test.items() if k != "null"}
    for name, above in INDEX_DIRECTIONS.items():
        tests[name] = index_test(observed[name], null[name], above=above)
    verdicts = {name: test["favours"] for name, test in tests.items()}
    chosen = explained_features(decoding)
    tests["conclusion"] = {
        "p_value": None,
        "favours": conclusion(verdicts, chosen),
        "explained": chosen or "none",
    } | {f"heldout_r_{name}": test["r"] for name, test in decoding.items()}
    tests["conclusion"] |= {
        f"decoding_p_{name}": test["p_value"] for name, test in decoding.items()
    }
    return tests


def run_datasets(
    params: Params,
    seeds: Sequence[int],
    effects: Iterable[str] = ("none", "connectivity"),
    execution: JobExecution | None = None,
) -> pd.DataFrame:
    """All tests on every (effect, seed), locally in this process or on ``execution.executor``.

    Parameters
    ----------
    params : Params
        The parameter set whose calibration design is run.
    seeds : sequence of int
        One dataset per seed and effect.
    effects : iterable of str
        ``none`` (null) and the planted codes.
    execution : JobExecution, optional
        Workers, datasets already done and what to do as each finishes.

    Returns
    -------
    pandas.DataFrame
        One row per test, in the order of ``effects`` and ``seeds`` whatever the order in which
        workers finish, so a resumed run returns exactly what an uninterrupted one does.
    """
    jobs = [(effect, int(seed)) for effect in effects for seed in seeds]
    return run_jobs(dataset_tests, params, jobs, execution or JobExecution(), "calibration")


def binomial_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a rate."""
    return clopper_pearson(successes, trials, level)


def summarise(records: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Per test: false-positive rate on null datasets (with its interval) and power on planted ones.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per tested unit: columns ``test``, ``effect`` (``"none"`` on null datasets),
        ``seed`` and ``p_value``, optionally ``favours`` (the verdict).
    alpha : float, optional
        Significance level.

    Returns
    -------
    pandas.DataFrame
        One row per test: ``test``, ``n_datasets``, ``n_units``, ``false_positive_rate``,
        ``ci_low``, ``ci_high`` (Clopper-Pearson), ``power``, ``calibrated`` (the interval reaches
        ``alpha``) and ``verdict_rate`` (share of null units with a verdict).
    """
    rows = []
    for test, group in records.groupby("test", sort=False):
        null = group[group.effect == "none"]
        planted = group[group.effect != "none"]
        rejected = int((null.p_value < alpha).sum())
        low, high = binomial_interval(rejected, len(null))
        rows.append(
            {
                "test": test,
                "n_datasets": int(null.seed.nunique()),
                "n_units": len(null),
                "false_positive_rate": rejected / len(null) if len(null) else float("nan"),
                "ci_low": low,
                "ci_high": high,
                "power": float((planted.p_value < alpha).mean()) if len(planted) else float("nan"),
                "calibrated": bool(low <= alpha) if len(null) else None,
                "verdict_rate": _verdict_rate(null),
            }
        )
    return pd.DataFrame(rows)


def _verdict_rate(null: pd.DataFrame) -> float:
    """Share of null units whose verdict is not ``inconclusive`` (NaN for tests without one)."""
    if "favours" not in null or null["favours"].isna().all():
        return float("nan")
    verdicts = null["favours"].dropna()
    return float((verdicts != "inconclusive").mean()) if len(verdicts) else float("nan")


def power_curve(
    params: Params,
    snrs: Sequence[float],
    seed: int,
    models: Sequence[str] = ("cpm", "ridge"),
    n_permutations: int = 100,
) -> pd.DataFrame:
    """Honest r and the share of emotions detected (FDR 0.05) against the simulated SNR.

    One connectivity-coded dataset per SNR (the same seed, so only the strength changes), in the
    calibration design on DFC only: the oracle, each of ``models``, and the share of emotions whose
    FDR-adjusted p-value is below 0.05 (``n_permutations`` draws: p can reach 0.01).

    Parameters
    ----------
    params : Params
        The parameter set whose calibration design is run.
    snrs : sequence of float
        The simulated signal-to-noise ratios, one dataset each.
    seed : int
        Seed of every dataset.
    models : sequence of str, optional
        The models fitted besides the oracle.
    n_permutations : int, optional
        Permutation draws of each test.

    Returns
    -------
    pandas.DataFrame
        One row per (SNR, model): ``snr``, ``model``, ``features`` (``"dfc"`` or ``"planted"`` for
        the oracle), ``r`` (the last row of the scores, the mean over emotions) and
        ``share_detected`` (None without p-values).
    """
    rows = []
    for snr in snrs:
        changes = {"snr": snr, "models": models, "features": ("dfc",)}
        design = design_params(
            params, "connectivity", seed, changes | {"n_permutations": n_permutations}
        )
        run = simulated_run(design)
        for (model, features, _), result in run.results.items():
            if features not in ("dfc", "planted"):
                continue
            scores = result.scores()
            per_emotion = scores[scores.emotion != "mean"]
            detected = (
                float((per_emotion.p_fdr < ALPHA).mean())
                if per_emotion.p_fdr.notna().any()
                else None
            )
            rows.append(
                {
                    "snr": float(snr),
                    "model": model,
                    "features": features,
                    "r": float(scores["r"].iloc[-1]),
                    "share_detected": detected,
                }
            )
    return pd.DataFrame(rows)

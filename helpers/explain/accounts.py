"""Locationist or constructionist? Indices that tell the two accounts apart, and one rule over them.

The accounts differ in where emotions live, judged as the debate itself does by the consistency
and specificity of each emotion's regions (Lindquist et al. 2012): a *locationist* account gives
each emotion regions of its own, a *constructionist* one builds every emotion from the same
domain-general networks, each emotion a different pattern over them (definitions of the planted
worlds: :mod:`helpers.simulate_accounts`).

Emotion ratings co-occur (joy with trust, fear with surprise), so a decoder of joy also leans on
the regions of trust; read naively, the overlap of decoders measures co-occurring targets, not
shared substrate. Every index here is therefore read on the *weakly co-occurring* pairs of emotions
only (|correlation of the ratings| at most its median over pairs), where a locationist brain has
nothing to share. Each emotion's importance is summarised per ROI (shares over its top edges), and
the indices read the ROI x emotion profile:

* ``roi_specificity``: for an emotion's top ROIs, the share of importance that is the emotion's own
  rather than a weakly co-occurring emotion's (high: locationist);
* ``profile_similarity``: the correlation, over ROIs, between the profiles of weakly co-occurring
  emotions (high: constructionist);
* ``shared_network_share``: the share of each emotion's importance in the networks important for
  every emotion (high: constructionist). Descriptive only: on the calibration design it read
  "constructionist" on 3 of 15 locationist datasets and on 2 of 15 null ones.

Each is tested against the same index for decoders of null targets (phase randomisations with
the ratings' spectrum and co-occurrence, through the same folds): a decoder of noise spreads its
importance without regard to either account, so an account's signature moves an index to one side
of it and the other account's to the other. Which side means which, and whether an index has the
power to say it, is measured on planted worlds by the calibration (chapter 08's verdict table);
indices without that power are shown as descriptive and never enter :func:`conclusion`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.decoding.stats import verdict
from helpers.explain.indices import index_test, network_shares, node_strength, top_edge_masks

VERDICTS = ("locationist", "constructionist", "inconclusive")

TOP_ROI_FRACTION = 0.05
"""Share of the atlas's ROIs counted as an emotion's top ROIs (8 of 160, 15 of 300)."""

SHARED_NETWORKS = 2
"""How many networks count as important for every emotion (those with the largest smallest share)."""

PROFILE_EDGE_FRACTION = 0.002
"""Share of edges that make an emotion's ROI profile: a few dozen of the strongest edges (25 of
Dosenbach's 12,720, 90 of Seitzman's 44,850), so the profile says where the decoder's few
important edges sit rather than where its noise does."""

ACCOUNT_DIRECTIONS = {
    "roi_specificity": "locationist",
    "profile_similarity": "constructionist",
    "shared_network_share": "constructionist",
}
"""Each account index with the account a value *above* the null favours."""

KEPT = ("roi_specificity", "profile_similarity")
"""The account indices that enter the conclusion: on the calibration's worlds each named the
planted account (``roi_specificity`` the locationist one, ``profile_similarity`` the
constructionist one) and rarely the other; ``shared_network_share`` named the wrong account on
locationist worlds and is shown only."""

DESCRIPTIVE = (
    "shared_network_share",
    "network_entropy",
    "mean_jaccard",
    "shared_core",
    "lono_concentration",
    "lesions",
    "region_vs_edge",
)
"""Indices shown but kept out of the conclusion: calibrated on planted worlds, none tells the
accounts apart (the overlap indices read co-occurring ratings as a shared core, region against
edge reads the kind of code, not where it sits)."""


# ------------------------------------------------------------------------------- ROI profiles
def target_correlation(targets: np.ndarray) -> np.ndarray:
    """Correlation matrix (K, K) of the emotion targets (windows x K): how the ratings co-occur."""
    targets = np.asarray(targets, dtype=float)
    if targets.ndim != 2 or targets.shape[1] < 2:
        raise ValueError(f"targets must be (n_windows, n_emotions >= 2); got {targets.shape}")
    return np.corrcoef(targets, rowvar=False)


def weak_pairs(correlation: np.ndarray) -> np.ndarray:
    """Boolean (K, K): the pairs of distinct emotions whose ratings co-occur least.

    A pair is weak when its |correlation| is at most the median over all pairs: the half of the
    pairs on which co-occurring ratings cannot pass for shared substrate.
    """
    correlation = np.abs(np.asarray(correlation, dtype=float))
    k = len(correlation)
    off = ~np.eye(k, dtype=bool)
    return off & (correlation <= np.median(correlation[np.triu_indices(k, 1)]))


def roi_profiles(
    importance: np.ndarray, edges: np.ndarray | None, n_rois: int, fraction: float
) -> np.ndarray:
    """Each emotion's share of importance per ROI: (n_rois, K), columns summing to one.

    Edge importance counts through each emotion's top ``fraction`` edges by |importance| (over all
    edges, every ROI's hundreds of unimportant edges would wash out where the important ones sit);
    ROI features (``edges=None``) count directly.
    """
    values = np.abs(np.asarray(importance, dtype=float))
    if edges is not None:
        values = np.where(top_edge_masks(values, fraction), values, 0.0)
    strength = node_strength(values, edges, n_rois)
    total = strength.sum(axis=0)
    return strength / np.where(total > 0, total, 1.0)


def account_indices(
    profile: np.ndarray, roi_networks: Sequence[str], weak: np.ndarray
) -> dict[str, float]:
    """The account indices of one ROI x emotion profile, read on weakly co-occurring pairs."""
    profile = np.asarray(profile, dtype=float)
    n_rois, k = profile.shape
    n_top = max(1, int(np.ceil(TOP_ROI_FRACTION * n_rois)))
    top = np.argsort(-profile, axis=0, kind="stable")[:n_top]
    own = np.array([profile[top[:, e], e].sum() for e in range(k)])
    # held[e, f]: the share of f's importance that sits in e's top ROIs
    held = np.stack([profile[top[:, e]].sum(axis=0) for e in range(k)])
    with np.errstate(invalid="ignore", divide="ignore"):
        selectivity = own[:, None] / (own[:, None] + held)
        similarity = np.corrcoef(profile, rowvar=False)
    shares = network_shares(profile, roi_networks).to_numpy()
    shared = np.argsort(-shares.min(axis=1), kind="stable")[:SHARED_NETWORKS]
    return {
        "roi_specificity": float(np.nanmean(selectivity[weak])),
        "profile_similarity": float(np.nanmean(similarity[weak])),
        "shared_network_share": float(shares[shared].sum(axis=0).mean()),
    }


def account_tests(
    importance: np.ndarray,
    null_draws: Any,
    edges: np.ndarray | None,
    roi_networks: Sequence[str],
    correlation: np.ndarray,
    fraction: float = PROFILE_EDGE_FRACTION,
) -> dict[str, dict[str, Any]]:
    """Every account index of ``importance`` against the same index of each null draw."""
    where = (edges, len(roi_networks), fraction)
    weak = weak_pairs(correlation)
    observed = account_indices(roi_profiles(importance, *where), roi_networks, weak)
    null = pd.DataFrame(
        [account_indices(roi_profiles(draw, *where), roi_networks, weak) for draw in null_draws]
    )
    return {
        name: index_test(observed[name], null[name].to_numpy(), above=above)
        | {"null": null[name].to_numpy()}
        for name, above in ACCOUNT_DIRECTIONS.items()
    }


# ---------------------------------------------------------------------------------- conclusion
def conclusion(verdicts: Mapping[str, str]) -> str:
    """The chapter's one rule: an account when at least one kept index names it and no kept index
    names the other; ``inconclusive`` otherwise. ``verdicts`` maps index names, optionally with a
    feature-set suffix (``"roi_specificity (dfc)"``), to verdicts; descriptive indices never count."""
    named = [v for name, v in verdicts.items() if name.split(" (")[0] in KEPT]
    for account, other in (("locationist", "constructionist"), ("constructionist", "locationist")):
        if account in named and other not in named:
            return account
    return "inconclusive"


def comparison_test(comparison: Mapping[str, Any], level_z: float = 1.96) -> dict[str, Any]:
    """The joint DFC-against-ROI permutation test as an index: effect, interval and verdict.

    ``comparison`` is :meth:`helpers.decoding.runs.RegressionRun.compare`'s result. The interval is
    the observed difference plus or minus ``level_z`` standard deviations of its null.
    """
    delta, p = comparison.get("delta_r"), comparison.get("p_value")
    if delta is None or p is None:
        return {"observed": float("nan"), "p_value": None, "favours": "inconclusive"}
    spread = level_z * float(comparison.get("null_sd", float("nan")))
    low, high = delta - spread, delta + spread
    return {
        "observed": float(delta),
        "null_mean": 0.0,
        "effect": float(delta),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(p),
        "n_null": int(comparison.get("n_draws", 0)),
        "favours": verdict(
            float(delta),
            float(p),
            positive="constructionist",
            negative="locationist",
            ci_low=low,
            ci_high=high,
        ),
    }


# ---------------------------------------------------------------------------------- lesions


# ------------------------------------------------------------------------------ verdict table
def read_verdicts(path: Path) -> list[dict[str, Any]] | None:
    """The ``verdicts`` records of a calibration results file, or ``None`` when it has none yet."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        records = json.loads(path.read_text()).get("verdicts")
    except (json.JSONDecodeError, AttributeError) as error:
        raise ValueError(
            f"{path} is not a calibration results file ({error}); delete it and build chapter 8 "
            "again, or run python -m book_runner calibrate"
        ) from None
    return records or None


def verdict_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The confusion table: per index, the share of each verdict in each world (rows: index and
    world; columns: the three verdicts and the number of datasets)."""
    table = pd.DataFrame(list(records))
    needed = {"index", "world", "n_datasets"} | {f"share_{v}" for v in VERDICTS}
    if table.empty or not needed <= set(table.columns):
        raise ValueError(f"verdict records need the keys {sorted(needed)}")
    table = table.rename(columns={f"share_{v}": v for v in VERDICTS})
    order = {"null": 0, "locationist": 1, "constructionist": 2}
    table = table.sort_values(
        ["index", "world"], key=lambda c: c.map(order) if c.name == "world" else c
    )
    return table.set_index(["index", "world"])[[*VERDICTS, "n_datasets"]]


# --------------------------------------------------------------------------------- final table
PREDICTIONS = {
    "roi_specificity": (
        "an emotion's top ROIs carry that emotion alone (specificity above null)",
        "the top ROIs serve every emotion (specificity below null)",
    ),
    "profile_similarity": (
        "emotions use different ROIs (profiles less alike than the null's)",
        "emotions use the same ROIs (profiles more alike than the null's)",
    ),
    "shared_network_share": (
        "little importance in networks every emotion uses (share below null)",
        "importance sits in networks every emotion uses (share above null)",
    ),
    "network_entropy": (
        "importance concentrated in few networks (entropy below null)",
        "importance spread over many networks (entropy above null)",
    ),
    "mean_jaccard": (
        "each emotion has its own top edges (Jaccard overlap below null)",
        "emotions share their top edges (Jaccard overlap above null)",
    ),
    "shared_core": (
        "few top edges serve several emotions (shared core below null)",
        "a core of top edges serves several emotions (shared core above null)",
    ),
    "lono_concentration": (
        "one network carries most of the loss when networks are left out (share above null)",
        "the loss is spread over networks (share below null)",
    ),
    "region_vs_edge": (
        "region amplitude decodes as well as interactions (delta r <= 0)",
        "interactions decode better than regions (delta r > 0)",
    ),
    "lesions": (
        "removing an emotion's region hurts more than a random lesion of the same size",
        "no lesion hurts more than a random one of the same size (degeneracy)",
    ),
}
"""Each index: what the locationist account predicts, then what the constructionist one does."""


def constructionist_table(indices: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The side-by-side table: what each account predicts, what the data show, and which it favours.

    ``indices`` maps an index name of :data:`PREDICTIONS` (optionally followed by the feature set
    in parentheses) to ``{"observed": value or text,
    "p_value": p, "favours": "locationist" | "constructionist" | "inconclusive"}`` (see
    :func:`helpers.decoding.stats.verdict`), optionally with the ``null_mean``, ``effect``,
    ``ci_low`` and ``ci_high`` of :func:`index_test`.
    """
    rows = []
    for name, result in indices.items():
        base = name.split(" (")[0]  # "roi_specificity (dfc)": the index of the DFC decoder
        if base not in PREDICTIONS:
            raise ValueError(f"unknown index {name!r}; known: {', '.join(PREDICTIONS)}")
        locationist, constructionist = PREDICTIONS[base]
        rows.append(
            {
                "index": name,
                "role": "in the conclusion" if base in KEPT else "descriptive",
                "locationist predicts": locationist,
                "constructionist predicts": constructionist,
                "data show": result["observed"],
                "null mean": result.get("null_mean"),
                "effect": result.get("effect"),
                "ci_low": result.get("ci_low"),
                "ci_high": result.get("ci_high"),
                "null p": result.get("p_value"),
                "favours": result["favours"],
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "TOP_ROI_FRACTION",
    "SHARED_NETWORKS",
    "PROFILE_EDGE_FRACTION",
    "ACCOUNT_DIRECTIONS",
    "KEPT",
    "DESCRIPTIVE",
    "target_correlation",
    "weak_pairs",
    "roi_profiles",
    "account_indices",
    "account_tests",
    "conclusion",
    "comparison_test",
    "read_verdicts",
    "verdict_table",
    "VERDICTS",
    "PREDICTIONS",
    "constructionist_table",
]

"""Locationist or constructionist? Indices that tell the two accounts apart, and one rule over them.

The accounts differ in where emotions live, judged as the debate itself does by the consistency
and specificity of each emotion's regions (Lindquist et al. 2012): a *locationist* account gives
each emotion regions of its own, a *constructionist* one builds every emotion from the same
domain-general networks, each emotion a different pattern over them (definitions of the planted
worlds: :mod:`helpers.simulate_accounts`).

Emotion ratings co-occur (joy with trust, fear with surprise), so a decoder of joy also leans on
the regions of trust; read naively, the overlap of decoders measures co-occurring targets, not
shared substrate. The indices (:mod:`helpers.explain.account_indices`) are therefore read on the
*weakly co-occurring* pairs of emotions only, against decoders of null targets that keep the
ratings' co-occurrence. Which indices have the power to name an account is measured on planted
worlds by the calibration (chapter 08's verdict table); the others are shown as descriptive and
never enter :func:`conclusion`.

The conclusion reads the indices of one decoder: the feature set whose decoder predicts held-out
windows better than its null draws, the best of those by held-out r (:func:`explained_features`,
chosen by the held-out score, never by a planted truth). An account is concluded when at least
one kept index of that decoder names it and none names the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.decoding.stats import VerdictLabels, verdict
from helpers.explain.account_indices import (
    ACCOUNT_DIRECTIONS,
    PROFILE_EDGE_FRACTION,
    SHARED_NETWORKS,
    TOP_ROI_FRACTION,
    account_indices,
    account_tests,
    roi_profiles,
    target_correlation,
    weak_pairs,
)

VERDICTS = ("locationist", "constructionist", "inconclusive")

KEPT = ("roi_specificity", "top_roi_overlap", "profile_similarity")
"""The account indices that enter the conclusion, chosen on development seeds of the calibration
design (benchmarks/bench_accounts.py, whose docstring has the shares measured on test seeds): each
named the planted account on a share of planted datasets of both codes, named the wrong one on at
most 1 in 20, and stayed inconclusive on null ones. ``cross_share`` named the constructionist
account on 3 of 20 connectivity-coded locationist datasets and ``shared_network_share`` on
locationist worlds too; both are shown only. On the test seeds (40 datasets per world) the
conclusion is right on 80% (connectivity) and 65% (amplitude) of constructionist datasets, 48% and
88% of locationist ones, wrong on 7.5% of connectivity-coded locationist ones, and inconclusive on
every null one; with :data:`KEPT_FOR_ROI_FEATURES`, on fresh seeds, amplitude-coded
constructionist datasets rise from 60% to 75%."""

KEPT_FOR_ROI_FEATURES = ("cross_share",)
"""Account indices that enter the conclusion only when the explained decoder reads ROI features
(:data:`ROI_FEATURE_SETS`): ``cross_share`` named the wrong account for DFC decoders, never for
ROI ones, and it is the ROI decoder's most powerful index on constructionist worlds (shares in
benchmarks/bench_accounts.py, confirmed on seeds not used to choose it)."""

ROI_FEATURE_SETS = ("roi_window", "roi")
"""Feature sets whose importance is already per ROI."""

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


# ---------------------------------------------------------------------------------- conclusion
def is_kept(name: str) -> bool:
    """Whether index ``name`` (``"cross_share (roi_window)"``, or a bare name) enters the conclusion.

    Parameters
    ----------
    name : str
        An index name, with its decoder's feature set in parentheses or without.

    Returns
    -------
    bool
        True for the indices of :data:`KEPT`, and for those of :data:`KEPT_FOR_ROI_FEATURES` on a
        decoder of :data:`ROI_FEATURE_SETS`.
    """
    base, _, rest = name.partition(" (")
    features = rest.rstrip(")")
    return base in KEPT or (base in KEPT_FOR_ROI_FEATURES and features in ROI_FEATURE_SETS)


def explained_features(decoding: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The feature set whose decoder the conclusion reads, chosen by held-out score.

    Parameters
    ----------
    decoding
        Per feature set, :func:`helpers.explain.account_indices.decoding_test`'s result.

    Returns
    -------
    str or None
        The feature set with the highest held-out r among those whose decoder beats its null
        draws; ``None`` when none does (nothing to explain: the conclusion is inconclusive).
    """
    decoding_sets = {name: test["r"] for name, test in decoding.items() if test.get("decodes")}
    if not decoding_sets:
        return None
    return max(decoding_sets, key=decoding_sets.get)


def conclusion(verdicts: Mapping[str, str], features: str | None = "any") -> str:
    """The chapter's one rule over the kept indices of one decoder.

    Parameters
    ----------
    verdicts
        Index names, with a feature-set suffix (``"roi_specificity (dfc)"``) or without, mapped to
        verdicts; descriptive indices never count.
    features
        The explained feature set (:func:`explained_features`): only its kept indices count;
        ``None`` (no decoder decodes) gives ``inconclusive``; ``"any"`` counts every kept index.

    Returns
    -------
    str
        An account when at least one counted index names it and none names the other;
        ``inconclusive`` otherwise.
    """
    if features is None:
        return "inconclusive"

    def counts(name: str) -> bool:
        base, _, rest = name.partition(" (")
        return is_kept(name) and (features == "any" or rest.rstrip(")") == features)

    named = [v for name, v in verdicts.items() if counts(name)]
    for account, other in (("locationist", "constructionist"), ("constructionist", "locationist")):
        if account in named and other not in named:
            return account
    return "inconclusive"


def comparison_test(comparison: Mapping[str, Any], level_z: float = 1.96) -> dict[str, Any]:
    """The joint DFC-against-ROI permutation test as an index: effect, interval and verdict.

    ``comparison`` is :meth:`helpers.decoding.runs.RegressionRun.compare`'s result. The interval is
    the observed difference plus or minus ``level_z`` standard deviations of its null.

    Parameters
    ----------
    comparison : mapping of str to Any
        ``delta_r`` (DFC minus ROI held-out r), ``p_value``, ``null_sd`` and ``n_draws``.
    level_z : float, optional
        Half-width of the interval in null standard deviations.

    Returns
    -------
    dict of str to Any
        ``observed``, ``null_mean`` (0), ``effect``, ``ci_low``, ``ci_high``, ``p_value``,
        ``n_null`` and ``favours`` (constructionist above zero); only ``observed`` (NaN),
        ``p_value`` (None) and ``favours`` (``inconclusive``) without a difference or p-value.
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
            VerdictLabels("constructionist", "locationist"),
            interval=(low, high),
        ),
    }


# ---------------------------------------------------------------------------------- lesions


# ------------------------------------------------------------------------------ verdict table
def read_verdicts(path: Path) -> list[dict[str, Any]] | None:
    """The ``verdicts`` records of a calibration results file, or ``None`` when it has none yet.

    Parameters
    ----------
    path : pathlib.Path
        The calibration results file (JSON); it need not exist.

    Returns
    -------
    list of dict or None
        The records; ``None`` when the file is missing or has no records.
    """
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
    world; columns: the three verdicts and the number of datasets).

    Parameters
    ----------
    records : sequence of mapping
        Records with ``index``, ``world``, ``n_datasets`` and ``share_<verdict>`` for each of
        :data:`VERDICTS` (see :func:`helpers.calibration_verdicts.verdicts`).

    Returns
    -------
    pandas.DataFrame
        Indexed by (index, world), worlds in the order null, locationist, constructionist; columns
        ``locationist``, ``constructionist``, ``inconclusive`` and ``n_datasets``.
    """
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
    "top_roi_overlap": (
        "weakly co-occurring emotions share fewer top ROIs than the null's",
        "weakly co-occurring emotions share more top ROIs than the null's",
    ),
    "cross_share": (
        "little of another emotion's importance in an emotion's top ROIs (below null)",
        "other emotions' importance sits in an emotion's top ROIs too (above null)",
    ),
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

    Parameters
    ----------
    indices : mapping of str to mapping
        Each index's result, keyed by index name (optionally with the feature set).

    Returns
    -------
    pandas.DataFrame
        One row per index: ``index``, ``role``, ``locationist predicts``, ``constructionist
        predicts``, ``data show``, ``null mean``, ``effect``, ``ci_low``, ``ci_high``, ``null p``
        and ``favours``.
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
                "role": "in the conclusion" if is_kept(name) else "descriptive",
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
    "KEPT_FOR_ROI_FEATURES",
    "ROI_FEATURE_SETS",
    "is_kept",
    "DESCRIPTIVE",
    "target_correlation",
    "weak_pairs",
    "roi_profiles",
    "account_indices",
    "account_tests",
    "conclusion",
    "explained_features",
    "comparison_test",
    "read_verdicts",
    "verdict_table",
    "VERDICTS",
    "PREDICTIONS",
    "constructionist_table",
]

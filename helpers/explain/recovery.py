"""Recovery of the planted truth: does edge importance find the edges the simulator planted?

On simulated data the ground truth says which edges carry which emotion; the AUROC of |importance|
for telling them from the rest scores an explanation (chapter 05), beside a mass-univariate
baseline and the same score for null-target draws. A null dataset is scored against the edges an
effect would have used, so its AUROC should sit near 0.5.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from helpers.simulate import plant_ground_truth, planted_edge_mask


# --------------------------------------------------------------------------------- ground truth
def planted_edge_masks(truth: Mapping[str, Any], emotions: Sequence[str]) -> dict[str, np.ndarray]:
    """Boolean masks over edges (triu order), True where the simulator planted the emotion."""

    if "emotions" not in truth or "n_rois" not in truth:
        raise ValueError("truth must be a ground_truth.json dict with 'n_rois' and 'emotions'")
    return {e: planted_edge_mask(truth, e) for e in emotions}


def candidate_edge_masks(
    atlas: Any, simulation: Any, emotions: Sequence[str]
) -> dict[str, np.ndarray]:
    """The edges the simulator would plant with connectivity coding and these settings.

    A null dataset (``effect: none``) plants nothing; these masks let its importance be scored
    against the edges an effect would have used (the AUROC should then be near 0.5).
    """

    settings = simulation.model_copy(update={"effect": "connectivity"})
    return planted_edge_masks(plant_ground_truth(atlas, settings), emotions)


def truth_edge_masks(
    truth: Mapping[str, Any] | None, atlas: Any, simulation: Any, emotions: Sequence[str]
) -> dict[str, np.ndarray] | None:
    """The edges to score importance against: the planted ones, those a null dataset would have
    used (:func:`candidate_edge_masks`), or ``None`` on real data (no ground truth).

    Parameters
    ----------
    truth : mapping or None
        The simulated dataset's ground truth, or None on real data.
    atlas : Atlas
        The run's atlas.
    simulation : SimulationParams
        The simulation settings (``params.simulation``).
    emotions : sequence of str
        The emotions to give masks for.

    Returns
    -------
    dict of str to numpy.ndarray, or None
        Emotion to its (n_edges,) boolean edge mask, edges in ``np.triu_indices(P, 1)`` order.
    """
    if truth is None:
        return None
    if truth.get("effect") in ("connectivity", "both"):
        return planted_edge_masks(truth, emotions)
    return candidate_edge_masks(atlas, simulation, emotions)


def recovery_auroc(
    importance: np.ndarray,
    masks: Mapping[str, np.ndarray],
    emotions: Sequence[str],
    absolute: bool = True,
) -> dict[str, float]:
    """AUROC of edge importance for telling planted edges from the rest, per emotion.

    ``absolute`` scores ``|importance|`` (any sign counts as important). Emotions without planted
    edges get NaN. The ``"mean"`` entry averages the defined ones.

    Parameters
    ----------
    importance : numpy.ndarray
        (n_edges, n_emotions) edge importance.
    masks : mapping of str to numpy.ndarray
        Emotion to the (n_edges,) boolean mask of its planted edges.
    emotions : sequence of str
        The emotion of each column of ``importance``.
    absolute : bool, optional
        Score ``|importance|`` rather than its signed value.

    Returns
    -------
    dict of str to float
        AUROC per emotion (0.5 is chance), and their ``"mean"``.
    """
    importance = np.asarray(importance, dtype=float)
    if importance.ndim != 2 or importance.shape[1] != len(emotions):
        raise ValueError(f"importance must be (n_edges, {len(emotions)}); got {importance.shape}")
    out = {}
    for k, emotion in enumerate(emotions):
        mask = np.asarray(masks[emotion], dtype=bool)
        if len(mask) != len(importance):
            raise ValueError(
                f"the mask of {emotion} has {len(mask)} edges, importance has {len(importance)}"
            )
        score = np.abs(importance[:, k]) if absolute else importance[:, k]
        out[emotion] = (
            float(roc_auc_score(mask, score)) if 0 < mask.sum() < len(mask) else float("nan")
        )
    defined = [v for v in out.values() if np.isfinite(v)]
    out["mean"] = float(np.mean(defined)) if defined else float("nan")
    return out


def rank_auroc(score: np.ndarray, mask: np.ndarray) -> float:
    """AUROC of ``score`` for ``mask`` by counting, for each positive, the negatives below it.

    Equal to :func:`sklearn.metrics.roc_auc_score` (ties count one half) with one sort of the
    negatives, so hundreds of null draws over 44,850 edges stay cheap.
    """
    score = np.asarray(score, dtype=float)
    mask = np.asarray(mask, dtype=bool)
    negatives, positives = score[~mask], score[mask]
    if not len(positives) or not len(negatives):
        return float("nan")
    if len(positives) <= 64:  # a few planted edges: compare directly, no sort
        below = (negatives[None, :] < positives[:, None]).sum(axis=1)
        tied = (negatives[None, :] == positives[:, None]).sum(axis=1)
    else:
        negatives = np.sort(negatives)
        below = np.searchsorted(negatives, positives, side="left")
        tied = np.searchsorted(negatives, positives, side="right") - below
    return float((below + 0.5 * tied).sum() / (len(positives) * len(negatives)))


def null_recovery_auroc(
    draws: Iterable[np.ndarray], masks: Mapping[str, np.ndarray], emotions: Sequence[str]
) -> np.ndarray:
    """Mean recovery AUROC (over emotions with planted edges) of each null draw's importance.

    Parameters
    ----------
    draws : iterable of numpy.ndarray
        The importance of each null draw, (n_edges, n_emotions) each.
    masks : mapping of str to numpy.ndarray
        Emotion to the (n_edges,) boolean mask of its planted edges.
    emotions : sequence of str
        The emotion of each column of the draws.

    Returns
    -------
    numpy.ndarray
        (n_draws,) mean AUROC of each draw (NaN where no emotion has planted edges).
    """
    out = []
    for importance in draws:
        values = [
            rank_auroc(np.abs(importance[:, k]), masks[e])
            for k, e in enumerate(emotions)
            if 0 < np.sum(masks[e]) < len(importance)
        ]
        out.append(float(np.mean(values)) if values else float("nan"))
    return np.asarray(out)


__all__ = [
    "planted_edge_masks",
    "candidate_edge_masks",
    "truth_edge_masks",
    "recovery_auroc",
    "rank_auroc",
    "null_recovery_auroc",
]

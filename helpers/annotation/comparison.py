"""Comparing annotators fairly: on the same lines, and against nulls that respect slow series.

Chapter 1 puts the published GPT-4 labels, the lexicon and (when available) an LLM side by side
on the authors' 91 lines. Two things make such comparisons easy to overrate, and this module
gives the tools to measure both:

- targets are smooth (a score is held for a whole line, then convolved with the HRF), so 372
  volumes carry far fewer independent values than their number suggests;
- every annotation is zero in the silence before the story, so any two of them share that step.

:func:`shuffled_target_correlations` builds the honest reference: the same scores given to the
wrong lines, turned into targets exactly as the real ones, and correlated again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from helpers.annotation import annotate, emotion_scores, llm_available
from helpers.annotation.agreement import (
    intraclass_correlation,
    krippendorff_alpha,
    per_emotion_spearman,
)
from helpers.annotation.targets import segments_to_volumes
from helpers.study import EMOTIONS

__all__ = [
    "ComparedAnnotations",
    "annotate_on_paper_lines",
    "effective_dimensions",
    "llm_reliability",
    "pairwise_agreement",
    "segment_response_matrix",
    "shuffled_segment_rho",
    "shuffled_target_correlations",
    "strongest_pair",
    "on_paper_lines",
    "textbook_critical_r",
    "textbook_p_value",
    "undefined_notes",
]


@dataclass
class ComparedAnnotations:
    """Scores of every annotator that could run on the paper's lines, and why others did not."""

    scores: dict[str, pd.DataFrame] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    llm_provenance: dict[str, Any] | None = None


def on_paper_lines(params: Any) -> Any:
    """The same parameters with the authors' 91 lines as segmentation (one label per line).

    Parameters
    ----------
    params : Params
        The run's parameters (not changed).

    Returns
    -------
    Params
        A copy with ``annotation.segmentation = "paper"``.
    """
    annotation = params.annotation.model_copy(update={"segmentation": "paper"})
    return params.model_copy(update={"annotation": annotation})


def annotate_on_paper_lines(params: Any) -> ComparedAnnotations:
    """Run every annotator of ``annotation.compare`` on the authors' lines, never failing the book.

    The ``llm`` annotator runs only when its answers are cached or an endpoint is configured, so
    no request leaves the machine otherwise; an endpoint that is configured but unreachable is
    reported in ``skipped`` instead of stopping the chapter.

    Parameters
    ----------
    params : Params
        The run's parameters; ``params.annotation.compare`` lists the annotators to run.

    Returns
    -------
    ComparedAnnotations
        ``scores`` (annotator name to its (91, 8) emotion table), ``skipped`` (annotator name to
        the reason it did not run) and ``llm_provenance`` (the LLM run's provenance, if it ran).
    """
    paper_params = on_paper_lines(params)
    result = ComparedAnnotations()
    for name in params.annotation.compare:
        if name == "llm" and not llm_available(paper_params):
            result.skipped[name] = "no cached answers and no endpoint configured"
            continue
        try:
            annotation = annotate(paper_params, name)
        except Exception as exc:  # noqa: BLE001 - any failure of one annotator is reported
            result.skipped[name] = f"not run ({type(exc).__name__}: {exc})"
            continue
        result.scores[name] = emotion_scores(annotation)
        if name == "llm":
            result.llm_provenance = annotation.provenance
    return result


def pairwise_agreement(scores: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Per-emotion Spearman rho (circular-shift p) for every pair, on the lines both rated.

    An ``llm`` run may stop at ``llm.max_segments``; comparing on the shared lines keeps every
    pair on equal terms. Keys are ``"first_vs_second"`` in the order of ``scores``.

    Parameters
    ----------
    scores : dict of str to pandas.DataFrame
        Annotator name to its (n_lines, 8) emotion scores, indexed by line.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"first_vs_second"`` to the :func:`~helpers.annotation.agreement.per_emotion_spearman`
        table of the pair, with an added column ``n_lines`` (how many lines both rated).
    """
    names = list(scores)
    tables: dict[str, pd.DataFrame] = {}
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            shared = scores[first].index.intersection(scores[second].index)
            table = per_emotion_spearman(scores[first].loc[shared], scores[second].loc[shared])
            table["n_lines"] = len(shared)
            tables[f"{first}_vs_{second}"] = table
    return tables


def undefined_notes(agreement: dict[str, pd.DataFrame]) -> list[str]:
    """One line per pair and reason where rho is undefined (an annotator whose scores never vary).

    Parameters
    ----------
    agreement : dict of str to pandas.DataFrame
        The tables of :func:`pairwise_agreement`, with their ``note`` column.

    Returns
    -------
    list of str
        One sentence per pair and note; empty when every rho is defined.
    """
    lines = []
    for pair, table in agreement.items():
        noted = table[table["note"] != ""]
        for note, emotions in noted.groupby("note").groups.items():
            lines.append(f"{pair.replace('_', ' ')}: rho of {', '.join(emotions)} is {note}")
    return lines


def llm_reliability(provenance: dict[str, Any] | None) -> pd.DataFrame:
    """Krippendorff's alpha and ICC(1,1) per emotion over repeated LLM samples (empty if < 2).

    Parameters
    ----------
    provenance : dict or None
        The provenance of an LLM annotation; its ``samples`` are (n_samples, n_segments, 8).

    Returns
    -------
    pandas.DataFrame
        One row per emotion, columns ``alpha`` and ``icc_1_1``; empty with fewer than 2 samples.
    """
    samples = np.asarray((provenance or {}).get("samples", []), dtype=float)
    if samples.ndim != 3 or samples.shape[0] < 2:
        return pd.DataFrame(columns=["alpha", "icc_1_1"], dtype=float)
    rows = {}
    for j, emotion in enumerate(EMOTIONS):
        ratings = samples[:, :, j].T  # segments in rows, samples in columns
        rows[emotion] = {
            "alpha": krippendorff_alpha(ratings),
            "icc_1_1": intraclass_correlation(ratings, "1,1"),
        }
    return pd.DataFrame(rows).T


def segment_response_matrix(onsets, offsets, **kwargs) -> np.ndarray:
    """What each segment adds to the targets at score 1: (n_volumes, n_segments).

    Boxcars, the HRF and sampling are all linear, so targets are this matrix times the scores,
    exactly as :func:`~helpers.annotation.targets.segments_to_volumes` builds them (including
    where a later segment overlaps an earlier one). Rebuilding targets for many shuffles of the
    scores then costs one matrix product each.
    """
    n = len(np.asarray(onsets))
    return segments_to_volumes(onsets, offsets, np.eye(n), **kwargs)


def _column_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of matching columns along the second-to-last axis (broadcasts over the first)."""
    a = a - a.mean(axis=-2, keepdims=True)
    b = b - b.mean(axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=-2) / np.sqrt((a * a).sum(axis=-2) * (b * b).sum(axis=-2))


def _permutations(n_items: int, n_shuffles: int, seed: int) -> np.ndarray:
    if n_shuffles < 1:
        raise ValueError(f"n_shuffles must be at least 1, got {n_shuffles}")
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n_items) for _ in range(n_shuffles)])


def shuffled_target_correlations(
    targets: pd.DataFrame,
    onsets,
    offsets,
    scores: pd.DataFrame,
    *,
    n_shuffles: int,
    seed: int,
    **kwargs,
) -> pd.DataFrame:
    """Pearson r between ``targets`` and targets made from ``scores`` given to shuffled lines.

    Each shuffle keeps every line's timing and hands its eight scores to another line, then
    builds TR-level targets as the chapter does (``kwargs`` go to ``segments_to_volumes``: the
    HRF, the stimulus onset). The result (n_shuffles x emotions) is what agreement looks like
    when the second annotator knows nothing about which line is which.

    Parameters
    ----------
    targets : pandas.DataFrame
        The reference TR-level targets, (n_volumes, n_emotions).
    onsets, offsets : array_like
        Onset and offset (s of the audio) of each of the n_segments lines, (n_segments,).
    scores : pandas.DataFrame
        The second annotator's scores, (n_segments, n_emotions).
    n_shuffles : int
        How many shuffles.
    seed : int
        Seed of the shuffles.
    **kwargs
        Passed to :func:`segment_response_matrix` and so to ``segments_to_volumes`` (``hrf``,
        ``stimulus_onset``, ``n_volumes``).

    Returns
    -------
    pandas.DataFrame
        (n_shuffles, shared emotions): Pearson r of each shuffle.
    """
    columns = [c for c in targets.columns if c in scores.columns]
    if len(scores) != len(np.asarray(onsets)):
        raise ValueError(f"{len(scores)} rows of scores for {len(np.asarray(onsets))} segments")
    response = segment_response_matrix(onsets, offsets, **kwargs)
    if response.shape[0] != len(targets):
        raise ValueError(f"targets have {len(targets)} volumes, the responses {response.shape[0]}")
    values = scores[columns].to_numpy(dtype=float)
    reference = targets[columns].to_numpy(dtype=float)
    null = np.empty((n_shuffles, len(columns)))
    for k, order in enumerate(_permutations(len(values), n_shuffles, seed)):
        null[k] = _column_correlations(reference, response @ values[order])
    return pd.DataFrame(null, columns=columns)


def shuffled_segment_rho(
    first: pd.DataFrame, second: pd.DataFrame, *, n_shuffles: int, seed: int
) -> pd.DataFrame:
    """Spearman rho per emotion between ``first`` and ``second`` with its lines shuffled.

    The segment-level twin of :func:`shuffled_target_correlations`: no HRF, one value per line.

    Parameters
    ----------
    first, second : pandas.DataFrame
        Two annotations of the same (n_lines, n_emotions) lines; ``second``'s lines are shuffled.
    n_shuffles : int
        How many shuffles.
    seed : int
        Seed of the shuffles.

    Returns
    -------
    pandas.DataFrame
        (n_shuffles, shared emotions): Spearman rho of each shuffle.
    """
    if len(first) != len(second):
        raise ValueError(f"{len(first)} against {len(second)} lines; compare the same lines")
    columns = [c for c in first.columns if c in second.columns]
    a = stats.rankdata(first[columns].to_numpy(dtype=float), axis=0)
    b = stats.rankdata(second[columns].to_numpy(dtype=float), axis=0)
    orders = _permutations(len(b), n_shuffles, seed)
    return pd.DataFrame(_column_correlations(a[None], b[orders]), columns=columns)


def textbook_critical_r(n: int, alpha: float = 0.05) -> float:
    """The |r| a t-test calls significant (two-sided) if the ``n`` samples were independent.

    Parameters
    ----------
    n : int
        The number of samples (at least 3).
    alpha : float, optional
        The two-sided significance level.

    Returns
    -------
    float
        The critical ``|r|``.
    """
    if n < 3:
        raise ValueError(f"need at least 3 samples, got {n}")
    t = stats.t.ppf(1 - alpha / 2, n - 2)
    return float(t / np.sqrt(n - 2 + t**2))


def textbook_p_value(r, n: int):
    """Two-sided p-value of Pearson's r from a t-test that assumes ``n`` independent samples.

    A Series keeps its index, so a table of correlations gets a table of p-values.

    Parameters
    ----------
    r : float, array_like or pandas.Series
        Pearson correlations.
    n : int
        The number of samples each correlation is computed on (at least 3).

    Returns
    -------
    numpy.ndarray or pandas.Series
        The two-sided p-values, shaped like ``r`` (a Series for a Series, with its index).
    """
    if n < 3:
        raise ValueError(f"need at least 3 samples, got {n}")
    values = np.clip(np.asarray(r, dtype=float), -1.0, 1.0)
    with np.errstate(divide="ignore"):
        t = values * np.sqrt((n - 2) / (1.0 - values**2))
    p = 2 * stats.t.sf(np.abs(t), n - 2)
    return pd.Series(p, index=r.index) if isinstance(r, pd.Series) else p


def strongest_pair(correlation: pd.DataFrame) -> tuple[list[str] | None, float]:
    """The two different columns with the largest |correlation|, and that correlation.

    ``(None, nan)`` when every correlation is undefined (an annotator whose scores never vary).

    Parameters
    ----------
    correlation : pandas.DataFrame
        A symmetric (k, k) correlation matrix with named columns.

    Returns
    -------
    names : list of str or None
        The two column names, or None when no correlation is defined.
    r : float
        Their correlation (signed), or NaN.
    """
    matrix = correlation.to_numpy(dtype=float)
    upper = np.triu_indices(len(matrix), k=1)
    values = matrix[upper]
    if not np.isfinite(values).any():
        return None, float("nan")
    k = int(np.nanargmax(np.abs(values)))
    names = [str(correlation.columns[i[k]]) for i in upper]
    return names, float(values[k])


def effective_dimensions(correlation: pd.DataFrame) -> float:
    """Participation ratio of a correlation matrix's eigenvalues: how many independent targets.

    Eight uncorrelated emotions give 8; eight copies of one series give 1.

    Parameters
    ----------
    correlation : array_like or pandas.DataFrame
        A symmetric (k, k) correlation matrix.

    Returns
    -------
    float
        The participation ratio ``(sum λ)² / sum λ²``, between 1 and k; NaN if the matrix has NaNs.
    """
    matrix = np.asarray(correlation, dtype=float)
    if np.isnan(matrix).any():
        return float("nan")
    eigenvalues = np.clip(np.linalg.eigvalsh(matrix), 0.0, None)
    return float(eigenvalues.sum() ** 2 / (eigenvalues**2).sum())

"""From segment scores to regression targets on the scan's time grid.

A segment scored on the eight emotions becomes a boxcar from its onset to its offset (seconds of
the audio), the boxcars are convolved with a haemodynamic response function, and the result is
sampled once per volume. Volume ``k`` is acquired at ``k * TR`` seconds after the scan starts and the
audio starts ``stimulus_onset`` seconds after the scan (``_events.tsv``), so volume ``k`` sees audio
time ``k * TR - stimulus_onset``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from nilearn.glm.first_level import glover_hrf, spm_hrf

from helpers.annotation import (
    annotate,
    annotation_cache_key,
    annotation_segments,
    emotion_scores,
    require_every_segment,
    segment_times,
)
from helpers.data.storage import cached_arrays, step_dir
from helpers.study import EMOTIONS, N_VOLUMES, TR_SECONDS

FINE_DT = 0.1
"""Resolution (s) of the grid on which boxcars are convolved before sampling per TR."""

HRF_SPAN_S = 32.0
"""Length of the HRF kernel; the response is negligible after this."""


def hrf_kernel(kind: str = "spm", dt: float = FINE_DT) -> np.ndarray:
    """The HRF sampled every ``dt`` seconds over :data:`HRF_SPAN_S`, normalised to unit sum.

    Unit sum means a boxcar held at ``v`` long enough converges to ``v``: targets keep the scale of
    the segment scores.

    Parameters
    ----------
    kind : {"spm", "glover"}, optional
        Which canonical HRF.
    dt : float, optional
        Sampling step in seconds.

    Returns
    -------
    numpy.ndarray
        (n_taps,) kernel summing to 1, ``n_taps`` about ``HRF_SPAN_S / dt``.
    """
    oversampling = round(TR_SECONDS / dt)
    if kind == "spm":
        kernel = spm_hrf(TR_SECONDS, oversampling=oversampling, time_length=HRF_SPAN_S)
    elif kind == "glover":
        kernel = glover_hrf(TR_SECONDS, oversampling=oversampling, time_length=HRF_SPAN_S)
    else:
        raise ValueError(f"unknown HRF {kind!r}; allowed: spm, glover")
    kernel = np.asarray(kernel, dtype=float)
    return kernel / kernel.sum()


def volume_times(
    n_volumes: int = N_VOLUMES, tr: float = TR_SECONDS, stimulus_onset: float = 0.0
) -> np.ndarray:
    """Audio time (s) seen by each volume.

    Parameters
    ----------
    n_volumes : int, optional
        Number of volumes.
    tr : float, optional
        Repetition time in seconds.
    stimulus_onset : float, optional
        Start of the audio in seconds after the first volume.

    Returns
    -------
    numpy.ndarray
        (n_volumes,) times in seconds of the audio (negative before it starts).
    """
    return np.arange(n_volumes) * tr - stimulus_onset


def boxcar_series(
    onsets: np.ndarray,
    offsets: np.ndarray,
    scores: np.ndarray,
    duration: float,
    dt: float = FINE_DT,
) -> np.ndarray:
    """Segment scores held from onset to offset on a fine grid of ``duration`` seconds.

    Where segments overlap the later one wins; gaps between segments are zero.
    """
    onsets = np.asarray(onsets, dtype=float)
    offsets = np.asarray(offsets, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    if not (len(onsets) == len(offsets) == len(scores)):
        raise ValueError(
            f"onsets ({len(onsets)}), offsets ({len(offsets)}) and scores ({len(scores)}) must have "
            "one row per segment"
        )
    if np.any(offsets < onsets):
        bad = int(np.argmax(offsets < onsets))
        raise ValueError(
            f"segment {bad} ends ({offsets[bad]} s) before it starts ({onsets[bad]} s)"
        )
    n_fine = int(np.ceil(duration / dt)) + 1
    series = np.zeros((n_fine, scores.shape[1]))
    start = np.clip(np.round(onsets / dt).astype(int), 0, n_fine)
    stop = np.clip(np.round(offsets / dt).astype(int), 0, n_fine)
    for a, b, row in zip(start, stop, scores):
        series[a:b] = row
    return series


def segments_to_volumes(
    onsets: np.ndarray,
    offsets: np.ndarray,
    scores: np.ndarray,
    *,
    n_volumes: int = N_VOLUMES,
    stimulus_onset: float = 0.0,
    hrf: str = "spm",
) -> np.ndarray:
    """Targets (n_volumes, n_emotions): boxcars convolved with the HRF, sampled at each volume.

    Parameters
    ----------
    onsets, offsets : (n_segments,) segment times in seconds of audio.
    scores : (n_segments, n_emotions) each segment's ratings.
    n_volumes : volumes of the run, one every ``TR_SECONDS``.
    stimulus_onset : seconds of scanning before the audio starts; volumes acquired before it see
        zero.
    hrf : the haemodynamic response (see :func:`hrf_kernel`).

    Returns
    -------
    (n_volumes, n_emotions) float64 targets.
    """
    times = volume_times(n_volumes, TR_SECONDS, stimulus_onset)
    duration = max(float(times[-1]), float(np.max(offsets))) + FINE_DT
    fine = boxcar_series(onsets, offsets, scores, duration)
    kernel = hrf_kernel(hrf)
    convolved = np.stack(
        [np.convolve(fine[:, j], kernel)[: len(fine)] for j in range(fine.shape[1])], axis=1
    )
    index = np.round(times / FINE_DT).astype(int)
    out = np.zeros((n_volumes, fine.shape[1]))
    valid = (index >= 0) & (index < len(convolved))
    out[valid] = convolved[index[valid]]
    return out


# ---------------------------------------------------------------------------------------------
# Targets for a parameter set.
TARGETS_CACHE_VERSION = 1
"""Bump when the way targets are computed changes, so old cached targets are not reused."""


def held_offsets(onsets: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Offsets extended to the next segment's onset: a score holds through the pause after it.

    The reader's pauses between sentences last about a second; a listener's emotional state does
    not drop to zero in them, so a segment's boxcar lasts until the next segment begins.

    Parameters
    ----------
    onsets, offsets : array_like
        Onset and offset of each segment in seconds, (n_segments,), in time order.

    Returns
    -------
    numpy.ndarray
        (n_segments,) offsets in seconds: each the later of its own offset and the next onset
        (the last one unchanged).
    """
    onsets = np.asarray(onsets, dtype=float)
    offsets = np.asarray(offsets, dtype=float)
    extended = offsets.copy()
    extended[:-1] = np.maximum(offsets[:-1], onsets[1:])
    return extended


def targets_from_annotation(
    annotation, *, stimulus_onset: float = 0.0, hrf: str = "spm", n_volumes: int = N_VOLUMES
) -> np.ndarray:
    """TR-level targets (n_volumes, 8) from an annotation with ``onset``/``offset`` columns.

    Parameters
    ----------
    annotation : Annotation
        Segment scores with ``onset``/``offset`` columns (s of the audio).
    stimulus_onset : float, optional
        Start of the audio in seconds after the first volume.
    hrf : {"spm", "glover"}, optional
        The HRF the boxcars are convolved with.
    n_volumes : int, optional
        Number of volumes of the run.

    Returns
    -------
    numpy.ndarray
        (n_volumes, 8) targets, columns in the order of :data:`EMOTIONS`.
    """
    onsets, offsets = segment_times(annotation)
    scores = emotion_scores(annotation).to_numpy(dtype=float)
    return segments_to_volumes(
        onsets,
        held_offsets(onsets, offsets),
        scores,
        n_volumes=n_volumes,
        stimulus_onset=stimulus_onset,
        hrf=hrf,
    )


def targets_cache_key(params, stimulus_onset: float) -> dict:
    """What the TR-level targets depend on: the annotation, the HRF, the grid and the audio onset."""
    segments, _ = annotation_segments(params)
    return {
        "version": TARGETS_CACHE_VERSION,
        "annotation": annotation_cache_key(params, None, segments),
        "hrf": params.annotation.hrf,
        "n_volumes": N_VOLUMES,
        "tr": TR_SECONDS,
        "stimulus_onset": round(float(stimulus_onset), 4),
        "fine_dt": FINE_DT,
    }


def emotion_targets(params, stimulus_onset: float = 0.0):
    """TR-level targets (372 x 8 DataFrame, columns :data:`EMOTIONS`) for a parameter set.

    The chosen annotator's segment scores become boxcars held from each segment's onset to the
    next one's, convolved with the HRF and sampled at each volume, with the audio starting
    ``stimulus_onset`` seconds after the first volume (the ``onset`` of ``_events.tsv``; 0.657 s
    for ds002322's sub-18). Cached under the data home, keyed by everything it depends on.

    Parameters
    ----------
    params : Params
        The run's parameters (annotator, segmentation, ``annotation.hrf``).
    stimulus_onset : float, optional
        Start of the audio in seconds after the first volume.

    Returns
    -------
    pandas.DataFrame
        (372, 8) targets, index ``volume``, columns :data:`EMOTIONS`.
    """

    if not np.isfinite(stimulus_onset) or not -TR_SECONDS * N_VOLUMES < stimulus_onset < 60.0:
        raise ValueError(
            f"stimulus_onset = {stimulus_onset} s is not plausible; give the audio's start in seconds "
            "after the first volume (the 'onset' column of the run's _events.tsv)"
        )
    folder = step_dir("targets", targets_cache_key(params, stimulus_onset))

    def compute() -> dict[str, np.ndarray]:
        annotation = annotate(params)
        require_every_segment(params, annotation)
        values = targets_from_annotation(
            annotation, stimulus_onset=stimulus_onset, hrf=params.annotation.hrf
        )
        return {"targets": values.astype(np.float64)}

    values = cached_arrays(folder / "targets.npz", compute)["targets"]
    frame = pd.DataFrame(values, columns=list(EMOTIONS))
    frame.index.name = "volume"
    return frame

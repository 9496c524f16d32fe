"""Checks for the exercises of chapter 1 (annotation).

The coding exercise rebuilds one emotion's regression target from its segment scores: a step
series on a fine time grid, convolved with the HRF, sampled at each volume. The check compares
it with :func:`helpers.annotation.targets.segments_to_volumes` and, when the answer is wrong,
recognises the usual slips (no HRF, a centred convolution, the audio's start forgotten).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.annotation.targets import (
    FINE_DT,
    boxcar_series,
    hrf_kernel,
    segments_to_volumes,
    volume_times,
)
from helpers.exercises.checking import check_array, not_answered
from helpers.study import N_VOLUMES

__all__ = ["check_emotion_target", "reference_target"]


def reference_target(onsets, offsets, values, *, stimulus_onset: float, hrf: str) -> np.ndarray:
    """One emotion's target per volume, as the book's pipeline computes it."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"values must hold one score per segment (1-D), got {values.shape}")
    return segments_to_volumes(onsets, offsets, values, stimulus_onset=stimulus_onset, hrf=hrf)[
        :, 0
    ]


def _sample(fine: np.ndarray, stimulus_onset: float) -> np.ndarray:
    index = np.round(volume_times(stimulus_onset=stimulus_onset) / FINE_DT).astype(int)
    valid = (index >= 0) & (index < len(fine))
    out = np.zeros(N_VOLUMES)
    out[valid] = fine[index[valid]]
    return out


def _usual_slips(onsets, offsets, values, stimulus_onset: float, hrf: str) -> dict[str, Any]:
    """Answers that come from one common mistake, with the hint that fixes it."""
    duration = float(volume_times(stimulus_onset=stimulus_onset)[-1]) + FINE_DT
    duration = max(duration, float(np.max(offsets)) + FINE_DT)
    step = boxcar_series(onsets, offsets, values, duration)[:, 0]
    kernel = hrf_kernel(hrf)
    centred = np.convolve(step, kernel, mode="same")
    return {
        "the step series is right but was not convolved with the HRF": _sample(
            step, stimulus_onset
        ),
        "np.convolve(..., mode='same') centres the kernel, so the response starts before the "
        "segment; keep the first len(step) values of the full convolution instead": _sample(
            centred, stimulus_onset
        ),
        "volume k sees audio time k * TR - stimulus_onset; the audio's start was left out": (
            reference_target(onsets, offsets, values, stimulus_onset=0.0, hrf=hrf)
        ),
    }


def check_emotion_target(
    answer: Any, onsets, offsets, values, *, stimulus_onset: float, hrf: str = "spm"
) -> bool:
    """Print whether ``answer`` is the emotion's target per volume; True when it is.

    A wrong answer that matches a common slip gets a hint naming it; an answer close to the
    reference but not equal usually rounds the segment edges differently from the book.

    Parameters
    ----------
    answer : array_like or Ellipsis
        The student's target, (n_volumes,); ``...`` while unanswered.
    onsets, offsets : array_like
        Onset and offset of each segment in seconds of the audio, (n_segments,).
    values : array_like
        The emotion's score per segment, (n_segments,).
    stimulus_onset : float
        Start of the audio in seconds after the first volume.
    hrf : {"spm", "glover"}, optional
        The HRF of the reference.

    Returns
    -------
    bool
        True when the answer matches the reference.
    """
    expected = reference_target(onsets, offsets, values, stimulus_onset=stimulus_onset, hrf=hrf)
    if check_array("target", answer, expected):
        return True
    if not_answered(answer):
        return False
    try:
        values_given = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False
    if values_given.shape != expected.shape:
        return False
    for hint, slip in _usual_slips(onsets, offsets, values, stimulus_onset, hrf).items():
        if np.allclose(values_given, slip, atol=1e-6):
            print(f"hint: {hint}.")
            return False
    if np.nanmax(np.abs(values_given - expected)) < 0.05:
        print(
            "hint: close. Segment k covers the fine samples from round(onset / dt) up to, not "
            "including, round(offset / dt); volume k reads the sample round(time / dt)."
        )
    return False

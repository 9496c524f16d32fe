"""Checks for the preprocessing chapter's coding exercises: an ROI's voxel mean, detrend and z-score.

Each reference is computed by nilearn, the library the pipeline uses, so a student's numpy code is
compared with what the masker really does rather than with another hand-written version.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from helpers.exercises.checking import check_array, not_answered
from helpers.study import TR_SECONDS


def raw_roi_signals(image, labels_img) -> np.ndarray:
    """Every ROI's mean over its voxels at every volume, with no cleaning at all (T, P) float64."""
    from nilearn.maskers import NiftiLabelsMasker  # deferred: heavy

    masker = NiftiLabelsMasker(labels_img=labels_img, standardize=None, resampling_target="data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))
        return np.asarray(masker.fit_transform(image), dtype=np.float64)


def check_roi_mean(answer: Any, image, labels_img, roi: int) -> bool:
    """Is ``answer`` the mean over the voxels labelled ``roi + 1`` at every volume of ``image``?

    The masker averages in float32, so the answer may differ from it by float32 rounding of values
    around 1000: the tolerance is a millionth of the signal's size.

    Parameters
    ----------
    answer : array_like or Ellipsis
        The student's ROI signal, (T,).
    image : nibabel.Nifti1Image
        The 4-D BOLD image (X, Y, Z, T).
    labels_img : nibabel.Nifti1Image
        3-D label image on the same grid: 1..P for the ROIs, 0 elsewhere.
    roi : int
        The ROI's 0-based index (its label is ``roi + 1``).

    Returns
    -------
    bool
        True when the answer matches the reference.
    """
    if not_answered(answer):
        return check_array(f"mean of ROI {roi}", answer, np.zeros(0))
    n_rois = int(np.max(np.asarray(labels_img.dataobj)))
    if not 0 <= roi < n_rois:
        raise ValueError(f"roi must be an ROI index in [0, {n_rois - 1}]; got {roi}")
    expected = raw_roi_signals(image, labels_img)[:, roi]
    return check_array(
        f"mean of ROI {roi}", answer, expected, atol=1e-6 * float(np.abs(expected).max())
    )


def detrended_zscore(signal: np.ndarray) -> np.ndarray:
    """nilearn's cleaning of one signal with a linear detrend and a z-score (sample std)."""
    from nilearn.signal import clean  # deferred: heavy

    values = np.asarray(signal, dtype=np.float64)
    if values.ndim != 1 or values.size < 3:
        raise ValueError(
            f"give one signal as a 1-D array of at least 3 volumes; got {values.shape}"
        )
    return clean(values[:, None], detrend=True, standardize="zscore_sample", t_r=TR_SECONDS)[:, 0]


def check_detrend_zscore(answer: Any, signal: np.ndarray) -> bool:
    """Is ``answer`` ``signal`` with its linear trend removed, then z-scored with the sample std?

    Parameters
    ----------
    answer : array_like or Ellipsis
        The student's signal, shaped like ``signal``.
    signal : numpy.ndarray
        (T,) one signal (at least 3 volumes).

    Returns
    -------
    bool
        True when the answer matches the reference within 1e-4.
    """
    if not_answered(answer):
        return check_array("detrended z-score", answer, np.zeros(0))
    expected = detrended_zscore(signal)
    values = np.asarray(answer) if isinstance(answer, (np.ndarray, list, tuple)) else None
    if values is not None and values.shape == expected.shape and np.isfinite(values).all():
        values = values.astype(float)
        n = len(values)
        if np.allclose(values, -expected, atol=1e-4):
            print("detrended z-score: the sign is flipped; subtract the trend, do not add it.")
            return False
        if np.allclose(values * np.sqrt((n - 1) / n), expected, atol=1e-4):
            print(
                "detrended z-score: scaled by the population std (ddof=0); "
                "use the sample std, std(ddof=1), as nilearn's 'zscore_sample' does."
            )
            return False
    return check_array("detrended z-score", answer, expected, atol=1e-4)

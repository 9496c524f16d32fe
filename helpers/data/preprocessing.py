"""From BOLD images to ROI time series with nilearn maskers, plus the quality numbers a reader checks."""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError

from helpers.config import PreprocessingParams
from helpers.data.atlases import Atlas, roi_assignment
from helpers.data.datasets import SubjectRun
from helpers.study import TR_SECONDS


def sphere_label_image(atlas: Atlas, reference, radius_mm: float | None = None):
    """A label image on ``reference``'s grid holding the atlas spheres (1..P, 0 = background).

    Voxels within reach of two centres go to the nearer one and every ROI keeps at least its
    nearest voxel. Turning spheres into labels lets nilearn's labels masker average all ROIs in one
    pass, several times faster than the spheres masker and with no voxel counted twice.
    """
    if radius_mm is not None:
        atlas = replace(atlas, radius_mm=radius_mm)
    assignment = roi_assignment(atlas, reference.affine, tuple(reference.shape[:3]))
    return nib.Nifti1Image((assignment + 1).astype(np.int32), reference.affine)


def label_image_on_grid(atlas: Atlas, reference, radius_mm: float | None = None):
    """The atlas as a label image on ``reference``'s grid (1..P, 0 = background), spheres or parcels.

    Spheres are drawn as in :func:`sphere_label_image`; parcels are resampled nearest-neighbour, as
    the masker does with ``resampling_target="data"``. Labels on the data's grid let a reader count
    and average an ROI's voxels by hand.

    Parameters
    ----------
    atlas : Atlas
        The P ROIs.
    reference : nibabel.Nifti1Image
        An image whose grid (shape and affine) the labels are drawn on.
    radius_mm : float, optional
        Sphere radius in mm (spheres only); the atlas's own if omitted.

    Returns
    -------
    nibabel.Nifti1Image
        3-D int32 label image on the grid of ``reference``: 1..P for the ROIs, 0 elsewhere.
    """
    if atlas.kind == "spheres":
        return sphere_label_image(atlas, reference, radius_mm)
    assignment = roi_assignment(atlas, reference.affine, tuple(reference.shape[:3]))
    return nib.Nifti1Image((assignment + 1).astype(np.int32), reference.affine)


def make_masker(atlas: Atlas, prep: PreprocessingParams, reference=None):
    """A nilearn labels masker for ``atlas`` with the cleaning steps of ``prep``.

    Sphere atlases need ``reference`` (an image on the data's grid) to place their spheres.
    """
    from nilearn.maskers import (
        NiftiLabelsMasker,  # deferred: heavy, and a cached run never needs it
    )

    standardize = False if prep.standardize == "none" else prep.standardize
    if atlas.kind == "spheres":
        if reference is None:
            raise ValueError("a sphere atlas needs a reference image to build its label image")
        labels_img = sphere_label_image(atlas, reference, prep.sphere_radius_mm)
    else:
        labels_img = atlas.maps
    return NiftiLabelsMasker(
        labels_img=labels_img,
        detrend=prep.detrend,
        standardize=standardize,
        high_pass=prep.high_pass or None,
        low_pass=prep.low_pass or None,
        t_r=TR_SECONDS,
        smoothing_fwhm=prep.smoothing_fwhm,
        resampling_target="data",
    )


def global_signal(image) -> np.ndarray:
    """Mean signal over in-brain voxels per volume, a confound for ``confounds: global_signal``.

    Parameters
    ----------
    image : nibabel.Nifti1Image
        A 4-D BOLD image (X, Y, Z, T).

    Returns
    -------
    numpy.ndarray
        (T, 1) float32 mean over voxels whose time-mean exceeds a tenth of the image mean.
    """
    data = np.asarray(image.dataobj, dtype=np.float32)
    inside = data.mean(axis=-1) > 0.1 * data.mean()
    return data[inside].mean(axis=0)[:, None]


class DamagedImageError(RuntimeError):
    """A BOLD image cannot be read whole (truncated, emptied, not a NIfTI file); names the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        super().__init__(
            f"the BOLD image {self.path} is damaged ({reason}); replace it with the original, or "
            "delete it so that it is fetched again"
        )


def load_bold(run: SubjectRun):
    """The run's image with its data decompressed into memory once (float32).

    Raises :class:`DamagedImageError` naming the file when it cannot be read whole: nibabel's own
    errors (an ``EOFError`` of a truncated gzip stream...) say nothing of which file it was.

    Parameters
    ----------
    run : SubjectRun
        The run; its ``bold`` is the image file.

    Returns
    -------
    nibabel.Nifti1Image
        The 4-D image (X, Y, Z, T) with float32 data in memory, the file's affine and header.

    Raises
    ------
    DamagedImageError
        When the file cannot be read whole.
    """
    try:
        image = nib.load(str(run.bold))
        data = np.asarray(image.get_fdata(dtype=np.float32))
    except (EOFError, OSError, ValueError, zlib.error, ImageFileError) as exc:
        raise DamagedImageError(run.bold, f"{type(exc).__name__}: {exc}"[:160]) from None
    return nib.Nifti1Image(data, image.affine, image.header)


def extract_roi_timeseries(
    run: SubjectRun, atlas: Atlas, prep: PreprocessingParams, image=None
) -> np.ndarray:
    """ROI time series (372, P) float32 of one run, cleaned as ``prep`` says."""
    image = load_bold(run) if image is None else image
    confounds = global_signal(image) if prep.confounds == "global_signal" else None
    masker = make_masker(atlas, prep, reference=image)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        series = masker.fit_transform(image, confounds=confounds)
    series = np.asarray(series, dtype=np.float32)
    if series.shape[1] != atlas.n_rois:
        raise ValueError(
            f"{run.subject}: extracted {series.shape[1]} ROI signals, expected {atlas.n_rois}; "
            "some parcels fall outside this image's field of view"
        )
    if not np.isfinite(series).all():
        bad = np.where(~np.isfinite(series).all(axis=0))[0]
        raise ValueError(
            f"{run.subject}: ROI signals contain NaN or inf in {len(bad)} ROIs "
            f"(first: {atlas.labels[bad[0]]}); the image has empty or corrupt voxels there"
        )
    return series


def temporal_snr(
    run: SubjectRun, atlas: Atlas, prep: PreprocessingParams, image=None
) -> np.ndarray:
    """Per-ROI temporal SNR (mean / std over time) of the raw, unfiltered ROI signal."""
    raw = PreprocessingParams(
        detrend=False,
        standardize="none",
        high_pass=None,
        low_pass=None,
        smoothing_fwhm=prep.smoothing_fwhm,
        sphere_radius_mm=prep.sphere_radius_mm,
    )
    image = load_bold(run) if image is None else image
    masker = make_masker(atlas, raw, reference=image)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = masker.fit_transform(image)
    mean, std = series.mean(axis=0), series.std(axis=0)
    return np.where(std > 0, mean / np.where(std > 0, std, 1.0), 0.0).astype(np.float32)


def static_connectivity(timeseries: np.ndarray) -> np.ndarray:
    """Pearson correlation matrix over the whole run (P, P).

    Parameters
    ----------
    timeseries : numpy.ndarray
        (T, P) ROI time series.

    Returns
    -------
    numpy.ndarray
        (P, P) float64 correlation matrix.
    """
    return np.corrcoef(np.asarray(timeseries, dtype=np.float64), rowvar=False)


def framewise_signal_change(timeseries: np.ndarray) -> np.ndarray:
    """DVARS-like summary: RMS of the volume-to-volume change across ROIs (T - 1,).

    Parameters
    ----------
    timeseries : numpy.ndarray
        (T, P) ROI time series.

    Returns
    -------
    numpy.ndarray
        (T - 1,) RMS change from each volume to the next, in the units of ``timeseries``.
    """
    return np.sqrt(np.mean(np.diff(timeseries, axis=0) ** 2, axis=1))


def connectivity_structure(matrix: np.ndarray, networks: Sequence[str]) -> dict[str, float]:
    """Mean off-diagonal correlation within networks and between networks.

    Parameters
    ----------
    matrix : numpy.ndarray
        (P, P) correlation matrix.
    networks : sequence of str
        The network of each of the P ROIs.

    Returns
    -------
    dict
        ``within`` and ``between`` (float): the mean off-diagonal correlation of ROI pairs in the
        same network and in different networks.
    """
    matrix = np.asarray(matrix, dtype=float)
    labels = np.asarray(networks)
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    return {
        "within": float(matrix[same & off_diagonal].mean()),
        "between": float(matrix[~same].mean()),
    }

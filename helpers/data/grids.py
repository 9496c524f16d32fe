"""Voxel grids the simulated dataset can be written on, each with a brain mask.

* ``mni152``: nilearn's MNI152 brain mask at 2-6 mm (the default run uses 4 mm: 50 x 59 x 48).
* ``spm_derivatives``: the grid of ds002322's SPM8-preprocessed images, 79 x 95 x 68 voxels of
  2 mm. SPM8 writes normalised images inside its default bounding box
  ``[[-78, -112, -50], [78, 76, 85]]`` mm with 2 mm voxels (``spm_defaults.m``:
  ``defaults.normalise.write.bb`` and ``.vox``): x runs from +78 to -78 mm (radiological
  voxel order, so the x step is -2 mm), y from -112 to +76 and z from -50 to +84 mm, which gives
  exactly the 79 x 95 x 68 volumes the dataset's README reports. Its brain mask is the MNI152
  2 mm mask resampled onto that grid.
"""

from __future__ import annotations

from functools import cache

import numpy as np

SPM_DERIVATIVES_SHAPE = (79, 95, 68)
"""Voxels per axis of the SPM8 derivatives of ds002322."""

SPM_DERIVATIVES_AFFINE = np.array(
    [
        [-2.0, 0.0, 0.0, 78.0],
        [0.0, 2.0, 0.0, -112.0],
        [0.0, 0.0, 2.0, -50.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
"""Voxel -> MNI mm of the SPM8 derivatives: voxel (0, 0, 0) sits at (78, -112, -50) mm."""

GRIDS = ("mni152", "spm_derivatives")
MNI152_RESOLUTIONS_MM = (2, 3, 4, 5, 6)


def simulation_grid(
    grid: str, resolution_mm: int
) -> tuple[np.ndarray, tuple[int, int, int], np.ndarray]:
    """The affine, shape and boolean brain mask of a named grid.

    Parameters
    ----------
    grid : {"mni152", "spm_derivatives"}
        Which grid (see the module docstring).
    resolution_mm : int
        Voxel size; ``spm_derivatives`` exists only at 2 mm.

    Returns
    -------
    affine : ndarray (4, 4)
    shape : tuple of int
    brain : ndarray of bool, ``shape``
    """
    affine, shape, brain = _cached_grid(grid, int(resolution_mm))
    return affine.copy(), shape, brain.copy()


@cache
def _cached_grid(
    grid: str, resolution_mm: int
) -> tuple[np.ndarray, tuple[int, int, int], np.ndarray]:
    from nilearn.datasets import load_mni152_brain_mask  # deferred: imports most of nilearn

    if grid not in GRIDS:
        raise ValueError(f"unknown simulation grid {grid!r}; allowed: {', '.join(GRIDS)}")
    if grid == "mni152":
        if resolution_mm not in MNI152_RESOLUTIONS_MM:
            raise ValueError(
                f"the mni152 grid exists at {', '.join(map(str, MNI152_RESOLUTIONS_MM))} mm, "
                f"not {resolution_mm} mm"
            )
        mask_img = load_mni152_brain_mask(resolution=resolution_mm)
        return mask_img.affine, tuple(mask_img.shape[:3]), np.asarray(mask_img.get_fdata() > 0)
    if resolution_mm != 2:
        raise ValueError(
            f"the spm_derivatives grid is 2 mm (79 x 95 x 68), not {resolution_mm} mm: "
            "set simulation.resolution_mm: 2"
        )
    from nilearn.image import resample_img

    mni = load_mni152_brain_mask(resolution=2)
    resampled = resample_img(
        mni,
        target_affine=SPM_DERIVATIVES_AFFINE,
        target_shape=SPM_DERIVATIVES_SHAPE,
        interpolation="nearest",
        force_resample=True,
        copy_header=True,
    )
    brain = np.asarray(resampled.get_fdata() > 0)
    return SPM_DERIVATIVES_AFFINE.copy(), SPM_DERIVATIVES_SHAPE, brain


__all__ = [
    "GRIDS",
    "MNI152_RESOLUTIONS_MM",
    "SPM_DERIVATIVES_AFFINE",
    "SPM_DERIVATIVES_SHAPE",
    "simulation_grid",
]

"""The preprocessing chapter's exercise checks accept the reference answers and reject wrong ones."""

import nibabel as nib
import numpy as np
import pytest

from helpers.data.atlases import Atlas
from helpers.data.preprocessing import label_image_on_grid
from helpers.exercises.preprocessing import check_detrend_zscore, check_roi_mean, detrended_zscore


@pytest.fixture
def small_image():
    """A 6 x 6 x 6 grid of 40 volumes around 1000 with three labelled ROIs of different sizes."""
    rng = np.random.default_rng(0)
    data = (1000 + 10 * rng.standard_normal((6, 6, 6, 40))).astype(np.float32)
    labels = np.zeros((6, 6, 6), dtype=np.int32)
    labels[:2, :2, :2] = 1
    labels[3:, 3:, 3:] = 2
    labels[0, 5, 5] = 3
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    return nib.Nifti1Image(data, affine), nib.Nifti1Image(labels, affine)


def test_roi_mean_accepts_the_voxel_average(small_image, capsys):
    image, labels_img = small_image
    voxels = image.get_fdata(dtype=np.float32)
    labels = np.asarray(labels_img.dataobj)
    for roi in range(3):
        assert check_roi_mean(voxels[labels == roi + 1].mean(axis=0), image, labels_img, roi)
    assert "correct" in capsys.readouterr().out


def test_roi_mean_rejects_wrong_and_missing_answers(small_image, capsys):
    image, labels_img = small_image
    voxels = image.get_fdata(dtype=np.float32)
    labels = np.asarray(labels_img.dataobj)
    assert not check_roi_mean(voxels[labels == 2].mean(axis=0), image, labels_img, 0)
    assert "differ" in capsys.readouterr().out
    assert not check_roi_mean(np.median(voxels[labels == 1], axis=0), image, labels_img, 0)
    assert not check_roi_mean(voxels[labels == 1].mean(axis=1), image, labels_img, 0)
    assert "shape" in capsys.readouterr().out
    assert not check_roi_mean(..., image, labels_img, 0)
    assert "not answered" in capsys.readouterr().out
    with pytest.raises(ValueError, match="ROI index"):
        check_roi_mean(np.zeros(40), image, labels_img, 3)


def test_detrend_zscore_accepts_the_reference_and_explains_mistakes(capsys):
    rng = np.random.default_rng(1)
    t = np.arange(200)
    signal = 1000 + 0.05 * t + rng.standard_normal(200)
    residual = signal - np.polyval(np.polyfit(t, signal, 1), t)
    reference = residual / residual.std(ddof=1)
    assert check_detrend_zscore(reference, signal)
    assert np.allclose(detrended_zscore(signal), reference)
    capsys.readouterr()
    assert not check_detrend_zscore(-reference, signal)
    assert "sign" in capsys.readouterr().out
    assert not check_detrend_zscore(residual / residual.std(), signal)
    assert "ddof" in capsys.readouterr().out
    plain = (signal - signal.mean()) / signal.std(ddof=1)
    assert not check_detrend_zscore(plain, signal)
    assert "differ" in capsys.readouterr().out
    assert not check_detrend_zscore(..., signal)
    with pytest.raises(ValueError, match="1-D"):
        check_detrend_zscore(reference, np.ones((5, 2)))


def test_label_image_on_grid_resamples_a_parcel_atlas(tmp_path, small_image):
    image, labels_img = small_image
    maps = tmp_path / "parcels.nii.gz"
    nib.save(labels_img, maps)
    atlas = Atlas(
        name="toy",
        kind="labels",
        labels=("a", "b", "c"),
        networks=("n1", "n1", "n2"),
        regions=("a", "b", "c"),
        coords=np.zeros((3, 3)),
        maps=str(maps),
    )
    on_grid = label_image_on_grid(atlas, image)
    assert on_grid.shape == (6, 6, 6)
    assert np.array_equal(np.asarray(on_grid.dataobj), np.asarray(labels_img.dataobj))


def test_label_image_on_grid_draws_spheres_with_every_roi_present(small_image):
    image, _ = small_image
    atlas = Atlas(
        name="toy",
        kind="spheres",
        labels=("a", "b"),
        networks=("n1", "n2"),
        regions=("a", "b"),
        coords=np.array([[3.0, 3.0, 3.0], [12.0, 12.0, 12.0]]),
        radius_mm=4.0,
    )
    labels = np.asarray(label_image_on_grid(atlas, image).dataobj)
    assert set(np.unique(labels)) == {0, 1, 2}
    assert labels[1, 1, 1] == 1 and labels[4, 4, 4] == 2

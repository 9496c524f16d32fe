"""The paper rehearsal: the simulated dataset on the SPM derivatives' grid, with Schaefer 400 offline."""

from collections import Counter

import nibabel as nib
import numpy as np
import pytest
from test_book import ROOT

from helpers.config import ParameterError, SimulationParams, load_params
from helpers.data.atlases import _schaefer400_from_registry, roi_assignment
from helpers.data.datasets import derivative_relpath
from helpers.data.grids import SPM_DERIVATIVES_SHAPE, simulation_grid
from helpers.simulate import render_bold, write_dataset
from helpers.study import N_VOLUMES

REHEARSAL = ROOT / "params" / "paper-rehearsal.yml"


def test_spm_grid_is_the_derivatives_geometry():
    affine, shape, brain = simulation_grid("spm_derivatives", 2)
    assert shape == (79, 95, 68) == SPM_DERIVATIVES_SHAPE and brain.shape == shape
    corner = affine @ [0, 0, 0, 1]
    far = affine @ [78, 94, 67, 1]
    assert corner[:3].tolist() == [78.0, -112.0, -50.0]  # SPM8's default bounding box
    assert far[:3].tolist() == [-78.0, 76.0, 84.0]
    assert np.allclose(np.abs(np.diag(affine)[:3]), 2.0)
    # the resampled MNI mask keeps the brain: about 1.8 l of 8 ml voxels, none on the border
    assert 200_000 < brain.sum() < 240_000
    assert not brain[0].any() and not brain[-1].any() and not brain[:, -1].any()


def test_grid_and_resolution_are_checked():
    with pytest.raises(ValueError, match="set simulation.resolution_mm: 2"):
        SimulationParams(grid="spm_derivatives", resolution_mm=4)
    with pytest.raises(ValueError, match="mni152"):
        SimulationParams(grid="spm_8")
    assert SimulationParams().grid == "mni152"  # the default run keeps nilearn's MNI152 grid
    with pytest.raises(ValueError, match="unknown simulation grid"):
        simulation_grid("talairach", 2)
    with pytest.raises(ValueError, match="not 3 mm"):
        simulation_grid("spm_derivatives", 3)


def test_rehearsal_is_the_paper_on_the_simulated_dataset():
    rehearsal, paper = load_params(REHEARSAL), load_params(ROOT / "params" / "paper.yml")
    assert rehearsal.dataset == "simulated" and paper.dataset == "ds002322"
    assert rehearsal.simulation.grid == "spm_derivatives"
    assert rehearsal.simulation.resolution_mm == 2
    for key in ("subjects", "atlas", "models", "cv", "n_permutations", "window", "features"):
        assert getattr(rehearsal, key) == getattr(paper, key), key
    assert rehearsal.subjects == 23 and rehearsal.atlas == "schaefer400"
    with pytest.raises(ParameterError, match="resolution_mm: 2"):
        load_params(REHEARSAL, {"simulation.resolution_mm": 5})


def test_schaefer400_from_the_pinned_file_has_the_seven_networks_in_label_order():
    atlas = _schaefer400_from_registry()
    assert atlas.n_rois == 400 and atlas.kind == "labels"
    counts = Counter(atlas.networks)
    assert counts["DefaultMode"] == 91 and counts["Visual"] == 61 and counts["Limbic"] == 26
    assert atlas.labels[0] == "7Networks_LH_Vis_1" and atlas.labels[-1] == "7Networks_RH_Default_39"
    left = np.array([region == "cortexL" for region in atlas.regions])
    assert left[:200].all() and not left[200:].any()
    assert (atlas.coords[left, 0] < 0).all() and (atlas.coords[~left, 0] > 0).all()
    # limbic parcels sit low (orbitofrontal, temporal pole), somatomotor ones higher up
    limbic = atlas.coords[np.array(atlas.networks) == "Limbic", 2]
    somatomotor = atlas.coords[np.array(atlas.networks) == "Somatomotor", 2]
    assert limbic.mean() < 0 < somatomotor.mean()


def test_render_bold_is_float32_on_the_grid():
    affine, shape, brain = simulation_grid("mni152", 6)
    assignment = np.full(shape, -1)
    assignment[10, 10, 10] = 0
    rng = np.random.default_rng(0)
    volume = render_bold(np.ones((N_VOLUMES, 1), np.float32), assignment, brain, rng)
    assert volume.dtype == np.float32 and volume.shape == (*shape, N_VOLUMES)
    assert volume[~(brain | (assignment >= 0))].max() == 0
    assert 950 < volume[brain].mean() < 1050


@pytest.mark.slow
def test_a_subject_written_on_the_spm_grid(tmp_path):
    atlas = _schaefer400_from_registry()
    affine, shape, _ = simulation_grid("spm_derivatives", 2)
    assert (roi_assignment(atlas, affine, shape) >= 0).sum() > 100_000
    rng = np.random.default_rng(1)
    emotions = 0.5 + 0.5 * np.sin(np.arange(N_VOLUMES)[:, None] / rng.uniform(5, 20, 8))
    sim = SimulationParams(grid="spm_derivatives", resolution_mm=2, module_size=3)
    root = write_dataset(tmp_path / "sim", emotions, atlas, sim, ["sub-18"])
    image = nib.load(root / derivative_relpath("sub-18"))
    assert image.shape == (79, 95, 68, N_VOLUMES)
    assert np.allclose(image.affine, affine)
    assert image.header.get_zooms() == pytest.approx((2.0, 2.0, 2.0, 2.0))

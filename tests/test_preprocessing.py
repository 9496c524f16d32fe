"""ROI extraction on a small simulated dataset: shapes, cleaning, planted signal survives, caching."""

from pathlib import Path

import numpy as np

from helpers.data.preprocessing import connectivity_structure, static_connectivity
from helpers.pipeline import ground_truth, roi_timeseries
from helpers.study import N_VOLUMES

ROOT = Path(__file__).resolve().parent.parent


def test_roi_timeseries_shape_and_cleaning(small_params, small_roi):
    assert small_roi.subjects == small_params.subject_ids()
    for series in small_roi.timeseries.values():
        assert series.shape == (N_VOLUMES, small_roi.atlas.n_rois) and series.dtype == np.float32
        np.testing.assert_allclose(series.mean(axis=0), 0, atol=1e-4)
        np.testing.assert_allclose(series.std(axis=0, ddof=1), 1, atol=1e-3)
    assert all(np.median(v) > 10 for v in small_roi.tsnr.values())


def test_static_connectivity_has_network_blocks(small_roi):
    fc = np.mean([static_connectivity(ts) for ts in small_roi.timeseries.values()], axis=0)
    structure = connectivity_structure(fc, small_roi.atlas.networks)
    assert structure["within"] > structure["between"] + 0.05


def test_planted_edges_survive_voxels_and_masker(small_params, small_roi):
    truth = ground_truth(small_params)
    from helpers.pipeline import simulation_drive

    drive = simulation_drive(small_params)
    length = 12
    target = np.array([drive[t : t + length].mean(axis=0) for t in range(N_VOLUMES - length + 1)])
    from helpers.study import EMOTIONS

    values = []
    for x in small_roi.timeseries.values():
        for e_index, emotion in enumerate(EMOTIONS):
            for edge in truth["emotions"][emotion]["edges"]:
                i, j = edge["rois"]
                dfc = [
                    np.corrcoef(x[t : t + length, i], x[t : t + length, j])[0, 1]
                    for t in range(len(target))
                ]
                values.append(np.corrcoef(dfc, target[:, e_index])[0, 1])
    assert np.mean(values) > 0.15


def test_second_call_reads_cache(small_params, small_roi):
    again = roi_timeseries(small_params, progress=False)
    assert again.cache_dir == small_roi.cache_dir
    for subject in small_roi.subjects:
        np.testing.assert_array_equal(again.timeseries[subject], small_roi.timeseries[subject])


def test_a_truncated_simulated_image_is_named_and_written_again(fresh_data_home, capsys):
    import shutil

    from helpers.config import load_params
    from helpers.pipeline import simulated_dataset_root

    tiny = {
        "subjects": 2,
        "cv_options": {"subjects_per_fold": 1},
        "simulation": {"resolution_mm": 6},
    }
    params = load_params(ROOT / "params" / "quick.yml", tiny)
    first = roi_timeseries(params, progress=False)
    [image] = (simulated_dataset_root(params) / "derivatives").rglob("sub-18_*bold*.nii*")
    image.write_bytes(image.read_bytes()[: image.stat().st_size // 2])
    shutil.rmtree(first.cache_dir)
    again = roi_timeseries(params, progress=False)
    warning = capsys.readouterr().err
    assert f"the BOLD image {image} is damaged" in warning
    assert "writing the simulated dataset again" in warning
    for subject, series in first.timeseries.items():
        np.testing.assert_array_equal(series, again.timeseries[subject])


def test_a_truncated_real_image_names_the_file(tmp_path):
    import pytest

    from helpers.data.datasets import SubjectRun
    from helpers.data.preprocessing import DamagedImageError, load_bold

    path = tmp_path / "sub-18_task-alice_bold.nii.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 40)
    with pytest.raises(DamagedImageError, match=f"the BOLD image {path} is damaged"):
        load_bold(SubjectRun("sub-18", path, 2.0, 0.0))

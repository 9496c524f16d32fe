"""Dataset checks: a BOLD file that is not a ds002322 run stops with a message naming it."""

import json

import nibabel as nib
import numpy as np
import pytest

from helpers.data.datasets import (
    DatasetError,
    derivative_relpath,
    ds002322_runs,
    sidecar_relpath,
)


def make_run(root, subject, shape=(4, 4, 4, 372), tr=2.0, sidecar_tr=2.0):
    path = root / derivative_relpath(subject)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(np.ones(shape, dtype=np.float32), np.eye(4))
    if len(shape) == 4:
        image.header.set_zooms((1.0, 1.0, 1.0, tr))
    nib.save(image, str(path))
    side = root / sidecar_relpath(subject)
    side.parent.mkdir(parents=True, exist_ok=True)
    side.write_text(json.dumps({"RepetitionTime": sidecar_tr}))
    return path


def test_valid_local_root(tmp_path):
    make_run(tmp_path, "sub-18")
    runs = ds002322_runs(["sub-18"], bids_root=tmp_path)
    assert runs[0].subject == "sub-18" and runs[0].repetition_time == 2.0


def test_three_dimensional_bold(tmp_path):
    make_run(tmp_path, "sub-18", shape=(4, 4, 4))
    with pytest.raises(DatasetError, match=r"sub-18: .* is 3-D .* must be 4-D"):
        ds002322_runs(["sub-18"], bids_root=tmp_path)


def test_wrong_number_of_volumes(tmp_path):
    make_run(tmp_path, "sub-22", shape=(4, 4, 4, 300))
    with pytest.raises(DatasetError, match=r"sub-22: .* has 300 volumes, expected 372"):
        ds002322_runs(["sub-22"], bids_root=tmp_path)


def test_wrong_tr(tmp_path):
    make_run(tmp_path, "sub-22", tr=2.5, sidecar_tr=2.5)
    with pytest.raises(DatasetError, match=r"sub-22: RepetitionTime 2.5 s in .*_bold.json"):
        ds002322_runs(["sub-22"], bids_root=tmp_path)


def test_header_tr_disagrees_with_sidecar(tmp_path):
    make_run(tmp_path, "sub-22", tr=2.5, sidecar_tr=2.0)
    with pytest.raises(DatasetError, match=r"sub-22: .* has TR 2.5 s in its header"):
        ds002322_runs(["sub-22"], bids_root=tmp_path)


def test_missing_subject_names_it(tmp_path):
    make_run(tmp_path, "sub-18")
    with pytest.raises(DatasetError, match=r"sub-23: no preprocessed BOLD .* \(available: sub-18\)"):
        ds002322_runs(["sub-18", "sub-23"], bids_root=tmp_path)


def test_subject_without_derivatives(tmp_path):
    with pytest.raises(DatasetError, match="sub-38 have no preprocessed BOLD"):
        ds002322_runs(["sub-38"], bids_root=tmp_path)


def test_offline_real_dataset_names_file_and_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("ALICE_DATA_HOME", str(tmp_path))
    monkeypatch.setattr("helpers.data.datasets.OPENNEURO_BUCKET", "http://127.0.0.1:9")
    from helpers.data.fetch import DataUnavailableError

    with pytest.raises(DataUnavailableError, match=r"ds002322/derivatives/sub-18/.*ALICE_MIRROR"):
        ds002322_runs(["sub-18"])
